/* SPDX-License-Identifier: Apache-2.0 */
/* The reader of the old SQLite journal for the migration (host/delivery/journal_migrate.c).
 * Two kinds of fixtures:
 *   - journals the old journal code writes (fth_journal_*), in the states a user may leave
 *     them (handled, replayed, a crash with the marks log unapplied), the reader's answer
 *     checked against what the old code itself says at its next open. Only while the old code
 *     exists: the block under FTH_HAVE_OLD_JOURNAL (defined in tests/CMakeLists.txt; remove
 *     both with journal.c);
 *   - journals built with raw SQL and a hand-written marks log in the old binary format (the
 *     schema and layout copied here), which keep testing the reader once the old code is gone;
 *     and the fixture script tests/integration/make_old_journal.py. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "delivery/journal_migrate.h"

static char dir[256];
static char path[300]; /* <dir>/journal.sqlite */

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/fth-journal-migrate-test.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/journal.sqlite", dir);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *file_path(const char *suffix)
{
    static char p[400];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    return p;
}

static bool exists(const char *p)
{
    return access(p, F_OK) == 0;
}

/* The whole file (NULL when missing), its size in *len. */
static char *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    *len = 0;
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    for (;;) {
        buf = realloc(buf, cap + 65536);
        assert_non_null(buf);
        size_t n = fread(buf + cap, 1, 65536, f);
        cap += n;
        if (n < 65536)
            break;
    }
    fclose(f);
    *len = cap;
    return buf;
}

/* The bytes of the database, its WAL and its marks log, to check a read changed none. */
typedef struct snapshot {
    char *data[3];
    size_t len[3];
} snapshot;

static const char *const SNAPSHOT_SUFFIX[3] = {"", "-wal", ".marks"};

static void snapshot_take(snapshot *s)
{
    for (int i = 0; i < 3; i++)
        s->data[i] = slurp(file_path(SNAPSHOT_SUFFIX[i]), &s->len[i]);
}

static void snapshot_expect_same(snapshot *s)
{
    for (int i = 0; i < 3; i++) {
        size_t len;
        char *now = slurp(file_path(SNAPSHOT_SUFFIX[i]), &len);
        assert_int_equal(now != NULL, s->data[i] != NULL);
        assert_int_equal(len, s->len[i]);
        if (now)
            assert_memory_equal(now, s->data[i], len);
        free(now);
        free(s->data[i]);
    }
}

/* ---- what the reader hands over ---------------------------------------------------------- */

typedef struct got {
    char instance[64], id[64], topic[64];
    char *text;
    unsigned attempts;
    bool started_earlier, replayed;
    double received;
} got;

typedef struct gots {
    got items[64];
    size_t n;
    size_t stop_after; /* 0: never */
} gots;

static bool collect(void *ctx, const fth_migrated_delivery *d)
{
    gots *g = ctx;
    if (g->stop_after && g->n == g->stop_after)
        return false;
    assert_true(g->n < 64);
    got *x = &g->items[g->n++];
    snprintf(x->instance, sizeof(x->instance), "%s", d->instance);
    snprintf(x->id, sizeof(x->id), "%s", d->id);
    snprintf(x->topic, sizeof(x->topic), "%s", d->topic);
    assert_int_equal(strlen(d->text), d->len);
    x->text = strndup(d->text, d->len);
    x->attempts = d->attempts;
    x->started_earlier = d->started_earlier;
    x->replayed = d->replayed;
    x->received = d->received;
    return true;
}

static void gots_free(gots *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->items[i].text);
    memset(g, 0, sizeof(*g));
}

static void read_ok(const char *p, gots *g)
{
    bool found = false;
    size_t count = 99;
    ftrack_error err;
    memset(&err, 0, sizeof(err));
    ftrack_status st = fth_journal_migrate_read(p, collect, g, &found, &count, &err);
    if (st != FTRACK_OK)
        fail_msg("fth_journal_migrate_read: %s", err.message);
    assert_true(found);
    assert_int_equal(count, g->n);
}

/* The n-th delivery handed over is `instance`'s of event `id`, with these marks. */
static void expect_at(const gots *g, size_t n, const char *instance, const char *id,
                      unsigned attempts, bool started_earlier, bool replayed)
{
    assert_true(n < g->n);
    const got *x = &g->items[n];
    assert_string_equal(x->instance, instance);
    assert_string_equal(x->id, id);
    assert_int_equal(x->attempts, attempts);
    assert_int_equal(x->started_earlier, started_earlier);
    assert_int_equal(x->replayed, replayed);
    char needle[80];
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    assert_non_null(strstr(x->text, needle));
}

static void event_text(char *buf, size_t size, const char *id, int i)
{
    snprintf(buf, size, "{\"id\":\"%s\",\"topic\":\"t\",\"data\":{\"i\":%d}}", id, i);
}

/* ==== Part 1: journals the old code writes ================================================= */
/* Remove from here to the matching #endif when host/delivery/journal.c is deleted. */
#ifdef FTH_HAVE_OLD_JOURNAL
#include "delivery/journal.h"

static fth_journal *old_open(void)
{
    fth_journal_options o;
    fth_journal_options_init(&o);
    o.path = path;
    fth_journal *j = NULL;
    ftrack_error err;
    if (fth_journal_open(&o, &j, &err) != FTRACK_OK)
        fail_msg("fth_journal_open: %s", err.message);
    return j;
}

static void old_append(fth_journal *j, const char *instance, const char *id, int i)
{
    char text[256];
    event_text(text, sizeof(text), id, i);
    assert_int_not_equal(fth_journal_append(j, instance, id, "t", text, strlen(text)),
                         FTH_APPEND_FAILED);
}

static void old_requeue(fth_journal *j, const char *instance, const char *id, int i)
{
    char text[256];
    event_text(text, sizeof(text), id, i);
    ftrack_error err;
    assert_int_equal(fth_journal_requeue(j, instance, id, "t", text, &err), FTRACK_OK);
}

/* Dispatch the next delivery of `instance` (it must be event `id`), finishing it or not;
 * false in a child (no cmocka there): the caller exits with an error. */
static bool old_dispatch(fth_journal *j, const char *instance, const char *id, bool finish)
{
    fth_journal_entry e;
    if (!fth_journal_next(j, instance, &e))
        return false;
    bool ok = strcmp(e.id, id) == 0;
    fth_journal_started(j, instance, &e);
    if (finish)
        fth_journal_finished(j, instance, &e);
    fth_journal_entry_clear(&e);
    return ok;
}

/* A run that dies (no close): what survives is the database's WAL and the marks log. */
static void old_crashed_run(void)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fth_journal *j = old_open();
        old_append(j, "alpha", "e6", 6); /* only in the WAL: never checkpointed */
        bool ok = old_dispatch(j, "alpha", "e1", true) &&
                  old_dispatch(j, "alpha", "e2", false) && /* fails: a retry */
                  old_dispatch(j, "alpha", "e2", false) && /* in flight at the "crash" */
                  old_dispatch(j, "beta", "e1", true) && old_dispatch(j, "beta", "e2", false);
        _exit(ok ? 0 : 3);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The state of one delivery in the database alone (the marks log not applied): -1 none. */
static int raw_state(const char *instance, const char *id)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int state = -1;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT d.state FROM deliveries d JOIN events e ON "
                                        "e.seq = d.seq WHERE d.instance = ?1 AND e.id = ?2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, instance, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        state = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return state;
}

typedef struct unfinished_seen {
    const gots *g;
    size_t count;
} unfinished_seen;

/* Every delivery the old sweep reports is one the reader says a run started earlier, with
 * the same attempts. */
static bool check_unfinished(void *ctx, const fth_journal_entry *e)
{
    unfinished_seen *u = ctx;
    u->count++;
    for (size_t i = 0; i < u->g->n; i++)
        if (strcmp(u->g->items[i].id, e->id) == 0 && u->g->items[i].started_earlier &&
            u->g->items[i].attempts == e->attempts)
            return false;
    fail_msg("the old sweep reports %s (attempts %u), the reader does not", e->id, e->attempts);
    return false;
}

/* What the old code says at its next open, delivery by delivery, is what the reader said:
 * its sweep of unfinished deliveries, and each instance's deliveries in order. */
static void expect_old_code_agrees(const gots *g)
{
    const char *instances[] = {"alpha", "beta"};
    fth_journal *j = old_open();
    for (size_t k = 0; k < 2; k++) {
        const char *instance = instances[k];
        size_t expected_unfinished = 0;
        for (size_t i = 0; i < g->n; i++)
            expected_unfinished +=
                strcmp(g->items[i].instance, instance) == 0 && g->items[i].started_earlier;
        unfinished_seen u = {g, 0};
        fth_journal_unfinished(j, instance, check_unfinished, &u);
        assert_int_equal(u.count, expected_unfinished);
    }
    for (size_t k = 0; k < 2; k++) {
        const char *instance = instances[k];
        fth_journal_entry e;
        for (size_t i = 0; i < g->n; i++) {
            const got *x = &g->items[i];
            if (strcmp(x->instance, instance) != 0)
                continue;
            assert_true(fth_journal_next(j, instance, &e));
            assert_string_equal(e.id, x->id);
            assert_int_equal(e.attempts, x->attempts);
            assert_int_equal(e.redelivery, x->started_earlier || x->replayed);
            assert_string_equal(e.text, x->text);
            fth_journal_finished(j, instance, &e);
            fth_journal_entry_clear(&e);
        }
        assert_false(fth_journal_next(j, instance, &e));
    }
    fth_journal_close(j);
}

/* Handled, replayed, retried and cut short by a crash: the reader's answer, field by field,
 * and the old code's own answer at its next open. */
static void test_old_code_journal(void **state)
{
    (void)state;
    double t0 = (double)time(NULL) - 1;
    fth_journal *j = old_open();
    old_append(j, "alpha", "e1", 1);
    old_append(j, "alpha", "e2", 2);
    old_append(j, "alpha", "e3", 3);
    old_append(j, "alpha", "e4", 4);
    old_append(j, "beta", "e1", 1); /* shares alpha's event rows */
    old_append(j, "beta", "e2", 2);
    old_append(j, "beta", "e5", 5);
    assert_true(old_dispatch(j, "alpha", "e1", true));
    assert_true(old_dispatch(j, "beta", "e1", true));
    fth_journal_close(j);
    j = old_open(); /* a replay: handled ones pending again, as redeliveries */
    old_requeue(j, "alpha", "e1", 1);
    old_requeue(j, "beta", "e1", 1);
    old_requeue(j, "alpha", "e3", 3); /* one never handled */
    fth_journal_close(j);
    old_crashed_run();
    /* The crash left marks unapplied (unless a stall made the run apply them: rare, and the
     * answer must be the same either way). */
    if (raw_state("beta", "e1") != 0)
        print_message("note: the crashed run applied its marks log before dying\n");

    snapshot snap;
    snapshot_take(&snap);
    assert_non_null(snap.data[1]); /* a WAL to read */
    gots g = {0};
    read_ok(path, &g);
    snapshot_expect_same(&snap);
    assert_int_equal(g.n, 6);
    expect_at(&g, 0, "alpha", "e2", 2, true, false); /* one try applied, the other in the log */
    expect_at(&g, 1, "beta", "e2", 1, true, false);  /* its try only in the log */
    expect_at(&g, 2, "alpha", "e3", 0, false, true);
    expect_at(&g, 3, "alpha", "e4", 0, false, false);
    expect_at(&g, 4, "beta", "e5", 0, false, false);
    expect_at(&g, 5, "alpha", "e6", 0, false, false); /* received by the crashed run */
    for (size_t i = 0; i < g.n; i++) {
        assert_string_equal(g.items[i].topic, "t");
        assert_true(g.items[i].received >= t0 && g.items[i].received <= (double)time(NULL) + 1);
    }

    expect_old_code_agrees(&g);

    /* A running old host holds the journal: refused, nothing read. */
    j = old_open();
    gots none = {0};
    bool found = false;
    size_t count = 99;
    ftrack_error err;
    assert_int_equal(fth_journal_migrate_read(path, collect, &none, &found, &count, &err),
                     FTRACK_ERR_IO);
    assert_true(found);
    assert_int_equal(none.n, 0);
    assert_non_null(strstr(err.message, "in use"));
    fth_journal_close(j);

    gots_free(&g);
}

/* A journal closed cleanly (no WAL, the marks log applied) after every delivery was handled:
 * nothing pending. */
static void test_old_code_all_handled(void **state)
{
    (void)state;
    fth_journal *j = old_open();
    old_append(j, "alpha", "e1", 1);
    old_append(j, "beta", "e1", 1);
    assert_true(old_dispatch(j, "alpha", "e1", true));
    assert_true(old_dispatch(j, "beta", "e1", true));
    fth_journal_close(j);
    gots g = {0};
    read_ok(path, &g);
    assert_int_equal(g.n, 0);
}
#endif /* FTH_HAVE_OLD_JOURNAL */
/* ==== End of part 1 ========================================================================= */

/* ==== Part 2: journals built by hand in the old format ====================================== */

/* The old host's schema (host/delivery/journal.c, SCHEMA, at its last version). */
static const char OLD_SCHEMA[] =
    "PRAGMA auto_vacuum = INCREMENTAL;"
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, received REAL NOT NULL, text TEXT);"
    "CREATE TABLE IF NOT EXISTS deliveries(instance TEXT NOT NULL, seq INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
    " run INTEGER NOT NULL DEFAULT 0, replayed INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(instance, seq)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS deliveries_waiting ON deliveries(instance, seq) WHERE state = 0;";

/* The oldest schema hosts wrote (no 'marks' row, AUTOINCREMENT, the first indexes). */
static const char OLDEST_SCHEMA[] =
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
    "INSERT OR IGNORE INTO meta(key, value) VALUES('run', 4);";

static void sql(sqlite3 *db, const char *text)
{
    char *msg = NULL;
    if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", text, msg ? msg : "?");
}

static void add_event(sqlite3 *db, int seq, const char *id, bool with_text)
{
    char text[256], *q;
    event_text(text, sizeof(text), id, seq);
    q = sqlite3_mprintf("INSERT INTO events(seq, id, topic, received, text) "
                        "VALUES(%d, %Q, 't', %d.5, %Q)",
                        seq, id, 1000 + seq, with_text ? text : NULL);
    sql(db, q);
    sqlite3_free(q);
}

static void add_delivery(sqlite3 *db, const char *instance, int seq, int state, int attempts,
                         int run, int replayed)
{
    char *q = sqlite3_mprintf("INSERT INTO deliveries(instance, seq, state, attempts, run, "
                              "replayed) VALUES(%Q, %d, %d, %d, %d, %d)",
                              instance, seq, state, attempts, run, replayed);
    sql(db, q);
    sqlite3_free(q);
}

/* A journal a host in run 3 left at a crash (marks log generation 5 applied):
 *   alpha ev1  handled
 *   alpha ev2  started in run 2 (a crash), and again in run 3 (in the log, by a stale seq)
 *   alpha ev3  handled in run 3 (in the log)
 *   beta  ev4  started and handled in run 3 (in the log)
 *   beta  ev5  pending (the log has a started mark a finished one of its seq follows)
 *   alpha ev6  replayed (the log's finished mark for it is past the log's end)
 *   alpha ev7  received in run 3, in the WAL only
 *   gamma ev8  pending, its event without text (not importable) */
static void build_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    sql(db, OLD_SCHEMA);
    sql(db, "PRAGMA wal_autocheckpoint = 0; BEGIN;"
            "INSERT INTO meta VALUES('run', 3); INSERT INTO meta VALUES('marks', 5);");
    const char *ids[] = {"ev1", "ev2", "ev3", "ev4", "ev5", "ev6"};
    for (int i = 0; i < 6; i++)
        add_event(db, i + 1, ids[i], true);
    add_delivery(db, "alpha", 1, 1, 1, 2, 0);
    add_delivery(db, "alpha", 2, 0, 1, 2, 0);
    add_delivery(db, "alpha", 3, 0, 0, 0, 0);
    add_delivery(db, "beta", 4, 0, 0, 0, 0);
    add_delivery(db, "beta", 5, 0, 0, 0, 0);
    add_delivery(db, "alpha", 6, 0, 0, 2, 1);
    sql(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE); BEGIN;");
    add_event(db, 7, "ev7", true);
    add_delivery(db, "alpha", 7, 0, 0, 0, 0);
    add_event(db, 8, "ev8", false);
    add_delivery(db, "gamma", 8, 0, 0, 0, 0);
    sql(db, "COMMIT;");
    assert_int_equal(sqlite3_close(db), SQLITE_OK); /* no checkpoint: ev7 stays in the WAL */
    size_t len;
    char *wal = slurp(file_path("-wal"), &len);
    assert_non_null(wal);
    assert_true(len > 0);
    free(wal);
}

/* ---- the marks log's old binary format (host/delivery/journal_marks.c) ---- */

enum { MARK_STARTED = 1, MARK_FINISHED = 2 };

typedef struct marks_header {
    char magic[8]; /* "FTHMARK1" */
    uint64_t gen;  /* unapplied while above the database's meta 'marks' */
    int64_t run;
    uint32_t nonce; /* carried by every valid record */
    uint32_t reserved0;
    uint64_t reserved[4];
} marks_header;

typedef struct mark_record {
    uint32_t len; /* whole record, a multiple of 8 */
    uint32_t nonce;
    uint16_t kind;
    uint16_t instance_len;
    uint16_t id_len;
    uint16_t reserved;
    int64_t seq;
    /* instance bytes, then id bytes */
} mark_record;

typedef struct marks_file {
    unsigned char bytes[4096];
    size_t used;
} marks_file;

static void marks_begin(marks_file *f, uint64_t gen, uint32_t nonce)
{
    memset(f, 0, sizeof(*f));
    marks_header h = {.gen = gen, .run = 3, .nonce = nonce};
    memcpy(h.magic, "FTHMARK1", 8);
    memcpy(f->bytes, &h, sizeof(h));
    f->used = sizeof(h);
}

static void marks_add(marks_file *f, uint32_t nonce, int kind, const char *instance,
                      const char *id, int64_t seq)
{
    size_t il = strlen(instance), dl = strlen(id);
    size_t len = (sizeof(mark_record) + il + dl + 7) & ~(size_t)7;
    assert_true(f->used + len <= sizeof(f->bytes));
    mark_record r = {.len = (uint32_t)len,
                     .nonce = nonce,
                     .kind = (uint16_t)kind,
                     .instance_len = (uint16_t)il,
                     .id_len = (uint16_t)dl,
                     .seq = seq};
    memcpy(f->bytes + f->used, &r, sizeof(r));
    memcpy(f->bytes + f->used + sizeof(r), instance, il);
    memcpy(f->bytes + f->used + sizeof(r) + il, id, dl);
    f->used += len;
}

/* Written short (the old host extended the file to 256 KiB with zeros: the same log). */
static void marks_write(const marks_file *f)
{
    FILE *out = fopen(file_path(".marks"), "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(f->bytes, 1, f->used, out), f->used);
    assert_int_equal(fclose(out), 0);
}

#define NONCE 0x5eed1234u

/* The log of run 3 (see build_db), generation `gen`. */
static void build_marks(uint64_t gen)
{
    marks_file f;
    marks_begin(&f, gen, NONCE);
    marks_add(&f, NONCE, MARK_STARTED, "alpha", "ev2", 999); /* applied by id */
    marks_add(&f, NONCE, MARK_FINISHED, "alpha", "ev3", 3);
    marks_add(&f, NONCE, MARK_STARTED, "beta", "ev4", 4);
    marks_add(&f, NONCE, MARK_FINISHED, "beta", "ev4", 4);
    marks_add(&f, NONCE, MARK_STARTED, "beta", "ev5", 5);  /* not counted: */
    marks_add(&f, NONCE, MARK_FINISHED, "beta", "zz", 5);  /* its seq finishes next */
    marks_add(&f, 0x1111, MARK_FINISHED, "alpha", "ev6", 6); /* an older generation's: the end */
    marks_add(&f, NONCE, MARK_FINISHED, "alpha", "ev7", 7);  /* past the end */
    marks_write(&f);
}

/* The log unapplied: it decides. */
static void test_raw_unapplied_marks(void **state)
{
    (void)state;
    build_db();
    build_marks(6);
    snapshot snap;
    snapshot_take(&snap);
    gots g = {0};
    read_ok(path, &g);
    snapshot_expect_same(&snap);
    assert_int_equal(g.n, 4);
    expect_at(&g, 0, "alpha", "ev2", 2, true, false);
    expect_at(&g, 1, "beta", "ev5", 0, false, false);
    expect_at(&g, 2, "alpha", "ev6", 0, false, true);
    expect_at(&g, 3, "alpha", "ev7", 0, false, false);
    assert_string_equal(g.items[0].topic, "t");
    assert_true(g.items[0].received == 1002.5);
    gots_free(&g);
}

/* A log whose generation the database has applied already is void; so is a missing one. */
static void test_raw_applied_or_missing_marks(void **state)
{
    (void)state;
    build_db();
    build_marks(5);
    for (int round = 0; round < 2; round++) {
        gots g = {0};
        read_ok(path, &g);
        assert_int_equal(g.n, 6);
        expect_at(&g, 0, "alpha", "ev2", 1, true, false);
        expect_at(&g, 1, "alpha", "ev3", 0, false, false);
        expect_at(&g, 2, "beta", "ev4", 0, false, false);
        expect_at(&g, 3, "beta", "ev5", 0, false, false);
        expect_at(&g, 4, "alpha", "ev6", 0, false, true);
        expect_at(&g, 5, "alpha", "ev7", 0, false, false);
        gots_free(&g);
        unlink(file_path(".marks"));
    }
}

/* Retired: renamed with its companions (the WAL where SQLite finds it for the new name), the
 * -shm and the lock file gone; a second read finds nothing, the renamed journal reads the
 * same. */
static void test_raw_retire(void **state)
{
    (void)state;
    build_db();
    build_marks(6);
    int lock = open(file_path(".lock"), O_RDWR | O_CREAT, 0600);
    assert_true(lock >= 0);
    close(lock);
    gots g = {0};
    read_ok(path, &g);
    assert_int_equal(g.n, 4);
    gots_free(&g);
    ftrack_error err;
    assert_int_equal(fth_journal_migrate_retire(path, &err), FTRACK_OK);
    const char *gone[] = {"", "-wal", "-shm", ".marks", ".lock"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        assert_false(exists(file_path(gone[i])));
    const char *kept[] = {".migrated", ".migrated-wal", ".migrated.marks"};
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        assert_true(exists(file_path(kept[i])));
    bool found = true;
    size_t count = 99;
    assert_int_equal(fth_journal_migrate_read(path, collect, &g, &found, &count, &err), FTRACK_OK);
    assert_false(found);
    assert_int_equal(count, 0);
    read_ok(file_path(".migrated"), &g);
    assert_int_equal(g.n, 4);
    expect_at(&g, 3, "alpha", "ev7", 0, false, false); /* from the renamed WAL */
    gots_free(&g);
    /* Retiring again (nothing left) is no error. */
    assert_int_equal(fth_journal_migrate_retire(path, &err), FTRACK_OK);
}

/* The oldest journals: no 'marks' row (a log of any generation is unapplied), another
 * index, AUTOINCREMENT. */
static void test_raw_oldest_schema(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sql(db, OLDEST_SCHEMA);
    sql(db, "BEGIN");
    add_event(db, 1, "ev1", true);
    add_event(db, 2, "ev2", true);
    add_delivery(db, "alpha", 1, 0, 2, 3, 0);
    add_delivery(db, "alpha", 2, 0, 0, 0, 0);
    add_delivery(db, "beta", 2, 1, 1, 3, 0);
    sql(db, "COMMIT");
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    marks_file f;
    marks_begin(&f, 1, NONCE);
    marks_add(&f, NONCE, MARK_FINISHED, "alpha", "ev2", 2);
    marks_write(&f);
    gots g = {0};
    read_ok(path, &g);
    assert_int_equal(g.n, 1);
    expect_at(&g, 0, "alpha", "ev1", 2, true, false);
    gots_free(&g);
}

/* No journal; not a journal; an empty file (created, never written); the caller stops. */
static void test_missing_corrupt_stopped(void **state)
{
    (void)state;
    gots g = {0};
    bool found = true;
    size_t count = 99;
    ftrack_error err;
    assert_int_equal(fth_journal_migrate_read(path, collect, &g, &found, &count, &err), FTRACK_OK);
    assert_false(found);
    assert_int_equal(count, 0);

    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(fth_journal_migrate_read(path, collect, &g, &found, &count, &err), FTRACK_OK);
    assert_true(found);
    assert_int_equal(count, 0);

    f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 512; i++)
        fputs("not a database, ", f);
    fclose(f);
    assert_int_equal(fth_journal_migrate_read(path, collect, &g, &found, &count, &err),
                     FTRACK_ERR_IO);
    assert_true(found);
    assert_int_equal(g.n, 0);

    unlink(path);
    unlink(file_path("-wal"));
    unlink(file_path("-shm"));
    build_db();
    g.stop_after = 2;
    assert_int_equal(fth_journal_migrate_read(path, collect, &g, &found, &count, &err),
                     FTRACK_ERR_IO);
    assert_int_equal(count, 2);
    assert_non_null(strstr(err.message, "stopped"));
    gots_free(&g);
}

/* A host holding the journal's lock file (one host per data dir) keeps it from being read. */
static void test_locked(void **state)
{
    (void)state;
    build_db();
    int lock = open(file_path(".lock"), O_RDWR | O_CREAT, 0600);
    assert_true(lock >= 0);
    assert_int_equal(flock(lock, LOCK_EX | LOCK_NB), 0);
    gots g = {0};
    bool found = false;
    size_t count = 99;
    ftrack_error err;
    assert_int_equal(fth_journal_migrate_read(path, collect, &g, &found, &count, &err),
                     FTRACK_ERR_IO);
    assert_true(found);
    assert_int_equal(g.n, 0);
    close(lock);
    read_ok(path, &g);
    assert_int_equal(g.n, 6);
    gots_free(&g);
}

/* The integration test's fixture script writes what the reader reads. */
static void test_fixture_script(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "python3 '%s' '%s' --instance one --instance two "
             "--text '{\"id\":\"x1\",\"topic\":\"ftrack.update\",\"data\":{\"k\":\"v\"}}' "
             "--count 3 --attempts 1 >/dev/null",
             FTH_MAKE_OLD_JOURNAL, path);
    assert_int_equal(system(cmd), 0);
    gots g = {0};
    read_ok(path, &g);
    assert_int_equal(g.n, 8);
    expect_at(&g, 0, "one", "x1", 1, true, false);
    expect_at(&g, 1, "two", "x1", 1, true, false);
    assert_string_equal(g.items[0].topic, "ftrack.update");
    assert_string_equal(g.items[0].text,
                        "{\"id\":\"x1\",\"topic\":\"ftrack.update\",\"data\":{\"k\":\"v\"}}");
    expect_at(&g, 7, "two", "old-3", 1, true, false);
    assert_string_equal(g.items[7].topic, "ftrack.test.old");
    gots_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef FTH_HAVE_OLD_JOURNAL
        cmocka_unit_test_setup_teardown(test_old_code_journal, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_old_code_all_handled, make_dir, remove_dir),
#endif
        cmocka_unit_test_setup_teardown(test_raw_unapplied_marks, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_raw_applied_or_missing_marks, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_raw_retire, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_raw_oldest_schema, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_missing_corrupt_stopped, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_locked, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_fixture_script, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
