/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the SQLite journal of older hosts (journal_migrate.h) for the segment journal's
 * first start. The old format, as those hosts wrote it:
 *   - journal.sqlite, WAL mode, written in exclusive locking mode (so a crashed host leaves a
 *     -wal and no -shm). Tables: events(seq, id UNIQUE, topic, received, text) and
 *     deliveries(instance, seq, state 0 pending / 1 done, attempts, run, replayed), meta rows
 *     'run' and 'marks' (the last marks-log generation applied; absent in the oldest journals);
 *   - journal.sqlite.marks, 256 KiB mapped: a header (magic, gen, run, nonce), then records
 *     (len, nonce, kind, instance and event id, seq) valid up to the first one whose len is
 *     not set or whose nonce is not the header's. They are unapplied when the header's gen is
 *     above meta 'marks'; the old open then applied them by (instance, event id): started
 *     counts an attempt (unless a finished mark of the same instance and seq follows),
 *     finished ends the delivery. This reader applies them the same way, in memory.
 *   - journal.sqlite.lock, flock()ed by a running host. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>
#include "common/internal.h"
#include "delivery/journal_migrate.h"

#define MARKS_FILE_SIZE (256 * 1024)
#define MARKS_MAGIC "FTHMARK1"
enum { MARK_STARTED = 1, MARK_FINISHED = 2 };

/* The marks log's layout (native byte order, as the old host mapped it). */
typedef struct old_marks_header {
    char magic[8];
    uint64_t gen;
    int64_t run;
    uint32_t nonce;
    uint32_t reserved0;
    uint64_t reserved[4];
} old_marks_header;

typedef struct old_mark_record {
    uint32_t len; /* whole record, a multiple of 8 */
    uint32_t nonce;
    uint16_t kind;
    uint16_t instance_len;
    uint16_t id_len;
    uint16_t reserved;
    int64_t seq;
    /* instance bytes, then id bytes */
} old_mark_record;

_Static_assert(sizeof(old_marks_header) == 64, "the old marks header is 64 bytes");
_Static_assert(sizeof(old_mark_record) == 24, "an old mark record's head is 24 bytes");

/* One valid record of the log, pointing into the file's bytes. */
typedef struct mark {
    const char *instance, *id;
    size_t instance_len, id_len;
    int kind;
    int64_t seq;
    size_t index; /* its place in the log */
    bool skip;    /* a started mark a finished one of the same delivery follows */
} mark;

typedef struct marks_log {
    unsigned char *bytes; /* the first MARKS_FILE_SIZE bytes, zero beyond the file's end */
    old_marks_header head;
    mark *marks;
    size_t count, cap;
} marks_log;

static void marks_free(marks_log *m)
{
    free(m->bytes);
    free(m->marks);
    memset(m, 0, sizeof(*m));
}

/* The file's bytes, as the old host saw them through its map (it extended the file to the
 * full size with zeros). A missing file is an empty log. */
static ftrack_status marks_load(const char *path, marks_log *m, ftrack_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return FTRACK_OK;
    if (fd < 0)
        return fti_error(err, FTRACK_ERR_IO, "cannot read the journal's marks log %s: %s", path,
                         strerror(errno));
    m->bytes = calloc(1, MARKS_FILE_SIZE);
    size_t have = 0;
    while (m->bytes && have < MARKS_FILE_SIZE) {
        ssize_t n = read(fd, m->bytes + have, MARKS_FILE_SIZE - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return fti_error(err, FTRACK_ERR_IO, "cannot read the journal's marks log %s: %s",
                             path, strerror(e));
        }
        if (n == 0)
            break;
        have += (size_t)n;
    }
    close(fd);
    if (!m->bytes)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    memcpy(&m->head, m->bytes, sizeof(m->head));
    return FTRACK_OK;
}

/* The valid record at `off` into *r, or false (the end of the log): the old marks_at(). */
static bool record_at(const marks_log *m, size_t off, old_mark_record *r)
{
    if (off + sizeof(*r) > MARKS_FILE_SIZE)
        return false;
    memcpy(r, m->bytes + off, sizeof(*r));
    return r->len >= sizeof(*r) && r->len % 8 == 0 && off + r->len <= MARKS_FILE_SIZE &&
           r->nonce == m->head.nonce && (r->kind == MARK_STARTED || r->kind == MARK_FINISHED) &&
           sizeof(*r) + (size_t)r->instance_len + r->id_len <= r->len;
}

static ftrack_status marks_collect(marks_log *m, ftrack_error *err)
{
    old_mark_record r;
    for (size_t off = sizeof(old_marks_header); record_at(m, off, &r); off += r.len) {
        if (!fti_array_reserve(&m->marks, &m->cap, m->count + 1, sizeof(*m->marks)))
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
        const char *data = (const char *)m->bytes + off + sizeof(r);
        m->marks[m->count] = (mark){.instance = data,
                                    .instance_len = r.instance_len,
                                    .id = data + r.instance_len,
                                    .id_len = r.id_len,
                                    .kind = r.kind,
                                    .seq = r.seq,
                                    .index = m->count};
        m->count++;
    }
    return FTRACK_OK;
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Instance, then seq, then place in the log: groups one delivery's marks by seq. */
static int by_seq(const void *pa, const void *pb)
{
    const mark *a = pa, *b = pb;
    int c = bytes_cmp(a->instance, a->instance_len, b->instance, b->instance_len);
    if (c)
        return c;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Instance, then event id: how they are applied (by id, as the old open did). */
static int by_id(const void *pa, const void *pb)
{
    const mark *a = pa, *b = pb;
    int c = bytes_cmp(a->instance, a->instance_len, b->instance, b->instance_len);
    return c ? c : bytes_cmp(a->id, a->id_len, b->id, b->id_len);
}

static bool same_delivery(const mark *a, const mark *b)
{
    return a->seq == b->seq &&
           bytes_cmp(a->instance, a->instance_len, b->instance, b->instance_len) == 0;
}

/* The old apply skipped a started mark when a finished mark of the same instance and seq
 * followed it in the log (the old finished_later()): such an attempt is not counted. */
static void marks_mark_skipped(marks_log *m)
{
    if (m->count == 0)
        return;
    qsort(m->marks, m->count, sizeof(*m->marks), by_seq);
    for (size_t start = 0, end; start < m->count; start = end) {
        size_t last_finished = SIZE_MAX;
        for (end = start; end < m->count && same_delivery(&m->marks[start], &m->marks[end]); end++)
            if (m->marks[end].kind == MARK_FINISHED)
                last_finished = m->marks[end].index;
        for (size_t i = start; i < end; i++)
            m->marks[i].skip = m->marks[i].kind == MARK_STARTED && last_finished != SIZE_MAX &&
                               m->marks[i].index < last_finished;
    }
    qsort(m->marks, m->count, sizeof(*m->marks), by_id);
}

/* What the log says of the delivery of `instance` and event `id`: the attempts it adds, and
 * whether it ended. The order of one delivery's marks does not matter: a finished mark ends it
 * whatever follows (a started mark never set it pending again). */
static void marks_effect(const marks_log *m, const char *instance, size_t instance_len,
                         const char *id, size_t id_len, unsigned *started, bool *finished)
{
    mark key = {.instance = instance, .instance_len = instance_len, .id = id, .id_len = id_len};
    size_t lo = 0, hi = m->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (by_id(&m->marks[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *started = 0;
    *finished = false;
    for (; lo < m->count && by_id(&m->marks[lo], &key) == 0; lo++) {
        if (m->marks[lo].kind == MARK_FINISHED)
            *finished = true;
        else if (!m->marks[lo].skip)
            (*started)++;
    }
}

/* ---- the database ------------------------------------------------------------------------ */

/* A host that just stopped has released its locks; one still running never does. */
#define BUSY_MS 1000

static int probe(sqlite3 *db)
{
    return sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
}

static bool wants_write_access(int rc)
{
    return (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY;
}

/* Opened so the WAL is read: read-only (SQLite makes the -shm index the old host, in
 * exclusive locking mode, never wrote). When that index cannot be made, read-write in
 * exclusive locking mode (the index in memory), writing nothing: query_only, and no
 * checkpoint at close (the WAL stays as it is). */
static ftrack_status open_db(const char *path, sqlite3 **out, ftrack_error *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, BUSY_MS);
        rc = probe(db);
    }
    if (wants_write_access(rc)) {
        sqlite3_close(db);
        db = NULL;
        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_busy_timeout(db, BUSY_MS);
            rc = sqlite3_exec(db, "PRAGMA query_only = 1; PRAGMA locking_mode = EXCLUSIVE;", NULL,
                              NULL, NULL);
        }
        if (rc == SQLITE_OK)
            rc = probe(db);
    }
    if (rc != SQLITE_OK) {
        ftrack_status st = fti_error(err, FTRACK_ERR_IO, "cannot read the old journal %s: %s%s",
                                     path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
                                     (rc & 0xff) == SQLITE_BUSY ? " (is a host using it?)" : "");
        sqlite3_close(db);
        return st;
    }
    *out = db;
    return FTRACK_OK;
}

/* meta 'marks': the last marks-log generation applied (0 when absent, as the old open read
 * it: the oldest journals have no such row). */
static int64_t applied_generation(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'marks'", -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* How many of the journal's two tables exist: 0 is a journal the old host created and never
 * wrote (an empty file), 2 a journal. */
static int journal_tables(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                           "name IN ('events', 'deliveries')",
                           -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* Every pending delivery, oldest event first; one event's deliveries by instance name. No
 * INDEXED BY: the oldest journals lack the index later hosts made. */
static const char PENDING_SQL[] =
    "SELECT d.instance, e.id, e.topic, e.text, d.attempts, d.replayed, e.received "
    "FROM deliveries d JOIN events e ON e.seq = d.seq WHERE d.state = 0 "
    "ORDER BY d.seq, d.instance";

typedef struct reader {
    const char *path;
    const marks_log *marks;
    fth_migrate_fn fn;
    void *ctx;
    size_t count, skipped;
} reader;

/* One pending row handed over (or ended by the log, or without text: skipped); false when
 * the caller stopped. */
static bool visit_row(reader *r, sqlite3_stmt *s)
{
    const char *instance = (const char *)sqlite3_column_text(s, 0);
    size_t instance_len = (size_t)sqlite3_column_bytes(s, 0);
    const char *id = (const char *)sqlite3_column_text(s, 1);
    size_t id_len = (size_t)sqlite3_column_bytes(s, 1);
    unsigned started;
    bool finished;
    marks_effect(r->marks, instance ? instance : "", instance_len, id ? id : "", id_len, &started,
                 &finished);
    if (finished)
        return true;
    fth_migrated_delivery d = {
        .instance = instance,
        .id = id,
        .topic = (const char *)sqlite3_column_text(s, 2),
        .text = (const char *)sqlite3_column_text(s, 3),
        .len = (size_t)sqlite3_column_bytes(s, 3),
        .attempts = (unsigned)sqlite3_column_int64(s, 4) + started,
        .replayed = sqlite3_column_int64(s, 5) != 0,
        .received = sqlite3_column_double(s, 6),
    };
    /* What the old host's sweep of unfinished deliveries counted as a try cut short: every
     * started one still pending (a crash, or a retry waiting at a stop). */
    d.started_earlier = d.attempts > 0;
    if (!d.instance || !d.id || !d.topic || !d.text) {
        /* The old host could not dispatch it either (it has no text to hand over). The first
         * few are named, the total is logged at the end. */
        if (r->skipped++ < 10)
            ftrack_log(FTRACK_LOG_WARNING, "journal",
                       "old journal %s: a pending delivery of event %s to '%s' has no event "
                       "text: not imported",
                       r->path, id ? id : "?", instance ? instance : "?");
        return true;
    }
    if (!r->fn(r->ctx, &d))
        return false;
    r->count++;
    return true;
}

static ftrack_status read_pending(sqlite3 *db, reader *r, ftrack_error *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, PENDING_SQL, -1, &s, NULL) != SQLITE_OK)
        return fti_error(err, FTRACK_ERR_IO, "cannot read the old journal %s: %s", r->path,
                         sqlite3_errmsg(db));
    int rc;
    bool go = true;
    while (go && (rc = sqlite3_step(s)) == SQLITE_ROW)
        go = visit_row(r, s);
    ftrack_status st = FTRACK_OK;
    if (!go)
        st = fti_error(err, FTRACK_ERR_IO,
                       "the import of the old journal %s stopped after %zu deliveries", r->path,
                       r->count);
    else if (rc != SQLITE_DONE)
        st = fti_error(err, FTRACK_ERR_IO, "cannot read the old journal %s: %s", r->path,
                       sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return st;
}

/* In one read transaction (one snapshot): which marks are unapplied, then the rows. */
static ftrack_status read_journal(sqlite3 *db, marks_log *m, reader *r, ftrack_error *err)
{
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return fti_error(err, FTRACK_ERR_IO, "cannot read the old journal %s: %s", r->path,
                         sqlite3_errmsg(db));
    ftrack_status st = FTRACK_OK;
    int tables = journal_tables(db);
    if (tables != 0 && tables != 2)
        st = fti_error(err, FTRACK_ERR_IO, "%s is not an ftrack-host journal%s%s", r->path,
                       tables < 0 ? ": " : "", tables < 0 ? sqlite3_errmsg(db) : "");
    bool unapplied = m->bytes && memcmp(m->head.magic, MARKS_MAGIC, 8) == 0 &&
                     (int64_t)m->head.gen > applied_generation(db);
    if (st == FTRACK_OK && tables == 2 && unapplied)
        st = marks_collect(m, err);
    if (st == FTRACK_OK && tables == 2) {
        marks_mark_skipped(m);
        st = read_pending(db, r, err);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return st;
}

/* A running old host holds <path>.lock (flock): refuse to read under it. Kept locked (shared)
 * for the read; *fd -1 when there is no lock file. */
static ftrack_status not_in_use(const char *path, int *fd, ftrack_error *err)
{
    char *lock_path = fti_asprintf("%s.lock", path);
    if (!lock_path)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    *fd = open(lock_path, O_RDONLY | O_CLOEXEC);
    free(lock_path);
    if (*fd < 0 || flock(*fd, LOCK_SH | LOCK_NB) == 0)
        return FTRACK_OK; /* no lock file (or unreadable: SQLite's own lock still tells) */
    close(*fd);
    *fd = -1;
    return fti_error(err, FTRACK_ERR_IO,
                     "the old journal %s is in use by a running ftrack-host (one host per data "
                     "dir)",
                     path);
}

ftrack_status fth_journal_migrate_read(const char *sqlite_path, fth_migrate_fn fn, void *ctx,
                                       bool *found, size_t *count, ftrack_error *err)
{
    *found = false;
    *count = 0;
    if (access(sqlite_path, F_OK) != 0)
        return errno == ENOENT ? FTRACK_OK
                               : fti_error(err, FTRACK_ERR_IO, "cannot read the old journal %s: %s",
                                           sqlite_path, strerror(errno));
    *found = true;
    int lock_fd = -1;
    ftrack_status st = not_in_use(sqlite_path, &lock_fd, err);
    marks_log m = {0};
    char *marks_path = fti_asprintf("%s.marks", sqlite_path);
    if (st == FTRACK_OK && !marks_path)
        st = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    if (st == FTRACK_OK)
        st = marks_load(marks_path, &m, err);
    sqlite3 *db = NULL;
    if (st == FTRACK_OK)
        st = open_db(sqlite_path, &db, err);
    reader r = {.path = sqlite_path, .marks = &m, .fn = fn, .ctx = ctx};
    if (st == FTRACK_OK)
        st = read_journal(db, &m, &r, err);
    *count = r.count;
    if (st == FTRACK_OK && r.skipped)
        ftrack_log(FTRACK_LOG_WARNING, "journal",
                   "old journal %s: %zu pending deliveries without event text were not imported",
                   sqlite_path, r.skipped);
    sqlite3_close(db);
    marks_free(&m);
    free(marks_path);
    if (lock_fd >= 0)
        close(lock_fd);
    return st;
}

/* ---- retiring the old files ---------------------------------------------------------------- */

/* `path`+`suffix` renamed to `target`+`suffix` (nothing to do when it is not there). */
static ftrack_status move(const char *path, const char *target, const char *suffix,
                          ftrack_error *err)
{
    char *from = fti_asprintf("%s%s", path, suffix), *to = fti_asprintf("%s%s", target, suffix);
    ftrack_status st = FTRACK_OK;
    if (!from || !to)
        st = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    else if (rename(from, to) != 0 && errno != ENOENT)
        st = fti_error(err, FTRACK_ERR_IO, "cannot rename %s to %s: %s", from, to,
                       strerror(errno));
    free(from);
    free(to);
    return st;
}

static void remove_file(const char *path, const char *suffix)
{
    char *p = fti_asprintf("%s%s", path, suffix);
    if (p)
        unlink(p);
    free(p);
}

/* The renames survive a power loss once the directory is synced. */
static void sync_dir(const char *path)
{
    char *dir = fti_strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int fd = dir ? open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* The database first: once it is gone a start imports nothing again, whatever else a crash
 * here leaves. Its WAL goes with it as `<target>-wal` (where SQLite looks for it when the user
 * opens `<target>`); a WAL left from an earlier migration under that name is removed first, it
 * would be read as this database's. The -shm is removed rather than renamed: an index SQLite
 * rebuilds from the WAL. The lock file holds nothing. */
ftrack_status fth_journal_migrate_retire(const char *sqlite_path, ftrack_error *err)
{
    char *target = fti_asprintf("%s.migrated", sqlite_path);
    if (!target)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    remove_file(target, "-wal");
    remove_file(target, "-shm");
    ftrack_status st = move(sqlite_path, target, "", err);
    if (st == FTRACK_OK)
        st = move(sqlite_path, target, "-wal", err);
    if (st == FTRACK_OK)
        st = move(sqlite_path, target, ".marks", err);
    if (st == FTRACK_OK) {
        remove_file(sqlite_path, "-shm");
        remove_file(sqlite_path, ".lock");
    }
    sync_dir(sqlite_path);
    free(target);
    return st;
}
