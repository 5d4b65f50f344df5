/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's event index (journal_internal.h): open addressing with linear probing over
 * (hash, event) slots. Deleting shifts the entries after the hole back instead of leaving a
 * tombstone, so a table that sees an insert and a delete for every event all day never fills
 * with dead slots and never needs a purge; it stays at most half full, so a lookup of a
 * missing key (every new event's id) stops within a few slots, and it halves when it is
 * mostly empty again, so memory follows the live entries after a backlog drains. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "delivery/journal_internal.h"

#define MIN_SLOTS 64

/* json-c's string hash, seeded at random per process: event ids come from the network, and a
 * hash whose seed they cannot know keeps crafted ids from piling into one run of slots. json-c
 * hands it out only as a string table's hash function. */
static lh_hash_fn *string_hash(void)
{
    struct lh_table *t = lh_kchar_table_new(1, NULL);
    lh_hash_fn *fn = t ? t->hash_fn : NULL;
    if (t)
        lh_table_free(t);
    return fn;
}

uint64_t fth_jindex_hash_id(const jindex *x, const char *id)
{
    return x->string_hash(id);
}

/* A bijection (MurmurHash3's finaliser): distinct seqs never share a hash, so a lookup by seq
 * needs no comparison past the hash. */
uint64_t fth_jindex_hash_seq(int64_t seq)
{
    uint64_t h = (uint64_t)seq;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

bool fth_jindex_init(jindex *x)
{
    memset(x, 0, sizeof(*x));
    x->string_hash = string_hash();
    x->slots = calloc(MIN_SLOTS, sizeof(*x->slots));
    x->mask = MIN_SLOTS - 1;
    return x->slots != NULL && x->string_hash != NULL;
}

void fth_jindex_free(jindex *x)
{
    free(x->slots);
    x->slots = NULL;
    x->count = 0;
}

/* Re-place every entry into `n` slots (a power of two); false when out of memory (the table
 * is unchanged then). */
static bool rebuild(jindex *x, size_t n)
{
    jindex_slot *slots = calloc(n, sizeof(*slots));
    if (!slots)
        return false;
    for (size_t i = 0; i <= x->mask; i++) {
        if (!x->slots[i].ev)
            continue;
        size_t k = x->slots[i].hash & (n - 1);
        while (slots[k].ev)
            k = (k + 1) & (n - 1);
        slots[k] = x->slots[i];
    }
    free(x->slots);
    x->slots = slots;
    x->mask = n - 1;
    return true;
}

jevent *fth_jindex_find(const jindex *x, uint64_t hash, jindex_match_fn match, const void *key)
{
    for (size_t i = hash & x->mask; x->slots[i].ev; i = (i + 1) & x->mask)
        if (x->slots[i].hash == hash && (!match || match(x->slots[i].ev, key)))
            return x->slots[i].ev;
    return NULL;
}

bool fth_jindex_put(jindex *x, uint64_t hash, jevent *ev, jindex_match_fn match, const void *key,
                    jevent **replaced)
{
    *replaced = NULL;
    size_t i = hash & x->mask;
    for (; x->slots[i].ev; i = (i + 1) & x->mask) {
        if (x->slots[i].hash == hash && (!match || match(x->slots[i].ev, key))) {
            *replaced = x->slots[i].ev;
            x->slots[i].ev = ev;
            return true;
        }
    }
    if (2 * (x->count + 1) > x->mask + 1) { /* past half full: the probe runs grow */
        if (!rebuild(x, 2 * (x->mask + 1)))
            return false;
        i = hash & x->mask;
        while (x->slots[i].ev)
            i = (i + 1) & x->mask;
    }
    x->slots[i] = (jindex_slot){hash, ev};
    x->count++;
    return true;
}

/* Empty slot `i`: each entry after it in the run moves back into the hole when the hole lies
 * between its home slot and where it is, so every entry stays reachable from its home. */
static void shift_back(jindex *x, size_t i)
{
    for (size_t k = (i + 1) & x->mask; x->slots[k].ev; k = (k + 1) & x->mask) {
        size_t home = x->slots[k].hash & x->mask;
        if (((k - home) & x->mask) >= ((k - i) & x->mask)) {
            x->slots[i] = x->slots[k];
            i = k;
        }
    }
    x->slots[i] = (jindex_slot){0, NULL};
}

bool fth_jindex_remove(jindex *x, uint64_t hash, const jevent *ev)
{
    size_t i = hash & x->mask;
    while (x->slots[i].ev && x->slots[i].ev != ev)
        i = (i + 1) & x->mask;
    if (!x->slots[i].ev)
        return false;
    shift_back(x, i);
    x->count--;
    /* Mostly empty (a backlog drained): half the slots, still at most a quarter full. A
     * failed allocation keeps the larger table, which works as well. */
    if (x->mask + 1 > MIN_SLOTS && 8 * x->count < x->mask + 1)
        rebuild(x, (x->mask + 1) / 2);
    return true;
}

size_t fth_jindex_slots(const jindex *x)
{
    return x->mask + 1;
}
