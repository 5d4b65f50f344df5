/* SPDX-License-Identifier: Apache-2.0 */
/* Outgoing frames and their acknowledgements (protocol §5.4). Frames wait in the hub's frame
 * lists (pending before a connection, outbox for the current one) until the service thread
 * (transport.c) writes them. Each frame that asks for an ack is remembered in a ring of ack
 * records, so the server's answer, a drop or a lost connection can reach the publisher's on_ack
 * (reply.c) and a refusal can be logged. */
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "common/internal.h"
#include "hub/hub_internal.h"
#include "wire/socketio.h"

/* ---- frames ----------------------------------------------------------------------------- */

void fti_frame_free(fti_frame *f)
{
    if (!f)
        return;
    free(f->buf);
    free(f);
}

void fti_frames_append(fti_frame_list *l, fti_frame *f)
{
    f->next = NULL;
    if (l->tail)
        l->tail->next = f;
    else
        l->head = f;
    l->tail = f;
    l->n++;
}

void fti_frames_prepend(fti_frame_list *l, fti_frame *f)
{
    f->next = l->head;
    l->head = f;
    if (!l->tail)
        l->tail = f;
    l->n++;
}

fti_frame *fti_frames_pop(fti_frame_list *l)
{
    fti_frame *f = l->head;
    if (!f)
        return NULL;
    l->head = f->next;
    if (!l->head)
        l->tail = NULL;
    l->n--;
    f->next = NULL;
    return f;
}

void fti_frames_clear(fti_frame_list *l)
{
    fti_frame *f;
    while ((f = fti_frames_pop(l)))
        fti_frame_free(f);
}

static fti_ack_record *ack_slot(const ftrack_hub *hub, unsigned long id)
{
    return &hub->acks[id & (hub->ack_cap - 1)];
}

/* Twice the slots (more if two awaited ids still share one); false when it cannot grow. */
static bool ack_grow_locked(ftrack_hub *hub)
{
    for (size_t cap = hub->ack_cap * 2; cap <= FTI_HUB_ACK_MAX; cap *= 2) {
        fti_ack_record *t = calloc(cap, sizeof(*t));
        if (!t)
            return false;
        bool clash = false;
        for (size_t i = 0; i < hub->ack_cap && !clash; i++) {
            fti_ack_record *from = &hub->acks[i], *to = &t[from->id & (cap - 1)];
            if (!from->id)
                continue;
            clash = to->id != 0;
            *to = *from;
        }
        if (clash) {
            free(t);
            continue;
        }
        free(hub->acks);
        hub->acks = t;
        hub->ack_cap = cap;
        return true;
    }
    return false;
}

/* Fail an awaited record (its on_ack is told why) and free its slot. */
static void ack_fail_locked(ftrack_hub *hub, fti_ack_record *r, const char *why)
{
    if (r->kind == FTI_ACK_EVENT)
        fti_reply_ack_locked(hub, r->what, false, why);
    r->id = 0;
}

static void ack_remember_locked(ftrack_hub *hub, unsigned long id, fti_ack_kind kind,
                                const char *what, const char *topic)
{
    /* Its slot still awaits an older ack: more are awaited than the table holds. */
    if (ack_slot(hub, id)->id && !ack_grow_locked(hub))
        ack_fail_locked(hub, ack_slot(hub, id),
                        "too many publishes awaiting acknowledgement at once");
    fti_ack_record *r = ack_slot(hub, id);
    r->id = id;
    r->kind = kind;
    r->sent = false;
    fti_strlcpy(r->what, what ? what : "", sizeof(r->what));
    fti_strlcpy(r->topic, topic ? topic : "", sizeof(r->topic));
}

/* The frame of an event with ack id `id` (0: none); needs no lock. */
fti_frame *fti_frame_build(ftrack_event *event, fti_frame_kind kind, unsigned long id)
{
    size_t jlen;
    char *json = ftrack_event_serialize(event, &jlen);
    fti_frame *f = calloc(1, sizeof(*f));
    if (!json || !f) {
        free(json);
        free(f);
        return NULL;
    }
    f->buf = fti_sio_frame_event(LWS_PRE, id, json, jlen, &f->len);
    free(json);
    if (!f->buf) {
        free(f);
        return NULL;
    }
    f->kind = kind;
    f->ack_id = id;
    return f;
}

fti_frame *fti_frame_for_event_locked(ftrack_hub *hub, ftrack_event *event, fti_frame_kind kind,
                                      fti_ack_kind ack_kind, const char *what, bool want_ack)
{
    /* ids count callback-carrying packets only, as the Python client's do */
    unsigned long id = want_ack ? hub->ack_counter + 1 : 0;
    fti_frame *f = fti_frame_build(event, kind, id);
    if (f && id) {
        hub->ack_counter = id;
        ack_remember_locked(hub, id, ack_kind, what ? what : ftrack_event_id(event),
                            ftrack_event_topic(event));
    }
    return f;
}

/* ---- acknowledgements ------------------------------------------------------------------- */

/* An ack record went away: wake ftrack_hub_flush (client.c), which waits for that. */
static void ack_settled_locked(ftrack_hub *hub)
{
    if (hub->flush_waiters)
        pthread_cond_broadcast(&hub->cond);
}

void fti_ack_forget_locked(ftrack_hub *hub, unsigned long ack_id)
{
    fti_ack_record *r = ack_slot(hub, ack_id);
    if (ack_id && r->id == ack_id) {
        r->id = 0;
        ack_settled_locked(hub);
    }
}

bool fti_acks_awaited_locked(const ftrack_hub *hub, unsigned long upto)
{
    for (size_t i = 0; i < hub->ack_cap; i++)
        if (hub->acks[i].id && hub->acks[i].id <= upto)
            return true;
    return false;
}

void fti_ack_mark_sent_locked(ftrack_hub *hub, unsigned long ack_id)
{
    fti_ack_record *r = ack_slot(hub, ack_id);
    if (ack_id && r->id == ack_id)
        r->sent = true;
}

void fti_ack_fail_frames_locked(ftrack_hub *hub, fti_frame_list *dropped, const char *why)
{
    for (fti_frame *f = dropped->head; f; f = f->next) {
        fti_ack_record *r = ack_slot(hub, f->ack_id);
        if (f->kind != FTI_FRAME_EVENT || !f->ack_id || r->id != f->ack_id)
            continue;
        ack_fail_locked(hub, r, why);
    }
    ack_settled_locked(hub);
}

void fti_ack_fail_sent_locked(ftrack_hub *hub, const char *why)
{
    for (size_t i = 0; i < hub->ack_cap; i++) {
        fti_ack_record *r = &hub->acks[i];
        if (r->id && r->sent)
            ack_fail_locked(hub, r, why);
    }
    ack_settled_locked(hub);
}

static void log_refusal(const fti_ack_record *rec, const char *why)
{
    switch (rec->kind) {
    case FTI_ACK_SUBSCRIBE:
        ftrack_log(FTRACK_LOG_WARNING, "hub", "Server failed to subscribe subscriber %s: %s",
                   rec->what, why);
        break;
    case FTI_ACK_UNSUBSCRIBE:
        ftrack_log(FTRACK_LOG_WARNING, "hub", "Server failed to unsubscribe subscriber %s: %s",
                   rec->what, why);
        break;
    case FTI_ACK_EVENT:
        ftrack_log_event(FTRACK_LOG_WARNING, "hub", rec->what, rec->topic,
                         "Server refused the published event: %s", why);
        break;
    }
}

/* The plain successes servers send (ours compact, a Python-style one spaced): recognised
 * without parsing, as nearly every ack is one of them. */
static bool ack_is_plain_success(const char *args, size_t len)
{
    static const char compact[] = "[{\"success\":true}]";
    static const char spaced[] = "[{\"success\": true}]";
    return args && ((len == sizeof(compact) - 1 && memcmp(args, compact, len) == 0) ||
                    (len == sizeof(spaced) - 1 && memcmp(args, spaced, len) == 0));
}

/* Any other ack: parse it. `*arr` keeps the strings *message points into. */
static bool ack_parse(const char *args, size_t len, json_object **arr, const char **message,
                      const char **why)
{
    *arr = NULL;
    *message = NULL;
    struct json_tokener *tok = args ? json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH) : NULL;
    if (tok) {
        *arr = json_tokener_parse_ex(tok, args, (int)len);
        json_tokener_free(tok);
    }
    json_object *first =
        json_object_is_type(*arr, json_type_array) ? json_object_array_get_idx(*arr, 0) : NULL;
    bool is_obj = json_object_is_type(first, json_type_object);
    json_object *success = NULL, *m = NULL;
    bool ok = is_obj && json_object_object_get_ex(first, "success", &success) &&
              json_object_get_boolean(success);
    if (is_obj && json_object_object_get_ex(first, "message", &m) &&
        json_object_is_type(m, json_type_string))
        *message = json_object_get_string(m);
    *why = *message ? *message : (is_obj ? "no reason given" : "malformed acknowledgement");
    return ok;
}

/* Runs on the service thread. */
void fti_ack_received(ftrack_hub *hub, unsigned long id, const char *args, size_t args_len)
{
    json_object *arr = NULL;
    const char *message = NULL, *why = NULL;
    bool ok =
        ack_is_plain_success(args, args_len) || ack_parse(args, args_len, &arr, &message, &why);

    fti_ack_record rec;
    pthread_mutex_lock(&hub->lock);
    fti_ack_record *r = ack_slot(hub, id);
    bool known = r->id == id && id != 0;
    if (known) {
        rec = *r;
        r->id = 0;
        if (rec.kind == FTI_ACK_EVENT)
            fti_reply_ack_locked(hub, rec.what, ok, ok ? message : why);
        ack_settled_locked(hub);
    }
    pthread_mutex_unlock(&hub->lock);
    if (!known)
        ftrack_log(FTRACK_LOG_DEBUG, "hub", "acknowledgement %lu matches nothing we remember", id);
    else if (!ok)
        log_refusal(&rec, why);
    json_object_put(arr);
}
