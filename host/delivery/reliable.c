/* SPDX-License-Identifier: Apache-2.0 */
/* Reliable delivery for one plugin instance (reliable.h). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/internal.h"
#include "wire/socketio.h"
#include "delivery/intake.h"
#include "delivery/reliable.h"

#define DEFAULT_MEMORY_CAPACITY 1000

typedef struct mem_item {
    struct mem_item *next;
    char *text;
    size_t len;
    ftrack_hub_match *match; /* referenced; NULL: match at dispatch */
} mem_item;

struct fth_reliable {
    char *instance;
    fth_journal *journal;
    fth_deadletter *deadletter;
    fth_failure_policy policy;
    ftrack_hub_queue *queue;
    ftrack_hub *hub;               /* for the reply queue; NULL: none */
    ftrack_hub_queue *reply_queue; /* worker thread only */
    fth_inbox *inbox;              /* the worker's (spec), or own_inbox */
    fth_inbox own_inbox;
    bool owns_inbox;
    size_t memory_capacity;
    fth_instance_metrics *metrics;
    bool self_timed;

    /* the queue is tagged for the intake (intake.h): set on the worker thread at start, read
     * at stop on the main thread */
    atomic_bool intake_started;

    pthread_mutex_t lock;
    mem_item *head, *tail;
    size_t mem_depth;
    bool stopping;
    double stop_deadline;
    /* the dispatch in flight, for the watchdog */
    double inflight_since; /* 0: none */
    bool inflight_warned;
    /* the entry's (borrowed: set back to NULL under the lock before the entry goes) */
    const char *inflight_id, *inflight_topic;
    double paused_until;

    /* worker thread only */
    unsigned dead_in_row;
    unsigned pause_count;
    int64_t retry_seq;
    double retry_at;

    atomic_uint_least64_t handled, failures, retries, dead_lettered, deadline_exceeded, duplicates,
        spilled, dropped, pauses, left;
};

/* ---- small helpers ------------------------------------------------------------------------ */

/* Tell the worker there is work: its inbox costs nothing while it is busy. */
static void wake(fth_reliable *r)
{
    fth_inbox_wake(r->inbox);
}

void fth_reliable_wake(fth_reliable *r)
{
    if (r)
        wake(r);
}

/* ---- reading id and topic without a parse ----------------------------------------------- */

typedef struct peek_fields {
    char *id, *topic;
    size_t id_size, topic_size;
} peek_fields;

/* Copy a plain string value (its text with the quotes) into out; false when it is not a
 * string, holds an escape or does not fit: then json-c decides. */
static bool take_plain_string(const char *value, size_t value_len, char *out, size_t size)
{
    if (value_len < 2 || value[0] != '"' || value_len - 2 >= size || memchr(value, '\\', value_len))
        return false;
    memcpy(out, value + 1, value_len - 2);
    out[value_len - 2] = '\0';
    return true;
}

static bool peek_member(const char *key, size_t key_len, const char *value, size_t value_len,
                        void *user_data)
{
    peek_fields *f = user_data;
    if (key_len == 2 && memcmp(key, "id", 2) == 0)
        return take_plain_string(value, value_len, f->id, f->id_size);
    if (key_len == 5 && memcmp(key, "topic", 5) == 0)
        return take_plain_string(value, value_len, f->topic, f->topic_size);
    return true;
}

/* id and topic of an event's text (copied into the buffers); false when unreadable. */
static bool peek_event(const char *text, size_t len, char *id, size_t id_size, char *topic,
                       size_t topic_size)
{
    /* A scan, not a parse: a full parse cost more than the journal write. */
    peek_fields f = {id, topic, id_size, topic_size};
    id[0] = topic[0] = '\0';
    if (fti_json_scan_object(text, len, FTRACK_EVENT_MAX_DEPTH, peek_member, &f))
        return topic[0] != '\0';
    json_tokener *tok = json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH);
    json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    json_tokener_free(tok);
    json_object *v;
    id[0] = topic[0] = '\0';
    if (json_object_object_get_ex(o, "id", &v) && json_object_is_type(v, json_type_string))
        fti_strlcpy(id, json_object_get_string(v), id_size);
    if (json_object_object_get_ex(o, "topic", &v) && json_object_is_type(v, json_type_string))
        fti_strlcpy(topic, json_object_get_string(v), topic_size);
    json_object_put(o);
    return topic[0] != '\0';
}

/* ---- in-memory list for meta events -------------------------------------------------------- */

static void mem_item_free(mem_item *it)
{
    ftrack_hub_match_unref(it->match);
    free(it->text);
    free(it);
}

static bool mem_push(fth_reliable *r, const char *text, size_t len, ftrack_hub_match *match)
{
    mem_item *it = malloc(sizeof(*it));
    char *copy = it ? fti_strndup(text, len) : NULL;
    if (!copy) {
        free(it);
        return false;
    }
    it->text = copy;
    it->len = len;
    it->match = ftrack_hub_match_ref(match);
    it->next = NULL;
    pthread_mutex_lock(&r->lock);
    bool ok = r->mem_depth < r->memory_capacity;
    if (ok) {
        if (r->tail)
            r->tail->next = it;
        else
            r->head = it;
        r->tail = it;
        r->mem_depth++;
    }
    pthread_mutex_unlock(&r->lock);
    if (ok)
        wake(r);
    else
        mem_item_free(it);
    return ok;
}

static mem_item *mem_pop(fth_reliable *r)
{
    pthread_mutex_lock(&r->lock);
    mem_item *it = r->head;
    if (it) {
        r->head = it->next;
        if (!r->head)
            r->tail = NULL;
        r->mem_depth--;
    }
    pthread_mutex_unlock(&r->lock);
    return it;
}

/* ---- accepting events -------------------------------------------------------------------- */

static void count_dropped(fth_reliable *r, const char *why)
{
    uint64_t n = atomic_fetch_add(&r->dropped, 1) + 1;
    if ((n & (n - 1)) == 0) /* 1, 2, 4, ...: visible without flooding */
        ftrack_log(FTRACK_LOG_ERROR, "reliability",
                   "plugin instance '%s': an event was lost (%s); %llu so far", r->instance, why,
                   (unsigned long long)n);
}

bool fth_reliable_accepted(fth_reliable *r, fth_append_result result, const char *id,
                           const char *topic)
{
    switch (result) {
    case FTH_APPEND_ADDED:
        wake(r);
        return true;
    case FTH_APPEND_DUPLICATE:
        atomic_fetch_add(&r->duplicates, 1);
        ftrack_log_event(FTRACK_LOG_DEBUG, "reliability", id, topic,
                         "plugin instance '%s': duplicate event id, dispatched once", r->instance);
        return true;
    case FTH_APPEND_FAILED:
        break;
    }
    return false;
}

/* Journal an event that reached this instance by its queue (a spill, or one that came before
 * the intake took over); meta events, unreadable ones and those the journal cannot take
 * (logged) go to the in-memory list, dispatched once, with routing's match (may be NULL).
 * Any thread. */
static void accept_event(fth_reliable *r, const char *text, size_t len, ftrack_hub_match *match)
{
    char id[FTRACK_ID_MAX], topic[128];
    bool readable = peek_event(text, len, id, sizeof(id), topic, sizeof(topic));
    bool meta = !readable || !id[0] || strncmp(topic, "ftrack.meta.", 12) == 0;
    if (!meta &&
        fth_reliable_accepted(r, fth_journal_append(r->journal, r->instance, id, topic, text, len),
                              id, topic))
        return;
    if (!mem_push(r, text, len, match))
        count_dropped(r, meta ? "the in-memory list of meta events is full"
                              : "the journal cannot be written and memory is full");
}

static void on_spill(ftrack_hub_queue *queue, const char *text, size_t len, void *user_data)
{
    (void)queue;
    fth_reliable *r = user_data;
    fth_metrics_add(r->metrics, FTH_METRIC_SPILLED, 1);
    if (atomic_fetch_add(&r->spilled, 1) == 0)
        ftrack_log(FTRACK_LOG_WARNING, "reliability",
                   "plugin instance '%s': its in-memory queue is full; events spill straight "
                   "to the journal (counted in metrics)",
                   r->instance);
    accept_event(r, text, len, NULL);
}

/* What waits in the instance's queue (worker thread): accepted as above. */
static bool take_queued(fth_reliable *r)
{
    size_t len = 0;
    ftrack_hub_match *match = NULL;
    char *text = ftrack_hub_queue_take_matched(r->queue, 0, &len, &match);
    if (!text)
        return false;
    accept_event(r, text, len, match);
    ftrack_hub_match_unref(match);
    ftrack_free(text);
    return true;
}

fth_journal *fth_reliable_journal(const fth_reliable *r)
{
    return r->journal;
}

const char *fth_reliable_instance(const fth_reliable *r)
{
    return r->instance;
}

ftrack_status fth_reliable_new(const fth_reliable_spec *spec, fth_reliable **out, ftrack_error *err)
{
    *out = NULL;
    fth_reliable *r = calloc(1, sizeof(*r));
    if (!r || !(r->instance = fti_strdup(spec->instance))) {
        free(r);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    r->inbox = spec->inbox;
    if (!r->inbox) {
        ftrack_status st = fth_inbox_init(&r->own_inbox, err);
        if (st != FTRACK_OK) {
            free(r->instance);
            free(r);
            return st;
        }
        r->inbox = &r->own_inbox;
        r->owns_inbox = true;
    }
    r->journal = spec->journal;
    r->deadletter = spec->deadletter;
    r->policy = spec->policy;
    r->queue = spec->queue;
    r->hub = spec->hub;
    r->memory_capacity = spec->memory_capacity ? spec->memory_capacity : DEFAULT_MEMORY_CAPACITY;
    r->retry_seq = -1;
    r->metrics = spec->metrics;
    r->self_timed = spec->self_timed;
    pthread_mutex_init(&r->lock, NULL);
    ftrack_hub_queue_set_overflow(r->queue, on_spill, r);
    *out = r;
    return FTRACK_OK;
}

ftrack_status fth_reliable_start_intake(fth_reliable *r, ftrack_error *err)
{
    (void)err;
    /* What still comes by the queue (meta events; without the hub, as in unit tests, every
     * event, journaled by the worker) wakes the worker too. */
    ftrack_hub_queue_set_notify(r->queue, fth_delivery_notify_inbox, r->inbox);
    if (r->hub) {
        fth_intake_install(r->hub);
        ftrack_hub_queue_set_tag(r->queue, r);
        atomic_store(&r->intake_started, true);
    }
    wake(r); /* for what was queued before */
    return FTRACK_OK;
}

/* Events stop coming by the intake: none is journaled for this instance after this returns. */
static void stop_intake(fth_reliable *r)
{
    if (atomic_exchange(&r->intake_started, false))
        ftrack_hub_queue_set_tag(r->queue, NULL);
}

void fth_reliable_stop(fth_reliable *r, double deadline)
{
    if (!r)
        return;
    stop_intake(r);
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    r->stop_deadline = deadline;
    pthread_mutex_unlock(&r->lock);
    wake(r);
}

void fth_reliable_free(fth_reliable *r)
{
    if (!r)
        return;
    stop_intake(r);
    /* What is still queued (no worker took it) is journaled for the next start. */
    while (take_queued(r)) {
    }
    ftrack_hub_queue_set_overflow(r->queue, NULL, NULL);
    ftrack_hub_queue_set_notify(r->queue, NULL, NULL); /* the inbox may go with r */
    mem_item *it;
    while ((it = mem_pop(r)))
        mem_item_free(it);
    pthread_mutex_destroy(&r->lock);
    if (r->owns_inbox)
        fth_inbox_clear(&r->own_inbox);
    free(r->instance);
    free(r);
}

/* ---- the worker loop ------------------------------------------------------------------------ */

static void set_inflight(fth_reliable *r, const char *id, const char *topic)
{
    pthread_mutex_lock(&r->lock);
    r->inflight_since = id ? fti_now() : 0;
    r->inflight_warned = false;
    r->inflight_id = id;
    r->inflight_topic = topic;
    pthread_mutex_unlock(&r->lock);
}

/* Run one dispatch; returns the failure message (static buffer in *outcome) or NULL. */
static const char *dispatch_once(fth_reliable *r, fth_deliver_fn deliver, void *ctx,
                                 const char *text, size_t len, const ftrack_hub_match *match,
                                 ftrack_delivery *d, ftrack_delivery_outcome *outcome)
{
    double t0 = fti_now();
    deliver(ctx, text, len, match, d);
    double took = fti_now() - t0;
    if (outcome->failures)
        return outcome->message;
    if (!r->self_timed && took > r->policy.deadline) {
        pthread_mutex_lock(&r->lock);
        bool noticed = r->inflight_warned; /* the watchdog counted it already */
        pthread_mutex_unlock(&r->lock);
        if (!noticed) {
            atomic_fetch_add(&r->deadline_exceeded, 1);
            fth_metrics_add(r->metrics, FTH_METRIC_DEADLINE_EXCEEDED, 1);
        }
        snprintf(outcome->message, sizeof(outcome->message),
                 "the dispatch took %.1f s, past its deadline of %.1f s", took, r->policy.deadline);
        return outcome->message;
    }
    return NULL;
}

static void dispatch_memory(fth_reliable *r, fth_deliver_fn deliver, void *ctx, mem_item *it)
{
    ftrack_delivery_outcome outcome;
    ftrack_delivery d;
    ftrack_delivery_init(&d, &outcome);
    const char *failed = dispatch_once(r, deliver, ctx, it->text, it->len, it->match, &d, &outcome);
    if (failed)
        ftrack_log(FTRACK_LOG_WARNING, "reliability",
                   "plugin instance '%s': a local event failed (not retried: it is not "
                   "journaled): %s",
                   r->instance, failed);
    mem_item_free(it);
}

static void maybe_pause(fth_reliable *r, double now)
{
    if (!r->policy.pause_after || ++r->dead_in_row < r->policy.pause_after)
        return;
    r->dead_in_row = 0;
    r->pause_count++;
    atomic_fetch_add(&r->pauses, 1);
    double len = fth_failure_pause_delay(&r->policy, r->pause_count);
    pthread_mutex_lock(&r->lock);
    r->paused_until = now + len;
    pthread_mutex_unlock(&r->lock);
    fth_metrics_set_paused(r->metrics, true);
    ftrack_log(FTRACK_LOG_ERROR, "reliability",
               "plugin instance '%s' is PAUSED for %.0f s after %u dead-lettered events in a "
               "row; its events wait in the journal and it resumes by itself",
               r->instance, len, r->policy.pause_after);
}

static void after_failure(fth_reliable *r, const fth_journal_entry *e, const char *id,
                          const char *topic, unsigned attempt, const char *why)
{
    atomic_fetch_add(&r->failures, 1);
    double now = fti_now();
    if (attempt < r->policy.max_attempts) {
        double delay = fth_failure_retry_delay(&r->policy, attempt);
        ftrack_log_event(FTRACK_LOG_WARNING, "reliability", id, topic,
                         "plugin instance '%s' failed on event %s (topic %s), attempt %u of "
                         "%u: %s; retrying in %.1f s",
                         r->instance, id, topic, attempt, r->policy.max_attempts, why, delay);
        r->retry_seq = e->seq;
        r->retry_at = now + delay;
        return;
    }
    ftrack_log_event(FTRACK_LOG_ERROR, "reliability", id, topic,
                     "plugin instance '%s' failed on event %s (topic %s) %u times: %s; moved "
                     "to the dead-letter file %s",
                     r->instance, id, topic, attempt, why,
                     r->deadletter ? fth_deadletter_path(r->deadletter) : "(none)");
    fth_deadletter_append(r->deadletter, r->instance, "failed", why, attempt, e->text);
    fth_journal_finished(r->journal, r->instance, e);
    atomic_fetch_add(&r->dead_lettered, 1);
    fth_metrics_add(r->metrics, FTH_METRIC_DEAD_LETTERED, 1);
    r->retry_seq = -1;
    maybe_pause(r, now);
}

/* `e` is begun (fth_journal_begin): its attempt is on disk before the callback runs. */
static void dispatch_journaled(fth_reliable *r, fth_deliver_fn deliver, void *ctx,
                               const fth_journal_entry *e)
{
    const char *id = e->id, *topic = e->topic;
    unsigned attempt = e->attempts + 1;
    if (attempt > 1 && e->seq != r->retry_seq && !e->redelivery)
        attempt = 1; /* requeued by a replay */
    ftrack_delivery_outcome outcome;
    ftrack_delivery d;
    ftrack_delivery_init(&d, &outcome);
    d.attempt = attempt;
    d.redelivery = e->redelivery || attempt > 1;
    if (attempt > 1)
        atomic_fetch_add(&r->retries, 1);
    set_inflight(r, id, topic);
    const char *failed = dispatch_once(r, deliver, ctx, e->text, e->len, e->match, &d, &outcome);
    set_inflight(r, NULL, NULL);
    if (failed) {
        after_failure(r, e, id, topic, attempt, failed);
        return;
    }
    fth_journal_finished(r->journal, r->instance, e);
    atomic_fetch_add(&r->handled, 1);
    r->retry_seq = -1;
    r->dead_in_row = 0;
    r->pause_count = 0;
}

/* How long to wait before the next step, or 0 to go on now. */
static double hold_off(fth_reliable *r, double now, bool *stop)
{
    pthread_mutex_lock(&r->lock);
    bool stopping = r->stopping;
    double deadline = r->stop_deadline, paused_until = r->paused_until;
    pthread_mutex_unlock(&r->lock);
    *stop = stopping && now >= deadline;
    if (*stop)
        return 0;
    if (paused_until > now) {
        *stop = stopping; /* a paused instance does not drain */
        return paused_until - now;
    }
    if (paused_until > 0) { /* the pause just ended */
        pthread_mutex_lock(&r->lock);
        r->paused_until = 0;
        pthread_mutex_unlock(&r->lock);
        fth_metrics_set_paused(r->metrics, false);
    }
    if (r->retry_seq >= 0 && r->retry_at > now) {
        *stop = stopping; /* nor does one waiting to retry: the event stays pending */
        return r->retry_at - now;
    }
    return 0;
}

/* Dispatch what waits in the reply queue; true when something was. */
static bool serve_replies(fth_reliable *r)
{
    if (!r->reply_queue)
        return false;
    bool any = false;
    size_t len = 0;
    char *text;
    ftrack_hub_match *match = NULL;
    while ((text = ftrack_hub_queue_take_matched(r->reply_queue, 0, &len, &match))) {
        ftrack_hub_queue_dispatch_matched(r->reply_queue, text, len, match, NULL, NULL, NULL);
        ftrack_hub_match_unref(match);
        ftrack_free(text);
        any = true;
    }
    return any;
}

/* The earlier of two waits, where < 0 means none. */
static double earlier(double a, double b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static fth_step reliable_step(void *impl, fth_deliver_fn deliver, void *ctx, double *wait)
{
    fth_reliable *r = impl;
    bool stop = false;
    double hold = hold_off(r, fti_now(), &stop);
    if (stop)
        return FTH_STEP_DONE;
    if (serve_replies(r) || take_queued(r))
        return FTH_STEP_WORKED;
    mem_item *it = hold > 0 ? NULL : mem_pop(r);
    if (it) {
        dispatch_memory(r, deliver, ctx, it);
        return FTH_STEP_WORKED;
    }
    fth_journal_entry e;
    if (hold <= 0 && fth_journal_begin(r->journal, r->instance, &e)) {
        dispatch_journaled(r, deliver, ctx, &e);
        fth_journal_entry_clear(&e);
        return FTH_STEP_WORKED;
    }
    pthread_mutex_lock(&r->lock);
    bool drained = r->stopping && hold <= 0 && !r->head && ftrack_hub_queue_depth(r->queue) == 0;
    pthread_mutex_unlock(&r->lock);
    if (drained)
        return FTH_STEP_DONE;
    /* Asleep until the intake, a replay, a reply or stop wakes the inbox, or the next retry,
     * pause end or reply window comes due. */
    *wait = earlier(hold > 0 ? hold : -1, ftrack_hub_queue_next_timer(r->reply_queue));
    return FTH_STEP_IDLE;
}

static void record_left(fth_reliable *r)
{
    atomic_store(&r->left, fth_journal_pending(r->journal, r->instance));
}

/* Start the intake, and give publishes made from callbacks a reply queue of their own, so
 * replies to them are told apart from the instance's events in its queue: they run on the
 * plugin's thread, woken through the inbox. */
static ftrack_status reliable_start(void *impl, ftrack_error *err)
{
    fth_reliable *r = impl;
    ftrack_status st = fth_reliable_start_intake(r, err);
    if (st != FTRACK_OK || !r->hub)
        return st;
    ftrack_error ignored;
    if (ftrack_hub_queue_new(r->hub, r->instance, r->memory_capacity, &r->reply_queue, &ignored) ==
        FTRACK_OK) {
        ftrack_hub_queue_set_notify(r->reply_queue, fth_delivery_notify_inbox, r->inbox);
        ftrack_hub_bind_thread(r->hub, r->reply_queue);
    }
    return FTRACK_OK;
}

static void reliable_finish(void *impl)
{
    fth_reliable *r = impl;
    record_left(r);
    if (!r->reply_queue)
        return;
    ftrack_hub_bind_thread(r->hub, r->queue);
    ftrack_hub_queue_free(r->reply_queue);
    r->reply_queue = NULL;
}

static const fth_delivery_ops reliable_ops = {"journaled", reliable_start, reliable_step,
                                              reliable_finish, NULL};

fth_delivery fth_reliable_delivery(fth_reliable *r)
{
    return (fth_delivery){&reliable_ops, r};
}

void fth_reliable_run(fth_reliable *r, fth_deliver_fn deliver, void *ctx)
{
    static const fth_delivery_ops loop_only = {"journaled", NULL, reliable_step, NULL, NULL};
    fth_delivery d = {&loop_only, r};
    fth_delivery_run(&d, r->inbox, deliver, ctx, NULL);
    record_left(r);
}

void fth_reliable_watch(fth_reliable *r, double now)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    bool late = !r->self_timed && r->inflight_since > 0 && !r->inflight_warned &&
                now - r->inflight_since > r->policy.deadline;
    char id[FTRACK_ID_MAX], topic[128];
    double since = r->inflight_since;
    if (late) {
        r->inflight_warned = true;
        fti_strlcpy(id, r->inflight_id, sizeof(id));
        fti_strlcpy(topic, r->inflight_topic, sizeof(topic));
    }
    pthread_mutex_unlock(&r->lock);
    if (!late)
        return;
    atomic_fetch_add(&r->deadline_exceeded, 1);
    fth_metrics_add(r->metrics, FTH_METRIC_DEADLINE_EXCEEDED, 1);
    ftrack_log_event(FTRACK_LOG_ERROR, "reliability", id, topic,
                     "plugin instance '%s': DEADLINE EXCEEDED on event %s (topic %s): running "
                     "for %.1f s, deadline %.1f s; its later events wait in the journal (an "
                     "in-process callback cannot be interrupted: mark the instance "
                     "\"isolated\" to have it killed and retried)",
                     r->instance, id, topic, now - since, r->policy.deadline);
}

void fth_reliable_get_stats(fth_reliable *r, fth_reliable_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!r)
        return;
    out->handled = atomic_load(&r->handled);
    out->failures = atomic_load(&r->failures);
    out->retries = atomic_load(&r->retries);
    out->dead_lettered = atomic_load(&r->dead_lettered);
    out->deadline_exceeded = atomic_load(&r->deadline_exceeded);
    out->duplicates = atomic_load(&r->duplicates);
    out->spilled = atomic_load(&r->spilled);
    out->dropped = atomic_load(&r->dropped);
    out->pauses = atomic_load(&r->pauses);
    out->left = atomic_load(&r->left);
    pthread_mutex_lock(&r->lock);
    out->paused = r->paused_until > fti_now();
    pthread_mutex_unlock(&r->lock);
}
