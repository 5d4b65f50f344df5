/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_JOURNAL_H
#define FTH_JOURNAL_H
/*
 * The event journal: every event the host receives is written here before any plugin sees
 * it, once, with the plugin instances that should handle it. A *delivery* (an event for one
 * instance) is pending until the instance handled it (or it was dead-lettered), so a restart
 * after a crash picks up exactly what was received but not handled (at-least-once). The same
 * event id received twice for one instance is recorded once (deduplication, in this process
 * for the events of the last `dedup_window` seconds, at most the newest 4,096; after a
 * restart for the events still in the journal's files).
 *
 * Storage: an append-only log of checksummed records in segment files
 * (<data dir>/journal/<16 hex digits>.seg, journal_log.c): an event record (the wire text,
 * with the instances it is for), a delivery record when another instance matches an event
 * already written, and small started/finished marks. Appending is a copy into the memory-
 * mapped head segment, in the page cache at once, so a crash of the process loses nothing
 * accepted; state (what is pending, attempts) is rebuilt from the records at open
 * (journal_recover.c). A torn record at the tail is cut and logged, a corrupted one in the
 * middle is reported with its file and offset and skipped: neither is ever misread.
 * Durability (fsync policy) decides what survives a power loss: "every" syncs each record,
 * "batched" (default) syncs from the host's one-second timer (fth_journal_sync), so at most
 * about a second of accepted events is at risk, "off" leaves it to the OS.
 *
 * Bounds (fth_journal_compact, journal_compact.c): a segment is deleted once nothing in it is
 * pending; the few pending events that keep an old segment alive are copied forward first. At
 * `max_age` a pending delivery, and at `max_bytes` the oldest pending ones, move to the
 * dead-letter file (counted and logged): nothing is dropped silently. See docs/reliability.md.
 *
 * Threads: every function may be called from any thread; one mutex serialises the state.
 * Ownership: strings passed in are copied; entries handed out own their text and a reference
 * on their match (fth_journal_entry_clear).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/host.h>
#include "delivery/deadletter.h"

typedef struct fth_journal fth_journal;

typedef enum fth_fsync_policy {
    FTH_FSYNC_BATCHED = 0,
    FTH_FSYNC_EVERY,
    FTH_FSYNC_OFF
} fth_fsync_policy;

typedef struct fth_journal_options {
    const char *path; /* the journal's directory (created) */
    /* An old SQLite journal to import at open (its pending deliveries), then renamed to
     * <name>.migrated; NULL or missing: none. */
    const char *migrate_from;
    uint64_t segment_bytes;  /* 0 → 4 MiB (at most max_bytes / 4) */
    fth_fsync_policy fsync;  /* default batched */
    uint64_t max_bytes;      /* 0 → 512 MiB */
    double max_age;          /* seconds a pending event may wait; 0 → 7 days */
    double dedup_window;     /* seconds finished events are remembered; 0 → 1 hour */
    double compact_interval; /* seconds between the host's compactions (whole, ≥ 1); 30 */
} fth_journal_options;

void fth_journal_options_init(fth_journal_options *options);
/* Check the configuration's "journal" object (borrowed) into *options (path untouched). */
ftrack_status fth_journal_options_parse(json_object *value, const char *origin,
                                        fth_journal_options *options, ftrack_error *err);

/* Open (creating) the journal, reading what earlier runs left. Fails with FTRACK_ERR_IO when
 * the directory cannot be used or another process holds it (one host per data dir). */
ftrack_status fth_journal_open(const fth_journal_options *options, fth_journal **out,
                               ftrack_error *err);
void fth_journal_close(fth_journal *journal);

typedef enum fth_append_result {
    FTH_APPEND_ADDED,
    FTH_APPEND_DUPLICATE, /* this instance already has this event id */
    FTH_APPEND_FAILED     /* logged; the caller keeps the event in memory */
} fth_append_result;

/* Record that each of `instances` (n names) should handle the event (wire JSON text, id and
 * topic): the text is written once for all of them. `match` (may be NULL) is what routing
 * matched: kept, referenced, with each new delivery and handed out with it (never written).
 * results[i] says what became of instances[i]. */
void fth_journal_append_event(fth_journal *j, const char *id, const char *topic, const char *text,
                              size_t len, ftrack_hub_match *match, const char *const *instances,
                              fth_append_result *results, size_t n);
/* The same for one instance. */
fth_append_result fth_journal_append(fth_journal *j, const char *instance, const char *id,
                                     const char *topic, const char *text, size_t len);

typedef struct fth_journal_entry {
    int64_t seq;
    char *text;
    size_t len;
    unsigned attempts; /* dispatches started so far, this run and earlier ones */
    bool redelivery;   /* started by an earlier run (a crash) or replayed */
    char id[FTRACK_ID_MAX];
    char topic[128];         /* may be cut short: for logs */
    ftrack_hub_match *match; /* what routing matched (referenced); NULL: match at dispatch */
} fth_journal_entry;

/* The oldest pending delivery of `instance`, if any (false: none, or an error, logged). A
 * delivery handed out and not finished before the next call is handed out again (a retry),
 * its attempts current. */
bool fth_journal_next(fth_journal *j, const char *instance, fth_journal_entry *out);
/* fth_journal_next and fth_journal_started in one go (one lock for a worker's every event):
 * the entry is as fth_journal_next gives it, its attempt counted and marked started. */
bool fth_journal_begin(fth_journal *j, const char *instance, fth_journal_entry *out);
void fth_journal_entry_clear(fth_journal_entry *entry);
/* A dispatch of the delivery `e` (from fth_journal_next) begins: counts the attempt, marks it
 * started in this run (and marks the calling thread for the crash guard, crash_guard.h). */
void fth_journal_started(fth_journal *j, const char *instance, const fth_journal_entry *e);
/* The delivery ended: handled, or dead-lettered (no longer pending either way). */
void fth_journal_finished(fth_journal *j, const char *instance, const fth_journal_entry *e);
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

/* Sync what was written since the last call to disk under the batched policy. Host timer,
 * about every second. */
void fth_journal_sync(fth_journal *j);

typedef struct fth_journal_stats {
    uint64_t pending;      /* pending deliveries (all instances) */
    uint64_t bytes;        /* bytes of records in the segment files */
    uint64_t written;      /* bytes of records written since open */
    uint64_t segments;     /* segment files */
    uint64_t evicted;      /* deliveries dead-lettered at the size limit, since open */
    uint64_t expired;      /* deliveries dead-lettered at the age limit, since open */
    uint64_t duplicates;   /* appends refused as duplicates, since open */
    uint64_t write_errors; /* failed writes, since open */
    uint64_t corrupt;      /* damaged records found at open (each logged with its position) */
} fth_journal_stats;

/* Enforce the bounds (see above); dead letters go to `dl` (may be NULL: then only counted). */
void fth_journal_compact(fth_journal *j, fth_deadletter *dl);
void fth_journal_get_stats(fth_journal *j, fth_journal_stats *out);
/* Pending deliveries of one instance. */
uint64_t fth_journal_pending(fth_journal *j, const char *instance);

/* Print every record of the journal in directory `path` as one JSON object per line to
 * `out` (type, segment, offset, seq, instance, id, topic, size), damage included, without
 * changing anything: for `ftrack-host journal` and tests. Works while a host runs. */
ftrack_status fth_journal_dump(const char *path, FILE *out, ftrack_error *err);
#endif
