/* SPDX-License-Identifier: Apache-2.0 */
/* Delivery queues (docs/internals/architecture.md): each consumer thread's inbox of event
 * texts, each with what routing matched (match.c).
 *
 * Routing (route.c) appends a copy of an event's text to the queue of every subscriber it
 * matches, on whichever thread received it; the queue's consumer takes it on its own thread,
 * and its take is also where the reply windows of its publishes close (reply.c). A queue is
 * bounded: a push to a full queue is dropped and reported (its overflow callback, or a log
 * line). A thread may bind a queue: its subscribes and publishes then default to it. */
#include <math.h> /* INFINITY only: libftrack does not link libm */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/internal.h"
#include "hub/hub_internal.h"

/* The thread's bound queue (ftrack_hub_bind_thread); valid only for that hub. */
static __thread struct {
    const ftrack_hub *hub;
    ftrack_hub_queue *queue;
} tl_binding;

ftrack_status fti_queue_create(ftrack_hub *hub, const char *name, size_t capacity,
                               ftrack_hub_queue **out)
{
    ftrack_hub_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return FTRACK_ERR_NO_MEMORY;
    q->name = fti_strdup(name ? name : "queue");
    if (!q->name) {
        free(q);
        return FTRACK_ERR_NO_MEMORY;
    }
    q->hub = hub;
    q->capacity = capacity ? capacity : 10000;
    atomic_init(&q->next_deadline, INFINITY);
    atomic_init(&q->acks_waiting, false);
    atomic_init(&q->refs, 1);
    atomic_init(&q->reply_kick, false);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&hub->lock);
    q->next = hub->queues;
    hub->queues = q;
    pthread_mutex_unlock(&hub->lock);
    *out = q;
    return FTRACK_OK;
}

static void queue_drop_items(ftrack_hub_queue *q)
{
    fti_item *it = q->head;
    while (it) {
        fti_item *next = it->next;
        ftrack_hub_match_unref(it->match);
        free(it->text); /* and the item, in the same block */
        it = next;
    }
    q->head = q->tail = NULL;
    q->depth = 0;
}

void fti_queue_drop(ftrack_hub_queue *q)
{
    pthread_mutex_lock(&q->lock);
    queue_drop_items(q);
    pthread_mutex_unlock(&q->lock);
}

void fti_queue_unref(ftrack_hub_queue *q)
{
    if (!q || atomic_fetch_sub(&q->refs, 1) != 1)
        return;
    queue_drop_items(q);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->lock);
    free(q->name);
    free(q);
}

/* One block per delivery: the text first, because the taker hands it out to be freed with
 * free(), then the item at an aligned offset after it, so freeing the text frees both. */
static fti_item *item_new(const char *text, size_t len)
{
    const size_t align = _Alignof(fti_item);
    if (len > SIZE_MAX / 2)
        return NULL;
    size_t at = (len + 1 + align - 1) / align * align;
    char *block = malloc(at + sizeof(fti_item));
    if (!block)
        return NULL;
    memcpy(block, text, len);
    block[len] = '\0';
    fti_item *it = (fti_item *)(void *)(block + at);
    it->text = block;
    it->len = len;
    it->next = NULL;
    it->match = NULL;
    return it;
}

static void item_free(fti_item *it)
{
    if (!it)
        return;
    ftrack_hub_match_unref(it->match);
    free(it->text);
}

bool fti_queue_push(ftrack_hub_queue *q, const char *text, size_t len,
                    struct ftrack_hub_match *match)
{
    fti_item *it = item_new(text, len); /* outside the lock the taker waits on */
    if (it)
        it->match = ftrack_hub_match_ref(match);
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        item_free(it);
        return false;
    }
    if (q->depth >= q->capacity) {
        unsigned long n = ++q->overflowed;
        ftrack_hub_overflow_callback cb = q->overflow;
        void *ud = q->overflow_data;
        pthread_mutex_unlock(&q->lock);
        item_free(it);
        if (cb)
            cb(q, text, len, ud);
        else if ((n & (n - 1)) == 0) /* 1, 2, 4, 8...: visible without flooding */
            ftrack_log(FTRACK_LOG_WARNING, "hub",
                       "delivery queue '%s' is full (%zu): %lu event(s) dropped", q->name,
                       q->capacity, n);
        return false;
    }
    if (!it) {
        pthread_mutex_unlock(&q->lock);
        ftrack_log(FTRACK_LOG_ERROR, "hub", "out of memory queueing an event for '%s'", q->name);
        return false;
    }
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->depth++;
    if (q->waiting)
        pthread_cond_signal(&q->cond);
    if (q->notify)
        q->notify(q, q->notify_data);
    pthread_mutex_unlock(&q->lock);
    return true;
}

ftrack_hub_queue *fti_bound_queue(ftrack_hub *hub)
{
    if (tl_binding.hub == hub && tl_binding.queue)
        return tl_binding.queue;
    return hub->default_queue;
}

ftrack_status ftrack_hub_queue_new(ftrack_hub *hub, const char *name, size_t capacity,
                                   ftrack_hub_queue **out, ftrack_error *err)
{
    if (!hub || !out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_queue_new needs a hub and out");
    if (fti_queue_create(hub, name, capacity, out) != FTRACK_OK)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    return FTRACK_OK;
}

void ftrack_hub_queue_set_overflow(ftrack_hub_queue *queue, ftrack_hub_overflow_callback callback,
                                   void *user_data)
{
    if (!queue)
        return;
    pthread_mutex_lock(&queue->lock);
    queue->overflow = callback;
    queue->overflow_data = user_data;
    pthread_mutex_unlock(&queue->lock);
}

void ftrack_hub_bind_thread(ftrack_hub *hub, ftrack_hub_queue *queue)
{
    tl_binding.hub = queue ? hub : NULL;
    tl_binding.queue = queue && queue->hub == hub ? queue : NULL;
}

size_t ftrack_hub_queue_depth(const ftrack_hub_queue *queue)
{
    if (!queue)
        return 0;
    ftrack_hub_queue *q = (ftrack_hub_queue *)queue;
    pthread_mutex_lock(&q->lock);
    size_t d = q->depth;
    pthread_mutex_unlock(&q->lock);
    return d;
}

void ftrack_hub_queue_close(ftrack_hub_queue *queue)
{
    if (!queue)
        return;
    pthread_mutex_lock(&queue->lock);
    queue->closed = true;
    pthread_cond_broadcast(&queue->cond);
    if (queue->notify)
        queue->notify(queue, queue->notify_data);
    pthread_mutex_unlock(&queue->lock);
}

void ftrack_hub_queue_set_notify(ftrack_hub_queue *queue, ftrack_hub_queue_notify_callback callback,
                                 void *user_data)
{
    if (!queue)
        return;
    pthread_mutex_lock(&queue->lock);
    queue->notify = callback;
    queue->notify_data = user_data;
    pthread_mutex_unlock(&queue->lock);
}

double ftrack_hub_queue_next_timer(const ftrack_hub_queue *queue)
{
    if (!queue)
        return -1;
    if (atomic_load(&((ftrack_hub_queue *)queue)->acks_waiting))
        return 0;
    double due = atomic_load(&((ftrack_hub_queue *)queue)->next_deadline);
    if (due == INFINITY)
        return -1;
    double left = due - fti_now();
    return left > 0 ? left : 0;
}

static void unsubscribe_queue(ftrack_hub *hub, ftrack_hub_queue *q)
{
    fti_subset *set = fti_subset_get(hub);
    for (size_t i = 0; set && i < set->n; i++)
        if (set->subs[i]->queue == q && !atomic_load(&set->subs[i]->removed))
            ftrack_hub_unsubscribe(hub, set->subs[i]->id, NULL);
    fti_subset_release(set);
}

void ftrack_hub_queue_free(ftrack_hub_queue *queue)
{
    if (!queue)
        return;
    ftrack_hub *hub = queue->hub;
    if (queue == hub->default_queue)
        return; /* owned by the hub */
    ftrack_hub_queue_close(queue);
    unsubscribe_queue(hub, queue);
    fti_reply_drop_all(hub, queue);
    pthread_mutex_lock(&hub->lock);
    for (ftrack_hub_queue **p = &hub->queues; *p; p = &(*p)->next) {
        if (*p == queue) {
            *p = queue->next;
            break;
        }
    }
    queue->detached = true;
    pthread_mutex_unlock(&hub->lock);
    fti_queue_drop(queue);
    if (tl_binding.queue == queue)
        tl_binding.hub = NULL, tl_binding.queue = NULL;
    fti_queue_unref(queue);
}

static void abs_monotonic(double deadline, struct timespec *ts)
{
    double d = deadline - fti_now();
    if (d < 0)
        d = 0;
    if (d > 1e6)
        d = 1e6;
    clock_gettime(CLOCK_MONOTONIC, ts);
    time_t whole = (time_t)d; /* d >= 0: truncation is floor */
    ts->tv_sec += whole;
    ts->tv_nsec += (long)((d - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

char *ftrack_hub_queue_take(ftrack_hub_queue *queue, double timeout, size_t *len)
{
    ftrack_hub_match *match = NULL;
    char *text = ftrack_hub_queue_take_matched(queue, timeout, len, &match);
    ftrack_hub_match_unref(match);
    return text;
}

char *ftrack_hub_queue_take_matched(ftrack_hub_queue *queue, double timeout, size_t *len,
                                    ftrack_hub_match **match)
{
    *match = NULL;
    if (!queue)
        return NULL;
    double now = fti_now();
    double deadline = timeout < 0 ? INFINITY : now + timeout;
    for (;;) {
        /* Reply windows of this queue's publishes close on this, its consumer's, thread. */
        /* a kick from now on (an ack, an earlier window) is seen below before sleeping */
        if (atomic_load(&queue->reply_kick))
            atomic_store(&queue->reply_kick, false);
        double next = fti_reply_expire(queue, now);
        pthread_mutex_lock(&queue->lock);
        fti_item *it = queue->head;
        if (it) {
            queue->head = it->next;
            if (!queue->head)
                queue->tail = NULL;
            queue->depth--;
            pthread_mutex_unlock(&queue->lock);
            if (len)
                *len = it->len;
            *match = it->match; /* the item's reference, handed on */
            return it->text;    /* the item is in the text's block (item_new) */
        }
        now = fti_now();
        if (queue->closed || now >= deadline) {
            pthread_mutex_unlock(&queue->lock);
            return NULL;
        }
        struct timespec ts;
        double wake = deadline < next ? deadline : next;
        abs_monotonic(wake < now + 3600.0 ? wake : now + 3600.0, &ts);
        if (!atomic_load(&queue->reply_kick)) {
            queue->waiting++;
            pthread_cond_timedwait(&queue->cond, &queue->lock, &ts);
            queue->waiting--;
        }
        pthread_mutex_unlock(&queue->lock);
        now = fti_now();
    }
}
