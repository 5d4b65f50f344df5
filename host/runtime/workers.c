/* SPDX-License-Identifier: Apache-2.0 */
/* Per-plugin workers over ftrack_hub_queue (workers.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftrack/plugin_loader.h>
#include "common/internal.h"
#include "config/config.h"
#include "runtime/workers.h"
#include "ops/logging.h"
#include "ops/metrics.h"
#include "isolation/isolation.h"
#include "runtime/reliability.h"
#include "delivery/reliable.h"
#include "scale/queue_mode.h"

enum { REG_PENDING, REG_OK, REG_FAILED };

struct fth_worker {
    char *name;
    char *arguments_json;
    const ftrack_plugin_descriptor_v1 *descriptor;
    ftrack_session *session;
    ftrack_hub *hub;
    ftrack_hub_queue *queue;
    fth_inbox inbox; /* what the worker sleeps on (inbox.h) */
    bool inbox_ready;
    fth_instance_metrics *metrics; /* process-wide series of this instance name (metrics.h) */
    fth_reliable *reliable;        /* journal-backed delivery (reliable.h), NULL without one */
    fth_isolation *isolation;      /* the child process of an isolated instance, or NULL */
    fth_queue_consumer *consumer;  /* queue mode's stream consumer (queue_mode.h), or NULL */
    bool isolated;
    char *plugin_path;
    size_t capacity;
    pthread_t thread;
    bool thread_started;
    bool joined;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    int reg_state;        /* under lock */
    ftrack_error reg_err; /* under lock */
    double deadline;      /* under lock; valid once stopping */

    atomic_bool stopping;
    atomic_uint_least64_t overflows;
    atomic_uint_least64_t handled;
    atomic_uint_least64_t discarded;
};

static void on_overflow(ftrack_hub_queue *queue, const char *text, size_t len, void *user_data)
{
    (void)queue;
    (void)text;
    (void)len;
    fth_worker *w = user_data;
    fth_metrics_add(w->metrics, FTH_METRIC_DROPPED, 1);
    /* Network thread: count only, and say so at once the first time; the host's timer logs
     * the running total, so a burst does not flood the log. */
    if (atomic_fetch_add(&w->overflows, 1) == 0)
        ftrack_log(FTRACK_LOG_WARNING, "dispatch",
                   "queue of plugin instance '%s' is full: dropping events (counted, reported "
                   "every few seconds)",
                   w->name);
}

static void set_registered(fth_worker *w, int state, const ftrack_error *err)
{
    pthread_mutex_lock(&w->lock);
    w->reg_state = state;
    if (err)
        w->reg_err = *err;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static double stop_deadline(fth_worker *w)
{
    pthread_mutex_lock(&w->lock);
    double d = w->deadline;
    pthread_mutex_unlock(&w->lock);
    return d;
}

static ftrack_status run_register(fth_worker *w, ftrack_plugin_context *ctx, void **state,
                                  ftrack_error *err)
{
    json_object *args = NULL;
    if (w->arguments_json) {
        args = json_tokener_parse(w->arguments_json);
        if (!args)
            return fti_error(err, FTRACK_ERR_INTERNAL, "arguments did not parse");
    }
    ftrack_status st =
        w->isolated ? fth_isolation_register(w->isolation, ctx, w->hub, w->arguments_json, err)
                    : w->descriptor->register_fn(ctx, w->session, args, state, err);
    json_object_put(args);
    if (st != FTRACK_OK && err->message[0] == '\0')
        fti_error(err, st, "register returned %s", ftrack_strerror(st));
    if (st != FTRACK_OK)
        err->code = FTRACK_ERR_PLUGIN;
    return st;
}

/* One dispatch with the delivery the caller built: the failure policy (reliable.h), queue
 * mode's consumer, or dispatch_one. */
static void deliver(void *ctx, const char *text, size_t len, const ftrack_hub_match *match,
                    ftrack_delivery *delivery)
{
    fth_worker *w = ctx;
    ftrack_error err;
    ftrack_error_clear(&err);
    fth_metrics_add(w->metrics, FTH_METRIC_RECEIVED, 1);
    if (delivery->attempt > 1)
        fth_metrics_add(w->metrics, FTH_METRIC_RETRIED, 1);
    double started = fti_now();
    ftrack_dispatch_result result = {.size = sizeof(result)};
    ftrack_status st =
        ftrack_hub_queue_dispatch_matched(w->queue, text, len, match, delivery, &result, &err);
    if (st == FTRACK_ERR_PARSE) /* no plugin ran, and no retry can make the text readable */
        ftrack_log(FTRACK_LOG_WARNING, "dispatch",
                   "plugin instance '%s': dropped an event that is not valid JSON: %s", w->name,
                   err.message);
    else if (st != FTRACK_OK)
        ftrack_delivery_fail(delivery, "%s", err.message);
    double took = fti_now() - started;
    fth_metrics_observe_latency(w->metrics, took);
    fth_metrics_add(w->metrics, FTH_METRIC_DISPATCHED, 1);
    if (result.replies)
        fth_metrics_add(w->metrics, FTH_METRIC_REPLIED, result.replies);
    if (delivery->outcome && delivery->outcome->failures)
        fth_metrics_add(w->metrics, FTH_METRIC_FAILED, 1);
    fth_logging_trace_event(w->name, text, len, took);
    atomic_fetch_add(&w->handled, 1);
}

/* The unjournaled road ("journal": false): at most once, so a failure is logged, not retried. */
static void dispatch_one(fth_worker *w, fth_deliver_fn fn, void *ctx, char *text, size_t len,
                         const ftrack_hub_match *match)
{
    ftrack_delivery_outcome outcome;
    ftrack_delivery delivery;
    ftrack_delivery_init(&delivery, &outcome);
    fn(ctx, text, len, match, &delivery);
    if (outcome.failures)
        ftrack_log(FTRACK_LOG_WARNING, "dispatch",
                   "plugin instance '%s' failed on an event (not retried: the instance is "
                   "not journaled): %s",
                   w->name, outcome.message);
}

/* ---- the plain strategy ("journal": false): straight from the hub queue ------------------ */

static ftrack_status plain_start(void *impl, ftrack_error *err)
{
    (void)err;
    fth_worker *w = impl;
    ftrack_hub_queue_set_notify(w->queue, fth_delivery_notify_inbox, &w->inbox);
    return FTRACK_OK;
}

static fth_step plain_step(void *impl, fth_deliver_fn fn, void *ctx, double *wait)
{
    fth_worker *w = impl;
    size_t len = 0;
    ftrack_hub_match *match = NULL;
    /* A take with no timeout also closes due reply windows of the worker's publishes. */
    char *text = ftrack_hub_queue_take_matched(w->queue, 0, &len, &match);
    bool stopping = atomic_load(&w->stopping);
    if (!text) {
        if (stopping && ftrack_hub_queue_depth(w->queue) == 0)
            return FTH_STEP_DONE;
        *wait = ftrack_hub_queue_next_timer(w->queue);
        return FTH_STEP_IDLE;
    }
    if (stopping && fti_now() > stop_deadline(w)) {
        atomic_fetch_add(&w->discarded, 1);
        fth_metrics_add(w->metrics, FTH_METRIC_DISCARDED, 1);
    } else {
        dispatch_one(w, fn, ctx, text, len, match);
    }
    ftrack_hub_match_unref(match);
    ftrack_free(text);
    return FTH_STEP_WORKED;
}

static const fth_delivery_ops plain_ops = {"plain", plain_start, plain_step, NULL, NULL};

/* The strategy the instance's spec chose (start_reliability), run in the one worker loop. */
static void run_delivery(fth_worker *w)
{
    fth_delivery d = {&plain_ops, w};
    if (w->consumer)
        d = fth_queue_consumer_delivery(w->consumer);
    else if (w->reliable)
        d = fth_reliable_delivery(w->reliable);
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_delivery_run(&d, &w->inbox, deliver, w, &err) != FTRACK_OK)
        ftrack_log(FTRACK_LOG_ERROR, "dispatch", "plugin instance '%s': %s", w->name, err.message);
    if (w->reliable) {
        fth_reliable_stats stats;
        fth_reliable_get_stats(w->reliable, &stats);
        atomic_store(&w->discarded, stats.left);
    }
}

static void *worker_main(void *arg)
{
    fth_worker *w = arg;
    pthread_setname_np(pthread_self(), "fth-worker"); /* top -H, gdb, the idle test */
    ftrack_hub_bind_thread(w->hub, w->queue);
    ftrack_error err;
    ftrack_error_clear(&err);
    void *state = NULL;
    ftrack_plugin_context *ctx = ftrack_plugin_context_new(w->name, w->session);
    ftrack_status st = ctx ? run_register(w, ctx, &state, &err)
                           : fti_error(&err, FTRACK_ERR_NO_MEMORY, "out of memory");
    if (st != FTRACK_OK) {
        ftrack_hub_bind_thread(w->hub, NULL);
        ftrack_plugin_context_free(ctx);
        set_registered(w, REG_FAILED, &err);
        return NULL;
    }
    set_registered(w, REG_OK, NULL);
    fth_metrics_set_running(w->metrics, true);
    run_delivery(w);
    fth_metrics_set_running(w->metrics, false);
    if (w->isolated)
        fth_isolation_unregister(w->isolation);
    else if (w->descriptor->unregister_fn)
        w->descriptor->unregister_fn(ctx, state);
    ftrack_hub_bind_thread(w->hub, NULL);
    ftrack_plugin_context_free(ctx);
    return NULL;
}

static void worker_release(fth_worker *w)
{
    fth_reliability_detach(w->reliable);
    fth_reliable_free(w->reliable); /* joins the intake, which takes from the queue */
    fth_queue_consumer_free(w->consumer);
    ftrack_hub_queue_free(w->queue);
    fth_isolation_free(w->isolation); /* after the queue: its proxies are subscribers there */
    if (w->inbox_ready)               /* after the queue and the strategies: they wake it */
        fth_inbox_clear(&w->inbox);
    free(w->plugin_path);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->name);
    free(w->arguments_json);
    free(w);
}

/* Journal-backed delivery and the failure policy (reliable.h), and the child process of an
 * isolated instance (isolation.h), when the spec asks for them. */
static ftrack_status start_reliability(fth_worker *w, const fth_worker_spec *given,
                                       ftrack_error *err)
{
    fth_worker_spec filled = *given;
    fth_worker_spec *spec = &filled;
    fth_reliability_fill(spec); /* the host's journal and this instance's policy, if any */
    if (given->command)         /* a Python plugin: always isolated, under its runner */
        spec->isolated = true;
    fth_failure_policy policy;
    if (spec->failure)
        policy = *spec->failure;
    else
        fth_failure_policy_init(&policy);
    w->isolated = spec->isolated;
    if (w->isolated) {
        w->plugin_path = fti_strdup(spec->plugin_path);
        fth_isolation_spec is = {w->name,
                                 spec->plugin_path,
                                 spec->session,
                                 policy.deadline,
                                 policy.retry_delay,
                                 policy.retry_max_delay,
                                 spec->command ? spec->command : fth_reliability_command(w->name)};
        ftrack_status st = fth_isolation_new(&is, &w->isolation, err);
        if (st != FTRACK_OK)
            return st;
    }
    if (fth_queue_worker_enabled()) {
        /* Queue mode: the stream is this instance's queue, and Redis its journal. */
        ftrack_hub_queue_set_notify(w->queue, fth_delivery_notify_inbox, &w->inbox);
        fth_queue_consumer_spec qs = {w->name, w->queue,     w->metrics, spec->deadletter,
                                      policy,  &w->stopping, &w->inbox};
        return fth_queue_consumer_new(&qs, &w->consumer, err);
    }
    if (!spec->journal)
        return FTRACK_OK;
    fth_reliable_spec rs = {w->name,     spec->journal, spec->deadletter, policy,    w->queue,
                            w->capacity, w->metrics,    w->isolated,      &w->inbox, w->hub};
    ftrack_status st = fth_reliable_new(&rs, &w->reliable, err);
    if (st == FTRACK_OK)
        fth_reliability_attach(w->name, w->reliable);
    return st;
}

ftrack_status fth_worker_start(const fth_worker_spec *spec, fth_worker **out, ftrack_error *err)
{
    *out = NULL;
    if (!spec || !spec->descriptor || !spec->instance_name || !spec->hub)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "incomplete worker spec");
    fth_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->name = fti_strdup(spec->instance_name);
    w->arguments_json = fti_strdup(spec->arguments_json);
    w->descriptor = spec->descriptor;
    w->session = spec->session;
    w->hub = spec->hub;
    if (!w->name || (spec->arguments_json && !w->arguments_json)) {
        worker_release(w);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    size_t capacity = spec->queue_capacity ? spec->queue_capacity : FTH_DEFAULT_QUEUE_CAPACITY;
    w->capacity = capacity;
    ftrack_status st = fth_inbox_init(&w->inbox, err);
    if (st != FTRACK_OK) {
        worker_release(w);
        return st;
    }
    w->inbox_ready = true;
    w->metrics = fth_metrics_instance(w->name, spec->descriptor->name);
    st = ftrack_hub_queue_new(w->hub, w->name, capacity, &w->queue, err);
    if (st != FTRACK_OK) {
        worker_release(w);
        return st;
    }
    ftrack_hub_queue_set_overflow(w->queue, on_overflow, w);
    st = start_reliability(w, spec, err);
    if (st != FTRACK_OK) {
        worker_release(w);
        return st;
    }
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc != 0) {
        worker_release(w);
        return fti_error(err, FTRACK_ERR_INTERNAL, "cannot start a thread: %s", strerror(rc));
    }
    w->thread_started = true;
    *out = w;
    return FTRACK_OK;
}

ftrack_status fth_worker_wait_registered(fth_worker *w, ftrack_error *err)
{
    pthread_mutex_lock(&w->lock);
    while (w->reg_state == REG_PENDING)
        pthread_cond_wait(&w->cond, &w->lock);
    int state = w->reg_state;
    ftrack_error reg_err = w->reg_err;
    pthread_mutex_unlock(&w->lock);
    if (state == REG_OK)
        return FTRACK_OK;
    pthread_join(w->thread, NULL);
    w->joined = true;
    if (err)
        *err = reg_err;
    return FTRACK_ERR_PLUGIN;
}

void fth_worker_stop(fth_worker *w, double deadline)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->deadline = deadline;
    pthread_mutex_unlock(&w->lock);
    atomic_store(&w->stopping, true);
    fth_reliable_stop(w->reliable, deadline);
    ftrack_hub_queue_close(w->queue);
}

bool fth_worker_join(fth_worker *w, double timeout)
{
    if (!w || !w->thread_started || w->joined)
        return true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double whole = (double)(time_t)timeout;
    until.tv_sec += (time_t)timeout;
    until.tv_nsec += (long)((timeout - whole) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = pthread_timedjoin_np(w->thread, NULL, &until);
    if (rc == 0)
        w->joined = true;
    return rc == 0;
}

void fth_worker_free(fth_worker *w)
{
    if (!w)
        return;
    if (w->thread_started && !w->joined)
        return; /* still running: freeing would pull the queue from under it */
    worker_release(w);
}

const char *fth_worker_name(const fth_worker *w)
{
    return w->name;
}

uint64_t fth_worker_overflows(const fth_worker *w)
{
    return atomic_load(&((fth_worker *)w)->overflows);
}

uint64_t fth_worker_handled(const fth_worker *w)
{
    return atomic_load(&((fth_worker *)w)->handled);
}

uint64_t fth_worker_discarded(const fth_worker *w)
{
    return atomic_load(&((fth_worker *)w)->discarded);
}

size_t fth_worker_depth(const fth_worker *w)
{
    return ftrack_hub_queue_depth(w->queue);
}

ftrack_hub_queue *fth_worker_queue(const fth_worker *w)
{
    return w->queue;
}

const ftrack_plugin_descriptor_v1 *fth_worker_descriptor(const fth_worker *w)
{
    return w->descriptor;
}

const char *fth_worker_arguments(const fth_worker *w)
{
    return w->arguments_json;
}

size_t fth_worker_capacity(const fth_worker *w)
{
    return w->capacity;
}

fth_reliable *fth_worker_reliable(const fth_worker *w)
{
    return w->reliable;
}
