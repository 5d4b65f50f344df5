/* The event journal over SQLite (journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
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

/* The marks log (see journal.h): records are applied once this many are waiting, or when
 * the oldest is this old at the next mark. */
#define MARKS_BATCH 128
#define MARKS_MAX_AGE 0.010
#define MARKS_FILE_SIZE (256 * 1024)
#define MARKS_MAGIC "FTHMARK1"

/* The hand-off of fresh deliveries (see fth_journal_next): at most this many entries (and
 * bytes of text) per instance wait in memory; beyond, the worker is far behind and reads
 * them back from the database as before. */
#define FRESH_MAX 1024
#define FRESH_MAX_BYTES (1024u * 1024)

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

/* The marks log: a header, then records. A record is valid when its `len` (written last) is
 * set and it carries the header's nonce: applying the log starts a new generation with a new
 * nonce, which voids every older record at once. */
typedef struct marks_header {
    char magic[8];
    uint64_t gen;   /* applied when the database's meta 'marks' reaches it */
    int64_t run;    /* the run that wrote the records */
    uint32_t nonce; /* a random tag per generation, carried by its records */
    uint32_t reserved0;
    uint64_t reserved[4];
} marks_header;

typedef struct mark_record {
    uint32_t len; /* whole record, a multiple of 8; 0: end */
    uint32_t nonce;
    uint16_t kind; /* MARK_STARTED, MARK_FINISHED */
    uint16_t instance_len;
    uint16_t id_len;
    uint16_t reserved;
    int64_t seq;
    /* instance bytes, then id bytes */
} mark_record;

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

static sqlite3_stmt *stmt(fth_journal *j, int which)
{
    sqlite3_stmt *s = j->stmt[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

static int64_t query_int(fth_journal *j, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(j->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Transaction control with prepared statements (sqlite3_exec would compile each time). */
static bool tx(fth_journal *j, int which)
{
    sqlite3_stmt *s = stmt(j, which);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return ok;
}

/* ---- the marks log ----------------------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void free_fresh(instance_state *st)
{
    fresh_entry *f = st->fresh;
    while (f) {
        fresh_entry *next = f->next;
        free(f->e.text);
        free(f);
        f = next;
    }
    st->fresh = st->fresh_tail = NULL;
    st->fresh_count = st->fresh_bytes = 0;
}

/* The largest pending seq of `instance` in the database, -1 when none, INT64_MAX when it
 * cannot be read. Caller holds the lock. */
static int64_t max_pending(fth_journal *j, const char *instance)
{
    sqlite3_stmt *s = stmt(j, Q_MAX_PENDING);
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
static instance_state *instance_of(fth_journal *j, const char *instance)
{
    uint32_t h = name_hash(instance);
    for (size_t i = 0; i < j->instance_count; i++)
        if (j->instances[i].hash == h && strcmp(j->instances[i].name, instance) == 0)
            return &j->instances[i];
    if (j->instance_count == j->instance_cap) {
        size_t cap = j->instance_cap ? j->instance_cap * 2 : 8;
        instance_state *grown = realloc(j->instances, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        j->instances = grown;
        j->instance_cap = cap;
    }
    instance_state *m = &j->instances[j->instance_count];
    memset(m, 0, sizeof(*m));
    if (!(m->name = fti_strdup(instance)))
        return NULL;
    m->hash = h;
    m->open_started = m->floor = m->handed = -1;
    m->outside_max = max_pending(j, instance);
    j->instance_count++;
    return m;
}

static marks_header *marks_head(const fth_journal *j)
{
    return (marks_header *)j->marks;
}

/* A new, empty generation: every record written so far is void from here. */
static void marks_reset(fth_journal *j, uint64_t gen)
{
    marks_header *h = marks_head(j);
    uint32_t nonce = 0;
    while (nonce == 0 || nonce == h->nonce)
        nonce = (uint32_t)random() ^ (uint32_t)getpid() ^ (uint32_t)(fti_now() * 1e9);
    h->run = j->run;
    h->gen = gen;
    __atomic_store_n(&h->nonce, nonce, __ATOMIC_RELEASE);
    j->marks_used = sizeof(marks_header);
    j->marks_count = 0;
    for (size_t i = 0; i < j->instance_count; i++) {
        j->instances[i].done_count = 0;
        j->instances[i].floor = -1;
        j->instances[i].open_started = -1;
        j->instances[i].below = false;
    }
}

/* The valid record at `off`, or NULL (the end of the log). */
static const mark_record *marks_at(const fth_journal *j, size_t off)
{
    if (off + sizeof(mark_record) > MARKS_FILE_SIZE)
        return NULL;
    const mark_record *r = (const mark_record *)(j->marks + off);
    uint32_t len = __atomic_load_n(&r->len, __ATOMIC_ACQUIRE);
    if (len < sizeof(*r) || len % 8 || off + len > MARKS_FILE_SIZE ||
        r->nonce != marks_head(j)->nonce || (r->kind != MARK_STARTED && r->kind != MARK_FINISHED) ||
        sizeof(*r) + (size_t)r->instance_len + r->id_len > len)
        return NULL;
    return r;
}

/* Append one record; false when it does not fit. The length is stored last (and the old one
 * cleared first), so a crash in the middle leaves the log ending before this record. */
static bool marks_write(fth_journal *j, int kind, const char *instance, const fth_journal_entry *e)
{
    size_t il = strlen(instance), dl = strlen(e->id);
    size_t len = (sizeof(mark_record) + il + dl + 7) & ~(size_t)7;
    if (il > UINT16_MAX || dl > UINT16_MAX || j->marks_used + len > MARKS_FILE_SIZE)
        return false;
    mark_record *r = (mark_record *)(j->marks + j->marks_used);
    __atomic_store_n(&r->len, 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->nonce = marks_head(j)->nonce;
    r->kind = (uint16_t)kind;
    r->instance_len = (uint16_t)il;
    r->id_len = (uint16_t)dl;
    r->reserved = 0;
    r->seq = e->seq;
    memcpy((char *)(r + 1), instance, il);
    memcpy((char *)(r + 1) + il, e->id, dl);
    __atomic_store_n(&r->len, (uint32_t)len, __ATOMIC_RELEASE);
    j->marks_used += len;
    if (j->marks_count++ == 0)
        j->marks_since = fti_now();
    return true;
}

static bool same_instance(const mark_record *a, const mark_record *b)
{
    return a->instance_len == b->instance_len && memcmp(a + 1, b + 1, a->instance_len) == 0;
}

/* A started mark whose finished mark follows needs no write: attempts only matter while a
 * delivery is pending. */
static bool finished_later(const fth_journal *j, size_t off, const mark_record *started)
{
    const mark_record *r;
    for (; (r = marks_at(j, off)); off += r->len)
        if (r->kind == MARK_FINISHED && r->seq == started->seq && same_instance(r, started))
            return true;
    return false;
}

/* Write one record to the database: by seq in this process, by event id when recovering the
 * log of an earlier run (its seqs may not have survived a power loss; ids are unique). */
static bool marks_apply_one(fth_journal *j, const mark_record *r, bool by_id, int64_t run)
{
    int which = r->kind == MARK_STARTED ? (by_id ? Q_STARTED_BY_ID : Q_STARTED)
                                        : (by_id ? Q_FINISHED_BY_ID : Q_FINISHED);
    const char *data = (const char *)(r + 1);
    sqlite3_stmt *s = stmt(j, which);
    sqlite3_bind_text(s, 1, data, r->instance_len, SQLITE_STATIC);
    if (by_id)
        sqlite3_bind_text(s, 2, data + r->instance_len, r->id_len, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 2, r->seq);
    if (r->kind == MARK_STARTED)
        sqlite3_bind_int64(s, 3, run);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    return ok;
}

/* Apply the whole log in one transaction, then start a new generation. Caller holds the
 * lock. Returns the records applied, or -1 (logged; the log is kept for the next try). */
static long marks_apply(fth_journal *j, bool by_id, int64_t run)
{
    if (!j->marks)
        return 0;
    if (!by_id && j->marks_count == 0)
        return 0; /* nothing logged: no floor or open mark either */
    if (!tx(j, Q_BEGIN)) {
        log_db_error(j, "cannot apply the dispatch marks");
        return -1;
    }
    long n = 0;
    bool ok = true;
    const mark_record *r;
    for (size_t off = sizeof(marks_header); ok && (r = marks_at(j, off)); off += r->len) {
        if (r->kind == MARK_STARTED && finished_later(j, off + r->len, r))
            continue;
        ok = marks_apply_one(j, r, by_id, run);
        n++;
    }
    uint64_t gen = marks_head(j)->gen;
    sqlite3_stmt *s = stmt(j, Q_MARKS_DONE);
    sqlite3_bind_int64(s, 1, (int64_t)gen);
    ok = ok && sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    if (!ok || !tx(j, Q_COMMIT)) {
        log_db_error(j, "cannot apply the dispatch marks");
        tx(j, Q_ROLLBACK);
        return -1;
    }
    marks_reset(j, gen + 1);
    j->dirty = true;
    return n;
}

static void marks_maybe_apply(fth_journal *j)
{
    double now = fti_now();
    if (now < j->marks_retry_at ||
        (j->marks_count < MARKS_BATCH && now - j->marks_since < MARKS_MAX_AGE))
        return;
    /* A failing database (logged) is retried once a second, not at every mark. */
    j->marks_retry_at = marks_apply(j, false, j->run) < 0 ? now + 1 : 0;
}

/* Map <path>.marks; apply what an earlier run left in it. Without the map (or under
 * fsync "every") marks go to the database one by one, as they always may. */
static void marks_open(fth_journal *j)
{
    char *path = fti_asprintf("%s.marks", j->path);
    int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
    int rc = fd >= 0 ? posix_fallocate(fd, 0, MARKS_FILE_SIZE) : errno;
    void *map = rc == 0 ? mmap(NULL, MARKS_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                        : MAP_FAILED;
    if (map == MAP_FAILED) {
        ftrack_log(FTRACK_LOG_WARNING, "journal",
                   "cannot map the marks log %s (%s): each dispatch is marked in the journal "
                   "at once (slower)",
                   path ? path : "(out of memory)", strerror(rc ? rc : errno));
        if (fd >= 0)
            close(fd);
        free(path);
        return;
    }
    close(fd);
    j->marks = map;
    marks_header *h = marks_head(j);
    int64_t applied = query_int(j, "SELECT value FROM meta WHERE key = 'marks'");
    bool valid = memcmp(h->magic, MARKS_MAGIC, sizeof(h->magic)) == 0;
    if (valid && (int64_t)h->gen > applied) {
        long n = marks_apply(j, true, h->run); /* starts the next generation */
        if (n < 0) {
            /* Keep the records for the next start; mark directly meanwhile. */
            ftrack_log(FTRACK_LOG_ERROR, "journal",
                       "cannot apply the dispatch marks the previous run left in %s: kept for "
                       "the next start",
                       path);
            munmap(j->marks, MARKS_FILE_SIZE);
            j->marks = NULL;
        } else if (n > 0) {
            ftrack_log(FTRACK_LOG_INFO, "journal",
                       "applied %ld dispatch marks the previous run left in %s", n, path);
        }
    } else {
        if (!valid) {
            memset(h, 0, sizeof(*h));
            memcpy(h->magic, MARKS_MAGIC, sizeof(h->magic));
        }
        marks_reset(j, (uint64_t)(applied > (int64_t)h->gen ? applied : (int64_t)h->gen) + 1);
    }
    free(path);
    if (j->marks && j->options.fsync == FTH_FSYNC_EVERY) {
        munmap(j->marks, MARKS_FILE_SIZE);
        j->marks = NULL;
    }
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
        marks_open(j);
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
    if (j->marks) {
        if (j->db)
            marks_apply(j, false, j->run);
        munmap(j->marks, MARKS_FILE_SIZE);
    }
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
        free_fresh(&j->instances[i]);
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
    sqlite3_stmt *s = stmt(j, Q_INSERT_EVENT);
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
    s = stmt(j, Q_KNOWN_EVENT);
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
    sqlite3_stmt *s = stmt(j, Q_INSERT_DELIVERY);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    bool ok = sqlite3_step(s) == SQLITE_DONE;
    if (ok)
        it->result = sqlite3_changes(j->db) ? FTH_APPEND_ADDED : FTH_APPEND_DUPLICATE;
    sqlite3_reset(s);
    it->seq = seq;
    /* An event another instance journaled first gets an older seq: below what this instance
     * may have finished in the marks log, where fth_journal_next must look for it. */
    if (ok && it->result == FTH_APPEND_ADDED && j->marks && st && seq < st->floor)
        st->below = true;
    return ok;
}

/* Keep a delivery just added in memory for fth_journal_next; false when it must be read
 * back from the database instead: the list stays in seq order and above the floor (so the
 * database holds nothing finished-but-unapplied above its head), and bounded. */
static bool keep_fresh(instance_state *st, fth_journal_item *it)
{
    if (st->fresh_count >= FRESH_MAX || st->fresh_bytes + it->len > FRESH_MAX_BYTES ||
        it->seq <= st->floor || (st->fresh_tail && it->seq <= st->fresh_tail->e.seq))
        return false;
    fresh_entry *f = calloc(1, sizeof(*f));
    char *text = !f ? NULL : it->owned ? it->owned : fti_strndup(it->text, it->len);
    if (!text) {
        free(f);
        return false;
    }
    it->owned = NULL; /* kept, if it was the text */
    f->e.seq = it->seq;
    f->e.text = text;
    f->e.len = it->len;
    fti_strlcpy(f->e.id, it->id, sizeof(f->e.id));
    fti_strlcpy(f->e.topic, it->topic, sizeof(f->e.topic));
    if (st->fresh_tail)
        st->fresh_tail->next = f;
    else
        st->fresh = f;
    st->fresh_tail = f;
    st->fresh_count++;
    st->fresh_bytes += it->len;
    return true;
}

/* After the commit: hand what was added to the worker in memory, or note it as outside. */
static void hand_off(instance_state *st, fth_journal_item *items, size_t n)
{
    for (size_t i = 0; st && i < n; i++)
        if (items[i].result == FTH_APPEND_ADDED && !keep_fresh(st, &items[i]) &&
            items[i].seq > st->outside_max)
            st->outside_max = items[i].seq;
}

/* The deliveries in memory become outside ones (e.g. some may have been dead-lettered). */
static void drop_fresh(instance_state *st)
{
    if (st->fresh_tail && st->fresh_tail->e.seq > st->outside_max)
        st->outside_max = st->fresh_tail->e.seq;
    free_fresh(st);
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
    instance_state *st = instance_of(j, instance);
    bool ok = tx(j, Q_BEGIN);
    for (size_t i = 0; ok && i < n; i++)
        ok = append_one(j, instance, st, &items[i]);
    if (!ok || !tx(j, Q_COMMIT)) {
        log_db_error(j, "cannot journal events");
        tx(j, Q_ROLLBACK);
        for (size_t i = 0; i < n; i++)
            items[i].result = FTH_APPEND_FAILED;
    } else {
        hand_off(st, items, n);
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
    sqlite3_stmt *s = stmt(j, Q_NEXT);
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
        log_db_error(j, "cannot read the journal");
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
    sqlite3_stmt *s = stmt(j, Q_BELOW);
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

static void take_fresh(instance_state *st, fth_journal_entry *out)
{
    fresh_entry *f = st->fresh;
    st->fresh = f->next;
    if (!st->fresh)
        st->fresh_tail = NULL;
    st->fresh_count--;
    st->fresh_bytes -= f->e.len;
    *out = f->e; /* the text with it */
    free(f);
    st->handed = out->seq;
}

/* Two sources, one order: the deliveries this run appended wait in memory (seq order), the
 * others (pending from an earlier run, requeued, retried, not kept in memory) are read from
 * the database. The database is asked only while something may be outside, and then only for
 * what is older than the memory list's head, which it never holds twice. */
bool fth_journal_next(fth_journal *j, const char *instance, fth_journal_entry *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&j->lock);
    instance_state *st = instance_of(j, instance);
    instance_state *m = j->marks ? st : NULL;
    if (st && st->handed >= 0) { /* handed out and not finished: pending, outside now */
        if (st->handed > st->outside_max)
            st->outside_max = st->handed;
        st->handed = -1;
    }
    /* A started delivery that did not finish (a retry): its attempts must be read current. */
    if (m && m->open_started >= 0)
        marks_apply(j, false, j->run);
    fresh_entry *head = st ? st->fresh : NULL;
    int found = 0;
    if (!st || st->outside_max >= 0)
        found = read_outside(j, instance, st, m, head ? head->e.seq : INT64_MAX, out);
    if (found == 0 && head) {
        take_fresh(st, out);
        found = 1;
    }
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
    sqlite3_stmt *s = stmt(j, which);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    if (which == Q_STARTED)
        sqlite3_bind_int64(s, 3, j->run);
    if (sqlite3_step(s) != SQLITE_DONE)
        log_db_error(j, "cannot update the journal");
    sqlite3_reset(s);
}

/* Put a mark in the log (applying it first when full); false: write it directly. */
static bool log_mark(fth_journal *j, int kind, const char *instance, const fth_journal_entry *e)
{
    if (!j->marks || !e->id[0])
        return false;
    if (!marks_write(j, kind, instance, e) &&
        (marks_apply(j, false, j->run) < 0 || !marks_write(j, kind, instance, e)))
        return false;
    return true;
}

void fth_journal_started(fth_journal *j, const char *instance, const fth_journal_entry *e)
{
    pthread_mutex_lock(&j->lock);
    instance_state *m = j->marks ? instance_of(j, instance) : NULL;
    if (m && log_mark(j, MARK_STARTED, instance, e)) {
        m->open_started = e->seq;
        marks_maybe_apply(j);
    } else {
        update_delivery(j, Q_STARTED, instance, e->seq);
    }
    j->dirty = true;
    pthread_mutex_unlock(&j->lock);
}

static bool reserve_done(instance_state *m)
{
    if (m->done_count < m->done_cap)
        return true;
    size_t cap = m->done_cap ? m->done_cap * 2 : 64;
    int64_t *grown = realloc(m->done, cap * sizeof(*grown));
    if (!grown)
        return false;
    m->done = grown;
    m->done_cap = cap;
    return true;
}

void fth_journal_finished(fth_journal *j, const char *instance, const fth_journal_entry *e)
{
    pthread_mutex_lock(&j->lock);
    instance_state *st = instance_of(j, instance);
    if (st && st->handed == e->seq)
        st->handed = -1;
    instance_state *m = j->marks ? st : NULL;
    if (m && reserve_done(m) && log_mark(j, MARK_FINISHED, instance, e)) {
        if (m->open_started == e->seq)
            m->open_started = -1;
        m->done[m->done_count++] = e->seq;
        if (e->seq > m->floor)
            m->floor = e->seq;
        marks_maybe_apply(j);
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
    marks_apply(j, false, j->run);
    pthread_mutex_unlock(&j->lock);
}

/* A requeued delivery is read from the database (it is a redelivery now): out of the memory
 * list if it was there. Caller holds the lock. */
static void requeued(fth_journal *j, const char *instance, int64_t seq)
{
    instance_state *st = instance_of(j, instance);
    if (!st)
        return;
    fresh_entry *prev = NULL;
    for (fresh_entry *f = st->fresh; f; prev = f, f = f->next) {
        if (f->e.seq != seq)
            continue;
        if (prev)
            prev->next = f->next;
        else
            st->fresh = f->next;
        if (st->fresh_tail == f)
            st->fresh_tail = prev;
        st->fresh_count--;
        st->fresh_bytes -= f->e.len;
        free(f->e.text);
        free(f);
        break;
    }
    if (seq > st->outside_max)
        st->outside_max = seq;
}

ftrack_status fth_journal_requeue(fth_journal *j, const char *instance, const char *id,
                                  const char *topic, const char *text, ftrack_error *err)
{
    pthread_mutex_lock(&j->lock);
    marks_apply(j, false, j->run); /* the floors must not hide the requeued delivery */
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
    } else {
        requeued(j, instance, seq);
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
    marks_apply(j, false, j->run);
    /* A passive checkpoint syncs the WAL before copying it back: under synchronous=NORMAL
     * this is where the batch becomes durable against power loss. */
    if (j->dirty && j->options.fsync == FTH_FSYNC_BATCHED)
        sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    j->dirty = false;
    pthread_mutex_unlock(&j->lock);
}

/* ---- compaction -------------------------------------------------------------------------- */

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

/* Dead-lettered deliveries may be in the memory lists: read everything back instead. */
static void drop_all_fresh(fth_journal *j)
{
    for (size_t i = 0; i < j->instance_count; i++)
        drop_fresh(&j->instances[i]);
}

void fth_journal_compact(fth_journal *j, fth_deadletter *dl)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    marks_apply(j, false, j->run); /* what is handled must not be dead-lettered */
    double now = fti_wall_now();
    uint64_t expired =
        give_up(j, dl, "e.received < ?1", now - j->options.max_age, 100000, "expired");
    if (expired) {
        drop_all_fresh(j);
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
        if (evicted)
            drop_all_fresh(j);
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
    marks_apply(j, false, j->run);
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
    marks_apply(j, false, j->run);
    sqlite3_stmt *s = stmt(j, Q_PENDING_OF);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    uint64_t n = sqlite3_step(s) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    pthread_mutex_unlock(&j->lock);
    return n;
}
