/* SPDX-License-Identifier: Apache-2.0 */
/* Reliable delivery (host/delivery/reliable.c) over a real journal, on a hub that is never
 * connected: events are injected with ftrack_hub_deliver_local. The worker gets fresh events from
 * memory and the rest (pending from an earlier run, spilled, retried, replayed) from the
 * journal; these tests check that the two sources give one order and no delivery twice. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <ftrack/ftrack.h>
#include <ftrack/host.h>
#include "delivery/journal.h"
#include "delivery/reliable.h"

#define MAX_SEEN 256
#define TOPIC "t.rel"

typedef struct recorder {
    pthread_mutex_t lock;
    int seen[MAX_SEEN];
    unsigned attempt[MAX_SEEN];
    bool redelivery[MAX_SEEN];
    int count;
    int fail_once; /* the event whose first attempt fails, or -1 */
} recorder;

static char dir[256];
static ftrack_hub *hub;
static ftrack_hub_queue *queue;
static recorder rec;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_for(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static json_object *never(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    (void)event;
    (void)delivery;
    (void)user;
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/fth-reliable-test.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    memset(&rec, 0, sizeof(rec));
    pthread_mutex_init(&rec.lock, NULL);
    rec.fail_once = -1;
    ftrack_hub_options o;
    ftrack_hub_options_init(&o);
    o.server_url = "http://127.0.0.1:9";
    o.api_user = "tester";
    o.api_key = "not-used";
    if (ftrack_hub_new(&o, &hub, NULL) != FTRACK_OK)
        return -1;
    /* A small queue: what does not fit spills straight into the journal. */
    if (ftrack_hub_queue_new(hub, "rel", 4, &queue, NULL) != FTRACK_OK)
        return -1;
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.queue = queue;
    return ftrack_hub_subscribe(hub, "topic=" TOPIC, never, NULL, &so, NULL, NULL) == FTRACK_OK
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    ftrack_hub_queue_free(queue);
    ftrack_hub_free(hub);
    pthread_mutex_destroy(&rec.lock);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static fth_journal *open_journal(fth_fsync_policy fsync)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/journal", dir);
    fth_journal_options o;
    fth_journal_options_init(&o);
    o.path = path;
    o.fsync = fsync;
    fth_journal *j = NULL;
    ftrack_error err;
    assert_int_equal(fth_journal_open(&o, &j, &err), FTRACK_OK);
    return j;
}

static int number_of(const char *text, size_t len)
{
    json_object *o = json_tokener_parse(text), *data, *i;
    assert_non_null(o);
    assert_int_equal(strlen(text), len);
    assert_true(json_object_object_get_ex(o, "data", &data));
    assert_true(json_object_object_get_ex(data, "i", &i));
    int n = json_object_get_int(i);
    json_object_put(o);
    return n;
}

static void record(void *ctx, const char *text, size_t len, const ftrack_hub_match *match,
                   ftrack_delivery *delivery)
{
    (void)match; /* no hub here: events come by the queue, matched by nobody */
    recorder *r = ctx;
    int n = number_of(text, len);
    pthread_mutex_lock(&r->lock);
    if (r->count < MAX_SEEN) {
        r->seen[r->count] = n;
        r->attempt[r->count] = delivery->attempt;
        r->redelivery[r->count] = delivery->redelivery;
        r->count++;
    }
    bool fail = n == r->fail_once && delivery->attempt == 1;
    pthread_mutex_unlock(&r->lock);
    if (fail)
        ftrack_delivery_fail(delivery, "failing event %d once", n);
}

static int count_of(void)
{
    pthread_mutex_lock(&rec.lock);
    int n = rec.count;
    pthread_mutex_unlock(&rec.lock);
    return n;
}

static void wait_count(int n)
{
    double until = now() + 20;
    while (count_of() < n && now() < until)
        sleep_for(0.002);
    assert_int_equal(count_of(), n);
}

static ftrack_event *event_of(int i)
{
    json_object *data = json_object_new_object();
    json_object_object_add(data, "i", json_object_new_int(i));
    return ftrack_event_new(TOPIC, data);
}

/* `paced`: not faster than the intake takes them (nothing spills). */
static void deliver_event(ftrack_event *e, bool paced)
{
    double until = now() + 10;
    while (paced && ftrack_hub_queue_depth(queue) >= 3 && now() < until)
        sleep_for(0.0005);
    assert_int_equal(ftrack_hub_deliver_local(hub, e, NULL), FTRACK_OK);
}

static void deliver(int i, bool paced)
{
    ftrack_event *e = event_of(i);
    deliver_event(e, paced);
    ftrack_event_free(e);
}

/* Journal `count` events numbered from `first` for the instance as an earlier run did. */
static void earlier_run(fth_fsync_policy fsync, int first, int count)
{
    fth_journal *j = open_journal(fsync);
    for (int i = first; i < first + count; i++) {
        char id[32], text[128];
        snprintf(id, sizeof(id), "old-%d", i);
        snprintf(text, sizeof(text), "{\"id\":\"%s\",\"topic\":\"" TOPIC "\",\"data\":{\"i\":%d}}",
                 id, i);
        assert_int_equal(fth_journal_append(j, "rel", id, TOPIC, text, strlen(text)),
                         FTH_APPEND_ADDED);
    }
    fth_journal_close(j);
}

typedef struct running {
    fth_reliable *r;
    pthread_t worker;
} running;

static void *worker_main(void *arg)
{
    fth_reliable_run(arg, record, &rec);
    return NULL;
}

/* `intake`: events are journaled at receipt by the hub's intake (as in ftrack-host), else
 * they come by the instance's queue. */
static fth_reliable *make_with(fth_journal *j, bool intake)
{
    fth_reliable_spec spec = {.instance = "rel", .journal = j, .queue = queue};
    spec.hub = intake ? hub : NULL;
    fth_failure_policy_init(&spec.policy);
    spec.policy.retry_delay = 0.02;
    spec.policy.retry_max_delay = 0.02;
    fth_reliable *r = NULL;
    ftrack_error err;
    assert_int_equal(fth_reliable_new(&spec, &r, &err), FTRACK_OK);
    return r;
}

static fth_reliable *make(fth_journal *j)
{
    return make_with(j, false);
}

static void start(running *run)
{
    ftrack_error err;
    assert_int_equal(fth_reliable_start_intake(run->r, &err), FTRACK_OK);
    assert_int_equal(pthread_create(&run->worker, NULL, worker_main, run->r), 0);
}

static void finish(running *run, fth_reliable_stats *stats)
{
    fth_reliable_stop(run->r, now() + 5);
    ftrack_hub_queue_close(queue);
    pthread_join(run->worker, NULL);
    fth_reliable_get_stats(run->r, stats);
    fth_reliable_free(run->r);
}

static void expect_seen(const int *want, int n)
{
    pthread_mutex_lock(&rec.lock);
    for (int k = 0; k < n; k++)
        if (rec.seen[k] != want[k])
            fail_msg("dispatch %d was event %d, expected %d", k, rec.seen[k], want[k]);
    pthread_mutex_unlock(&rec.lock);
}

/* Pending deliveries of an earlier run, events that spilled to the journal and events that
 * flow through memory, a retry, a duplicate and a replay: one order (by journal seq), each
 * once (the retry and the replay run again by design). */
static void scenario(fth_fsync_policy fsync)
{
    earlier_run(fsync, 100, 3); /* seqs 1-3 */
    fth_journal *j = open_journal(fsync);
    running run = {make(j), 0};
    for (int i = 0; i < 6; i++)
        deliver(i, false); /* 0-3 queued; 4 and 5 spill: seqs 4 and 5 */
    rec.fail_once = 10;
    start(&run); /* 0-3: seqs 6-9 */
    for (int i = 6; i < 30; i++)
        deliver(i, true);
    ftrack_event *dup = event_of(30);
    deliver_event(dup, true);
    deliver_event(dup, true); /* the same id */
    ftrack_event_free(dup);
    int want[40], n = 0;
    for (int i = 100; i < 103; i++)
        want[n++] = i;
    want[n++] = 4;
    want[n++] = 5;
    for (int i = 0; i < 4; i++)
        want[n++] = i;
    for (int i = 6; i < 31; i++) {
        want[n++] = i;
        if (i == 10)
            want[n++] = i; /* the retry, before anything later */
    }
    wait_count(n);
    expect_seen(want, n);
    assert_int_equal(rec.attempt[13], 1);
    assert_int_equal(rec.attempt[14], 2);
    assert_true(rec.redelivery[14]);
    assert_false(rec.redelivery[0]); /* pending from before, never started */
    assert_false(rec.redelivery[15]);

    /* A replay of an event handled from memory comes back once, as a redelivery; fresh
     * events after it keep their order. */
    char text[128];
    snprintf(text, sizeof(text),
             "{\"id\":\"old-101\",\"topic\":\"" TOPIC "\",\"data\":{\"i\":101}}");
    ftrack_error err;
    assert_int_equal(fth_journal_requeue(j, "rel", "old-101", TOPIC, text, &err), FTRACK_OK);
    fth_reliable_wake(run.r);
    wait_count(n + 1);
    assert_int_equal(rec.seen[n], 101);
    assert_true(rec.redelivery[n]);
    for (int i = 31; i < 40; i++)
        deliver(i, true);
    wait_count(n + 10);
    for (int k = 1; k < 10; k++)
        assert_int_equal(rec.seen[n + k], 30 + k);
    sleep_for(0.05); /* nothing more comes */
    assert_int_equal(count_of(), n + 10);

    fth_reliable_stats stats;
    finish(&run, &stats);
    assert_int_equal(stats.duplicates, 1);
    assert_int_equal(stats.retries, 1);
    assert_int_equal(stats.spilled, 2);
    assert_int_equal(stats.left, 0);
    assert_int_equal(fth_journal_pending(j, "rel"), 0);
    fth_journal_close(j);
}

static void test_sources_batched(void **state)
{
    (void)state;
    scenario(FTH_FSYNC_BATCHED);
}

static void test_sources_every(void **state)
{
    (void)state;
    scenario(FTH_FSYNC_EVERY); /* every record synced */
}

/* Stopped with events received and not dispatched: they are pending in the journal, and the
 * next run delivers them first (once), then what arrives after. */
static void test_restart_with_fresh_pending(void **state)
{
    (void)state;
    fth_journal *j = open_journal(FTH_FSYNC_BATCHED);
    running run = {make_with(j, true), 0};
    ftrack_error err;
    assert_int_equal(fth_reliable_start_intake(run.r, &err), FTRACK_OK);
    for (int i = 0; i < 20; i++)
        deliver(i, true);
    assert_int_equal(ftrack_hub_queue_depth(queue), 0); /* journaled at receipt, not queued */
    /* No worker ran. */
    fth_reliable_stop(run.r, now());
    ftrack_hub_queue_close(queue);
    fth_reliable_free(run.r);
    assert_int_equal(fth_journal_pending(j, "rel"), 20);
    fth_journal_close(j);

    ftrack_hub_queue_free(queue);
    assert_int_equal(ftrack_hub_queue_new(hub, "rel2", 4, &queue, NULL), FTRACK_OK);
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.queue = queue;
    assert_int_equal(ftrack_hub_subscribe(hub, "topic=" TOPIC, never, NULL, &so, NULL, NULL),
                     FTRACK_OK);
    j = open_journal(FTH_FSYNC_BATCHED);
    run.r = make_with(j, true);
    start(&run);
    for (int i = 20; i < 40; i++)
        deliver(i, true);
    wait_count(40);
    int want[40];
    for (int i = 0; i < 40; i++)
        want[i] = i;
    expect_seen(want, 40);
    fth_reliable_stats stats;
    finish(&run, &stats);
    assert_int_equal(stats.left, 0);
    fth_journal_close(j);
}

/* An id the intake cannot take by scanning (it holds an escape once serialised) is read by
 * json-c instead: the event is journaled under its real id, so its second copy is a duplicate
 * and runs once. Were the id lost, both copies would run from the unjournaled list. */
static void test_escaped_id_deduplicated(void **state)
{
    (void)state;
    fth_journal *j = open_journal(FTH_FSYNC_BATCHED);
    running run = {make(j), 0};
    start(&run);
    ftrack_event *e = event_of(7);
    ftrack_event_set_id(e, "ev\"7\\x");
    deliver_event(e, true);
    deliver_event(e, true);
    ftrack_event_free(e);
    deliver(8, true);
    wait_count(2);
    sleep_for(0.05); /* the duplicate does not come late */
    int want[] = {7, 8};
    expect_seen(want, 2);
    assert_int_equal(count_of(), 2);
    fth_reliable_stats stats;
    finish(&run, &stats);
    assert_int_equal(stats.duplicates, 1);
    fth_journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sources_batched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources_every, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_with_fresh_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaped_id_deduplicated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
