/* SPDX-License-Identifier: Apache-2.0 */
/* Journal compaction (fth_journal_compact, journal.h), from the host's timer every
 * journal.compact_interval seconds (30) and at stop: dead-letters deliveries past
 * journal.max_age, forgets finished events past the dedup window, deletes the oldest segments
 * while nothing in them is pending, copies the few pending events that keep an old segment
 * alive forward, and at journal.max_bytes gives up the oldest pending
 * deliveries to the dead-letter file. Apart from journal.c because it is the one piece that
 * deletes and dead-letters. Segments go oldest first only (drop_dead says why). A crash at
 * any point leaves every pending event in at least one file: a copy is written (and synced)
 * before its original's file is deleted, and the newer copy wins when both are read
 * (journal_recover.c). */
#include <stdlib.h>
#include <unistd.h>

#include "common/internal.h"
#include "delivery/journal.h"
#include "delivery/journal_internal.h"

/* An old segment is copied forward when its pending events take less than this share of it,
 * and only while more than this many segments exist (below it, waiting costs little). */
#define COPY_SHARE 4
#define COPY_MIN_SEGMENTS 4

/* Dead-letter delivery `d` of `in` for `reason`, and mark it finished. */
static void give_up(fth_journal *j, fth_deadletter *dl, jinstance *in, jdelivery *d,
                    const char *reason)
{
    char *text = fth_jstate_text(j, d->ev);
    fth_deadletter_append(dl, in->name, reason, NULL, d->attempts, text ? text : "null");
    free(text);
    fth_journal_mark(j, REC_FINISHED, in, d->ev->seq);
    fth_jstate_remove(j, in, d);
}

static void expire(fth_journal *j, fth_deadletter *dl, double now)
{
    double cutoff = now - j->options.max_age;
    uint64_t n = 0;
    for (size_t i = 0; i < j->ninsts; i++) {
        jinstance *in = j->insts[i];
        while (in && in->count && in->q[in->head].ev->received < cutoff) {
            give_up(j, dl, in, &in->q[in->head], "expired");
            n++;
        }
    }
    if (!n)
        return;
    j->expired += n;
    ftrack_log(FTRACK_LOG_WARNING, "journal",
               "%llu pending deliveries were older than journal.max_age (%.0f s): moved to the "
               "dead-letter file (%llu since start)",
               (unsigned long long)n, j->options.max_age, (unsigned long long)j->expired);
}

/* Only the oldest segments go, and only while nothing in them is pending: a segment's marks
 * (started, finished, a delivery for another instance) may concern an event in an older,
 * live segment, so a newer file cannot go before the older ones, however idle it is. */
static void drop_dead(fth_journal *j)
{
    while (j->nsegs > 1 && j->segs[0].live == 0)
        fth_jlog_drop(j, 0);
}

static int by_seq(const void *a, const void *b)
{
    int64_t x = (*(jevent *const *)a)->seq, y = (*(jevent *const *)b)->seq;
    return x < y ? -1 : x > y;
}

/* The events with pending deliveries whose record is in segment `no`, each once (an event
 * pending for several instances is in several queues), and the bytes their records take.
 * Caller frees; NULL with *n 0 when there are none or memory ran out. */
static jevent **live_events(fth_journal *j, uint64_t no, size_t *n, uint64_t *bytes)
{
    jevent **out = NULL;
    size_t cap = 0, all = 0;
    *n = 0;
    *bytes = 0;
    for (size_t i = 0; i < j->ninsts; i++) {
        jinstance *in = j->insts[i];
        for (size_t k = 0; in && k < in->count; k++) {
            jevent *ev = in->q[in->head + k].ev;
            if (ev->seg != no)
                continue;
            if (!fti_array_reserve(&out, &cap, all + 1, sizeof(*out))) {
                free(out);
                return NULL;
            }
            out[all++] = ev;
        }
    }
    if (all)
        qsort(out, all, sizeof(*out), by_seq);
    for (size_t i = 0; i < all; i++) {
        if (*n && out[*n - 1] == out[i])
            continue;
        out[(*n)++] = out[i];
        *bytes += out[i]->text_len + JREC_HEADER + JREC_EVENT_FIXED;
    }
    return out;
}

static bool copy_event(fth_journal *j, jevent *ev)
{
    char *text = fth_jstate_text(j, ev);
    bool ok = text && fth_journal_write_moved(j, ev, text, ev->text_len, NULL, 0);
    free(text);
    return ok;
}

/* The oldest segment, kept alive by a few pending events, is emptied by copying them forward;
 * then it and the idle ones after it can go (drop_dead). */
static void copy_forward(fth_journal *j)
{
    for (drop_dead(j); j->nsegs > COPY_MIN_SEGMENTS; drop_dead(j)) {
        uint64_t used = j->segs[0].used, bytes;
        size_t n;
        jevent **evs = live_events(j, j->segs[0].no, &n, &bytes);
        bool copy = evs && bytes * COPY_SHARE <= used;
        for (size_t i = 0; copy && i < n; i++)
            copy = copy_event(j, evs[i]);
        free(evs);
        if (!copy)
            return;
        /* The copies are on disk before the original's file goes. */
        if (j->options.fsync != FTH_FSYNC_OFF)
            fth_jlog_sync(j);
        if (j->segs[0].live != 0)
            return;
    }
}

static uint64_t total_bytes(const fth_journal *j)
{
    uint64_t n = 0;
    for (size_t i = 0; i < j->nsegs; i++)
        n += j->segs[i].used;
    return n;
}

/* Over journal.max_bytes: the oldest segment's pending deliveries go to the dead-letter file
 * (not nowhere), and the segment with them. */
static void enforce_size(fth_journal *j, fth_deadletter *dl)
{
    uint64_t evicted = 0;
    while (j->nsegs > 1 && total_bytes(j) > j->options.max_bytes) {
        uint64_t no = j->segs[0].no;
        for (size_t i = 0; i < j->ninsts; i++) {
            jinstance *in = j->insts[i];
            for (size_t k = 0; in && k < in->count;) {
                jdelivery *d = &in->q[in->head + k];
                if (d->ev->seg != no) {
                    k++;
                    continue;
                }
                give_up(j, dl, in, d, "journal-full");
                evicted++;
            }
        }
        jsegment *s = fth_jlog_segment(j, no);
        if (s && s->live == 0 && s != &j->segs[j->nsegs - 1])
            fth_jlog_drop(j, (size_t)(s - j->segs));
        else
            break;
    }
    if (!evicted)
        return;
    j->evicted += evicted;
    ftrack_log(FTRACK_LOG_WARNING, "journal",
               "the journal reached journal.max_bytes (%llu): %llu oldest pending deliveries "
               "moved to the dead-letter file (%llu since start)",
               (unsigned long long)j->options.max_bytes, (unsigned long long)evicted,
               (unsigned long long)j->evicted);
}

void fth_journal_compact(fth_journal *j, fth_deadletter *dl)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    double now = fti_wall_now();
    expire(j, dl, now);
    fth_jstate_forget(j, now);
    copy_forward(j);
    enforce_size(j, dl);
    pthread_mutex_unlock(&j->lock);
}
