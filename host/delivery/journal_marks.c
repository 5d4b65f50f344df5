/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's marks log: a memory-mapped file (<journal>.marks) where the started and
 * finished marks of deliveries are appended without a database write, applied to the
 * database in one transaction when enough are waiting (or the oldest is old enough), and
 * recovered by event id at the next start when a run ended before applying them. Runs with
 * the journal's lock held, or while it is opened or closed. See journal.h ("Cost") for why it
 * exists. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sqlite3.h>
#include "common/internal.h"
#include "delivery/journal_internal.h"

/* The marks log (see journal.h): records are applied once this many are waiting, or when
 * the oldest is this old at the next mark. */
#define MARKS_BATCH 128
#define MARKS_MAX_AGE 0.010
#define MARKS_FILE_SIZE (256 * 1024)
#define MARKS_MAGIC "FTHMARK1"

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
    /* `below` stays: a delivery waiting below the floor stays below it once the delivery in
     * flight (above it) finishes and raises the floor again; only fth_journal_next's look
     * below the floor, finding nothing, clears it. */
    for (size_t i = 0; i < j->instance_count; i++) {
        j->instances[i].done_count = 0;
        j->instances[i].floor = -1;
        j->instances[i].open_started = -1;
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
    sqlite3_stmt *s = fth_journal_stmt(j, which);
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
long fth_journal_marks_apply(fth_journal *j, bool by_id, int64_t run)
{
    if (!j->marks)
        return 0;
    if (!by_id && j->marks_count == 0)
        return 0; /* nothing logged: no floor or open mark either */
    if (!fth_journal_tx(j, Q_BEGIN)) {
        fth_journal_log_db_error(j, "cannot apply the dispatch marks");
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
    sqlite3_stmt *s = fth_journal_stmt(j, Q_MARKS_DONE);
    sqlite3_bind_int64(s, 1, (int64_t)gen);
    ok = ok && sqlite3_step(s) == SQLITE_DONE;
    sqlite3_reset(s);
    if (!ok || !fth_journal_tx(j, Q_COMMIT)) {
        fth_journal_log_db_error(j, "cannot apply the dispatch marks");
        fth_journal_tx(j, Q_ROLLBACK);
        return -1;
    }
    marks_reset(j, gen + 1);
    j->dirty = true;
    return n;
}

void fth_journal_marks_maybe_apply(fth_journal *j)
{
    double now = fti_now();
    if (now < j->marks_retry_at ||
        (j->marks_count < MARKS_BATCH && now - j->marks_since < MARKS_MAX_AGE))
        return;
    /* A failing database (logged) is retried once a second, not at every mark. */
    j->marks_retry_at = fth_journal_marks_apply(j, false, j->run) < 0 ? now + 1 : 0;
}

/* Map <path>.marks; apply what an earlier run left in it. Without the map (or under
 * fsync "every") marks go to the database one by one, as they always may. */
void fth_journal_marks_open(fth_journal *j)
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
    int64_t applied = fth_journal_query_int(j, "SELECT value FROM meta WHERE key = 'marks'");
    bool valid = memcmp(h->magic, MARKS_MAGIC, sizeof(h->magic)) == 0;
    if (valid && (int64_t)h->gen > applied) {
        long n = fth_journal_marks_apply(j, true, h->run); /* starts the next generation */
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

/* Put a mark in the log (applying it first when full); false: write it directly. */
bool fth_journal_marks_log(fth_journal *j, int kind, const char *instance,
                           const fth_journal_entry *e)
{
    if (!j->marks || !e->id[0])
        return false;
    if (!marks_write(j, kind, instance, e) &&
        (fth_journal_marks_apply(j, false, j->run) < 0 || !marks_write(j, kind, instance, e)))
        return false;
    return true;
}

void fth_journal_marks_close(fth_journal *j)
{
    if (!j->marks)
        return;
    if (j->db)
        fth_journal_marks_apply(j, false, j->run);
    munmap(j->marks, MARKS_FILE_SIZE);
}
