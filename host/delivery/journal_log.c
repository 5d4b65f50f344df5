/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's segment files (journal_internal.h has the record layout): appending into the
 * memory-mapped head segment, reading records back, checking them at open, syncing and
 * deleting segments. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <isa-l/crc.h>

#include "common/internal.h"
#include "delivery/journal_internal.h"

#define DEFAULT_SEGMENT_BYTES ((uint64_t)4 * 1024 * 1024)

/* ISA-L's CRC-32 folds with carry-less multiplies (PCLMULQDQ) where the CPU has them, about
 * ten times zlib's table-driven crc32 on a ~500-byte record, and gives the same value (the
 * gzip CRC; host_journal_files_test.c checks it against zlib's): files written with either
 * read back with the other. */
uint32_t fth_jlog_crc(const void *data, size_t len)
{
    return crc32_gzip_refl(0, data, len);
}

static uint64_t align8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

char *fth_jlog_segment_path(const char *dir, uint64_t no)
{
    return fti_asprintf("%s/%016" PRIx64 ".seg", dir, no);
}

static bool segment_name(const char *name, uint64_t *no)
{
    size_t n = strlen(name);
    if (n != 20 || strcmp(name + 16, ".seg") != 0)
        return false;
    char *end = NULL;
    errno = 0;
    *no = strtoull(name, &end, 16);
    return errno == 0 && end == name + 16 && *no > 0;
}

static int by_number(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

long fth_jlog_list(const char *dir, uint64_t **out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t no;
        if (!segment_name(e->d_name, &no))
            continue;
        if (!fti_array_reserve(out, &cap, n + 1, sizeof(**out))) {
            closedir(d);
            free(*out);
            *out = NULL;
            errno = ENOMEM;
            return -1;
        }
        (*out)[n++] = no;
    }
    closedir(d);
    if (n)
        qsort(*out, n, sizeof(**out), by_number);
    return (long)n;
}

jsegment *fth_jlog_segment(fth_journal *j, uint64_t no)
{
    /* Few segments (max_bytes / segment_bytes), and the head is asked for most. */
    for (size_t i = j->nsegs; i-- > 0;)
        if (j->segs[i].no == no)
            return &j->segs[i];
    return NULL;
}

static jsegment *head(fth_journal *j)
{
    return j->map && j->nsegs ? &j->segs[j->nsegs - 1] : NULL;
}

static void write_error(fth_journal *j, const char *what, const char *path)
{
    j->write_errors++;
    ftrack_log(FTRACK_LOG_ERROR, "journal", "%s %s: %s", what, path ? path : j->dir,
               strerror(errno));
}

static uint64_t segment_bytes(const fth_journal *j)
{
    uint64_t b = j->options.segment_bytes ? j->options.segment_bytes : DEFAULT_SEGMENT_BYTES;
    if (!j->options.segment_bytes && b > j->options.max_bytes / 4)
        b = j->options.max_bytes / 4;
    return b < 65536 ? 65536 : align8(b);
}

/* Unmap the head: from here it is read with pread like the older segments. Its pages stay in
 * the page cache for the next sync; out of this process's memory. */
static void unmap_head(fth_journal *j)
{
    if (!j->map)
        return;
    munmap(j->map, j->map_size);
    j->map = NULL;
    j->map_size = 0;
}

/* Every known instance's name, at the start of a new segment (journal_internal.h). */
static bool declare_instances(fth_journal *j)
{
    for (size_t i = 0; i < j->ninsts; i++) {
        jinstance *in = j->insts[i];
        if (!in)
            continue;
        jpart p = {in->name, strlen(in->name)};
        if (!fth_jlog_append(j, REC_INSTANCE, 0, in->num, 0, &p, 1, NULL, NULL))
            return false;
    }
    return true;
}

bool fth_jlog_new_head(fth_journal *j, uint64_t need)
{
    uint64_t no = j->nsegs ? j->segs[j->nsegs - 1].no + 1 : 1;
    uint64_t size = segment_bytes(j);
    /* Room for the instance declarations and the record that did not fit. */
    uint64_t decl = 0;
    for (size_t i = 0; i < j->ninsts; i++)
        decl += j->insts[i] ? align8(JREC_HEADER + strlen(j->insts[i]->name)) : 0;
    if (size < need + decl)
        size = align8(need + decl);
    if (!fti_array_reserve(&j->segs, &j->capsegs, j->nsegs + 1, sizeof(*j->segs)))
        return false;
    char *path = fth_jlog_segment_path(j->dir, no);
    int fd = path ? open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    void *map = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, (off_t)size) == 0)
        map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        write_error(j, "cannot create the journal segment", path);
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        free(path);
        return false;
    }
    free(path);
    unmap_head(j);
    j->segs[j->nsegs++] = (jsegment){.no = no, .fd = fd, .size = size, .dirty = true};
    j->map = map;
    j->map_size = size;
    j->prepared = 0;
    j->created_segment = true;
    return declare_instances(j);
}

/* The pages ahead of the write position are made ready a stretch at a time (file blocks and
 * page table entries in one call), instead of a page fault per 4 KiB page on the network
 * thread. Only a stretch ahead: the mapping's resident size stays small. */
#define PREPARE_AHEAD (256 * 1024)

static void prepare_pages(fth_journal *j, uint64_t end)
{
    if (end <= j->prepared || j->prepared >= j->map_size)
        return;
    uint64_t upto = j->prepared + PREPARE_AHEAD;
    if (upto < end)
        upto = end;
    if (upto > j->map_size)
        upto = j->map_size;
    /* Best effort: without it the pages fault in one by one, as they would anyway. */
    (void)madvise(j->map + j->prepared, upto - j->prepared, MADV_POPULATE_WRITE);
    j->prepared = upto;
}

/* msync the pages of [from, to) of the head (fsync "every"). */
static void sync_range(fth_journal *j, uint64_t from, uint64_t to)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t start = from & ~((uint64_t)page - 1);
    if (msync(j->map + start, to - start, MS_SYNC) != 0)
        write_error(j, "cannot sync the journal", NULL);
}

bool fth_jlog_append(fth_journal *j, uint8_t type, uint8_t flags, uint16_t inst, int64_t seq,
                     const jpart *parts, size_t n, uint64_t *seg, uint64_t *off)
{
    uint64_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += parts[i].len;
    if (len > JREC_MAX_PAYLOAD) { /* it would read back as damage */
        errno = EFBIG;
        write_error(j, "cannot journal a record this large in", NULL);
        return false;
    }
    uint64_t total = align8(JREC_HEADER + len);
    jsegment *h = head(j);
    if (!h || h->used + total > h->size) {
        if (!fth_jlog_new_head(j, total))
            return false;
        h = head(j);
    }
    prepare_pages(j, h->used + total);
    unsigned char *p = j->map + h->used;
    jrec_header hdr = {JREC_MAGIC, 0, (uint32_t)len, type, flags, inst, seq};
    memcpy(p, &hdr, sizeof(hdr));
    uint64_t at = JREC_HEADER;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len)
            memcpy(p + at, parts[i].data, parts[i].len);
        at += parts[i].len;
    }
    memset(p + at, 0, total - at);
    /* The checksum covers everything after itself: a record cut short or changed anywhere
     * fails it, so it is never read as something else. */
    uint32_t crc = fth_jlog_crc(p + 8, JREC_HEADER - 8 + len);
    memcpy(p + 4, &crc, sizeof(crc));
    if (seg)
        *seg = h->no;
    if (off)
        *off = h->used + JREC_HEADER;
    if (j->options.fsync == FTH_FSYNC_EVERY)
        sync_range(j, h->used, h->used + total);
    h->used += total;
    h->dirty = true;
    j->written += total;
    return true;
}

bool fth_jlog_read(fth_journal *j, uint64_t no, uint64_t off, void *buf, size_t len)
{
    jsegment *s = fth_jlog_segment(j, no);
    if (!s || off + len > s->used)
        return false;
    if (s == head(j)) {
        memcpy(buf, j->map + off, len);
        return true;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(s->fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        done += (size_t)r;
    }
    return true;
}

void fth_jlog_sync_collect(fth_journal *j, jlog_sync *out)
{
    memset(out, 0, sizeof(*out));
    out->dir_fd = -1;
    size_t cap = 0;
    for (size_t i = 0; i < j->nsegs; i++) {
        jsegment *s = &j->segs[i];
        if (!s->dirty || !fti_array_reserve(&out->fds, &cap, out->n + 1, sizeof(*out->fds)))
            continue;
        /* A copy of the descriptor: compaction may close the segment's own meanwhile. */
        int fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0)
            continue;
        out->fds[out->n++] = fd;
        s->dirty = false;
    }
    /* A new segment's name must survive a power loss too. */
    if (j->created_segment && j->dir_fd >= 0)
        out->dir_fd = fcntl(j->dir_fd, F_DUPFD_CLOEXEC, 0);
    j->created_segment = false;
}

unsigned fth_jlog_sync_run(jlog_sync *p)
{
    unsigned errors = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (fdatasync(p->fds[i]) != 0) {
            ftrack_log(FTRACK_LOG_ERROR, "journal", "cannot sync the journal: %s", strerror(errno));
            errors++;
        }
        close(p->fds[i]);
    }
    if (p->dir_fd >= 0) {
        if (fsync(p->dir_fd) != 0)
            errors++;
        close(p->dir_fd);
    }
    free(p->fds);
    memset(p, 0, sizeof(*p));
    p->dir_fd = -1;
    return errors;
}

void fth_jlog_sync(fth_journal *j)
{
    jlog_sync p;
    fth_jlog_sync_collect(j, &p);
    j->write_errors += fth_jlog_sync_run(&p);
}

void fth_jlog_drop(fth_journal *j, size_t index)
{
    jsegment *s = &j->segs[index];
    char *path = fth_jlog_segment_path(j->dir, s->no);
    if (!path || unlink(path) != 0)
        write_error(j, "cannot delete the journal segment", path);
    free(path);
    close(s->fd);
    memmove(&j->segs[index], &j->segs[index + 1], (j->nsegs - index - 1) * sizeof(*j->segs));
    j->nsegs--;
}

void fth_jlog_close_all(fth_journal *j)
{
    if (j->map)
        msync(j->map, j->map_size, MS_ASYNC);
    unmap_head(j);
    for (size_t i = 0; i < j->nsegs; i++) {
        jsegment *s = &j->segs[i];
        /* The head's unused tail goes: the file ends at its last record, as a reader of a
         * copy expects. */
        if (i == j->nsegs - 1 && s->used < s->size && ftruncate(s->fd, (off_t)s->used) == 0)
            s->size = s->used;
        if (j->options.fsync != FTH_FSYNC_OFF && s->dirty)
            fdatasync(s->fd);
        close(s->fd);
    }
    free(j->segs);
    j->segs = NULL;
    j->nsegs = j->capsegs = 0;
}

/* ---- checking records ------------------------------------------------------------------ */

bool fth_jlog_event_parts(const jrec_header *h, const unsigned char *payload, jrec_event *ev,
                          const jrec_target **targets, const char **id, const char **topic,
                          const char **text)
{
    if (h->len < JREC_EVENT_FIXED)
        return false;
    memcpy(ev, payload, sizeof(*ev));
    uint64_t need = (uint64_t)JREC_EVENT_FIXED + (uint64_t)ev->targets * JREC_TARGET + ev->id_len +
                    ev->topic_len + ev->text_len;
    if (need != h->len || ev->id_len == 0 || ev->id_len >= FTRACK_ID_MAX)
        return false;
    *targets = (const jrec_target *)(payload + JREC_EVENT_FIXED);
    *id = (const char *)payload + JREC_EVENT_FIXED + (size_t)ev->targets * JREC_TARGET;
    *topic = *id + ev->id_len;
    *text = *topic + ev->topic_len;
    return true;
}

/* A good record at `off` of `data` (`size` bytes): its whole length, or 0. */
static uint64_t good_record(const unsigned char *data, uint64_t size, uint64_t off,
                            const char **why)
{
    jrec_header h;
    if (off + JREC_HEADER > size) {
        *why = "a header cut short";
        return 0;
    }
    memcpy(&h, data + off, sizeof(h));
    if (h.magic != JREC_MAGIC) {
        *why = "no record marker";
        return 0;
    }
    if (h.len > JREC_MAX_PAYLOAD || off + JREC_HEADER + h.len > size) {
        *why = "a length past the end of the file";
        return 0;
    }
    uint32_t crc = fth_jlog_crc(data + off + 8, JREC_HEADER - 8 + h.len);
    if (crc != h.crc) {
        *why = "a checksum mismatch";
        return 0;
    }
    return align8(JREC_HEADER + h.len);
}

static bool all_zero(const unsigned char *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* The next good record at or after `from` (8-byte steps), or `size` when none. */
static uint64_t next_good(const unsigned char *data, uint64_t size, uint64_t from)
{
    const char *why;
    for (uint64_t off = align8(from); off + JREC_HEADER <= size; off += 8) {
        uint32_t magic;
        memcpy(&magic, data + off, sizeof(magic));
        if (magic == JREC_MAGIC && good_record(data, size, off, &why))
            return off;
    }
    return size;
}

int64_t fth_jlog_scan(int fd, jlog_record_fn fn, jlog_damage_fn bad, void *ctx)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0)
        return 0;
    unsigned char *data = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED)
        return -1;
    uint64_t off = 0, end = 0;
    while (off < size) {
        const char *why = NULL;
        uint64_t n = good_record(data, size, off, &why);
        if (n) {
            jrec_header h;
            memcpy(&h, data + off, sizeof(h));
            fn(ctx, off, &h, data + off + JREC_HEADER);
            off += n;
            end = off;
            continue;
        }
        uint64_t next = next_good(data, size, off + 8);
        /* Zeros to the end are the unused part of a segment, not damage. */
        if (next == size && all_zero(data + off, size - off))
            break;
        bad(ctx, off, next - off, next == size, why);
        off = next;
    }
    munmap(data, size);
    return (int64_t)end;
}
