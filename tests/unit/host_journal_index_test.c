/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's event index (host/delivery/journal_index.c): lookups by id and by seq, the
 * newest event taking over an id, deletes without tombstones (runs that wrap around the end,
 * long runs of one hash), a rolling window of adds and deletes whose memory stays flat, and
 * the table shrinking once drained. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delivery/journal_internal.h"

static jevent *make_event(int64_t seq)
{
    jevent *ev = calloc(1, sizeof(*ev) + 32);
    assert_non_null(ev);
    ev->seq = seq;
    snprintf(ev->id, 32, "id-%lld", (long long)seq);
    return ev;
}

static bool id_is(const jevent *ev, const void *id)
{
    return strcmp(ev->id, id) == 0;
}

static bool seq_is(const jevent *ev, const void *seq)
{
    return ev->seq == *(const int64_t *)seq;
}

static void put_id(jindex *x, jevent *ev)
{
    jevent *was;
    ev->id_hash = fth_jindex_hash_id(x, ev->id);
    assert_true(fth_jindex_put(x, ev->id_hash, ev, id_is, ev->id, &was));
    assert_null(was);
}

static jevent *find_id(const jindex *x, const char *id)
{
    return fth_jindex_find(x, fth_jindex_hash_id(x, id), id_is, id);
}

static void test_by_id(void **state)
{
    (void)state;
    enum { N = 20000 };
    jindex x;
    assert_true(fth_jindex_init(&x));
    jevent **evs = calloc(N, sizeof(*evs));
    for (int i = 0; i < N; i++)
        put_id(&x, evs[i] = make_event(i));
    assert_int_equal(x.count, N);
    assert_true(2 * x.count <= fth_jindex_slots(&x));
    for (int i = 0; i < N; i++)
        assert_ptr_equal(find_id(&x, evs[i]->id), evs[i]);
    assert_null(find_id(&x, "id-absent"));
    for (int i = 1; i < N; i += 2)
        assert_true(fth_jindex_remove(&x, evs[i]->id_hash, evs[i]));
    assert_false(fth_jindex_remove(&x, evs[1]->id_hash, evs[1])); /* not in any more */
    for (int i = 0; i < N; i++)
        assert_ptr_equal(find_id(&x, evs[i]->id), i % 2 ? NULL : evs[i]);
    for (int i = 0; i < N; i++)
        free(evs[i]);
    free(evs);
    fth_jindex_free(&x);
}

/* A second event with the same id takes its place; the first is then not in the index. */
static void test_newest_takes_the_id(void **state)
{
    (void)state;
    jindex x;
    assert_true(fth_jindex_init(&x));
    jevent *old = make_event(1), *replay = make_event(2), *was;
    snprintf(replay->id, 32, "%s", old->id); /* the size make_event gave it */
    put_id(&x, old);
    replay->id_hash = fth_jindex_hash_id(&x, replay->id);
    assert_int_equal(replay->id_hash, old->id_hash);
    assert_true(fth_jindex_put(&x, replay->id_hash, replay, id_is, replay->id, &was));
    assert_ptr_equal(was, old);
    assert_int_equal(x.count, 1);
    assert_ptr_equal(find_id(&x, old->id), replay);
    assert_false(fth_jindex_remove(&x, old->id_hash, old));
    assert_ptr_equal(find_id(&x, old->id), replay);
    assert_true(fth_jindex_remove(&x, replay->id_hash, replay));
    assert_null(find_id(&x, old->id));
    free(old);
    free(replay);
    fth_jindex_free(&x);
}

/* Every entry with one hash whose home is the last slot: the run wraps around the end, and
 * each delete from it (first, middle, last) shifts the rest back so all stay reachable. */
static void test_one_hash_wrapping(void **state)
{
    (void)state;
    enum { N = 24 };
    const uint64_t h = UINT64_MAX; /* home: the last slot, whatever the size */
    jindex x;
    assert_true(fth_jindex_init(&x));
    jevent *evs[N], *was;
    for (int i = 0; i < N; i++) {
        evs[i] = make_event(i);
        assert_true(fth_jindex_put(&x, h, evs[i], seq_is, &evs[i]->seq, &was));
        assert_null(was);
    }
    int order[] = {0, 12, N - 1, 5, 6, 1};
    bool gone[N] = {false};
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        assert_true(fth_jindex_remove(&x, h, evs[order[k]]));
        gone[order[k]] = true;
        for (int i = 0; i < N; i++)
            assert_ptr_equal(fth_jindex_find(&x, h, seq_is, &evs[i]->seq), gone[i] ? NULL : evs[i]);
    }
    /* and an entry of another hash that landed in the run is still found */
    jevent *other = make_event(1000);
    assert_true(fth_jindex_put(&x, 3, other, seq_is, &other->seq, &was));
    assert_true(fth_jindex_remove(&x, h, evs[2]));
    assert_ptr_equal(fth_jindex_find(&x, 3, seq_is, &other->seq), other);
    free(other);
    for (int i = 0; i < N; i++)
        free(evs[i]);
    fth_jindex_free(&x);
}

/* As at run time: each new event added, the oldest of a window of 4,096 deleted, a million
 * times. Lookups stay right and the table stays the size the window needs (no dead slots pile
 * up, nothing to purge). */
static void test_rolling_window(void **state)
{
    (void)state;
    enum { WINDOW = 4096, ROUNDS = 1000000 };
    jindex x;
    assert_true(fth_jindex_init(&x));
    jevent **ring = calloc(WINDOW, sizeof(*ring));
    size_t most = 0;
    for (int64_t i = 0; i < ROUNDS; i++) {
        jevent **at = &ring[i % WINDOW];
        if (*at) {
            assert_true(fth_jindex_remove(&x, (*at)->id_hash, *at));
            free(*at);
        }
        put_id(&x, *at = make_event(i));
        if (fth_jindex_slots(&x) > most)
            most = fth_jindex_slots(&x);
    }
    assert_int_equal(x.count, WINDOW);
    assert_true(most <= 4 * WINDOW);
    for (int64_t i = ROUNDS - WINDOW; i < ROUNDS; i++) {
        char id[32];
        snprintf(id, sizeof(id), "id-%lld", (long long)i);
        jevent *ev = find_id(&x, id);
        assert_non_null(ev);
        assert_int_equal(ev->seq, i);
    }
    assert_null(find_id(&x, "id-0"));
    assert_null(find_id(&x, "id-995903")); /* the last one deleted */
    for (int i = 0; i < WINDOW; i++)
        free(ring[i]);
    free(ring);
    fth_jindex_free(&x);
}

/* By seq (recovery): the hash alone decides; a drained backlog gives its memory back. */
static void test_by_seq_and_shrink(void **state)
{
    (void)state;
    enum { N = 100000 };
    jindex x;
    assert_true(fth_jindex_init(&x));
    size_t empty = fth_jindex_slots(&x);
    jevent **evs = calloc(N, sizeof(*evs)), *was;
    for (int i = 0; i < N; i++) {
        evs[i] = make_event((int64_t)i * 3 - 7); /* gaps and a negative one */
        assert_true(fth_jindex_put(&x, fth_jindex_hash_seq(evs[i]->seq), evs[i], NULL, NULL, &was));
        assert_null(was);
    }
    for (int i = 0; i < N; i++)
        assert_ptr_equal(fth_jindex_find(&x, fth_jindex_hash_seq(evs[i]->seq), NULL, NULL), evs[i]);
    assert_null(fth_jindex_find(&x, fth_jindex_hash_seq(-6), NULL, NULL));
    size_t full = fth_jindex_slots(&x);
    for (int i = 0; i < N; i++) {
        assert_true(fth_jindex_remove(&x, fth_jindex_hash_seq(evs[i]->seq), evs[i]));
        for (int k = i + 1; k < N && k < i + 3; k++)
            assert_ptr_equal(fth_jindex_find(&x, fth_jindex_hash_seq(evs[k]->seq), NULL, NULL),
                             evs[k]);
        free(evs[i]);
    }
    assert_int_equal(x.count, 0);
    assert_true(full >= 2 * N);
    assert_int_equal(fth_jindex_slots(&x), empty);
    free(evs);
    fth_jindex_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_id),
        cmocka_unit_test(test_newest_takes_the_id),
        cmocka_unit_test(test_one_hash_wrapping),
        cmocka_unit_test(test_rolling_window),
        cmocka_unit_test(test_by_seq_and_shrink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
