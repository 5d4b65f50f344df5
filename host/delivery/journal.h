/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_JOURNAL_H
#define FTH_JOURNAL_H
/*
 * The event journal: every event the host receives is written here before any plugin sees
 * it, with one *delivery* row per plugin instance that should handle it. A delivery is
 * pending until the instance handled it (or it was dead-lettered), so a restart after a
 * crash picks up exactly what was received but not handled (at-least-once). The same event
 * id received twice for one instance is recorded once (deduplication).
 *
 * Storage: one SQLite database in WAL mode (<data dir>/journal.sqlite). SQLite rather than
 * an append-only file because the journal is also the queue: per-instance "next pending in
 * order" lookups, atomic state changes, crash recovery and compaction come with it, where an
 * append-only file would need its own index, recovery and rewrite-to-compact.
 * Durability (fsync policy): every committed write survives a crash of the process under
 * every policy (WAL frames are in the OS page cache at commit); the policy decides what
 * survives a power loss: "every" syncs each commit, "batched" (default) syncs at most every
 * second (fth_journal_sync from the host's timer), "off" leaves it to the OS.
 *
 * Cost: appends are batched by the caller (fth_journal_append_many: one transaction per
 * intake wake-up). Under "batched" and "off", the started/finished marks of dispatches are
 * not one transaction each: each mark is a record in a memory-mapped log next to the database
 * (<path>.marks, in the page cache as soon as it is written, so it survives a crash of the
 * process) and the log is applied to the database in one transaction per 128 marks or
 * 10 ms, at the host's one-second timer, and before anything that reads the state
 * (fth_journal_pending, stats, compaction, requeue, close). A restart after a crash applies
 * what the log holds first, so a crash loses no mark: the only delivery dispatched twice is
 * the one in flight, as with a transaction per mark. Under "every", each mark is its own
 * synchronous transaction.
 *
 * Bounds: fth_journal_compact() deletes finished events older than the deduplication window,
 * and at the size or age limit moves the oldest pending deliveries to the dead-letter file
 * (counted and logged): nothing is dropped silently. See docs/reliability.md.
 *
 * Threads: every function may be called from any thread; one mutex serialises the database
 * connection. Ownership: strings passed in are copied; entries handed out own their text
 * (fth_journal_entry_clear).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <ftrack/common.h>
#include "delivery/deadletter.h"

typedef struct fth_journal fth_journal;

typedef enum fth_fsync_policy {
    FTH_FSYNC_BATCHED = 0,
    FTH_FSYNC_EVERY,
    FTH_FSYNC_OFF
} fth_fsync_policy;

typedef struct fth_journal_options {
    const char *path;       /* the database file */
    fth_fsync_policy fsync; /* default batched */
    uint64_t max_bytes;     /* 0 → 512 MiB */
    double max_age;         /* seconds a pending event may wait; 0 → 7 days */
    double dedup_window;    /* seconds finished events are remembered; 0 → 1 hour */
} fth_journal_options;

/* Process-wide SQLite settings for the journal's hot path; call first thing in main (before
 * any SQLite use; later it does nothing). */
void fth_journal_process_init(void);

void fth_journal_options_init(fth_journal_options *options);
/* Check the configuration's "journal" object (borrowed) into *options (path untouched). */
ftrack_status fth_journal_options_parse(json_object *value, const char *origin,
                                        fth_journal_options *options, ftrack_error *err);

/* Open (creating) the journal. Fails with FTRACK_ERR_IO when the file cannot be opened or
 * another process holds it (one host per data dir). */
ftrack_status fth_journal_open(const fth_journal_options *options, fth_journal **out,
                               ftrack_error *err);
void fth_journal_close(fth_journal *journal);

typedef enum fth_append_result {
    FTH_APPEND_ADDED,
    FTH_APPEND_DUPLICATE, /* this instance already has this event id */
    FTH_APPEND_FAILED     /* logged; the caller keeps the event in memory */
} fth_append_result;

/* Record that `instance` should handle the event (wire JSON text, id and topic). */
fth_append_result fth_journal_append(fth_journal *j, const char *instance, const char *id,
                                     const char *topic, const char *text, size_t len);

typedef struct fth_journal_item {
    const char *id, *topic, *text; /* borrowed for the call */
    size_t len;
    /* Optional: `text` itself, NUL-terminated and free()-able. The journal may keep it for
     * the hand-off (see fth_journal_next) and then sets this to NULL; otherwise it copies. */
    char *owned;
    fth_append_result result; /* out */
    int64_t seq;              /* out: the delivery's seq when added */
} fth_journal_item;

/* fth_journal_append for `n` events of one instance in one transaction (all FAILED when it
 * cannot be written). The deliveries added are also kept in memory for fth_journal_next
 * (bounded), so the worker does not read back what was just written. */
void fth_journal_append_many(fth_journal *j, const char *instance, fth_journal_item *items,
                             size_t n);

typedef struct fth_journal_entry {
    int64_t seq;
    char *text;
    size_t len;
    unsigned attempts; /* dispatches started so far, this run and earlier ones */
    bool redelivery;   /* started by an earlier run (a crash) or replayed */
    char id[FTRACK_ID_MAX];
    char topic[128]; /* may be cut short: for logs */
} fth_journal_entry;

/* The oldest pending delivery of `instance`, if any (false: none, or an error, logged).
 * Deliveries appended in this run come from memory while nothing older is pending outside it
 * (from an earlier run, requeued, a retry, or not kept): the journal tracks that, so the
 * common case runs no query. A delivery handed out and not finished before the next call is
 * pending again (a retry reads it back, its attempts current). */
bool fth_journal_next(fth_journal *j, const char *instance, fth_journal_entry *out);
void fth_journal_entry_clear(fth_journal_entry *entry);
/* A dispatch of the delivery `e` (from fth_journal_next) begins: counts the attempt, marks it
 * started in this run (and marks the calling thread for the crash guard, crash_guard.h). */
void fth_journal_started(fth_journal *j, const char *instance, const fth_journal_entry *e);
/* The delivery ended: handled, or dead-lettered (no longer pending either way). */
void fth_journal_finished(fth_journal *j, const char *instance, const fth_journal_entry *e);
/* Apply the marks log to the database now (see "Cost" above). */
void fth_journal_flush(fth_journal *j);
/* The deliveries of `instance` an earlier run started and left pending (cut short by the end
 * of that process, or waiting for a retry at a stop), oldest first, their attempts counted.
 * `fn` sees each (with the journal locked: it must not call the journal); those it returns
 * true for are marked finished (the caller dead-lettered them). Returns how many it saw. */
typedef bool (*fth_journal_unfinished_fn)(void *ctx, const fth_journal_entry *e);
size_t fth_journal_unfinished(fth_journal *j, const char *instance, fth_journal_unfinished_fn fn,
                              void *ctx);
/* Put an event back as pending for `instance` (replay): marked as a redelivery. */
ftrack_status fth_journal_requeue(fth_journal *j, const char *instance, const char *id,
                                  const char *topic, const char *text, ftrack_error *err);

/* Apply the marks log, and sync to disk under the batched policy. Host timer, about every
 * second. */
void fth_journal_sync(fth_journal *j);

typedef struct fth_journal_stats {
    uint64_t pending;      /* pending deliveries (all instances) */
    uint64_t bytes;        /* database size in use */
    uint64_t evicted;      /* deliveries dead-lettered at the size limit, since open */
    uint64_t expired;      /* deliveries dead-lettered at the age limit, since open */
    uint64_t duplicates;   /* appends refused as duplicates, since open */
    uint64_t write_errors; /* failed writes, since open */
} fth_journal_stats;

/* Enforce the bounds (see above); dead letters go to `dl` (may be NULL: then only counted). */
void fth_journal_compact(fth_journal *j, fth_deadletter *dl);
void fth_journal_get_stats(fth_journal *j, fth_journal_stats *out);
/* Pending deliveries of one instance. */
uint64_t fth_journal_pending(fth_journal *j, const char *instance);
#endif
