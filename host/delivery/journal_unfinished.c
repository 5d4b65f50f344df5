/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's deliveries an earlier run started and did not finish (journal.h,
 * fth_journal_unfinished): read at an instance's start, so the host can count the try a crash
 * cut short and dead-letter a delivery whose tries are used up without running it again. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include "common/internal.h"
#include "delivery/journal_internal.h"

/* Rarely run (once per instance start): prepared on the spot, not kept. */
static const char UNFINISHED_SQL[] =
    "SELECT d.seq, d.attempts, e.text, e.id, e.topic "
    "FROM deliveries d INDEXED BY deliveries_waiting JOIN events e ON e.seq = d.seq "
    "WHERE d.instance = ?1 AND d.state = 0 AND d.attempts > 0 AND d.run <> ?2 ORDER BY d.seq";

static void column_text(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *v = sqlite3_column_text(s, col);
    fti_strlcpy(out, v ? (const char *)v : "", size);
}

/* Visit the rows; the seqs `fn` took go to *done (grown as needed). Caller holds the lock. */
static size_t visit(sqlite3_stmt *s, fth_journal_unfinished_fn fn, void *ctx,
                    int64_t **done, size_t *done_count)
{
    size_t seen = 0, cap = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        fth_journal_entry e;
        memset(&e, 0, sizeof(e));
        e.seq = sqlite3_column_int64(s, 0);
        e.attempts = (unsigned)sqlite3_column_int64(s, 1);
        e.redelivery = true; /* started by an earlier run */
        const unsigned char *text = sqlite3_column_text(s, 2);
        e.len = (size_t)sqlite3_column_bytes(s, 2);
        e.text = text ? fti_strndup((const char *)text, e.len) : NULL;
        column_text(s, 3, e.id, sizeof(e.id));
        column_text(s, 4, e.topic, sizeof(e.topic));
        seen++;
        bool take = e.text && fn(ctx, &e);
        int64_t seq = e.seq;
        fth_journal_entry_clear(&e);
        if (!take)
            continue;
        if (!fti_array_reserve(done, &cap, *done_count + 1, sizeof(**done))) {
            ftrack_log(FTRACK_LOG_ERROR, "journal",
                       "out of memory: a dead-lettered delivery stays pending");
            break;
        }
        (*done)[(*done_count)++] = seq;
    }
    return seen;
}

static void mark_finished(fth_journal *j, const char *instance, const int64_t *seqs, size_t n)
{
    if (n == 0)
        return;
    bool ok = fth_journal_tx(j, Q_BEGIN);
    for (size_t i = 0; ok && i < n; i++) {
        sqlite3_stmt *s = fth_journal_stmt(j, Q_FINISHED);
        sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, seqs[i]);
        ok = sqlite3_step(s) == SQLITE_DONE;
        sqlite3_reset(s);
    }
    if (!ok || !fth_journal_tx(j, Q_COMMIT)) {
        fth_journal_log_db_error(j, "cannot mark dead-lettered deliveries finished");
        fth_journal_tx(j, Q_ROLLBACK);
    }
    j->dirty = true;
}

size_t fth_journal_unfinished(fth_journal *j, const char *instance, fth_journal_unfinished_fn fn,
                              void *ctx)
{
    pthread_mutex_lock(&j->lock);
    fth_journal_marks_apply(j, false, j->run); /* the attempts must be current */
    sqlite3_stmt *s = NULL;
    size_t seen = 0, n = 0;
    int64_t *done = NULL;
    if (sqlite3_prepare_v2(j->db, UNFINISHED_SQL, -1, &s, NULL) != SQLITE_OK) {
        fth_journal_log_db_error(j, "cannot read unfinished deliveries");
    } else {
        sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, j->run);
        seen = visit(s, fn, ctx, &done, &n);
    }
    sqlite3_finalize(s);
    mark_finished(j, instance, done, n);
    free(done);
    pthread_mutex_unlock(&j->lock);
    return seen;
}
