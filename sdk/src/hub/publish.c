/* SPDX-License-Identifier: Apache-2.0 */
/* Publishing: the checks, the outgoing hook's road (ftrack_hub_set_outgoing), and queueing an
 * event's frame for the service thread (transport.c); plus the purely local publishes, which
 * dispatch or route to this process's own subscribers and never reach the server. */
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "common/internal.h"
#include "hub/hub_internal.h"
#include "wire/socketio.h"

static ftrack_status publish_check_locked(ftrack_hub *hub, const char *event_id, bool with_reply,
                                          ftrack_error *err)
{
    if (!hub->initialised)
        return fti_error(err, FTRACK_ERR_NOT_CONNECTED,
                         "Cannot publish event asynchronously as not connected to server "
                         "(call ftrack_hub_connect first).");
    if (hub->pending.n + hub->outbox.n >= hub->publish_queue_max)
        return fti_error(
            err, FTRACK_ERR_QUEUE_FULL,
            "The event hub's publish queue is full (%zu events waiting for the server).",
            hub->pending.n + hub->outbox.n);
    void *found = NULL;
    if (with_reply && lh_table_lookup_ex(hub->replies, event_id, &found))
        return fti_error(err, FTRACK_ERR_EXISTS,
                         "A reply callback is already registered for event %s.", event_id);
    return FTRACK_OK;
}

/* Give an event's text (NULL: out of memory) to the outgoing hook. */
static ftrack_status hand_to_hook(ftrack_hub_outgoing_callback fn, void *ud, const char *json,
                                  size_t len, ftrack_error *err)
{
    if (!json)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    if (!fn(json, len, ud))
        return fti_error(err, FTRACK_ERR_NOT_CONNECTED,
                         "The outgoing hook could not take the event (its road is closed).");
    return FTRACK_OK;
}

/* The outgoing hook's road (ftrack_hub_set_outgoing): the hook takes the text; an on_ack
 * learns of the hand-off, an on_reply waits for its window to close (no reply comes back). */
static ftrack_status publish_outgoing(ftrack_hub *hub, ftrack_hub_outgoing_callback fn, void *ud,
                                      ftrack_event *event, const ftrack_publish_options *o,
                                      ftrack_hub_queue *rq, double window, ftrack_error *err)
{
    const char *eid = ftrack_event_id(event);
    size_t len;
    char *json = ftrack_event_serialize(event, &len);
    ftrack_status handed = hand_to_hook(fn, ud, json, len, err);
    ftrack_free(json);
    if (handed != FTRACK_OK || !rq)
        return handed;
    pthread_mutex_lock(&hub->lock);
    void *found = NULL; /* another thread may have published the same id meanwhile */
    ftrack_status st =
        lh_table_lookup_ex(hub->replies, eid, &found)
            ? FTRACK_ERR_EXISTS
            : fti_reply_register_locked(hub, eid, o->on_reply, o->on_ack, o->user_data, rq, window);
    if (st == FTRACK_OK)
        fti_reply_ack_locked(hub, eid, true, "handed to the outgoing hook");
    pthread_mutex_unlock(&hub->lock);
    if (st != FTRACK_OK) /* the event is gone: tell nobody but the log */
        ftrack_log_event(FTRACK_LOG_WARNING, "hub", eid, ftrack_event_topic(event),
                         "published, but its reply callbacks could not be registered");
    return FTRACK_OK;
}

/* Queue a frame (takes it) and unlock. The network thread is woken only when the outbox was
 * empty: otherwise a write pass is already due, and it drains the outbox to the end. */
static ftrack_status enqueue_frame_locked(ftrack_hub *hub, fti_frame *f)
{
    bool connected = hub->connected;
    bool wake = connected && hub->outbox.n == 0;
    fti_frames_append(connected ? &hub->outbox : &hub->pending, f);
    pthread_mutex_unlock(&hub->lock);
    if (wake)
        fti_transport_wake(hub);
    return FTRACK_OK;
}

ftrack_status fti_publish(ftrack_hub *hub, ftrack_event *event, const ftrack_publish_options *o,
                          bool want_ack, ftrack_error *err)
{
    ftrack_event_prepare_source(event, hub->id, hub->api_user, hub->hostname);
    bool track = o->on_reply || o->on_ack;
    ftrack_hub_queue *rq = track ? (o->queue ? o->queue : fti_bound_queue(hub)) : NULL;
    double rt = o->reply_timeout > 0 ? o->reply_timeout : hub->reply_timeout;
    const char *eid = ftrack_event_id(event);
    pthread_mutex_lock(&hub->lock);
    ftrack_hub_outgoing_callback out_fn = hub->outgoing;
    void *out_ud = hub->outgoing_data;
    void *found = NULL;
    if (out_fn && rq && lh_table_lookup_ex(hub->replies, eid, &found)) {
        pthread_mutex_unlock(&hub->lock);
        return fti_error(err, FTRACK_ERR_EXISTS,
                         "A reply callback is already registered for event %s.", eid);
    }
    if (out_fn) {
        pthread_mutex_unlock(&hub->lock);
        return publish_outgoing(hub, out_fn, out_ud, event, o, rq, rt, err);
    }
    ftrack_status st = publish_check_locked(hub, eid, rq != NULL, err);
    if (st != FTRACK_OK) {
        pthread_mutex_unlock(&hub->lock);
        return st;
    }
    fti_frame *f = NULL;
    if (!want_ack && !rq) {
        /* Nothing to assign or register (a callback's reply, the busiest road): build the
         * frame outside the lock, which the network thread takes for every frame it
         * receives and sends. */
        pthread_mutex_unlock(&hub->lock);
        f = fti_frame_build(event, FTI_FRAME_EVENT, 0);
        pthread_mutex_lock(&hub->lock);
    } else {
        f = fti_frame_for_event_locked(hub, event, FTI_FRAME_EVENT, FTI_ACK_EVENT, NULL,
                                       want_ack || o->on_ack);
    }
    /* registered before the frame can leave, so the fastest reply finds it */
    if (f && rq)
        st = fti_reply_register_locked(hub, eid, o->on_reply, o->on_ack, o->user_data, rq, rt);
    if (!f || st != FTRACK_OK) {
        pthread_mutex_unlock(&hub->lock);
        fti_frame_free(f);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    return enqueue_frame_locked(hub, f);
}

ftrack_status fti_publish_pieces(ftrack_hub *hub, const fti_text_piece *pieces, size_t n,
                                 ftrack_error *err)
{
    pthread_mutex_lock(&hub->lock);
    ftrack_hub_outgoing_callback out_fn = hub->outgoing;
    void *out_ud = hub->outgoing_data;
    ftrack_status st = out_fn ? FTRACK_OK : publish_check_locked(hub, NULL, false, err);
    pthread_mutex_unlock(&hub->lock);
    if (st != FTRACK_OK)
        return st;
    if (out_fn) {
        size_t len;
        char *json = fti_sio_join(0, pieces, n, &len);
        st = hand_to_hook(out_fn, out_ud, json, len, err);
        free(json);
        return st;
    }
    /* framed outside the lock, as fti_publish frames a reply */
    fti_frame *f = calloc(1, sizeof(*f));
    if (f)
        f->buf = fti_sio_frame_event_pieces(LWS_PRE, 0, pieces, n, &f->len);
    if (!f || !f->buf) {
        free(f);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    f->kind = FTI_FRAME_EVENT;
    pthread_mutex_lock(&hub->lock);
    return enqueue_frame_locked(hub, f);
}

ftrack_status ftrack_hub_publish(ftrack_hub *hub, ftrack_event *event,
                                 const ftrack_publish_options *options, ftrack_error *err)
{
    if (!hub || !event)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_publish needs a hub and an event");
    ftrack_publish_options o;
    ftrack_publish_options_init(&o);
    if (options) {
        size_t n = options->size && options->size < sizeof(o) ? options->size : sizeof(o);
        memcpy(&o, options, n);
    }
    /* Always ask for the ack, as the Python client does: a refusal is then at least logged. */
    return fti_publish(hub, event, &o, true, err);
}

ftrack_status ftrack_hub_reply(ftrack_hub *hub, const ftrack_event *source_event, json_object *data,
                               json_object *source, ftrack_error *err)
{
    if (!hub || !source_event) {
        json_object_put(data);
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_reply needs a hub and an event");
    }
    ftrack_event *reply = ftrack_event_reply_new(source_event, data, source);
    if (!reply)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    ftrack_status st = ftrack_hub_publish(hub, reply, NULL, err);
    ftrack_event_free(reply);
    return st;
}

ftrack_status ftrack_hub_publish_local(ftrack_hub *hub, ftrack_event *event, json_object **results,
                                       ftrack_error *err)
{
    if (results)
        *results = NULL;
    if (!hub || !event)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_publish_local needs a hub and an event");
    ftrack_event_prepare_source(event, hub->id, hub->api_user, hub->hostname);
    json_object *arr = json_object_new_array();
    if (!arr)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    fti_dispatch(hub, NULL, event, NULL, NULL, arr, NULL);
    if (results)
        *results = arr;
    else
        json_object_put(arr);
    return FTRACK_OK;
}

ftrack_status ftrack_hub_deliver_local(ftrack_hub *hub, ftrack_event *event, ftrack_error *err)
{
    if (!hub || !event)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_deliver_local needs a hub and an event");
    ftrack_event_prepare_source(event, hub->id, hub->api_user, hub->hostname);
    size_t len;
    char *text = ftrack_event_serialize(event, &len);
    if (!text)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    fti_route(hub, ftrack_event_json(event), text, len, false);
    ftrack_free(text);
    return FTRACK_OK;
}
