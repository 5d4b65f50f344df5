/* SPDX-License-Identifier: Apache-2.0 */
/* What the journal knows in memory (journal_internal.h): its events (by id, and by seq while
 * the records are read at open), its instances by number and name, each instance's pending
 * deliveries in seq order, and the finished events remembered for deduplication. Rebuilt from
 * the records at every open. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "delivery/journal_internal.h"

/* Finished events remembered for deduplication, at most (journal.h): well under 1 MiB. */
#define DEDUP_MAX 4096
#define TOPIC_KEPT 127

/* The one place an event is freed. */
static void free_event(jevent *ev)
{
    if (ev->insts != ev->inline_insts)
        free(ev->insts);
    free(ev);
}

bool fth_jstate_init(fth_journal *j)
{
    j->inst_by_name = lh_kchar_table_new(64, NULL);
    return fth_jindex_init(&j->by_id) && j->inst_by_name;
}

void fth_jstate_free(fth_journal *j)
{
    fth_jstate_drop_seqs(j);
    for (jevent *ev = j->first, *next; ev; ev = next) {
        next = ev->next;
        free_event(ev);
    }
    j->first = j->last = NULL;
    fth_jindex_free(&j->by_id);
    if (j->inst_by_name)
        lh_table_free(j->inst_by_name);
    for (size_t i = 0; i < j->ninsts; i++) {
        jinstance *in = j->insts[i];
        if (!in)
            continue;
        for (size_t k = in->head; k < in->head + in->count; k++)
            ftrack_hub_match_unref(in->q[k].match);
        free(j->insts[i]->name);
        free(j->insts[i]->q);
        free(j->insts[i]);
    }
    free(j->insts);
}

static bool id_is(const jevent *ev, const void *id)
{
    return strcmp(ev->id, id) == 0;
}

/* Only the records read at open name events by seq (marks, copies): at run time a seq index
 * would cost an insert and a delete per event that nothing reads. */
bool fth_jstate_index_seqs(fth_journal *j)
{
    if (j->seq_indexed)
        return true;
    if (!fth_jindex_init(&j->by_seq))
        return false;
    j->seq_indexed = true;
    for (jevent *ev = j->first; ev; ev = ev->next) {
        jevent *was;
        if (!fth_jindex_put(&j->by_seq, fth_jindex_hash_seq(ev->seq), ev, NULL, NULL, &was)) {
            fth_jstate_drop_seqs(j);
            return false;
        }
    }
    return true;
}

void fth_jstate_drop_seqs(fth_journal *j)
{
    if (!j->seq_indexed)
        return;
    fth_jindex_free(&j->by_seq);
    j->seq_indexed = false;
}

jevent *fth_jstate_event(fth_journal *j, int64_t seq)
{
    if (!j->seq_indexed)
        return NULL;
    return fth_jindex_find(&j->by_seq, fth_jindex_hash_seq(seq), NULL, NULL);
}

jevent *fth_jstate_event_by_id(fth_journal *j, const char *id)
{
    return fth_jindex_find(&j->by_id, fth_jindex_hash_id(&j->by_id, id), id_is, id);
}

static jevent *new_event(int64_t seq, const char *id, size_t id_len, const char *topic,
                         size_t topic_len, double received)
{
    size_t t = topic_len < TOPIC_KEPT ? topic_len : TOPIC_KEPT;
    jevent *ev = calloc(1, sizeof(*ev) + id_len + 1 + t + 1);
    if (!ev)
        return NULL;
    ev->seq = seq;
    ev->received = received;
    ev->insts = ev->inline_insts;
    ev->capinsts = sizeof(ev->inline_insts) / sizeof(ev->inline_insts[0]);
    memcpy(ev->id, id, id_len);
    char *topic_copy = ev->id + id_len + 1;
    memcpy(topic_copy, topic, t);
    ev->topic = topic_copy;
    return ev;
}

/* Indexed by id (and by seq while recovering); false when out of memory (in neither then). A
 * second event with a known id (two records of one event never share a seq, so this is a
 * replay written anew) takes the id over: the id finds the newest. */
static bool index_event(fth_journal *j, jevent *ev)
{
    jevent *was;
    ev->id_hash = fth_jindex_hash_id(&j->by_id, ev->id);
    if (j->seq_indexed &&
        !fth_jindex_put(&j->by_seq, fth_jindex_hash_seq(ev->seq), ev, NULL, NULL, &was))
        return false;
    if (fth_jindex_put(&j->by_id, ev->id_hash, ev, id_is, ev->id, &was))
        return true;
    if (j->seq_indexed)
        fth_jindex_remove(&j->by_seq, fth_jindex_hash_seq(ev->seq), ev);
    return false;
}

jevent *fth_jstate_add_event(fth_journal *j, int64_t seq, const char *id, size_t id_len,
                             const char *topic, size_t topic_len, double received)
{
    if (id_len >= FTRACK_ID_MAX)
        return NULL;
    jevent *ev = new_event(seq, id, id_len, topic, topic_len, received);
    if (!ev)
        return NULL;
    if (!index_event(j, ev)) {
        free_event(ev);
        return NULL;
    }
    ev->prev = j->last;
    if (j->last)
        j->last->next = ev;
    else
        j->first = ev;
    j->last = ev;
    if (seq >= j->next_seq)
        j->next_seq = seq + 1;
    return ev;
}

static void forget_event(fth_journal *j, jevent *ev)
{
    fth_jindex_remove(&j->by_id, ev->id_hash, ev); /* not in when a newer one took its id */
    if (j->seq_indexed)
        fth_jindex_remove(&j->by_seq, fth_jindex_hash_seq(ev->seq), ev);
    if (ev->prev)
        ev->prev->next = ev->next;
    else
        j->first = ev->next;
    if (ev->next)
        ev->next->prev = ev->prev;
    else
        j->last = ev->prev;
    free_event(ev);
}

jinstance *fth_jstate_instance_num(fth_journal *j, uint16_t num)
{
    return num < j->ninsts ? j->insts[num] : NULL;
}

static jinstance *new_instance(fth_journal *j, uint16_t num, const char *name, size_t len)
{
    if (num >= j->ninsts) {
        size_t cap = j->ninsts;
        if (!fti_array_reserve(&j->insts, &cap, (size_t)num + 1, sizeof(*j->insts)))
            return NULL;
        memset(&j->insts[j->ninsts], 0, ((size_t)num + 1 - j->ninsts) * sizeof(*j->insts));
        j->ninsts = (size_t)num + 1;
    }
    jinstance *in = calloc(1, sizeof(*in));
    if (!in || !(in->name = fti_strndup(name, len))) {
        free(in);
        return NULL;
    }
    in->num = num;
    if (lh_table_insert(j->inst_by_name, in->name, in) != 0) {
        free(in->name);
        free(in);
        return NULL;
    }
    j->insts[num] = in;
    return in;
}

bool fth_jstate_name_instance(fth_journal *j, uint16_t num, const char *name, size_t len)
{
    jinstance *in = fth_jstate_instance_num(j, num);
    if (in)
        return strlen(in->name) == len && memcmp(in->name, name, len) == 0;
    return new_instance(j, num, name, len) != NULL;
}

static jinstance *instance_by_name(fth_journal *j, const char *name)
{
    size_t slot = ((uintptr_t)name >> 4) % (sizeof(j->inst_recent) / sizeof(j->inst_recent[0]));
    jinstance *in = j->inst_recent[slot].in;
    if (j->inst_recent[slot].asked == name && strcmp(in->name, name) == 0)
        return in;
    void *v = NULL;
    if (!lh_table_lookup_ex(j->inst_by_name, name, &v))
        return NULL;
    j->inst_recent[slot].asked = name;
    j->inst_recent[slot].in = v;
    return v;
}

/* The instance called `name`, made known (and declared in the log) on first use. */
jinstance *fth_jstate_instance(fth_journal *j, const char *name)
{
    jinstance *known = instance_by_name(j, name);
    if (known)
        return known;
    if (j->ninsts >= UINT16_MAX) {
        ftrack_log(FTRACK_LOG_ERROR, "journal", "too many plugin instances for the journal");
        return NULL;
    }
    jinstance *in = new_instance(j, (uint16_t)j->ninsts, name, strlen(name));
    jpart p = {name, strlen(name)};
    if (in && !fth_jlog_append(j, REC_INSTANCE, 0, in->num, 0, &p, 1, NULL, NULL))
        return NULL;
    return in;
}

bool fth_jstate_event_has(const jevent *ev, uint16_t inst)
{
    for (uint16_t i = 0; i < ev->ninsts; i++)
        if (ev->insts[i] == inst)
            return true;
    return false;
}

static bool event_add_inst(jevent *ev, uint16_t inst)
{
    if (fth_jstate_event_has(ev, inst))
        return true;
    if (ev->ninsts == ev->capinsts) {
        if (ev->capinsts >= UINT16_MAX / 2)
            return false;
        uint16_t cap = (uint16_t)(ev->capinsts * 2);
        uint16_t *more = malloc(cap * sizeof(*more));
        if (!more)
            return false;
        memcpy(more, ev->insts, ev->ninsts * sizeof(*more));
        if (ev->insts != ev->inline_insts)
            free(ev->insts);
        ev->insts = more;
        ev->capinsts = cap;
    }
    ev->insts[ev->ninsts++] = inst;
    return true;
}

/* Deliveries are kept in the order the instance received them, which is seq order except for
 * an event another instance had first (older seq, appended later): a lookup not at the head
 * scans. Only finishing out of order (a dead letter at start, a replayed event) comes here. */
jdelivery *fth_jstate_find(jinstance *in, int64_t seq)
{
    if (!in || !in->count)
        return NULL;
    for (size_t i = in->head; i < in->head + in->count; i++)
        if (in->q[i].ev->seq == seq)
            return &in->q[i];
    return NULL;
}

/* Where a delivery of `seq` goes in seq order: before the first with a larger seq. */
static size_t seq_position(const jinstance *in, int64_t seq)
{
    size_t end = in->head + in->count;
    if (end == in->head || in->q[end - 1].ev->seq < seq)
        return end;
    size_t i = in->head;
    while (i < end && in->q[i].ev->seq < seq)
        i++;
    return i;
}

/* The oldest finished event remembered is forgotten (unless a replay made it pending again:
 * then it is only off the list). */
static void forget_oldest(fth_journal *j)
{
    jevent *ev = j->done_head;
    j->done_head = ev->next_done;
    if (!j->done_head)
        j->done_tail = NULL;
    j->done_count--;
    ev->remembered = false;
    if (ev->pending == 0)
        forget_event(j, ev);
}

static void event_pending(fth_journal *j, jevent *ev, int delta)
{
    bool was = ev->pending > 0;
    ev->pending += delta;
    bool is = ev->pending > 0;
    if (was == is)
        return;
    jsegment *s = fth_jlog_segment(j, ev->seg);
    if (s)
        s->live += is ? 1 : -1;
    if (!is && !ev->remembered) { /* finished: remembered for deduplication */
        ev->remembered = true;
        ev->next_done = NULL;
        if (j->done_tail)
            j->done_tail->next_done = ev;
        else
            j->done_head = ev;
        j->done_tail = ev;
        j->done_count++;
        if (j->done_count > DEDUP_MAX) /* memory stays flat however busy the host is */
            forget_oldest(j);
    }
}

jdelivery *fth_jstate_add(fth_journal *j, jinstance *in, jevent *ev, uint16_t attempts,
                          bool replayed, bool by_seq)
{
    jdelivery *known = fth_jstate_find(in, ev->seq);
    if (known)
        return known;
    if (in->head > 0 && in->head + in->count == in->cap) { /* slide back to the front */
        memmove(in->q, &in->q[in->head], in->count * sizeof(*in->q));
        in->head = 0;
    }
    if (!fti_array_reserve(&in->q, &in->cap, in->head + in->count + 1, sizeof(*in->q)) ||
        !event_add_inst(ev, in->num))
        return NULL;
    size_t end = in->head + in->count;
    size_t at = by_seq ? seq_position(in, ev->seq) : end;
    memmove(&in->q[at + 1], &in->q[at], (end - at) * sizeof(*in->q));
    in->q[at] = (jdelivery){ev, NULL, attempts, replayed, attempts > 0};
    in->count++;
    j->pending++;
    event_pending(j, ev, 1);
    return &in->q[at];
}

void fth_jstate_remove(fth_journal *j, jinstance *in, jdelivery *d)
{
    jevent *ev = d->ev;
    ftrack_hub_match_unref(d->match);
    size_t i = (size_t)(d - in->q);
    if (i == in->head) {
        in->head++;
    } else {
        memmove(&in->q[i], &in->q[i + 1], (in->head + in->count - i - 1) * sizeof(*in->q));
    }
    in->count--;
    if (in->count == 0)
        in->head = 0;
    j->pending--;
    event_pending(j, ev, -1);
}

void fth_jstate_move(fth_journal *j, jevent *ev, uint64_t seg, uint64_t text_off)
{
    if (ev->pending) {
        jsegment *from = fth_jlog_segment(j, ev->seg), *to = fth_jlog_segment(j, seg);
        if (from)
            from->live--;
        if (to)
            to->live++;
    }
    ev->seg = seg;
    ev->text_off = text_off;
}

void fth_jstate_forget(fth_journal *j, double now)
{
    double cutoff = now - j->options.dedup_window;
    while (j->done_head && (j->done_count > DEDUP_MAX || j->done_head->received < cutoff))
        forget_oldest(j);
}

char *fth_jstate_text(fth_journal *j, const jevent *ev)
{
    char *text = malloc((size_t)ev->text_len + 1);
    if (!text)
        return NULL;
    if (!fth_jlog_read(j, ev->seg, ev->text_off, text, ev->text_len)) {
        free(text);
        return NULL;
    }
    text[ev->text_len] = '\0';
    return text;
}
