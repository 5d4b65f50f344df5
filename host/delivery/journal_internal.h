/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_JOURNAL_INTERNAL_H
#define FTH_JOURNAL_INTERNAL_H
/*
 * What the pieces of the event journal share (private to them; the host uses journal.h):
 *   journal.c          SQLite schema and statements, appends, next/started/finished,
 *                      requeue, stats, per-instance state
 *   journal_compact.c  compaction: expiry, the dedup window, the size limit
 *   journal_marks.c    the memory-mapped marks log: records, apply, recovery at start
 *   journal_fresh.c    the in-memory hand-off of deliveries appended in this run
 *   journal_unfinished.c  deliveries an earlier run started and did not finish
 * Every function below expects the journal's lock held, or runs while the journal is opened
 * or closed (no other thread has it then).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "delivery/journal.h"

/* The prepared statements (their SQL is in journal.c). */
enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_INSERT_EVENT,
    Q_KNOWN_EVENT,
    Q_INSERT_DELIVERY,
    Q_NEXT,
    Q_BELOW,
    Q_STARTED,
    Q_FINISHED,
    Q_STARTED_BY_ID,
    Q_FINISHED_BY_ID,
    Q_REQUEUE,
    Q_PENDING_OF,
    Q_MARKS_DONE,
    Q_MAX_PENDING,
    Q_COUNT
};

enum { MARK_STARTED = 1, MARK_FINISHED = 2 };

/* A delivery appended in this run, waiting in memory for fth_journal_next. */
typedef struct fresh_entry {
    struct fresh_entry *next;
    fth_journal_entry e;
} fresh_entry;

/* What this process knows of one instance: its unapplied marks, and the deliveries handed
 * off in memory (see fth_journal_next). */
typedef struct instance_state {
    char *name;
    uint32_t hash;
    int64_t open_started; /* a started mark without its finished one, or -1 */
    int64_t *done;        /* finished, not applied yet: still pending in the database */
    size_t done_count, done_cap;
    int64_t floor; /* the largest of `done`, or -1 */
    bool below;    /* a delivery was appended below the floor since the last apply */
    /* Pending deliveries in seq order, all above the floor, the text with them. */
    fresh_entry *fresh, *fresh_tail;
    size_t fresh_count, fresh_bytes;
    /* Pending deliveries that are not in `fresh` have seqs at most this (-1: there are none;
     * INT64_MAX: unknown), besides the one handed out. */
    int64_t outside_max;
    int64_t handed; /* the seq handed out from `fresh` and not finished yet, or -1 */
    /* The seq fth_journal_next handed out last (either source) and not finished, or -1: its
     * finish raises the floor, so a delivery appended below it meanwhile is `below`. */
    int64_t out_seq;
} instance_state;

struct fth_journal {
    sqlite3 *db;
    sqlite3_stmt *stmt[Q_COUNT];
    pthread_mutex_t lock;
    int lock_fd;
    int64_t run;
    fth_journal_options options;
    char *path;
    bool dirty; /* written since the last sync */
    uint64_t evicted, expired, duplicates, write_errors;
    /* the marks log; NULL map: marks are written to the database at once */
    unsigned char *marks;
    size_t marks_used; /* bytes, header included */
    unsigned marks_count;
    double marks_since;    /* fti_now() of the oldest unapplied mark */
    double marks_retry_at; /* after a failed apply: not before this */
    instance_state *instances;
    size_t instance_count, instance_cap;
};

/* ---- journal.c ------------------------------------------------------------------------- */

/* Prepared statement `which` (Q_*), reset and unbound. */
sqlite3_stmt *fth_journal_stmt(fth_journal *j, int which);
/* Q_BEGIN, Q_COMMIT or Q_ROLLBACK; false on failure. */
bool fth_journal_tx(fth_journal *j, int which);
/* The first column of the first row of `sql`, 0 when none. */
int64_t fth_journal_query_int(fth_journal *j, const char *sql);
/* Count a write error and log it with SQLite's message. */
void fth_journal_log_db_error(fth_journal *j, const char *what);
instance_state *fth_journal_instance_of(fth_journal *j, const char *instance);

/* ---- journal_marks.c ------------------------------------------------------------------- */

void fth_journal_marks_open(fth_journal *j);
void fth_journal_marks_close(fth_journal *j);
long fth_journal_marks_apply(fth_journal *j, bool by_id, int64_t run);
void fth_journal_marks_maybe_apply(fth_journal *j);
bool fth_journal_marks_log(fth_journal *j, int kind, const char *instance,
                           const fth_journal_entry *e);

/* ---- journal_compact.c ----------------------------------------------------------------- */

/* Bytes the database uses (its pages less the free ones). */
uint64_t fth_journal_used_bytes(fth_journal *j);

/* ---- journal_fresh.c ------------------------------------------------------------------- */

void fth_journal_fresh_free(instance_state *st);
void fth_journal_fresh_hand_off(instance_state *st, fth_journal_item *items, size_t n);
void fth_journal_fresh_take(instance_state *st, fth_journal_entry *out);
void fth_journal_fresh_requeued(fth_journal *j, const char *instance, int64_t seq);
void fth_journal_fresh_drop_all(fth_journal *j);

#endif
