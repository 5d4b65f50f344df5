/* SPDX-License-Identifier: Apache-2.0 */
/* Reply windows and acknowledgements of publishes (protocol §6.6, §5.4).
 *
 * A publish that waits for a reply (on_reply) or for the server's acknowledgement (on_ack)
 * registers an entry under its event id in hub->replies and in its publishing queue's list.
 * Replies are found there when routed (route.c) and handed to on_reply when dispatched
 * (dispatch.c); acks arrive on the service thread. The publisher's on_ack and the window's
 * final call run on its queue's consumer thread, when it takes (queue.c) or dispatches, except
 * that dropping a queue's entries (queue free, hub close) makes their final calls there. */
#include <math.h> /* INFINITY only: libftrack does not link libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "hub/hub_internal.h"

/* Each queue keeps its entries in deadline order, so closing windows pops from the head, and
 * the acks that arrived in a list of their own, so handing them over never walks the rest. */

/* Wake the queue's taker so it looks at its replies now (caller holds hub->lock). */
static void reply_kick_locked(ftrack_hub_queue *q)
{
    pthread_mutex_lock(&q->lock);
    atomic_store(&q->reply_kick, true);
    pthread_cond_broadcast(&q->cond);
    if (q->notify)
        q->notify(q, q->notify_data);
    pthread_mutex_unlock(&q->lock);
}

/* Insert in deadline order, searching from the tail: windows are nearly always equal, so a
 * new entry nearly always belongs there. Equal deadlines keep publish order. */
static void reply_insert_locked(ftrack_hub_queue *q, fti_reply_entry *e)
{
    fti_reply_entry *after = q->replies_tail;
    while (after && after->deadline > e->deadline)
        after = after->prev;
    e->prev = after;
    e->next = after ? after->next : q->replies;
    if (e->next)
        e->next->prev = e;
    else
        q->replies_tail = e;
    if (after)
        after->next = e;
    else
        q->replies = e;
}

static void ready_unlink_locked(ftrack_hub_queue *q, fti_reply_entry *e)
{
    if (!e->in_ready)
        return;
    if (e->ready_prev)
        e->ready_prev->ready_next = e->ready_next;
    else
        q->acks_ready = e->ready_next;
    if (e->ready_next)
        e->ready_next->ready_prev = e->ready_prev;
    else
        q->acks_ready_tail = e->ready_prev;
    e->ready_prev = e->ready_next = NULL;
    e->in_ready = false;
    if (!q->acks_ready)
        atomic_store(&q->acks_waiting, false);
}

ftrack_status fti_reply_register_locked(ftrack_hub *hub, const char *event_id,
                                        ftrack_reply_callback cb,
                                        ftrack_publish_ack_callback on_ack, void *user_data,
                                        ftrack_hub_queue *queue, double window)
{
    fti_reply_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return FTRACK_ERR_NO_MEMORY;
    fti_strlcpy(e->event_id, event_id, sizeof(e->event_id));
    e->callback = cb;
    e->on_ack = on_ack;
    e->ack_state = on_ack ? FTI_ACK_PENDING : FTI_ACK_DELIVERED;
    e->user_data = user_data;
    e->queue = queue;
    e->window = window;
    e->deadline = fti_now() + window;
    if (lh_table_insert(hub->replies, e->event_id, e) != 0) {
        free(e);
        return FTRACK_ERR_NO_MEMORY;
    }
    reply_insert_locked(queue, e);
    if (e->deadline < atomic_load(&queue->next_deadline)) {
        atomic_store(&queue->next_deadline, e->deadline);
        reply_kick_locked(queue); /* a taker may be sleeping past this deadline */
    }
    return FTRACK_OK;
}

void fti_reply_ack_locked(ftrack_hub *hub, const char *event_id, bool success, const char *message)
{
    void *v = NULL;
    if (!lh_table_lookup_ex(hub->replies, event_id, &v) || !v)
        return;
    fti_reply_entry *e = v;
    if (e->ack_state != FTI_ACK_PENDING)
        return;
    e->ack_state = FTI_ACK_READY;
    e->ack_success = success;
    fti_strlcpy(e->ack_message, message ? message : "", sizeof(e->ack_message));
    ftrack_hub_queue *q = e->queue;
    e->ready_next = NULL;
    e->ready_prev = q->acks_ready_tail;
    if (q->acks_ready_tail)
        q->acks_ready_tail->ready_next = e;
    else
        q->acks_ready = e;
    q->acks_ready_tail = e;
    e->in_ready = true;
    atomic_store(&q->acks_waiting, true);
    reply_kick_locked(q); /* the consumer runs on_ack at its next look at the queue: now */
}

static void reply_unlink_locked(ftrack_hub *hub, fti_reply_entry *e)
{
    ftrack_hub_queue *q = e->queue;
    lh_table_delete(hub->replies, e->event_id);
    ready_unlink_locked(q, e);
    if (e->prev)
        e->prev->next = e->next;
    else
        q->replies = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q->replies_tail = e->prev;
    e->prev = e->next = NULL;
    atomic_store(&q->next_deadline, q->replies ? q->replies->deadline : INFINITY);
}

/* Entries taken out from under the lock, in order, for their calls. */
typedef struct reply_batch {
    fti_reply_entry *head, **tail;
} reply_batch;

static void batch_add(reply_batch *b, fti_reply_entry *e)
{
    e->next = NULL;
    *b->tail = e;
    b->tail = &e->next;
}

/* An on_ack call taken out from under the lock. */
typedef struct ack_call {
    struct ack_call *next;
    ftrack_publish_ack_callback cb;
    void *user_data;
    bool success;
    bool has_message;
    char message[200];
} ack_call;

static void run_ack_calls(ack_call *list)
{
    while (list) {
        ack_call *next = list->next;
        list->cb(list->success, list->has_message ? list->message : NULL, list->user_data);
        free(list);
        list = next;
    }
}

/* Final calls of removed entries: a missing ack fails, then the reply window closes. */
static void run_final_calls(fti_reply_entry *list, const char *ack_why)
{
    while (list) {
        fti_reply_entry *next = list->next;
        if (list->on_ack && list->ack_state == FTI_ACK_READY)
            list->on_ack(list->ack_success, list->ack_message[0] ? list->ack_message : NULL,
                         list->user_data);
        else if (list->on_ack && list->ack_state == FTI_ACK_PENDING) {
            char why[200];
            if (ack_why)
                fti_strlcpy(why, ack_why, sizeof(why));
            else
                snprintf(why, sizeof(why), "no acknowledgement within %.3g s", list->window);
            list->on_ack(false, why, list->user_data);
        }
        if (list->callback)
            list->callback(NULL, list->user_data);
        free(list);
        list = next;
    }
}

static ack_call *take_ready_ack_locked(fti_reply_entry *e)
{
    ack_call *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL; /* stays READY: its final call reports it when the window closes */
    a->cb = e->on_ack;
    a->user_data = e->user_data;
    a->success = e->ack_success;
    a->has_message = e->ack_message[0] != '\0';
    fti_strlcpy(a->message, e->ack_message, sizeof(a->message));
    e->ack_state = FTI_ACK_DELIVERED;
    return a;
}

double fti_reply_expire(ftrack_hub_queue *queue, double now)
{
    ftrack_hub *hub = queue->hub;
    reply_batch expired = {NULL, &expired.head}, done = {NULL, &done.head};
    ack_call *acks = NULL, **acks_tail = &acks;
    /* The common case, nothing due, without hub->lock (the service thread routes under it).
     * A value read stale here is safe: register and ack store before they kick the queue,
     * and the taker clears the kick before it calls this, so it sees the kick and comes
     * back rather than sleeping past the deadline. */
    double due = atomic_load(&queue->next_deadline);
    if (now < due && !atomic_load(&queue->acks_waiting))
        return due;
    pthread_mutex_lock(&hub->lock);
    /* closed windows first: their final call reports an ack that came meanwhile */
    while (queue->replies && queue->replies->deadline <= now) {
        fti_reply_entry *e = queue->replies;
        reply_unlink_locked(hub, e);
        batch_add(&expired, e);
    }
    while (queue->acks_ready) {
        fti_reply_entry *e = queue->acks_ready;
        ready_unlink_locked(queue, e);
        ack_call *a = take_ready_ack_locked(e);
        if (!a)
            break;
        *acks_tail = a;
        acks_tail = &a->next;
        if (!e->callback) { /* nothing more to wait for */
            reply_unlink_locked(hub, e);
            batch_add(&done, e);
        }
    }
    double next = atomic_load(&queue->next_deadline);
    pthread_mutex_unlock(&hub->lock);
    run_ack_calls(acks);
    run_final_calls(expired.head, NULL);
    run_final_calls(done.head, NULL); /* acked, no on_reply: only freed */
    return next;
}

void fti_reply_drop_all(ftrack_hub *hub, ftrack_hub_queue *queue)
{
    reply_batch all = {NULL, &all.head};
    pthread_mutex_lock(&hub->lock);
    for (ftrack_hub_queue *q = hub->queues; q; q = q->next) {
        if (queue && q != queue)
            continue;
        while (q->replies) {
            fti_reply_entry *e = q->replies;
            reply_unlink_locked(hub, e);
            batch_add(&all, e);
        }
    }
    pthread_mutex_unlock(&hub->lock);
    run_final_calls(all.head, "the event hub was closed before the server acknowledged the event");
}
