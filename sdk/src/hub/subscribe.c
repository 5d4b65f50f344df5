/* SPDX-License-Identifier: Apache-2.0 */
/* Subscribing and unsubscribing: a subscriber's metadata and expression, its place in the
 * hub's subscriber set (route.c), and the ftrack.meta.subscribe / unsubscribe frames that tell
 * the server. The hub's own reply subscriber is made here too, on connect. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "hub/hub_internal.h"

/* ---- announcements ---------------------------------------------------------------------- */

static json_object *sub_metadata_copy(fti_sub *s)
{
    pthread_mutex_lock(&s->meta_lock);
    json_object *copy = NULL;
    json_object_deep_copy(s->metadata, &copy, NULL);
    pthread_mutex_unlock(&s->meta_lock);
    return copy;
}

static fti_frame *meta_frame_locked(ftrack_hub *hub, fti_sub *s, bool subscribe)
{
    if (hub->local_subscriptions && !s->internal_reply)
        return NULL; /* never announced, so nothing to withdraw either */
    json_object *data = json_object_new_object();
    json_object *meta = sub_metadata_copy(s);
    if (!data || !meta) {
        json_object_put(data);
        json_object_put(meta);
        return NULL;
    }
    json_object_object_add(data, "subscriber", meta);
    if (subscribe)
        json_object_object_add(data, "subscription",
                               json_object_new_string(ftrack_expression_text(s->expr)));
    ftrack_event *ev =
        ftrack_event_new(subscribe ? "ftrack.meta.subscribe" : "ftrack.meta.unsubscribe", data);
    if (!ev)
        return NULL;
    ftrack_event_prepare_source(ev, hub->id, hub->api_user, hub->hostname);
    fti_frame *f = fti_frame_for_event_locked(
        hub, ev, subscribe ? FTI_FRAME_ANNOUNCE : FTI_FRAME_EVENT,
        subscribe ? FTI_ACK_SUBSCRIBE : FTI_ACK_UNSUBSCRIBE, s->id, true);
    ftrack_event_free(ev);
    return f;
}

fti_frame *fti_announce_frame_locked(ftrack_hub *hub, fti_sub *sub)
{
    return meta_frame_locked(hub, sub, true);
}

void fti_unsubscribe_all_locked(ftrack_hub *hub)
{
    fti_subset *set = hub->subs;
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        fti_sub *s = set->subs[i];
        if (hub->connected) {
            fti_frame *f = meta_frame_locked(hub, s, false);
            if (f)
                fti_frames_append(&hub->outbox, f);
        }
        atomic_store(&s->removed, true);
    }
    fti_subset *empty = calloc(1, sizeof(*empty));
    if (!empty)
        return; /* keep the old set; every member is marked removed */
    atomic_init(&empty->refs, 1);
    hub->subs = empty;
    fti_subset_release(set);
}

/* ---- subscribe ------------------------------------------------------------------------- */

static ftrack_status subscriber_metadata(json_object *given, json_object **out,
                                         char id[FTRACK_ID_MAX], ftrack_error *err)
{
    json_object *meta = NULL;
    if (given) {
        if (!json_object_is_type(given, json_type_object))
            return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                             "Subscriber metadata must be an object.");
        if (json_object_deep_copy(given, &meta, NULL) != 0)
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    } else {
        meta = json_object_new_object();
    }
    json_object *jid;
    if (json_object_object_get_ex(meta, "id", &jid) && !json_object_is_type(jid, json_type_null)) {
        if (!json_object_is_type(jid, json_type_string) || !*json_object_get_string(jid) ||
            strlen(json_object_get_string(jid)) >= FTRACK_ID_MAX) {
            json_object_put(meta);
            return fti_error(
                err, FTRACK_ERR_INVALID_ARGUMENT,
                "A subscriber id must be a non-empty string of fewer than %d characters.",
                FTRACK_ID_MAX);
        }
        fti_strlcpy(id, json_object_get_string(jid), FTRACK_ID_MAX);
    } else {
        char hex[33];
        ftrack_uuid_hex(hex);
        fti_strlcpy(id, hex, FTRACK_ID_MAX);
        json_object_object_add(meta, "id", json_object_new_string(hex));
    }
    *out = meta;
    return FTRACK_OK;
}

static fti_sub *sub_new(void)
{
    fti_sub *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    atomic_init(&s->removed, false);
    pthread_mutex_init(&s->meta_lock, NULL);
    return s;
}

ftrack_status fti_ensure_reply_subscriber_locked(ftrack_hub *hub)
{
    for (size_t i = 0; hub->subs && i < hub->subs->n; i++)
        if (hub->subs->subs[i]->internal_reply)
            return FTRACK_OK;
    fti_sub *s = sub_new();
    if (!s)
        return FTRACK_ERR_NO_MEMORY;
    s->metadata = json_object_new_object();
    json_object_object_add(s->metadata, "id", json_object_new_string(hub->id));
    fti_strlcpy(s->id, hub->id, sizeof(s->id));
    s->priority = 100;
    s->internal_reply = true;
    if (ftrack_expression_compile("topic=ftrack.meta.reply", &s->expr, NULL) != FTRACK_OK) {
        fti_sub_release(s);
        return FTRACK_ERR_INTERNAL;
    }
    /* A user subscriber may already use the hub id: then replies go through it (as Python's
     * NotUniqueError is ignored). */
    if (fti_subset_find_locked(hub, s->id)) {
        fti_sub_release(s);
        return FTRACK_OK;
    }
    ftrack_status st = fti_subset_add_locked(hub, s);
    if (st == FTRACK_OK && hub->connected) {
        fti_frame *f = fti_announce_frame_locked(hub, s);
        if (f)
            fti_frames_append(&hub->outbox, f);
    }
    fti_sub_release(s);
    return st;
}

ftrack_status ftrack_hub_subscribe(ftrack_hub *hub, const char *expression,
                                   ftrack_hub_callback callback, void *user_data,
                                   const ftrack_subscribe_options *options,
                                   char out_id[FTRACK_ID_MAX], ftrack_error *err)
{
    if (!hub || !expression || !callback)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_subscribe needs a hub, an expression and a callback");
    ftrack_subscribe_options o;
    ftrack_subscribe_options_init(&o);
    if (options) {
        size_t n = options->size && options->size < sizeof(o) ? options->size : sizeof(o);
        memcpy(&o, options, n);
    }
    fti_sub *s = sub_new();
    if (!s)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    ftrack_status st = ftrack_expression_compile(expression, &s->expr, err);
    if (st == FTRACK_OK)
        st = subscriber_metadata(o.subscriber, &s->metadata, s->id, err);
    if (st != FTRACK_OK) {
        fti_sub_release(s);
        return st;
    }
    s->priority = o.priority;
    s->ignore_own_user = o.ignore_own_user;
    s->callback = callback;
    s->user_data = user_data;
    s->queue = o.queue ? o.queue : fti_bound_queue(hub);
    atomic_fetch_add(&s->queue->refs, 1);
    pthread_mutex_lock(&hub->lock);
    if (fti_subset_find_locked(hub, s->id)) {
        pthread_mutex_unlock(&hub->lock);
        st = fti_error(err, FTRACK_ERR_EXISTS, "Subscriber with identifier %s already exists.",
                       s->id);
        fti_sub_release(s);
        return st;
    }
    st = fti_subset_add_locked(hub, s);
    bool wake = false;
    if (st == FTRACK_OK && hub->connected) {
        fti_frame *f = fti_announce_frame_locked(hub, s);
        if (f) {
            fti_frames_append(&hub->outbox, f);
            wake = true;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    if (st == FTRACK_OK && out_id)
        fti_strlcpy(out_id, s->id, FTRACK_ID_MAX);
    fti_sub_release(s);
    if (wake)
        fti_transport_wake(hub);
    return st == FTRACK_OK ? FTRACK_OK : fti_error(err, st, "out of memory");
}

ftrack_status ftrack_hub_unsubscribe(ftrack_hub *hub, const char *subscriber_id, ftrack_error *err)
{
    if (!hub || !subscriber_id)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_unsubscribe needs a hub and an id");
    pthread_mutex_lock(&hub->lock);
    fti_sub *s = fti_subset_find_locked(hub, subscriber_id);
    if (!s) {
        pthread_mutex_unlock(&hub->lock);
        return fti_error(err, FTRACK_ERR_NOT_FOUND,
                         "Cannot unsubscribe missing subscriber with identifier %s", subscriber_id);
    }
    atomic_fetch_add(&s->refs, 1);
    atomic_store(&s->removed, true);
    ftrack_status st = fti_subset_remove_locked(hub, s);
    bool wake = false;
    if (hub->connected) {
        fti_frame *f = meta_frame_locked(hub, s, false);
        if (f) {
            fti_frames_append(&hub->outbox, f);
            wake = true;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    fti_sub_release(s);
    if (wake)
        fti_transport_wake(hub);
    return st == FTRACK_OK ? FTRACK_OK : fti_error(err, st, "out of memory");
}
