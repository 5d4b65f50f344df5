/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_JOURNAL_MIGRATE_H
#define FTH_JOURNAL_MIGRATE_H
/*
 * A reader of the journal hosts before the segment journal wrote: the SQLite database
 * <data dir>/journal.sqlite (WAL) and its memory-mapped marks log journal.sqlite.marks, so
 * that the first start of a newer host hands every delivery still pending to the new journal,
 * attempts kept. Self-contained: it knows the old schema and the marks log's binary format,
 * not the code that wrote them, and gives the answer the old host would have given at its
 * next open (the marks log applied first, as that open did). docs/reliability.md.
 */
#include <stdbool.h>
#include <stddef.h>
#include <ftrack/common.h>

/* One delivery still pending in an old journal, oldest first (by the events' seq). */
typedef struct fth_migrated_delivery {
    const char *instance, *id, *topic, *text; /* borrowed for the call */
    size_t len;
    unsigned attempts;    /* dispatches started so far (marks included) */
    bool started_earlier; /* a run started it and did not finish it (a crash) */
    bool replayed;
    double received; /* the event's received time (seconds since the epoch) */
} fth_migrated_delivery;
typedef bool (*fth_migrate_fn)(void *ctx, const fth_migrated_delivery *d); /* false: abort */
/* Read the old journal at `sqlite_path` (the .marks log next to it applied in memory first: a
 * finished mark means not pending; a started mark counts an attempt). Read-only: the files are
 * not changed. FTRACK_OK with *count set when read (0 when the file does not exist:
 * *found = false); an error (message in err) when it cannot be read (corrupt, locked by a
 * running host, ...).
 * `fn` returning false stops the read: FTRACK_ERR_IO, *count the deliveries it accepted. */
ftrack_status fth_journal_migrate_read(const char *sqlite_path, fth_migrate_fn fn, void *ctx,
                                       bool *found, size_t *count, ftrack_error *err);
/* After a successful import: rename journal.sqlite (and its -wal, -shm, .marks companions) to
 * `<name>.migrated` so a second start does not import again, and the user can still inspect it. */
ftrack_status fth_journal_migrate_retire(const char *sqlite_path, ftrack_error *err);
#endif
