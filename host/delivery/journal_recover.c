/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's state rebuilt at open from the records of its segment files, oldest first
 * (journal_internal.h), and the import of an old SQLite journal. Damage is logged with its
 * file and offset: a torn record at the end of the last file (a write cut short by a crash or
 * a power loss) is cut; a damaged record elsewhere is skipped and the rest read. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "delivery/journal_internal.h"
#include "delivery/journal_migrate.h"

typedef struct recover_ctx {
    fth_journal *j;
    jsegment *seg;
    const char *path;
    bool last;      /* the newest file: a torn tail is cut there */
    int64_t cut_at; /* -1: nothing to cut */
} recover_ctx;

static void apply_instance(recover_ctx *c, const jrec_header *h, const unsigned char *p)
{
    if (!fth_jstate_name_instance(c->j, h->inst, (const char *)p, h->len))
        ftrack_log(FTRACK_LOG_ERROR, "journal",
                   "%s: instance number %u is declared with two names; the second is ignored",
                   c->path, h->inst);
}

/* A moved copy is the event's whole pending state at its point of the log. */
static void reset_deliveries(fth_journal *j, jevent *ev)
{
    for (uint16_t i = 0; i < ev->ninsts; i++) {
        jinstance *in = fth_jstate_instance_num(j, ev->insts[i]);
        jdelivery *d = fth_jstate_find(in, ev->seq);
        if (d)
            fth_jstate_remove(j, in, d);
    }
}

static void apply_event(recover_ctx *c, const jrec_header *h, const unsigned char *p,
                        uint64_t payload_off)
{
    jrec_event e;
    const jrec_target *t;
    const char *id, *topic, *text;
    if (!fth_jlog_event_parts(h, p, &e, &t, &id, &topic, &text)) {
        ftrack_log(FTRACK_LOG_ERROR, "journal",
                   "%s: an event record at offset %llu does not add "
                   "up; skipped",
                   c->path, (unsigned long long)(payload_off - JREC_HEADER));
        c->j->corrupt++;
        return;
    }
    fth_journal *j = c->j;
    jevent *ev = fth_jstate_event(j, h->seq);
    if (ev && !(h->flags & REC_MOVED))
        return;
    if (ev)
        reset_deliveries(j, ev);
    else if (!(ev = fth_jstate_add_event(j, h->seq, id, e.id_len, topic, e.topic_len, e.received)))
        return;
    ev->text_len = e.text_len;
    fth_jstate_move(j, ev, c->seg->no, payload_off + (uint64_t)(text - (const char *)p));
    for (uint16_t i = 0; i < e.targets; i++) {
        jrec_target tg;
        memcpy(&tg, &t[i], sizeof(tg));
        jinstance *in = fth_jstate_instance_num(j, tg.inst);
        if (in)
            fth_jstate_add(j, in, ev, tg.attempts, tg.flags & TARGET_REPLAYED,
                           h->flags & REC_MOVED);
    }
}

static void apply_mark(recover_ctx *c, const jrec_header *h)
{
    fth_journal *j = c->j;
    jinstance *in = fth_jstate_instance_num(j, h->inst);
    jevent *ev = fth_jstate_event(j, h->seq);
    if (!in || !ev) /* its event was copied forward later in the log, with its state */
        return;
    jdelivery *d = fth_jstate_find(in, h->seq);
    switch (h->type) {
    case REC_DELIVERY:
        if (!d && !fth_jstate_event_has(ev, in->num))
            fth_jstate_add(j, in, ev, 0, false, false);
        break;
    case REC_STARTED:
        if (d)
            d->attempts++;
        break;
    case REC_FINISHED:
        if (d)
            fth_jstate_remove(j, in, d);
        break;
    case REC_REQUEUE:
        if (!d && fth_jstate_add(j, in, ev, 0, true, true))
            d = fth_jstate_find(in, h->seq);
        if (d) {
            d->attempts = 0;
            d->replayed = true;
        }
        break;
    }
}

static void on_record(void *ctx, uint64_t off, const jrec_header *h, const unsigned char *p)
{
    recover_ctx *c = ctx;
    if (h->type == REC_INSTANCE)
        apply_instance(c, h, p);
    else if (h->type == REC_EVENT)
        apply_event(c, h, p, off + JREC_HEADER);
    else
        apply_mark(c, h);
}

static void on_damage(void *ctx, uint64_t off, uint64_t skipped, bool tail, const char *why)
{
    recover_ctx *c = ctx;
    c->j->corrupt++;
    if (tail && c->last) {
        ftrack_log(FTRACK_LOG_WARNING, "journal",
                   "%s: a torn record at offset %llu (%s: a write cut short by a crash or "
                   "power loss): cut, %llu bytes dropped; every record before it is kept",
                   c->path, (unsigned long long)off, why, (unsigned long long)skipped);
        c->cut_at = (int64_t)off;
        return;
    }
    ftrack_log(FTRACK_LOG_ERROR, "journal",
               "%s: a corrupted record at offset %llu (%s): %llu bytes skipped%s; an event in "
               "them is lost, the records after them are read",
               c->path, (unsigned long long)off, why, (unsigned long long)skipped,
               tail ? " to the end of the file" : " up to the next good record");
}

/* After every record is read: deliveries started by an earlier run count as such. */
static void mark_started_earlier(fth_journal *j)
{
    for (size_t i = 0; i < j->ninsts; i++) {
        jinstance *in = j->insts[i];
        for (size_t k = 0; in && k < in->count; k++) {
            jdelivery *d = &in->q[in->head + k];
            d->started_earlier = d->attempts > 0;
        }
    }
}

static ftrack_status read_segment(fth_journal *j, uint64_t no, bool last, ftrack_error *err)
{
    char *path = fth_jlog_segment_path(j->dir, no);
    int fd = path ? open(path, O_RDWR | O_CLOEXEC) : -1;
    if (fd < 0 || !fti_array_reserve(&j->segs, &j->capsegs, j->nsegs + 1, sizeof(*j->segs))) {
        ftrack_status st = fti_error(err, FTRACK_ERR_IO, "cannot open the journal file %s: %s",
                                     path ? path : j->dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(path);
        return st;
    }
    jsegment *s = &j->segs[j->nsegs++];
    *s = (jsegment){.no = no, .fd = fd};
    recover_ctx c = {j, s, path, last, -1};
    int64_t end = fth_jlog_scan(fd, on_record, on_damage, &c);
    if (end < 0) {
        ftrack_status st = fti_error(err, FTRACK_ERR_IO, "cannot read the journal file %s: %s",
                                     path, strerror(errno));
        free(path);
        return st;
    }
    s->used = (uint64_t)end;
    s->size = s->used;
    if (c.cut_at >= 0 && ftruncate(fd, c.cut_at) != 0)
        ftrack_log(FTRACK_LOG_ERROR, "journal", "cannot cut %s: %s", path, strerror(errno));
    free(path);
    return FTRACK_OK;
}

ftrack_status fth_journal_recover(fth_journal *j, ftrack_error *err)
{
    uint64_t *nos = NULL;
    long n = fth_jlog_list(j->dir, &nos);
    if (n < 0)
        return fti_error(err, FTRACK_ERR_IO, "cannot list the journal %s: %s", j->dir,
                         strerror(errno));
    /* Marks and moved copies name their event by seq: indexed while the records are read. */
    ftrack_status st = fth_jstate_index_seqs(j)
                           ? FTRACK_OK
                           : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    for (long i = 0; st == FTRACK_OK && i < n; i++)
        st = read_segment(j, nos[i], i == n - 1, err);
    free(nos);
    fth_jstate_drop_seqs(j);
    mark_started_earlier(j);
    return st;
}

/* ---- importing an old SQLite journal --------------------------------------------------- */

typedef struct import_ctx {
    fth_journal *j;
    size_t imported;
} import_ctx;

static bool import_one(void *ctx, const fth_migrated_delivery *d)
{
    import_ctx *c = ctx;
    fth_journal *j = c->j;
    jinstance *in = fth_jstate_instance(j, d->instance);
    if (!in || d->len > UINT32_MAX)
        return false;
    jrec_target t = {in->num, (uint16_t)(d->attempts > UINT16_MAX ? UINT16_MAX : d->attempts),
                     d->replayed ? TARGET_REPLAYED : 0};
    jevent *ev = fth_jstate_event_by_id(j, d->id);
    if (!ev) {
        int64_t seq = j->next_seq++;
        ev = fth_jstate_add_event(j, seq, d->id, strlen(d->id), d->topic, strlen(d->topic),
                                  d->received);
        if (!ev)
            return false;
        ev->text_len = (uint32_t)d->len;
    }
    if (fth_jstate_find(in, ev->seq))
        return true;
    /* One record per delivery: the copy carries every pending target of the event so far. */
    if (!fth_journal_write_moved(j, ev, d->text, d->len, &t, 1) ||
        !fth_jstate_add(j, in, ev, t.attempts, d->replayed, false))
        return false;
    c->imported++;
    return true;
}

ftrack_status fth_journal_import(fth_journal *j, const char *sqlite_path, ftrack_error *err)
{
    import_ctx c = {j, 0};
    bool found = false;
    size_t count = 0;
    ftrack_status st = fth_journal_migrate_read(sqlite_path, import_one, &c, &found, &count, err);
    if (st != FTRACK_OK || !found)
        return st;
    mark_started_earlier(j);
    fth_jlog_sync(j); /* the new copy is on disk before the old one is retired */
    st = fth_journal_migrate_retire(sqlite_path, err);
    if (st != FTRACK_OK)
        return st;
    ftrack_log(FTRACK_LOG_INFO, "journal",
               "imported %zu pending deliveries from the SQLite journal %s into %s; the old "
               "file is kept as %s.migrated",
               c.imported, sqlite_path, j->dir, sqlite_path);
    return FTRACK_OK;
}
