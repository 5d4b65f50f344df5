/* SPDX-License-Identifier: Apache-2.0 */
/* The event journal over SQLite (journal.h): options, schema, open and close, appends, the
 * next delivery, started/finished marks, requeue and stats. The marks log is in
 * journal_marks.c, the in-memory hand-off of fresh deliveries in journal_fresh.c, compaction
 * in journal_compact.c. */
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
#include "delivery/crash_guard.h"
#include "delivery/journal.h"
#include "delivery/journal_internal.h"

#define DEFAULT_MAX_BYTES ((uint64_t)512 * 1024 * 1024)
#define DEFAULT_MAX_AGE (7.0 * 24 * 3600)
#define DEFAULT_DEDUP_WINDOW 3600.0

/* Q_NEXT names the partial index of pending deliveries: without it SQLite walks the
 * instance's primary key in seq order and skips every finished delivery still kept for
 * deduplication (an hour's worth), per event. */
static const char *const SQL[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    /* The common case (a new event) needs no RETURNING: the seq is the new rowid. */
    [Q_INSERT_EVENT] = "INSERT OR IGNORE INTO events(id, topic, received, text) "
                       "VALUES(?1, ?2, ?3, ?4)",
    [Q_KNOWN_EVENT] = "UPDATE events SET text = COALESCE(text, ?2) WHERE id = ?1 RETURNING seq",
    [Q_INSERT_DELIVERY] = "INSERT OR IGNORE INTO deliveries(instance, seq) VALUES(?1, ?2)",
    [Q_NEXT] = "SELECT d.seq, d.attempts, d.run, d.replayed, e.text, e.id, e.topic "
               "FROM deliveries d INDEXED BY deliveries_waiting JOIN events e ON e.seq = d.seq "
               "WHERE d.instance = ?1 AND d.state = 0 AND d.seq > ?2 AND d.seq < ?3 "
               "ORDER BY d.seq LIMIT 1",
    [Q_BELOW] = "SELECT seq FROM deliveries INDEXED BY deliveries_waiting "
                "WHERE instance = ?1 AND state = 0 AND seq < ?2 ORDER BY seq",
    [Q_STARTED] = "UPDATE deliveries SET attempts = attempts + 1, run = ?3 "
                  "WHERE instance = ?1 AND seq = ?2",
    [Q_FINISHED] = "UPDATE deliveries SET state = 1 WHERE instance = ?1 AND seq = ?2",
    [Q_STARTED_BY_ID] = "UPDATE deliveries SET attempts = attempts + 1, run = ?3 "
                        "WHERE instance = ?1 AND seq = (SELECT seq FROM events WHERE id = ?2)",
    [Q_FINISHED_BY_ID] = "UPDATE deliveries SET state = 1 "
                         "WHERE instance = ?1 AND seq = (SELECT seq FROM events WHERE id = ?2)",
    [Q_REQUEUE] = "INSERT INTO deliveries(instance, seq, replayed) VALUES(?1, ?2, 1) "
                  "ON CONFLICT(instance, seq) DO UPDATE SET state = 0, attempts = 0, "
                  "replayed = 1",
    [Q_PENDING_OF] = "SELECT count(*) FROM deliveries INDEXED BY deliveries_waiting "
                     "WHERE instance = ?1 AND state = 0",
    [Q_MARKS_DONE] = "UPDATE meta SET value = ?1 WHERE key = 'marks'",
    [Q_MAX_PENDING] = "SELECT max(seq) FROM deliveries INDEXED BY deliveries_waiting "
                      "WHERE instance = ?1 AND state = 0",
};

/* locking_mode comes first: set before the first access, SQLite keeps the WAL index in the
 * heap instead of a shared-memory file and takes its file locks once (the host holds the
 * data dir's lock anyway). The older indexes are dropped: deliveries_waiting holds only
 * pending rows, and no index of deliveries by seq is kept (one page less per commit; only
 * compaction looked deliveries up by seq, and it reads the pending ones in one go). An older
 * host opening the journal creates its index again. New journals'
 * events table has no AUTOINCREMENT (one page less per commit): a seq may then be reused
 * after compaction deleted the newest events, which is safe because compaction deletes their
 * deliveries with them and applies the marks log first. */
static const char SCHEMA[] =
    "PRAGMA locking_mode = EXCLUSIVE;"
    "PRAGMA auto_vacuum = INCREMENTAL;"
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, received REAL NOT NULL, text TEXT);"
    "CREATE TABLE IF NOT EXISTS deliveries(instance TEXT NOT NULL, seq INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
    " run INTEGER NOT NULL DEFAULT 0, replayed INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(instance, seq)) WITHOUT ROWID;"
    "DROP INDEX IF EXISTS deliveries_pending;"
    "DROP INDEX IF EXISTS deliveries_by_seq;"
    "CREATE INDEX IF NOT EXISTS deliveries_waiting ON deliveries(instance, seq) WHERE state = 0;"
    "DROP INDEX IF EXISTS deliveries_seq;"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('run', 0);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('marks', 0);"
    "UPDATE meta SET value = value + 1 WHERE key = 'run';";

void fth_journal_process_init(void)
{
    /* Without this every SQLite allocation takes a process-wide mutex to keep statistics
     * nobody reads: a tenth of the host's CPU per event in the journal. Only possible before
     * SQLite initialises (otherwise SQLITE_MISUSE, harmless). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

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

void fth_journal_log_db_error(fth_journal *j, const char *what)
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
                         "dir)",
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

sqlite3_stmt *fth_journal_stmt(fth_journal *j, int which)
{
    sqlite3_stmt *s = j->stmt[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

int64_t fth_journal_query_int(fth_journal *j, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(j->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Transaction control with prepared statements (sqlite3_exec would compile each time). */
bool fth_journal_tx(fth_journal *j, int which)
{
    sqlite3_stmt *s = fth_journal_stmt(j, which);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return ok;
}

/* ---- per-instance state --------------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The largest pending seq of `instance` in the database, -1 when none, INT64_MAX when it
 * cannot be read. Caller holds the lock. */
static int64_t max_pending(fth_journal *j, const char *instance)
{
    sqlite3_stmt *s = fth_journal_stmt(j, Q_MAX_PENDING);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    int64_t max = INT64_MAX;
    if (sqlite3_step(s) == SQLITE_ROW)
        max = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return max;
}

/* The state of `instance`, created on first use; NULL when out of memory. Caller holds the
 * lock. What is pending at creation (from an earlier run, or appended while no state could
 * be made) is outside the hand-off: one query per instance and run. */
instance_state *fth_journal_instance_of(fth_journal *j, const char *instance)
{
    uint32_t h = name_hash(instance);
    for (size_t i = 0; i < j->instance_count; i++)
        if (j->instances[i].hash == h && strcmp(j->instances[i].name, instance) == 0)
            return &j->instances[i];
    if (!fti_array_reserve(&j->instances, &j->instance_cap, j->instance_count + 1,
                           sizeof(*j->instances)))
        return NULL;
    instance_state *m = &j->instances[j->instance_count];
    memset(m, 0, sizeof(*m));
    if (!(m->name = fti_strdup(instance)))
        return NULL;
    m->hash = h;
    m->open_started = m->floor = m->handed = m->out_seq = -1;
    m->outside_max = max_pending(j, instance);
    j->instance_count++;
    return m;
}

/* ---- open and close ------------------------------------------------------------------------ */

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
    if (st == FTRACK_OK)
        fth_journal_marks_open(j);
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
    fth_journal_marks_close(j);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(j->stmt[i]);
    if (j->db) {
        sqlite3_exec(j->db, "PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL);
        sqlite3_close(j->db);
    }
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    for (size_t i = 0; i < j->instance_count; i++) {
        free(j->instances[i].name);
        free(j->instances[i].done);
        fth_journal_fresh_free(&j->instances[i]);
    }
    free(j->instances);
    pthread_mutex_destroy(&j->lock);
    free(j->path);
    free(j);
}

/* ---- events and deliveries ------------------------------------------------------------------ */

/* Insert (or find) the event row; its seq, or -1. Caller holds the lock, inside a
 * transaction. */
static int64_t upsert_event(fth_journal *j, const char *id, const char *topic, const char *text,
                            size_t len)
{
    sqlite3_stmt *s = fth_journal_stmt(j, Q_INSERT_EVENT);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, topic, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 3, fti_wall_now());
    sqlite3_bind_text(s, 4, text, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(j->db) == 1)
        return sqlite3_last_insert_rowid(j->db);
    /* Known already (another instance journaled it first, or a replay). */
    s = fth_journal_stmt(j, Q_KNOWN_EVENT);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, text, (int)len, SQLITE_STATIC);
    int64_t seq = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return seq;
}

/* One item inside the caller's transaction; false on a database error. `st` may be NULL. */
static bool append_one(fth_journal *j, const char *instance, instance_state *st,
                       fth_journal_item *it)
{
    int64_t seq = upsert_event(j, it->id, it->topic, it->text, it->len);
    if (seq < 0)
        return false;
    sqlite3_stmt *s = fth_journal_stmt(j, Q_INSERT_DELIVERY);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    if (ok)
        it->result = sqlite3_changes(j->db) ? FTH_APPEND_ADDED : FTH_APPEND_DUPLICATE;
    sqlite3_reset(s);
    it->seq = seq;
    /* An event another instance journaled first gets an older seq: below what this instance
     * may have finished in the marks log (or is about to: the one in flight), where
     * fth_journal_next must look for it. */
    if (ok && it->result == FTH_APPEND_ADDED && j->marks && st &&
        (seq < st->floor || seq < st->out_seq))
        st->below = true;
    return ok;
}

void fth_journal_append_many(fth_journal *j, const char *instance, fth_journal_item *items,
                             size_t n)
{
    for (size_t i = 0; i < n; i++)
        items[i].result = FTH_APPEND_FAILED;
    if (n == 0)
        return;
    pthread_mutex_lock(&j->lock);
    /* Before the inserts: a new state reads what is pending already. */
    instance_state *st = fth_journal_instance_of(j, instance);
    bool ok = fth_journal_tx(j, Q_BEGIN);
    for (size_t i = 0; ok && i < n; i++)
        ok = append_one(j, instance, st, &items[i]);
    if (!ok || !fth_journal_tx(j, Q_COMMIT)) {
        fth_journal_log_db_error(j, "cannot journal events");
        fth_journal_tx(j, Q_ROLLBACK);
        for (size_t i = 0; i < n; i++)
            items[i].result = FTH_APPEND_FAILED;
    } else {
        fth_journal_fresh_hand_off(st, items, n);
    }
    for (size_t i = 0; i < n; i++)
        j->duplicates += items[i].result == FTH_APPEND_DUPLICATE;
    j->dirty = true;
    pthread_mutex_unlock(&j->lock);
}

fth_append_result fth_journal_append(fth_journal *j, const char *instance, const char *id,
                                     const char *topic, const char *text, size_t len)
{
    fth_journal_item it = {.id = id, .topic = topic, .text = text, .len = len};
    fth_journal_append_many(j, instance, &it, 1);
    return it.result;
}

static void copy_column(sqlite3_stmt *s, int col, char *out, size_t size)
{
    const unsigned char *v = sqlite3_column_text(s, col);
    fti_strlcpy(out, v ? (const char *)v : "", size);
}

/* The first pending delivery of `instance` after `floor` and before `bound`: 1 found, 0
 * none, -1 error. Caller holds the lock. */
static int read_next(fth_journal *j, const char *instance, int64_t floor, int64_t bound,
                     fth_journal_entry *out)
{
    sqlite3_stmt *s = fth_journal_stmt(j, Q_NEXT);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, floor);
    sqlite3_bind_int64(s, 3, bound);
    int found = 0;
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
        copy_column(s, 5, out->id, sizeof(out->id));
        copy_column(s, 6, out->topic, sizeof(out->topic));
        found = out->text != NULL;
    } else if (rc != SQLITE_DONE) {
        fth_journal_log_db_error(j, "cannot read the journal");
        found = -1;
    }
    sqlite3_reset(s);
    return found;
}

static bool is_done(const instance_state *m, int64_t seq)
{
    for (size_t i = 0; i < m->done_count; i++)
        if (m->done[i] == seq)
            return true;
    return false;
}

/* A pending delivery below the floor that is not finished in the marks log (one appended
 * late, e.g. an event another instance journaled first), or -1. */
static int64_t first_below(fth_journal *j, const char *instance, const instance_state *m)
{
    sqlite3_stmt *s = fth_journal_stmt(j, Q_BELOW);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, m->floor);
    int64_t found = -1;
    while (found < 0 && sqlite3_step(s) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(s, 0);
        if (!is_done(m, seq))
            found = seq;
    }
    sqlite3_reset(s);
    return found;
}

/* The oldest pending delivery outside the memory list with a seq below `bound` (INT64_MAX:
 * any), as fth_journal_next always read them: 1 found, 0 none, -1 error. Caller holds the
 * lock; `st` may be NULL (out of memory), `m` is NULL without the marks log. */
static int read_outside(fth_journal *j, const char *instance, instance_state *st, instance_state *m,
                        int64_t bound, fth_journal_entry *out)
{
    /* Deliveries finished in the log are still pending in the database: read past them. */
    int found = read_next(j, instance, m ? m->floor : -1, bound, out);
    /* Below the floor only when nothing is pending above it (the memory list is). */
    if (found == 0 && m && m->below && bound == INT64_MAX) {
        int64_t below = first_below(j, instance, m);
        if (below >= 0)
            found = read_next(j, instance, below - 1, INT64_MAX, out);
        else
            m->below = false;
    }
    /* None below the bound, and none above it either: there is nothing outside. */
    if (found == 0 && st && !(m && m->below) && (bound == INT64_MAX || st->outside_max < bound))
        st->outside_max = -1;
    return found;
}

/* Two sources, one order: the deliveries this run appended wait in memory (seq order), the
 * others (pending from an earlier run, requeued, retried, not kept in memory) are read from
 * the database. The database is asked only while something may be outside, and then only for
 * what is older than the memory list's head, which it never holds twice. */
bool fth_journal_next(fth_journal *j, const char *instance, fth_journal_entry *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&j->lock);
    instance_state *st = fth_journal_instance_of(j, instance);
    instance_state *m = j->marks ? st : NULL;
    if (st && st->handed >= 0) { /* handed out and not finished: pending, outside now */
        if (st->handed > st->outside_max)
            st->outside_max = st->handed;
        st->handed = -1;
    }
    /* A started delivery that did not finish (a retry): its attempts must be read current. */
    if (m && m->open_started >= 0)
        fth_journal_marks_apply(j, false, j->run);
    fresh_entry *head = st ? st->fresh : NULL;
    int found = 0;
    if (!st || st->outside_max >= 0)
        found = read_outside(j, instance, st, m, head ? head->e.seq : INT64_MAX, out);
    if (found == 0 && head) {
        fth_journal_fresh_take(st, out);
        found = 1;
    }
    if (st)
        st->out_seq = found > 0 ? out->seq : -1;
    pthread_mutex_unlock(&j->lock);
    return found > 0;
}

void fth_journal_entry_clear(fth_journal_entry *e)
{
    if (!e)
        return;
    free(e->text);
    memset(e, 0, sizeof(*e));
}

/* Write a mark to the database at once. Caller holds the lock. */
static void update_delivery(fth_journal *j, int which, const char *instance, int64_t seq)
{
    sqlite3_stmt *s = fth_journal_stmt(j, which);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    if (which == Q_STARTED)
        sqlite3_bind_int64(s, 3, j->run);
    if (sqlite3_step(s) != SQLITE_DONE)
        fth_journal_log_db_error(j, "cannot update the journal");
    sqlite3_reset(s);
}

void fth_journal_started(fth_journal *j, const char *instance, const fth_journal_entry *e)
{
    fth_crash_guard_dispatching(instance, e->id, e->topic);
    pthread_mutex_lock(&j->lock);
    instance_state *m = j->marks ? fth_journal_instance_of(j, instance) : NULL;
    if (m && fth_journal_marks_log(j, MARK_STARTED, instance, e)) {
        m->open_started = e->seq;
        fth_journal_marks_maybe_apply(j);
    } else {
        update_delivery(j, Q_STARTED, instance, e->seq);
    }
    j->dirty = true;
    pthread_mutex_unlock(&j->lock);
}

static bool reserve_done(instance_state *m)
{
    return fti_array_reserve(&m->done, &m->done_cap, m->done_count + 1, sizeof(*m->done));
}

void fth_journal_finished(fth_journal *j, const char *instance, const fth_journal_entry *e)
{
    fth_crash_guard_idle();
    pthread_mutex_lock(&j->lock);
    instance_state *st = fth_journal_instance_of(j, instance);
    if (st && st->handed == e->seq)
        st->handed = -1;
    if (st && st->out_seq == e->seq)
        st->out_seq = -1;
    instance_state *m = j->marks ? st : NULL;
    if (m && reserve_done(m) && fth_journal_marks_log(j, MARK_FINISHED, instance, e)) {
        if (m->open_started == e->seq)
            m->open_started = -1;
        m->done[m->done_count++] = e->seq;
        if (e->seq > m->floor)
            m->floor = e->seq;
        fth_journal_marks_maybe_apply(j);
    } else {
        update_delivery(j, Q_FINISHED, instance, e->seq);
    }
    j->dirty = true;
    pthread_mutex_unlock(&j->lock);
}

void fth_journal_flush(fth_journal *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    fth_journal_marks_apply(j, false, j->run);
    pthread_mutex_unlock(&j->lock);
}

ftrack_status fth_journal_requeue(fth_journal *j, const char *instance, const char *id,
                                  const char *topic, const char *text, ftrack_error *err)
{
    pthread_mutex_lock(&j->lock);
    fth_journal_marks_apply(j, false, j->run); /* the floors must not hide the requeued delivery */
    ftrack_status st = FTRACK_OK;
    if (sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        st = fti_error(err, FTRACK_ERR_IO, "journal: %s", sqlite3_errmsg(j->db));
        pthread_mutex_unlock(&j->lock);
        return st;
    }
    int64_t seq = upsert_event(j, id, topic, text, strlen(text));
    sqlite3_stmt *s = fth_journal_stmt(j, Q_REQUEUE);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    if (seq < 0 || sqlite3_step(s) != SQLITE_DONE ||
        sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        st = fti_error(err, FTRACK_ERR_IO, "journal: %s", sqlite3_errmsg(j->db));
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    } else {
        fth_journal_fresh_requeued(j, instance, seq);
    }
    sqlite3_reset(s);
    j->dirty = true;
    pthread_mutex_unlock(&j->lock);
    return st;
}

void fth_journal_sync(fth_journal *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    fth_journal_marks_apply(j, false, j->run);
    /* A passive checkpoint syncs the WAL before copying it back: under synchronous=NORMAL
     * this is where the batch becomes durable against power loss. */
    if (j->dirty && j->options.fsync == FTH_FSYNC_BATCHED)
        sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    j->dirty = false;
    pthread_mutex_unlock(&j->lock);
}

void fth_journal_get_stats(fth_journal *j, fth_journal_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    fth_journal_marks_apply(j, false, j->run);
    out->pending =
        (uint64_t)fth_journal_query_int(j, "SELECT count(*) FROM deliveries WHERE state = 0");
    out->bytes = fth_journal_used_bytes(j);
    out->evicted = j->evicted;
    out->expired = j->expired;
    out->duplicates = j->duplicates;
    out->write_errors = j->write_errors;
    pthread_mutex_unlock(&j->lock);
}

uint64_t fth_journal_pending(fth_journal *j, const char *instance)
{
    pthread_mutex_lock(&j->lock);
    fth_journal_marks_apply(j, false, j->run);
    sqlite3_stmt *s = fth_journal_stmt(j, Q_PENDING_OF);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    uint64_t n = sqlite3_step(s) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    pthread_mutex_unlock(&j->lock);
    return n;
}
