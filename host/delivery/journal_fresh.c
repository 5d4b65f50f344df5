/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's in-memory hand-off of fresh deliveries: what fth_journal_append_many() adds
 * in this run waits per instance in a bounded list in seq order, with its text, so
 * fth_journal_next() hands it to the worker without reading it back from the database.
 * Whatever does not fit, or leaves the list (requeued, dead-lettered), is "outside" and read
 * from the database as before. Runs with the journal's lock held, or while it is closed. */
#include <stdlib.h>

#include "common/internal.h"
#include "delivery/journal_internal.h"

/* The hand-off of fresh deliveries (see fth_journal_next): at most this many entries (and
 * bytes of text) per instance wait in memory; beyond, the worker is far behind and reads
 * them back from the database as before. */
#define FRESH_MAX 1024
#define FRESH_MAX_BYTES (1024u * 1024)

void fth_journal_fresh_free(instance_state *st)
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
void fth_journal_fresh_hand_off(instance_state *st, fth_journal_item *items, size_t n)
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
    fth_journal_fresh_free(st);
}

void fth_journal_fresh_take(instance_state *st, fth_journal_entry *out)
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

/* A requeued delivery is read from the database (it is a redelivery now): out of the memory
 * list if it was there. Caller holds the lock. */
void fth_journal_fresh_requeued(fth_journal *j, const char *instance, int64_t seq)
{
    instance_state *st = fth_journal_instance_of(j, instance);
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

/* Dead-lettered deliveries may be in the memory lists: read everything back instead. */
void fth_journal_fresh_drop_all(fth_journal *j)
{
    for (size_t i = 0; i < j->instance_count; i++)
        drop_fresh(&j->instances[i]);
}
