/* The event journal over SQLite (journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include "common/internal.h"
#include "journal.h"

#define DEFAULT_MAX_BYTES ((uint64_t)512 * 1024 * 1024)
#define DEFAULT_MAX_AGE (7.0 * 24 * 3600)
#define DEFAULT_DEDUP_WINDOW 3600.0
/* Deliveries moved to the dead-letter file per round at the size limit. */
#define EVICT_BATCH 200

enum {
    Q_INSERT_EVENT,
    Q_INSERT_DELIVERY,
    Q_NEXT,
    Q_STARTED,
    Q_FINISHED,
    Q_REQUEUE,
    Q_PENDING_OF,
    Q_COUNT
};

static const char *const SQL[Q_COUNT] = {
    [Q_INSERT_EVENT] = "INSERT INTO events(id, topic, received, text) VALUES(?1, ?2, ?3, ?4) "
                       "ON CONFLICT(id) DO UPDATE SET text = COALESCE(events.text, "
                       "excluded.text) RETURNING seq",
    [Q_INSERT_DELIVERY] = "INSERT OR IGNORE INTO deliveries(instance, seq) VALUES(?1, ?2)",
    [Q_NEXT] = "SELECT d.seq, d.attempts, d.run, d.replayed, e.text FROM deliveries d "
               "JOIN events e ON e.seq = d.seq WHERE d.instance = ?1 AND d.state = 0 "
               "ORDER BY d.seq LIMIT 1",
    [Q_STARTED] = "UPDATE deliveries SET attempts = attempts + 1, run = ?3 "
                  "WHERE instance = ?1 AND seq = ?2",
    [Q_FINISHED] = "UPDATE deliveries SET state = 1 WHERE instance = ?1 AND seq = ?2",
    [Q_REQUEUE] = "INSERT INTO deliveries(instance, seq, replayed) VALUES(?1, ?2, 1) "
                  "ON CONFLICT(instance, seq) DO UPDATE SET state = 0, attempts = 0, "
                  "replayed = 1",
    [Q_PENDING_OF] = "SELECT count(*) FROM deliveries WHERE instance = ?1 AND state = 0",
};

static const char SCHEMA[] =
    "PRAGMA auto_vacuum = INCREMENTAL;"
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, received REAL NOT NULL, text TEXT);"
    "CREATE TABLE IF NOT EXISTS deliveries(instance TEXT NOT NULL, seq INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
    " run INTEGER NOT NULL DEFAULT 0, replayed INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(instance, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(instance, state, seq);"
    "CREATE INDEX IF NOT EXISTS deliveries_by_seq ON deliveries(seq, state);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('run', 0);"
    "UPDATE meta SET value = value + 1 WHERE key = 'run';";

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
};

void fth_journal_options_init(fth_journal_options *o)
{
    memset(o, 0, sizeof(*o));
    o->fsync = FTH_FSYNC_BATCHED;
    o->max_bytes = DEFAULT_MAX_BYTES;
    o->max_age = DEFAULT_MAX_AGE;
    o->dedup_window = DEFAULT_DEDUP_WINDOW;
}

static ftrack_status bad(ftrack_error *err, const char *origin, const char *what)
{
    return fti_error(err, FTRACK_ERR_CONFIG, "%s: %s", origin, what);
}

static bool positive_number(json_object *v, double max, double *out)
{
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return false;
    double d = json_object_get_double(v);
    if (!isfinite(d) || d <= 0 || d > max)
        return false;
    *out = d;
    return true;
}

ftrack_status fth_journal_options_parse(json_object *value, const char *origin,
                                        fth_journal_options *o, ftrack_error *err)
{
    if (!json_object_is_type(value, json_type_object))
        return bad(err, origin, "\"journal\" must be an object");
    json_object_object_foreach(value, key, v)
    {
        double d;
        if (strcmp(key, "fsync") == 0) {
            const char *s =
                json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
            if (strcmp(s, "every") == 0)
                o->fsync = FTH_FSYNC_EVERY;
            else if (strcmp(s, "batched") == 0)
                o->fsync = FTH_FSYNC_BATCHED;
            else if (strcmp(s, "off") == 0)
                o->fsync = FTH_FSYNC_OFF;
            else
                return bad(err, origin, "journal.fsync must be \"every\", \"batched\" or \"off\"");
        } else if (strcmp(key, "max_bytes") == 0) {
            if (!positive_number(v, 1e15, &d) || d < 1024 * 1024)
                return bad(err, origin,
                           "journal.max_bytes must be a number of bytes, at least "
                           "1048576");
            o->max_bytes = (uint64_t)d;
        } else if (strcmp(key, "max_age") == 0) {
            if (!positive_number(v, 10 * 365 * 86400.0, &o->max_age))
                return bad(err, origin, "journal.max_age must be a positive number of seconds");
        } else if (strcmp(key, "dedup_window") == 0) {
            if (!positive_number(v, 365 * 86400.0, &o->dedup_window))
                return bad(err, origin,
                           "journal.dedup_window must be a positive number of seconds");
        } else {
            char msg[256];
            snprintf(msg, sizeof(msg),
                     "journal: unknown key \"%s\" (known: fsync, max_bytes, max_age, "
                     "dedup_window)",
                     key);
            return bad(err, origin, msg);
        }
    }
    return FTRACK_OK;
}

static void log_db_error(fth_journal *j, const char *what)
{
    j->write_errors++;
    ftrack_log(FTRACK_LOG_ERROR, "journal", "%s: %s", what, sqlite3_errmsg(j->db));
}

static ftrack_status exec(fth_journal *j, const char *sql, ftrack_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(j->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return FTRACK_OK;
    ftrack_status st =
        fti_error(err, FTRACK_ERR_IO, "journal %s: %s", j->path, msg ? msg : sqlite3_errmsg(j->db));
    sqlite3_free(msg);
    return st;
}

static ftrack_status take_lock(fth_journal *j, ftrack_error *err)
{
    char *lock_path = fti_asprintf("%s.lock", j->path);
    if (!lock_path)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    j->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(lock_path);
    if (j->lock_fd < 0)
        return fti_error(err, FTRACK_ERR_IO, "cannot open the journal lock of %s: %s", j->path,
                         strerror(errno));
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return fti_error(err, FTRACK_ERR_IO,
                         "the journal %s is in use by another ftrack-host (one host per data "
                         "dir; give this one its own --data-dir)",
                         j->path);
    return FTRACK_OK;
}

static ftrack_status read_run(fth_journal *j, ftrack_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE key = 'run'", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return fti_error(err, FTRACK_ERR_IO, "journal %s: %s", j->path, sqlite3_errmsg(j->db));
    }
    j->run = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return FTRACK_OK;
}

static ftrack_status setup(fth_journal *j, ftrack_error *err)
{
    if (sqlite3_open_v2(j->path, &j->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        return fti_error(err, FTRACK_ERR_IO, "cannot open the journal %s: %s", j->path,
                         j->db ? sqlite3_errmsg(j->db) : "out of memory");
    chmod(j->path, 0600);
    sqlite3_busy_timeout(j->db, 5000);
    const char *sync = j->options.fsync == FTH_FSYNC_EVERY ? "PRAGMA synchronous = FULL;"
                       : j->options.fsync == FTH_FSYNC_OFF ? "PRAGMA synchronous = OFF;"
                                                           : "PRAGMA synchronous = NORMAL;";
    ftrack_status st = exec(j, SCHEMA, err);
    if (st == FTRACK_OK)
        st = exec(j, sync, err);
    if (st == FTRACK_OK)
        st =
            exec(j, "PRAGMA journal_size_limit = 16777216; PRAGMA wal_autocheckpoint = 1000;", err);
    if (st == FTRACK_OK)
        st = read_run(j, err);
    for (int i = 0; st == FTRACK_OK && i < Q_COUNT; i++)
        if (sqlite3_prepare_v3(j->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &j->stmt[i], NULL) !=
            SQLITE_OK)
            st = fti_error(err, FTRACK_ERR_IO, "journal %s: %s", j->path, sqlite3_errmsg(j->db));
    return st;
}

ftrack_status fth_journal_open(const fth_journal_options *options, fth_journal **out,
                               ftrack_error *err)
{
    *out = NULL;
    fth_journal *j = calloc(1, sizeof(*j));
    if (!j)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    j->options = *options;
    j->lock_fd = -1;
    pthread_mutex_init(&j->lock, NULL);
    j->path = fti_strdup(options->path);
    ftrack_status st =
        j->path ? take_lock(j, err) : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    if (st == FTRACK_OK)
        st = setup(j, err);
    if (st != FTRACK_OK) {
        fth_journal_close(j);
        return st;
    }
    *out = j;
    return FTRACK_OK;
}

void fth_journal_close(fth_journal *j)
{
    if (!j)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(j->stmt[i]);
    if (j->db) {
        sqlite3_exec(j->db, "PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL);
        sqlite3_close(j->db);
    }
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    pthread_mutex_destroy(&j->lock);
    free(j->path);
    free(j);
}

static sqlite3_stmt *stmt(fth_journal *j, int which)
{
    sqlite3_stmt *s = j->stmt[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* Insert (or find) the event row; its seq, or -1. Caller holds the lock, inside a
 * transaction. */
static int64_t upsert_event(fth_journal *j, const char *id, const char *topic, const char *text,
                            size_t len)
{
    sqlite3_stmt *s = stmt(j, Q_INSERT_EVENT);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, topic, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 3, fti_wall_now());
    sqlite3_bind_text(s, 4, text, (int)len, SQLITE_STATIC);
    int64_t seq = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return seq;
}

fth_append_result fth_journal_append(fth_journal *j, const char *instance, const char *id,
                                     const char *topic, const char *text, size_t len)
{
    pthread_mutex_lock(&j->lock);
    fth_append_result r = FTH_APPEND_FAILED;
    if (sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        log_db_error(j, "cannot journal an event");
        pthread_mutex_unlock(&j->lock);
        return r;
    }
    int64_t seq = upsert_event(j, id, topic, text, len);
    if (seq >= 0) {
        sqlite3_stmt *s = stmt(j, Q_INSERT_DELIVERY);
        sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, seq);
        if (sqlite3_step(s) == SQLITE_DONE)
            r = sqlite3_changes(j->db) ? FTH_APPEND_ADDED : FTH_APPEND_DUPLICATE;
        sqlite3_reset(s);
    }
    if (r == FTH_APPEND_FAILED || sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        log_db_error(j, "cannot journal an event");
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        r = FTH_APPEND_FAILED;
    }
    if (r == FTH_APPEND_DUPLICATE)
        j->duplicates++;
    j->dirty = true;
    pthread_mutex_unlock(&j->lock);
    return r;
}

bool fth_journal_next(fth_journal *j, const char *instance, fth_journal_entry *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&j->lock);
    sqlite3_stmt *s = stmt(j, Q_NEXT);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    bool found = false;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(s, 4);
        int len = sqlite3_column_bytes(s, 4);
        out->seq = sqlite3_column_int64(s, 0);
        out->attempts = (unsigned)sqlite3_column_int64(s, 1);
        int64_t run = sqlite3_column_int64(s, 2);
        out->redelivery = sqlite3_column_int64(s, 3) != 0 || (run != 0 && run != j->run);
        out->text = text ? fti_strndup((const char *)text, (size_t)len) : NULL;
        out->len = (size_t)len;
        found = out->text != NULL;
    } else if (rc != SQLITE_DONE) {
        log_db_error(j, "cannot read the journal");
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&j->lock);
    return found;
}

void fth_journal_entry_clear(fth_journal_entry *e)
{
    if (!e)
        return;
    free(e->text);
    memset(e, 0, sizeof(*e));
}

static void update_delivery(fth_journal *j, int which, const char *instance, int64_t seq)
{
    pthread_mutex_lock(&j->lock);
    sqlite3_stmt *s = stmt(j, which);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    if (which == Q_STARTED)
        sqlite3_bind_int64(s, 3, j->run);
    if (sqlite3_step(s) != SQLITE_DONE)
        log_db_error(j, "cannot update the journal");
    sqlite3_reset(s);
    j->dirty = true;
    pthread_mutex_unlock(&j->lock);
}

void fth_journal_started(fth_journal *j, const char *instance, int64_t seq)
{
    update_delivery(j, Q_STARTED, instance, seq);
}

void fth_journal_finished(fth_journal *j, const char *instance, int64_t seq)
{
    update_delivery(j, Q_FINISHED, instance, seq);
}

ftrack_status fth_journal_requeue(fth_journal *j, const char *instance, const char *id,
                                  const char *topic, const char *text, ftrack_error *err)
{
    pthread_mutex_lock(&j->lock);
    ftrack_status st = FTRACK_OK;
    if (sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        st = fti_error(err, FTRACK_ERR_IO, "journal: %s", sqlite3_errmsg(j->db));
        pthread_mutex_unlock(&j->lock);
        return st;
    }
    int64_t seq = upsert_event(j, id, topic, text, strlen(text));
    sqlite3_stmt *s = stmt(j, Q_REQUEUE);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    if (seq < 0 || sqlite3_step(s) != SQLITE_DONE ||
        sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        st = fti_error(err, FTRACK_ERR_IO, "journal: %s", sqlite3_errmsg(j->db));
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_reset(s);
    j->dirty = true;
    pthread_mutex_unlock(&j->lock);
    return st;
}

void fth_journal_sync(fth_journal *j)
{
    if (!j || j->options.fsync != FTH_FSYNC_BATCHED)
        return;
    pthread_mutex_lock(&j->lock);
    /* A passive checkpoint syncs the WAL before copying it back: under synchronous=NORMAL
     * this is where the batch becomes durable against power loss. */
    if (j->dirty)
        sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    j->dirty = false;
    pthread_mutex_unlock(&j->lock);
}

/* ---- compaction -------------------------------------------------------------------------- */

static int64_t query_int(fth_journal *j, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(j->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static uint64_t used_bytes(fth_journal *j)
{
    int64_t pages = query_int(j, "PRAGMA page_count") - query_int(j, "PRAGMA freelist_count");
    return (uint64_t)(pages > 0 ? pages : 0) * (uint64_t)query_int(j, "PRAGMA page_size");
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
        "DELETE FROM events WHERE received < ?1 AND NOT EXISTS (SELECT 1 FROM deliveries d "
        "WHERE d.seq = events.seq AND d.state = 0);"
        "";
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
    double now = fti_wall_now();
    uint64_t expired =
        give_up(j, dl, "e.received < ?1", now - j->options.max_age, 100000, "expired");
    if (expired) {
        j->expired += expired;
        ftrack_log(FTRACK_LOG_WARNING, "journal",
                   "%llu pending deliveries were older than journal.max_age (%.0f s): moved to "
                   "the dead-letter file (%llu since start)",
                   (unsigned long long)expired, j->options.max_age, (unsigned long long)j->expired);
    }
    forget_finished(j, now - j->options.dedup_window);
    if (used_bytes(j) > j->options.max_bytes) {
        /* Over the limit: first forget every finished event (the dedup window shrinks), then
         * give up the oldest pending ones, which go to the dead-letter file, not nowhere. */
        forget_finished(j, INFINITY);
        uint64_t evicted = 0, n;
        do {
            n = give_up(j, dl, "?1 = ?1", 0, EVICT_BATCH, "journal-full");
            evicted += n;
            forget_finished(j, INFINITY);
            sqlite3_exec(j->db, "PRAGMA incremental_vacuum;", NULL, NULL, NULL);
        } while (n && used_bytes(j) > j->options.max_bytes * 9 / 10);
        j->evicted += evicted;
        ftrack_log(FTRACK_LOG_WARNING, "journal",
                   "the journal reached journal.max_bytes (%llu): %llu oldest pending "
                   "deliveries moved to the dead-letter file (%llu since start)",
                   (unsigned long long)j->options.max_bytes, (unsigned long long)evicted,
                   (unsigned long long)j->evicted);
    }
    sqlite3_exec(j->db, "PRAGMA incremental_vacuum;", NULL, NULL, NULL);
    pthread_mutex_unlock(&j->lock);
}

void fth_journal_get_stats(fth_journal *j, fth_journal_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    out->pending = (uint64_t)query_int(j, "SELECT count(*) FROM deliveries WHERE state = 0");
    out->bytes = used_bytes(j);
    out->evicted = j->evicted;
    out->expired = j->expired;
    out->duplicates = j->duplicates;
    out->write_errors = j->write_errors;
    pthread_mutex_unlock(&j->lock);
}

uint64_t fth_journal_pending(fth_journal *j, const char *instance)
{
    pthread_mutex_lock(&j->lock);
    sqlite3_stmt *s = stmt(j, Q_PENDING_OF);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    uint64_t n = sqlite3_step(s) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    pthread_mutex_unlock(&j->lock);
    return n;
}
