/* SPDX-License-Identifier: Apache-2.0 */
/* Dispatch to callbacks (protocol §6.6): an event taken from a delivery queue, handed to the
 * queue's subscribers that match it.
 *
 * Dispatch runs on the queue's consumer thread, which parses its own copy of the event. It
 * calls the subscribers routing matched (match.c; or, without that record, those matching
 * now) in priority order until one stops the event, publishes each result as the callback's
 * reply (reply_text.c), and hands a reply to a publish made from this queue to the
 * publisher's on_reply (reply.c). */
#include <math.h> /* INFINITY only: libftrack does not link libm */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "hub/hub_internal.h"
#include "plugin/delivery.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The internal reply subscriber's callback: hand the reply to the publisher's on_reply when
 * that publish was made from this queue. */
static void handle_reply(ftrack_hub *hub, ftrack_hub_queue *queue, ftrack_event *event)
{
    const char *irt = ftrack_event_in_reply_to(event);
    if (!irt)
        return;
    ftrack_reply_callback cb = NULL;
    void *ud = NULL;
    void *v = NULL;
    pthread_mutex_lock(&hub->lock);
    if (lh_table_lookup_ex(hub->replies, irt, &v) && v && ((fti_reply_entry *)v)->queue == queue &&
        ((fti_reply_entry *)v)->deadline > fti_now()) {
        cb = ((fti_reply_entry *)v)->callback;
        ud = ((fti_reply_entry *)v)->user_data;
    }
    pthread_mutex_unlock(&hub->lock);
    if (cb)
        cb(event, ud);
}

/* Publish a callback's result (taken) as its reply, written as text (reply_text.c). No ack is
 * asked for: nobody waits for it (the JavaScript client never asks either, protocol §5.4).
 * Returns whether the reply was published. */
static bool auto_reply(ftrack_hub *hub, fti_sub *s, ftrack_event *event, json_object *data)
{
    size_t data_len = 0;
    const char *data_json =
        data ? json_object_to_json_string_length(data, JSON_FLAGS, &data_len) : NULL;
    ftrack_error err;
    fti_reply_text rt;
    ftrack_status st = fti_reply_text_make(hub, s, event, data_json, data_len, &rt, &err);
    if (st == FTRACK_OK && data && !data_json)
        st = fti_error(&err, FTRACK_ERR_NO_MEMORY, "out of memory");
    if (st == FTRACK_OK)
        st = fti_publish_pieces(hub, rt.pieces, rt.n, &err);
    fti_reply_text_clear(&rt);
    json_object_put(data);
    if (st != FTRACK_OK)
        ftrack_log_event(FTRACK_LOG_WARNING, "hub", ftrack_event_id(event),
                         ftrack_event_topic(event),
                         "could not publish the reply of subscriber %s: %s", s->id, err.message);
    return st == FTRACK_OK;
}

static void run_callback(ftrack_hub *hub, fti_sub *s, ftrack_event *event, ftrack_delivery *d,
                         json_object *results, ftrack_dispatch_result *counts)
{
    d->subscriber_id = s->id;
    json_object *r = s->callback(event, d, s->user_data);
    counts->callbacks++;
    if (results)
        json_object_array_add(results, r);
    else if (r && auto_reply(hub, s, event, r))
        counts->replies++;
    else if (r)
        counts->reply_failures++;
}

/* Who takes the event (matcher_accepts): what routing recorded, or else a match now, with
 * the event's target compiled once per dispatch, when first needed. */
typedef struct dispatch_matcher {
    ftrack_hub *hub;
    const struct ftrack_hub_match *match;
    json_object *wire;
    ftrack_expression *target;
    bool target_done, bad_target;
} dispatch_matcher;

static bool matcher_accepts(dispatch_matcher *m, fti_sub *s, size_t i)
{
    if (m->match)
        return fti_match_has(m->match, i);
    if (!m->target_done) {
        m->target = fti_compile_target(m->wire, &m->bad_target);
        m->target_done = true;
    }
    return !m->bad_target && fti_sub_accepts(m->hub, s, m->target, m->wire);
}

/* A match routing made that no longer tells who takes the event on `queue`: it holds none of
 * the queue's subscribers (the event came by another road), or one of them was removed since
 * (a plugin reloaded subscribes anew): then the event is matched again, now. */
static bool match_stale(const struct ftrack_hub_match *match, const ftrack_hub_queue *queue)
{
    bool any = false;
    for (size_t i = 0; i < match->set->n; i++) {
        const fti_sub *s = match->set->subs[i];
        if (!fti_match_has(match, i) || (!s->internal_reply && s->queue != queue))
            continue;
        if (atomic_load(&s->removed))
            return true;
        any = true;
    }
    return !any;
}

void fti_dispatch(ftrack_hub *hub, ftrack_hub_queue *queue, ftrack_event *event,
                  const struct ftrack_hub_match *match, const ftrack_delivery *delivery,
                  json_object *results, ftrack_dispatch_result *counts)
{
    if (match && (results || match_stale(match, queue)))
        match = NULL;
    ftrack_dispatch_result local = {.size = sizeof(local)};
    if (!counts)
        counts = &local;
    dispatch_matcher m = {hub, match, ftrack_event_json(event), NULL, false, false};
    ftrack_delivery d;
    fti_delivery_copy(&d, delivery);
    bool sync = results != NULL;
    /* The set routing matched against, so index i is the subscriber it recorded. */
    fti_subset *set = match ? match->set : fti_subset_get(hub);
    for (size_t i = 0; set && i < set->n && !m.bad_target; i++) {
        fti_sub *s = set->subs[i];
        if (s->internal_reply) {
            if (!sync && matcher_accepts(&m, s, i))
                handle_reply(hub, queue, event);
        } else if ((sync || s->queue == queue) && !atomic_load(&s->removed) &&
                   matcher_accepts(&m, s, i)) {
            run_callback(hub, s, event, &d, results, counts);
        }
        if (ftrack_event_is_stopped(event))
            break;
    }
    if (!match)
        fti_subset_release(set);
    ftrack_expression_free(m.target);
}

/* Copy the counts into the caller's struct, as far as the caller's size reaches. */
static void result_out(ftrack_dispatch_result *out, const ftrack_dispatch_result *counts)
{
    if (!out || out->size <= sizeof(out->size))
        return;
    size_t n = out->size < sizeof(*counts) ? out->size : sizeof(*counts);
    size_t keep = out->size;
    memcpy(out, counts, n);
    out->size = keep;
}

ftrack_status ftrack_hub_queue_dispatch(ftrack_hub_queue *queue, const char *text, size_t len,
                                        const ftrack_delivery *delivery,
                                        ftrack_dispatch_result *result, ftrack_error *err)
{
    return ftrack_hub_queue_dispatch_matched(queue, text, len, NULL, delivery, result, err);
}

ftrack_status ftrack_hub_queue_dispatch_matched(ftrack_hub_queue *queue, const char *text,
                                                size_t len, const ftrack_hub_match *match,
                                                const ftrack_delivery *delivery,
                                                ftrack_dispatch_result *result, ftrack_error *err)
{
    ftrack_dispatch_result counts;
    memset(&counts, 0, sizeof(counts));
    counts.size = sizeof(counts);
    result_out(result, &counts);
    if (!queue || !text)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_queue_dispatch needs a queue and text");
    fti_reply_expire(queue, fti_now());
    ftrack_event *ev = NULL;
    ftrack_status st = ftrack_event_parse(text, len, false, &ev, err);
    if (st != FTRACK_OK)
        return st;
    fti_dispatch(queue->hub, queue, ev, match, delivery, NULL, &counts);
    ftrack_event_free(ev);
    result_out(result, &counts);
    return FTRACK_OK;
}

/* Put `value` under `key`; on failure `value` is released. */
static bool add_key(json_object *o, const char *key, json_object *value)
{
    if (value && json_object_object_add(o, key, value) == 0)
        return true;
    json_object_put(value);
    return false;
}

static json_object *subscription_json(fti_sub *s)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    pthread_mutex_lock(&s->meta_lock);
    json_object *meta = NULL;
    json_object_deep_copy(s->metadata, &meta, NULL);
    pthread_mutex_unlock(&s->meta_lock);
    bool ok = add_key(o, "id", json_object_new_string(s->id)) &&
              add_key(o, "expression", json_object_new_string(ftrack_expression_text(s->expr))) &&
              add_key(o, "priority", json_object_new_int(s->priority)) &&
              add_key(o, "ignore_own_user", json_object_new_boolean(s->ignore_own_user));
    if (!ok || !add_key(o, "subscriber", meta)) {
        if (!ok)
            json_object_put(meta);
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *ftrack_hub_queue_subscriptions(const ftrack_hub_queue *queue)
{
    if (!queue)
        return NULL;
    json_object *arr = json_object_new_array();
    if (!arr)
        return NULL;
    /* the set is an immutable snapshot: read it without the hub's lock */
    fti_subset *set = fti_subset_get(queue->hub);
    for (size_t i = 0; set && i < set->n; i++) {
        fti_sub *s = set->subs[i];
        if (s->internal_reply || s->queue != queue || atomic_load(&s->removed))
            continue;
        json_object *o = subscription_json(s);
        if (!o || json_object_array_add(arr, o) != 0) {
            json_object_put(o);
            json_object_put(arr);
            arr = NULL;
            break;
        }
    }
    fti_subset_release(set);
    return arr;
}

/* The queue's live subscriber `id`, referenced; NULL when none. */
static fti_sub *queue_sub_get(ftrack_hub_queue *queue, const char *id)
{
    fti_sub *found = NULL;
    fti_subset *set = fti_subset_get(queue->hub);
    for (size_t i = 0; set && i < set->n && !found; i++) {
        fti_sub *s = set->subs[i];
        if (!s->internal_reply && s->queue == queue && !atomic_load(&s->removed) &&
            strcmp(s->id, id) == 0) {
            found = s;
            atomic_fetch_add(&s->refs, 1);
        }
    }
    fti_subset_release(set);
    return found;
}

ftrack_status ftrack_hub_queue_call(ftrack_hub_queue *queue, const char *subscriber_id,
                                    ftrack_event *event, const ftrack_delivery *delivery,
                                    json_object **reply, ftrack_error *err)
{
    if (reply)
        *reply = NULL;
    if (!queue || !subscriber_id || !event)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_queue_call needs a queue, a subscriber id and an event");
    fti_sub *s = queue_sub_get(queue, subscriber_id);
    if (!s)
        return fti_error(err, FTRACK_ERR_NOT_FOUND, "No subscriber %s on delivery queue '%s'.",
                         subscriber_id, queue->name);
    ftrack_delivery d;
    fti_delivery_copy(&d, delivery);
    d.subscriber_id = s->id; /* s stays referenced for the call */
    json_object *r = s->callback(event, &d, s->user_data);
    fti_sub_release(s);
    if (reply)
        *reply = r;
    else
        json_object_put(r);
    return FTRACK_OK;
}

ftrack_status ftrack_hub_wait(ftrack_hub *hub, double seconds, ftrack_error *err)
{
    if (!hub)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_hub_wait needs a hub");
    ftrack_hub_queue *q = hub->default_queue;
    double deadline = seconds < 0 ? INFINITY : fti_now() + seconds;
    for (;;) {
        double left = deadline - fti_now();
        if (left <= 0)
            return FTRACK_OK;
        size_t len = 0;
        ftrack_hub_match *match = NULL;
        char *text = ftrack_hub_queue_take_matched(q, left > 1e300 ? -1.0 : left, &len, &match);
        if (!text) {
            pthread_mutex_lock(&q->lock);
            bool closed = q->closed;
            pthread_mutex_unlock(&q->lock);
            if (closed)
                return fti_error(err, FTRACK_ERR_CLOSED, "The event hub was closed.");
            continue;
        }
        ftrack_event *ev = NULL;
        ftrack_error perr;
        if (ftrack_event_parse(text, len, false, &ev, &perr) != FTRACK_OK) {
            ftrack_log(FTRACK_LOG_WARNING, "hub", "dropped an unreadable event: %s", perr.message);
            ftrack_hub_match_unref(match);
            free(text);
            continue;
        }
        free(text);
        fti_dispatch(hub, q, ev, match, NULL, NULL, NULL);
        ftrack_hub_match_unref(match);
        bool disconnected = strcmp(ftrack_event_topic(ev), "ftrack.meta.disconnected") == 0;
        ftrack_event_free(ev);
        if (disconnected)
            return FTRACK_OK;
    }
}
