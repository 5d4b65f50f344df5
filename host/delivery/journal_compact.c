/* SPDX-License-Identifier: Apache-2.0 */
/* Journal compaction (fth_journal_compact, journal.h): dead-letters deliveries past
 * journal.max_age, forgets finished events past the dedup window, and at journal.max_bytes
 * gives up the oldest pending deliveries. Apart from journal.c because it is the one piece
 * that deletes and dead-letters, run from the reliability layer's periodic tick and at stop
 * (reliability.c), on the journal's lock like the rest (journal_internal.h). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <sqlite3.h>
#include "common/internal.h"
#include "delivery/journal.h"
#include "delivery/journal_internal.h"

/* Deliveries moved to the dead-letter file per round at the size limit. */
#define EVICT_BATCH 200

uint64_t fth_journal_used_bytes(fth_journal *j)
{
    int64_t pages = fth_journal_query_int(j, "PRAGMA page_count") -
                    fth_journal_query_int(j, "PRAGMA freelist_count");
    return (uint64_t)(pages > 0 ? pages : 0) *
           (uint64_t)fth_journal_query_int(j, "PRAGMA page_size");
}

/* Dead-letter pending deliveries chosen by `where` (oldest first, at most `limit`); returns
 * how many. Caller holds the lock. */
static uint64_t give_up(fth_journal *j, fth_deadletter *dl, const char *where, double cutoff,
                        int limit, const char *reason)
{
    char *sql = fti_asprintf("SELECT d.instance, d.seq, d.attempts, e.text FROM deliveries d "
                             "JOIN events e ON e.seq = d.seq WHERE d.state = 0 AND %s "
                             "ORDER BY d.seq LIMIT %d",
                             where, limit);
    sqlite3_stmt *s = NULL, *fin = j->stmt[Q_FINISHED];
    uint64_t n = 0;
    if (!sql || sqlite3_prepare_v2(j->db, sql, -1, &s, NULL) != SQLITE_OK) {
        free(sql);
        return 0;
    }
    free(sql);
    sqlite3_bind_double(s, 1, cutoff);
    sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *instance = (const char *)sqlite3_column_text(s, 0);
        const char *text = (const char *)sqlite3_column_text(s, 3);
        fth_deadletter_append(dl, instance, reason, NULL, (unsigned)sqlite3_column_int64(s, 2),
                              text ? text : "null");
        sqlite3_reset(fin);
        sqlite3_bind_text(fin, 1, instance, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(fin, 2, sqlite3_column_int64(s, 1));
        sqlite3_step(fin);
        sqlite3_reset(fin);
        n++;
    }
    sqlite3_finalize(s);
    sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
    return n;
}

/* Forget finished events received before `cutoff` (all finished ones when cutoff is
 * INFINITY). Caller holds the lock. */
static void forget_finished(fth_journal *j, double cutoff)
{
    sqlite3_stmt *s = NULL;
    const char *sql =
        "DELETE FROM events WHERE received < ?1 AND seq NOT IN (SELECT seq FROM deliveries "
        "INDEXED BY deliveries_waiting WHERE state = 0)";
    sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(j->db, sql, -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_double(s, 1, cutoff);
        sqlite3_step(s);
    }
    sqlite3_finalize(s);
    sqlite3_exec(j->db,
                 "DELETE FROM deliveries WHERE NOT EXISTS (SELECT 1 FROM events e "
                 "WHERE e.seq = deliveries.seq);",
                 NULL, NULL, NULL);
    sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
}

void fth_journal_compact(fth_journal *j, fth_deadletter *dl)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    fth_journal_marks_apply(j, false, j->run); /* what is handled must not be dead-lettered */
    double now = fti_wall_now();
    uint64_t expired =
        give_up(j, dl, "e.received < ?1", now - j->options.max_age, 100000, "expired");
    if (expired) {
        fth_journal_fresh_drop_all(j);
        j->expired += expired;
        ftrack_log(FTRACK_LOG_WARNING, "journal",
                   "%llu pending deliveries were older than journal.max_age (%.0f s): moved to "
                   "the dead-letter file (%llu since start)",
                   (unsigned long long)expired, j->options.max_age, (unsigned long long)j->expired);
    }
    forget_finished(j, now - j->options.dedup_window);
    if (fth_journal_used_bytes(j) > j->options.max_bytes) {
        /* Over the limit: first forget every finished event (the dedup window shrinks), then
         * give up the oldest pending ones, which go to the dead-letter file, not nowhere. */
        forget_finished(j, INFINITY);
        uint64_t evicted = 0, n;
        do {
            n = give_up(j, dl, "?1 = ?1", 0, EVICT_BATCH, "journal-full");
            evicted += n;
            forget_finished(j, INFINITY);
            sqlite3_exec(j->db, "PRAGMA incremental_vacuum;", NULL, NULL, NULL);
        } while (n && fth_journal_used_bytes(j) > j->options.max_bytes * 9 / 10);
        j->evicted += evicted;
        if (evicted)
            fth_journal_fresh_drop_all(j);
        ftrack_log(FTRACK_LOG_WARNING, "journal",
                   "the journal reached journal.max_bytes (%llu): %llu oldest pending "
                   "deliveries moved to the dead-letter file (%llu since start)",
                   (unsigned long long)j->options.max_bytes, (unsigned long long)evicted,
                   (unsigned long long)j->evicted);
    }
    sqlite3_exec(j->db, "PRAGMA incremental_vacuum;", NULL, NULL, NULL);
    pthread_mutex_unlock(&j->lock);
}
