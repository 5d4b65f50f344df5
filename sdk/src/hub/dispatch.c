/* Subscribers, delivery queues, routing and local dispatch (protocol §6.6, §6.7).
 *
 * Routing runs on whichever thread received the event (the service thread for server events):
 * it matches the event once against every subscriber and appends its text once to each queue
 * with a match. Dispatch runs on the queue's consumer thread, which parses its own copy. */
#include <math.h> /* INFINITY only: libftrack does not link libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/internal.h"
#include "event/expression_internal.h"
#include "hub/hub_internal.h"

/* The thread's bound queue (ftrack_hub_bind_thread); valid only for that hub. */
static __thread struct {
    const ftrack_hub *hub;
    ftrack_hub_queue *queue;
} tl_binding;

/* ---- subscriber sets ------------------------------------------------------------------- */

/* The text of a subscriber's reply source, shared by the replies being built from it. */
struct fti_reply_source {
    atomic_int refs;
    unsigned version; /* the subscriber's meta_version it was made from */
    size_t len;
    char text[];
};

static void reply_source_release(struct fti_reply_source *rs)
{
    if (rs && atomic_fetch_sub(&rs->refs, 1) == 1)
        free(rs);
}

void fti_sub_release(fti_sub *sub)
{
    if (!sub || atomic_fetch_sub(&sub->refs, 1) != 1)
        return;
    ftrack_expression_free(sub->expr);
    json_object_put(sub->metadata);
    reply_source_release(sub->reply_source);
    pthread_mutex_destroy(&sub->meta_lock);
    if (sub->queue)
        fti_queue_unref(sub->queue);
    free(sub);
}

fti_subset *fti_subset_get(ftrack_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    fti_subset *set = hub->subs;
    if (set)
        atomic_fetch_add(&set->refs, 1);
    pthread_mutex_unlock(&hub->lock);
    return set;
}

void fti_subset_release(fti_subset *set)
{
    if (!set || atomic_fetch_sub(&set->refs, 1) != 1)
        return;
    for (size_t i = 0; i < set->n; i++)
        fti_sub_release(set->subs[i]);
    free(set->route_keys);
    free(set);
}

static int by_priority(const void *a, const void *b)
{
    const fti_sub *x = *(fti_sub *const *)a, *y = *(fti_sub *const *)b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

/* What fti_route reads of any event: the topic to match, the target, the id for its log
 * lines, and the id a reply answers (reply_queue). */
static const char *const ROUTE_KEYS[] = {"topic", "target", "id", "inReplyToEvent",
                                         "in_reply_to_event"};

typedef struct key_list {
    const char **keys;
    size_t n, cap;
    bool all;
} key_list;

static void key_list_add(const char *key, void *user_data)
{
    key_list *l = user_data;
    if (l->all)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->keys[i], key) == 0)
            return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        const char **grown = realloc(l->keys, cap * sizeof(*grown));
        if (!grown) {
            l->all = true; /* the whole event always does */
            return;
        }
        l->keys = grown;
        l->cap = cap;
    }
    l->keys[l->n++] = key;
}

/* The union of the keys routing reads for the set's subscribers (fti_subset.route_keys). */
static void subset_route_keys(fti_subset *set)
{
    key_list l = {.n = 0};
    for (size_t i = 0; i < sizeof(ROUTE_KEYS) / sizeof(ROUTE_KEYS[0]); i++)
        key_list_add(ROUTE_KEYS[i], &l);
    for (size_t i = 0; i < set->n; i++) {
        if (set->subs[i]->ignore_own_user)
            key_list_add("source", &l); /* event_user_is */
        if (!fti_expression_top_keys(set->subs[i]->expr, key_list_add, &l))
            l.all = true;
    }
    if (l.all) {
        free(l.keys);
        l.keys = NULL;
        l.n = 0;
    }
    set->route_keys = l.keys;
    set->route_nkeys = l.n;
    set->route_all_keys = l.all;
}

/* A new set holding `old` minus `drop` plus `add`, sorted; replaces hub->subs. */
static ftrack_status subset_replace_locked(ftrack_hub *hub, fti_sub *add, fti_sub *drop)
{
    fti_subset *old = hub->subs;
    size_t n = old ? old->n : 0;
    fti_subset *set = calloc(1, sizeof(*set) + (n + 1) * sizeof(set->subs[0]));
    if (!set)
        return FTRACK_ERR_NO_MEMORY;
    atomic_init(&set->refs, 1);
    for (size_t i = 0; i < n; i++) {
        if (old->subs[i] == drop)
            continue;
        set->subs[set->n++] = old->subs[i];
        atomic_fetch_add(&old->subs[i]->refs, 1);
    }
    if (add) {
        add->seq = ++hub->sub_seq;
        set->subs[set->n++] = add;
        atomic_fetch_add(&add->refs, 1);
    }
    qsort(set->subs, set->n, sizeof(set->subs[0]), by_priority);
    subset_route_keys(set);
    hub->subs = set;
    fti_subset_release(old);
    return FTRACK_OK;
}

ftrack_status fti_subset_add_locked(ftrack_hub *hub, fti_sub *sub)
{
    return subset_replace_locked(hub, sub, NULL);
}

ftrack_status fti_subset_remove_locked(ftrack_hub *hub, fti_sub *sub)
{
    return subset_replace_locked(hub, NULL, sub);
}

fti_sub *fti_subset_find_locked(ftrack_hub *hub, const char *id)
{
    for (size_t i = 0; hub->subs && i < hub->subs->n; i++)
        if (strcmp(hub->subs->subs[i]->id, id) == 0)
            return hub->subs->subs[i];
    return NULL;
}

/* ---- queues ------------------------------------------------------------------------------ */

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
        free(it->text); /* and the item, in the same block */
        it = next;
    }
    q->head = q->tail = NULL;
    q->depth = 0;
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
    return it;
}

bool fti_queue_push(ftrack_hub_queue *q, const char *text, size_t len)
{
    fti_item *it = item_new(text, len); /* outside the lock the taker waits on */
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        free(it ? it->text : NULL);
        return false;
    }
    if (q->depth >= q->capacity) {
        unsigned long n = ++q->overflowed;
        ftrack_hub_overflow_callback cb = q->overflow;
        void *ud = q->overflow_data;
        pthread_mutex_unlock(&q->lock);
        free(it ? it->text : NULL);
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
    pthread_mutex_unlock(&queue->lock);
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
    pthread_mutex_lock(&queue->lock);
    queue_drop_items(queue);
    pthread_mutex_unlock(&queue->lock);
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
            return it->text; /* the item is in the text's block (item_new) */
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

/* ---- matching --------------------------------------------------------------------------- */

static bool event_user_is(json_object *event, const char *user)
{
    json_object *source, *u, *name;
    return json_object_object_get_ex(event, "source", &source) &&
           json_object_object_get_ex(source, "user", &u) &&
           json_object_object_get_ex(u, "username", &name) &&
           json_object_is_type(name, json_type_string) &&
           strcmp(json_object_get_string(name), user) == 0;
}

static bool sub_accepts(const ftrack_hub *hub, fti_sub *s, const ftrack_expression *target,
                        json_object *event)
{
    if (s->ignore_own_user && event_user_is(event, hub->api_user))
        return false;
    if (target) {
        pthread_mutex_lock(&s->meta_lock);
        bool ok = ftrack_expression_match(target, s->metadata);
        pthread_mutex_unlock(&s->meta_lock);
        if (!ok)
            return false;
    }
    return ftrack_expression_match(s->expr, event);
}

static const char *json_string_key(json_object *obj, const char *key)
{
    json_object *v;
    if (json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

/* The compiled target of an event, NULL when it has none; *bad when it does not parse. */
static ftrack_expression *compile_target(json_object *event, bool *bad)
{
    *bad = false;
    const char *t = json_string_key(event, "target");
    if (!t || !*t)
        return NULL;
    ftrack_expression *e = NULL;
    ftrack_error err;
    if (ftrack_expression_compile(t, &e, &err) != FTRACK_OK) {
        ftrack_log_event(FTRACK_LOG_WARNING, "hub", json_string_key(event, "id"),
                         json_string_key(event, "topic"), "dropped an event with a bad target: %s",
                         err.message);
        *bad = true;
        return NULL;
    }
    return e;
}

/* ---- routing ------------------------------------------------------------------------------ */

typedef struct queue_set {
    ftrack_hub_queue *q[16];
    ftrack_hub_queue **more;
    size_t n, cap;
} queue_set;

static bool queue_set_has(const queue_set *s, const ftrack_hub_queue *q)
{
    for (size_t i = 0; i < s->n; i++)
        if ((i < 16 ? s->q[i] : s->more[i - 16]) == q)
            return true;
    return false;
}

/* Takes a reference on q. */
static void queue_set_add(queue_set *s, ftrack_hub_queue *q)
{
    if (!q || queue_set_has(s, q))
        return;
    if (s->n >= 16) {
        size_t i = s->n - 16;
        if (i >= s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            ftrack_hub_queue **m = realloc(s->more, cap * sizeof(*m));
            if (!m)
                return;
            s->more = m;
            s->cap = cap;
        }
        s->more[i] = q;
    } else {
        s->q[s->n] = q;
    }
    s->n++;
    atomic_fetch_add(&q->refs, 1);
}

static ftrack_hub_queue *queue_set_at(const queue_set *s, size_t i)
{
    return i < 16 ? s->q[i] : s->more[i - 16];
}

/* The queue that published the event this replies to, referenced; NULL when unknown. */
static ftrack_hub_queue *reply_queue(ftrack_hub *hub, json_object *event)
{
    const char *irt = json_string_key(event, "inReplyToEvent");
    if (!irt)
        irt = json_string_key(event, "in_reply_to_event");
    if (!irt)
        return NULL;
    ftrack_hub_queue *q = NULL;
    void *v = NULL;
    pthread_mutex_lock(&hub->lock);
    if (lh_table_lookup_ex(hub->replies, irt, &v) && v) {
        q = ((fti_reply_entry *)v)->queue;
        atomic_fetch_add(&q->refs, 1);
    }
    pthread_mutex_unlock(&hub->lock);
    return q;
}

void fti_route(ftrack_hub *hub, json_object *event, const char *text, size_t len,
               bool force_default)
{
    fti_subset *set = fti_subset_get(hub);
    fti_route_set(hub, set, event, text, len, force_default);
    fti_subset_release(set);
}

void fti_route_set(ftrack_hub *hub, fti_subset *set, json_object *event, const char *text,
                   size_t len, bool force_default)
{
    bool bad;
    ftrack_expression *target = compile_target(event, &bad);
    if (bad)
        return;
    queue_set qs = {.n = 0};
    for (size_t i = 0; set && i < set->n; i++) {
        fti_sub *s = set->subs[i];
        if (atomic_load(&s->removed))
            continue;
        if (!s->internal_reply && queue_set_has(&qs, s->queue))
            continue; /* one match per queue is enough */
        if (!sub_accepts(hub, s, target, event))
            continue;
        if (s->internal_reply) {
            ftrack_hub_queue *rq = reply_queue(hub, event);
            queue_set_add(&qs, rq);
            fti_queue_unref(rq);
        } else {
            queue_set_add(&qs, s->queue);
        }
    }
    ftrack_expression_free(target);
    if (force_default)
        queue_set_add(&qs, hub->default_queue);
    if (qs.n && !text)
        text = json_object_to_json_string_length(
            event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    for (size_t i = 0; i < qs.n; i++) {
        ftrack_hub_queue *q = queue_set_at(&qs, i);
        if (text)
            fti_queue_push(q, text, len);
        fti_queue_unref(q);
    }
    free(qs.more);
}

void fti_emit_meta(ftrack_hub *hub, const char *topic)
{
    ftrack_event *ev = ftrack_event_new(topic, NULL);
    if (!ev)
        return;
    ftrack_event_prepare_source(ev, hub->id, hub->api_user, hub->hostname);
    size_t len;
    char *text = ftrack_event_serialize(ev, &len);
    if (text)
        fti_route(hub, ftrack_event_json(ev), text, len,
                  strcmp(topic, "ftrack.meta.disconnected") == 0);
    ftrack_free(text);
    ftrack_event_free(ev);
}

/* ---- replies ------------------------------------------------------------------------------
 * Each queue keeps its entries in deadline order, so closing windows pops from the head, and
 * the acks that arrived in a list of their own, so handing them over never walks the rest. */

/* Wake the queue's taker so it looks at its replies now (caller holds hub->lock). */
static void reply_kick_locked(ftrack_hub_queue *q)
{
    pthread_mutex_lock(&q->lock);
    atomic_store(&q->reply_kick, true);
    pthread_cond_broadcast(&q->cond);
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

/* ---- dispatch ------------------------------------------------------------------------------ */

/* ---- a callback's reply as text ------------------------------------------------------------
 * Building the reply event (a copy of the metadata for its source, json-c objects for every
 * value) and serialising it was a sixth of a busy host's CPU, though most of the text is the
 * same for every reply of a subscriber. So the source's text is made once per metadata
 * version, exactly as the old road made it (copy, ftrack_event_prepare_source, serialise),
 * and the rest is written around it in assemble()'s key order: tests/unit/hub_reply_text_test.c
 * holds the two roads to the same bytes. */

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static struct fti_reply_source *reply_source_build_locked(ftrack_hub *hub, fti_sub *s)
{
    json_object *copy = NULL;
    if (json_object_deep_copy(s->metadata, &copy, NULL) != 0 || !copy) {
        json_object_put(copy);
        return NULL;
    }
    ftrack_event *ev = ftrack_event_new("ftrack.meta.reply", NULL);
    if (!ev) {
        json_object_put(copy);
        return NULL;
    }
    ftrack_event_set_source(ev, copy);
    ftrack_event_prepare_source(ev, hub->id, hub->api_user, hub->hostname);
    size_t n = 0;
    const char *text = json_object_to_json_string_length(ftrack_event_source(ev), JSON_FLAGS, &n);
    struct fti_reply_source *rs = text ? malloc(sizeof(*rs) + n + 1) : NULL;
    if (rs) {
        atomic_init(&rs->refs, 1);
        rs->version = s->meta_version;
        rs->len = n;
        memcpy(rs->text, text, n + 1);
    }
    ftrack_event_free(ev);
    return rs;
}

/* A reference to the subscriber's current source text (NULL when out of memory). */
static struct fti_reply_source *reply_source_get(ftrack_hub *hub, fti_sub *s)
{
    pthread_mutex_lock(&s->meta_lock);
    struct fti_reply_source *rs = s->reply_source;
    if (!rs || rs->version != s->meta_version) {
        rs = reply_source_build_locked(hub, s);
        if (rs) {
            reply_source_release(s->reply_source);
            s->reply_source = rs;
        }
    }
    if (rs)
        atomic_fetch_add(&rs->refs, 1);
    pthread_mutex_unlock(&s->meta_lock);
    return rs;
}

static void add_piece(fti_reply_text *r, const char *text, size_t len, bool escape)
{
    r->pieces[r->n++] = (fti_text_piece){.text = text, .len = len, .escape = escape};
}

#define ADD_LITERAL(r, lit) add_piece((r), (lit), sizeof(lit) - 1, false)

ftrack_status fti_reply_text_make(ftrack_hub *hub, fti_sub *s, const ftrack_event *event,
                                  const char *data_json, size_t data_len, fti_reply_text *out,
                                  ftrack_error *err)
{
    memset(out, 0, sizeof(*out));
    /* ftrack_event_reply_new's rule: the target is id=<source.id>, as far as its first NUL */
    json_object *src_id = NULL, *irt = NULL;
    if (!json_object_object_get_ex(ftrack_event_source(event), "id", &src_id) ||
        !json_object_is_type(src_id, json_type_string))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "the event has no source.id to address a reply to (or out of memory)");
    json_object_object_get_ex(ftrack_event_json(event), "id", &irt);
    out->source = reply_source_get(hub, s);
    if (!out->source)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    ftrack_uuid_hex(out->id);
    if (!data_json) {
        data_json = "{}";
        data_len = 2;
    }
    const char *target = json_object_get_string(src_id);
    ADD_LITERAL(out, "{\"id\":\"");
    add_piece(out, out->id, 32, false);
    ADD_LITERAL(out, "\",\"data\":");
    add_piece(out, data_json, data_len, false);
    ADD_LITERAL(out, ",\"topic\":\"ftrack.meta.reply\",\"sent\":null,\"source\":");
    add_piece(out, out->source->text, out->source->len, false);
    ADD_LITERAL(out, ",\"target\":\"id=");
    add_piece(out, target, strlen(target), true);
    if (json_object_is_type(irt, json_type_string)) {
        ADD_LITERAL(out, "\",\"inReplyToEvent\":\"");
        add_piece(out, json_object_get_string(irt), (size_t)json_object_get_string_len(irt), true);
        ADD_LITERAL(out, "\"}");
    } else {
        ADD_LITERAL(out, "\",\"inReplyToEvent\":null}");
    }
    return FTRACK_OK;
}

void fti_reply_text_clear(fti_reply_text *r)
{
    reply_source_release(r->source);
    r->source = NULL;
    r->n = 0;
}

/* Publish a callback's result (taken) as its reply, written as text (above). No ack is asked
 * for: nobody waits for it (the JavaScript client never asks either, protocol §5.4). Returns
 * whether the reply was published. */
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

void fti_dispatch(ftrack_hub *hub, ftrack_hub_queue *queue, ftrack_event *event,
                  const ftrack_delivery *delivery, json_object *results,
                  ftrack_dispatch_result *counts)
{
    ftrack_dispatch_result local = {.size = sizeof(local)};
    if (!counts)
        counts = &local;
    json_object *wire = ftrack_event_json(event);
    bool bad;
    ftrack_expression *target = compile_target(wire, &bad);
    if (bad)
        return;
    ftrack_delivery d;
    memset(&d, 0, sizeof(d));
    if (delivery) {
        size_t n = delivery->size && delivery->size < sizeof(d) ? delivery->size : sizeof(d);
        memcpy(&d, delivery, n);
    }
    d.size = sizeof(d);
    if (d.attempt == 0)
        d.attempt = 1;
    bool sync = results != NULL;
    fti_subset *set = fti_subset_get(hub);
    for (size_t i = 0; set && i < set->n; i++) {
        fti_sub *s = set->subs[i];
        if (s->internal_reply) {
            if (!sync && sub_accepts(hub, s, target, wire))
                handle_reply(hub, queue, event);
        } else if ((sync || s->queue == queue) && sub_accepts(hub, s, target, wire) &&
                   !atomic_load(&s->removed)) {
            run_callback(hub, s, event, &d, results, counts);
        }
        if (ftrack_event_is_stopped(event))
            break;
    }
    fti_subset_release(set);
    ftrack_expression_free(target);
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

ftrack_status ftrack_hub_queue_dispatch_ex(ftrack_hub_queue *queue, const char *text, size_t len,
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
    fti_dispatch(queue->hub, queue, ev, delivery, NULL, &counts);
    ftrack_event_free(ev);
    result_out(result, &counts);
    return FTRACK_OK;
}

ftrack_status ftrack_hub_queue_dispatch(ftrack_hub_queue *queue, const char *text, size_t len,
                                        const ftrack_delivery *delivery, ftrack_error *err)
{
    return ftrack_hub_queue_dispatch_ex(queue, text, len, delivery, NULL, err);
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
    memset(&d, 0, sizeof(d));
    if (delivery) {
        size_t n = delivery->size && delivery->size < sizeof(d) ? delivery->size : sizeof(d);
        memcpy(&d, delivery, n);
    }
    d.size = sizeof(d);
    if (d.attempt == 0)
        d.attempt = 1;
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
        char *text = ftrack_hub_queue_take(q, left > 1e300 ? -1.0 : left, &len);
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
            free(text);
            continue;
        }
        free(text);
        fti_dispatch(hub, q, ev, NULL, NULL, NULL);
        bool disconnected = strcmp(ftrack_event_topic(ev), "ftrack.meta.disconnected") == 0;
        ftrack_event_free(ev);
        if (disconnected)
            return FTRACK_OK;
    }
}
