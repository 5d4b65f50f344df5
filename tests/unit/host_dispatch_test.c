/* SPDX-License-Identifier: Apache-2.0 */
/* Per-plugin workers (host/runtime/workers.c) on a hub that is never connected: events are injected
 * with ftrack_hub_deliver_local, so order, threads, parallelism, overflow and the shutdown
 * drain are observed without a network. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <ftrack/ftrack.h>
#include <ftrack/host.h>
#include <ftrack/plugin_loader.h>
#include "runtime/workers.h"

#define MAX_SEEN 64

typedef struct recorder {
    pthread_mutex_t lock;
    pthread_t register_thread;
    bool wrong_thread;
    int seen[MAX_SEEN];
    int count;
    double last_at;
    bool unregistered;
    double delay;
    pthread_mutex_t *gate; /* held by the test to block the first callback */
} recorder;

static recorder rec_fast, rec_slow, rec_fail;
static ftrack_hub *test_hub;

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

static json_object *on_event(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    recorder *r = user;
    assert_non_null(delivery);
    if (r->gate) {
        pthread_mutex_lock(r->gate);
        pthread_mutex_unlock(r->gate);
    }
    if (r->delay > 0)
        sleep_for(r->delay);
    json_object *i = json_object_object_get(ftrack_event_data(event), "i");
    pthread_mutex_lock(&r->lock);
    if (!pthread_equal(pthread_self(), r->register_thread))
        r->wrong_thread = true;
    if (r->count < MAX_SEEN)
        r->seen[r->count++] = json_object_get_int(i);
    r->last_at = now();
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static recorder *recorder_for(ftrack_plugin_context *ctx)
{
    const char *name = ftrack_plugin_instance_name(ctx);
    if (strcmp(name, "fast") == 0)
        return &rec_fast;
    if (strcmp(name, "slow") == 0)
        return &rec_slow;
    return &rec_fail;
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session, json_object *args,
                         void **state, ftrack_error *err)
{
    (void)session;
    recorder *r = recorder_for(ctx);
    r->register_thread = pthread_self();
    r->delay = json_object_get_double(json_object_object_get(args, "delay"));
    *state = r;
    /* The worker's thread is bound to its queue, so the subscription lands there. */
    ftrack_status st =
        ftrack_hub_subscribe(test_hub, "topic=t.order", on_event, r, NULL, NULL, err);
    if (st != FTRACK_OK)
        return st;
    if (r == &rec_fail) {
        snprintf(err->message, sizeof(err->message), "refusing on purpose");
        err->code = FTRACK_ERR_CONFIG;
        return FTRACK_ERR_CONFIG;
    }
    return FTRACK_OK;
}

static void unreg(ftrack_plugin_context *ctx, void *state)
{
    recorder *r = state;
    assert_ptr_equal(r, recorder_for(ctx));
    pthread_mutex_lock(&r->lock);
    if (!pthread_equal(pthread_self(), r->register_thread))
        r->wrong_thread = true;
    r->unregistered = true;
    pthread_mutex_unlock(&r->lock);
}

static const ftrack_plugin_param params[] = {
    {"delay", FTRACK_PARAM_DOUBLE, false, "0", NULL},
};
static const ftrack_plugin_descriptor_v1 desc = {
    1, sizeof(ftrack_plugin_descriptor_v1), "recorder", "1", "", params, 1, reg, unreg, {0}};

static int setup(void **state)
{
    (void)state;
    memset(&rec_fast, 0, sizeof(rec_fast));
    memset(&rec_slow, 0, sizeof(rec_slow));
    memset(&rec_fail, 0, sizeof(rec_fail));
    pthread_mutex_init(&rec_fast.lock, NULL);
    pthread_mutex_init(&rec_slow.lock, NULL);
    pthread_mutex_init(&rec_fail.lock, NULL);
    ftrack_hub_options o;
    ftrack_hub_options_init(&o);
    o.server_url = "http://127.0.0.1:9";
    o.api_user = "tester";
    o.api_key = "not-used";
    return ftrack_hub_new(&o, &test_hub, NULL) == FTRACK_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ftrack_hub_free(test_hub);
    test_hub = NULL;
    return 0;
}

static fth_worker *start(const char *name, const char *args, size_t capacity)
{
    fth_worker_spec spec = {.instance_name = name, .descriptor = &desc, .arguments_json = args,
                            .hub = test_hub, .queue_capacity = capacity};
    fth_worker *w = NULL;
    ftrack_error err;
    assert_int_equal(fth_worker_start(&spec, &w, &err), FTRACK_OK);
    return w;
}

static void deliver(int i)
{
    json_object *data = json_object_new_object();
    json_object_object_add(data, "i", json_object_new_int(i));
    ftrack_event *e = ftrack_event_new("t.order", data);
    assert_int_equal(ftrack_hub_deliver_local(test_hub, e, NULL), FTRACK_OK);
    ftrack_event_free(e);
}

static int count_of(recorder *r)
{
    pthread_mutex_lock(&r->lock);
    int n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void wait_count(recorder *r, int n, double timeout)
{
    double until = now() + timeout;
    while (count_of(r) < n && now() < until)
        sleep_for(0.005);
}

static void stop_and_free(fth_worker *w)
{
    fth_worker_stop(w, now() + 5);
    assert_true(fth_worker_join(w, 10));
    fth_worker_free(w);
}

static void test_slow_does_not_delay_fast_and_order_kept(void **state)
{
    (void)state;
    fth_worker *fast = start("fast", "{\"delay\":0}", 0);
    fth_worker *slow = start("slow", "{\"delay\":0.3}", 0);
    assert_int_equal(fth_worker_wait_registered(fast, NULL), FTRACK_OK);
    assert_int_equal(fth_worker_wait_registered(slow, NULL), FTRACK_OK);
    double t0 = now();
    for (int i = 0; i < 5; i++)
        deliver(i);
    wait_count(&rec_fast, 5, 5);
    double fast_done = rec_fast.last_at - t0;
    wait_count(&rec_slow, 5, 10);
    double slow_done = rec_slow.last_at - t0;
    printf("dispatch: fast plugin handled 5 events in %.4f s, slow (0.3 s each) in %.3f s\n",
           fast_done, slow_done);
    assert_int_equal(count_of(&rec_fast), 5);
    assert_int_equal(count_of(&rec_slow), 5);
    assert_true(fast_done < 0.25);
    assert_true(slow_done >= 1.4);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rec_fast.seen[i], i);
        assert_int_equal(rec_slow.seen[i], i);
    }
    assert_int_equal(fth_worker_handled(fast), 5);
    stop_and_free(fast);
    stop_and_free(slow);
    assert_true(rec_fast.unregistered);
    assert_true(rec_slow.unregistered);
    assert_false(rec_fast.wrong_thread);
    assert_false(rec_slow.wrong_thread);
}

static void test_register_failure_removes_subscriptions(void **state)
{
    (void)state;
    fth_worker *fail = start("fail", NULL, 0);
    fth_worker *fast = start("fast", NULL, 0);
    ftrack_error err;
    ftrack_error_clear(&err);
    assert_int_equal(fth_worker_wait_registered(fail, &err), FTRACK_ERR_PLUGIN);
    assert_string_equal(err.message, "refusing on purpose");
    fth_worker_free(fail);
    assert_int_equal(fth_worker_wait_registered(fast, NULL), FTRACK_OK);
    deliver(1);
    wait_count(&rec_fast, 1, 5);
    sleep_for(0.1);
    assert_int_equal(count_of(&rec_fast), 1);
    assert_int_equal(count_of(&rec_fail), 0);
    assert_false(rec_fail.unregistered);
    stop_and_free(fast);
}

static void test_full_queue_is_counted(void **state)
{
    (void)state;
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&gate);
    rec_fast.gate = &gate;
    fth_worker *w = start("fast", NULL, 2);
    assert_int_equal(fth_worker_wait_registered(w, NULL), FTRACK_OK);
    deliver(0);
    /* Wait until the worker holds event 0 (blocked in the callback), then fill the queue. */
    double until = now() + 5;
    while (fth_worker_depth(w) != 0 && now() < until)
        sleep_for(0.005);
    sleep_for(0.05);
    for (int i = 1; i < 10; i++)
        deliver(i);
    assert_int_equal(fth_worker_depth(w), 2);
    assert_int_equal(fth_worker_overflows(w), 7);
    pthread_mutex_unlock(&gate);
    wait_count(&rec_fast, 3, 5);
    assert_int_equal(count_of(&rec_fast), 3);
    assert_int_equal(rec_fast.seen[1], 1);
    assert_int_equal(rec_fast.seen[2], 2);
    stop_and_free(w);
    rec_fast.gate = NULL;
}

static void test_drain_deadline_discards_rest(void **state)
{
    (void)state;
    fth_worker *w = start("slow", "{\"delay\":0.2}", 0);
    assert_int_equal(fth_worker_wait_registered(w, NULL), FTRACK_OK);
    for (int i = 0; i < 10; i++)
        deliver(i);
    sleep_for(0.05);
    double t0 = now();
    fth_worker_stop(w, t0 + 0.3);
    deliver(99); /* after stop: not accepted */
    assert_true(fth_worker_join(w, 10));
    double took = now() - t0;
    uint64_t handled = fth_worker_handled(w), discarded = fth_worker_discarded(w);
    printf("dispatch: drain of 0.3 s handled %llu, discarded %llu, took %.3f s\n",
           (unsigned long long)handled, (unsigned long long)discarded, took);
    assert_true(handled >= 2 && handled <= 4);
    assert_int_equal(handled + discarded, 10);
    assert_true(took < 1.0);
    assert_true(rec_slow.unregistered);
    fth_worker_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slow_does_not_delay_fast_and_order_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_register_failure_removes_subscriptions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_is_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_deadline_discards_rest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
