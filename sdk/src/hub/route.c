/* SPDX-License-Identifier: Apache-2.0 */
/* Subscriber sets and routing (protocol §6.6): which delivery queues an event goes to.
 *
 * The subscribers are an immutable, reference-counted snapshot (fti_subset), replaced whole on
 * every subscribe or unsubscribe, so routing reads it without the hub's lock. Routing runs on
 * whichever thread received the event (the service thread for server events): it matches the
 * event once against every subscriber and appends its text once to each queue with a match,
 * with the record of which subscribers matched (match.c), so dispatch (dispatch.c) on the
 * consumer's own parsed copy calls them without matching again. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "event/expression_internal.h"
#include "hub/hub_internal.h"

/* ---- subscriber sets ------------------------------------------------------------------- */

void fti_sub_release(fti_sub *sub)
{
    if (!sub || atomic_fetch_sub(&sub->refs, 1) != 1)
        return;
    ftrack_expression_free(sub->expr);
    json_object_put(sub->metadata);
    fti_reply_source_release(sub->reply_source);
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
    if (!fti_array_reserve(&l->keys, &l->cap, l->n + 1, sizeof(*l->keys))) {
        l->all = true; /* the whole event always does */
        return;
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

bool fti_sub_accepts(const ftrack_hub *hub, fti_sub *s, const ftrack_expression *target,
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

/* The compiled target of an event, NULL when it has none; *bad when it does not parse. */
ftrack_expression *fti_compile_target(json_object *event, bool *bad)
{
    *bad = false;
    const char *t = fti_json_string(event, "target");
    if (!t || !*t)
        return NULL;
    ftrack_expression *e = NULL;
    ftrack_error err;
    if (ftrack_expression_compile(t, &e, &err) != FTRACK_OK) {
        ftrack_log_event(FTRACK_LOG_WARNING, "hub", fti_json_string(event, "id"),
                         fti_json_string(event, "topic"), "dropped an event with a bad target: %s",
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
        if (!fti_array_reserve(&s->more, &s->cap, i + 1, sizeof(*s->more)))
            return;
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

/* Leave slot i empty (NULL): its queue is not pushed. */
static void queue_set_clear(queue_set *s, size_t i)
{
    if (i < 16)
        s->q[i] = NULL;
    else
        s->more[i - 16] = NULL;
}

static void offer_intake(ftrack_hub *hub, queue_set *qs, json_object *event, const char *text,
                         size_t len, ftrack_hub_match *match);

/* The queue that published the event this replies to, referenced; NULL when unknown. */
static ftrack_hub_queue *reply_queue(ftrack_hub *hub, json_object *event)
{
    const char *irt = fti_json_string(event, "inReplyToEvent");
    if (!irt)
        irt = fti_json_string(event, "in_reply_to_event");
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
    ftrack_expression *target = fti_compile_target(event, &bad);
    if (bad)
        return;
    queue_set qs = {.n = 0};
    /* Every subscriber is matched, not just one per queue: the record is all dispatch needs.
     * It is made at the first match, so an event nobody takes costs no allocation. */
    ftrack_hub_match *match = NULL;
    bool recording = true;
    for (size_t i = 0; set && i < set->n; i++) {
        fti_sub *s = set->subs[i];
        if (atomic_load(&s->removed))
            continue;
        if (!recording && !s->internal_reply && queue_set_has(&qs, s->queue))
            continue; /* without a record (out of memory) one match per queue is enough */
        if (!fti_sub_accepts(hub, s, target, event))
            continue;
        if (recording && !match)
            recording = (match = fti_match_new(set)) != NULL;
        if (match)
            fti_match_mark(match, i);
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
    pthread_rwlock_rdlock(&hub->intake_lock);
    if (text && hub->intake)
        offer_intake(hub, &qs, event, text, len, match);
    for (size_t i = 0; i < qs.n; i++) {
        ftrack_hub_queue *q = queue_set_at(&qs, i);
        if (text && q)
            fti_queue_push(q, text, len, match);
        fti_queue_unref(q);
    }
    pthread_rwlock_unlock(&hub->intake_lock);
    ftrack_hub_match_unref(match);
    free(qs.more);
}

/* ---- the intake callback (ftrack/host.h) ------------------------------------------------- */

/* Hand the tagged queues of `qs` to the intake callback; those it took are cleared from `qs`
 * (and unreferenced) so they are not pushed. Caller holds intake_lock for reading. */
static void offer_intake(ftrack_hub *hub, queue_set *qs, json_object *event, const char *text,
                         size_t len, ftrack_hub_match *match)
{
    void *small[16], **tagged = small;
    bool small_taken[16], *taken = small_taken;
    size_t small_index[16], *index = small_index;
    if (qs->n > 16) {
        tagged = malloc(qs->n * sizeof(*tagged));
        taken = malloc(qs->n * sizeof(*taken));
        index = malloc(qs->n * sizeof(*index));
    }
    size_t n = 0;
    for (size_t i = 0; tagged && taken && index && i < qs->n; i++) {
        ftrack_hub_queue *q = queue_set_at(qs, i);
        if (!q->tag)
            continue;
        tagged[n] = q->tag;
        taken[n] = false;
        index[n++] = i;
    }
    if (n)
        hub->intake(event, text, len, match, tagged, taken, n, hub->intake_data);
    for (size_t k = 0; k < n; k++) {
        if (!taken[k])
            continue;
        fti_queue_unref(queue_set_at(qs, index[k]));
        queue_set_clear(qs, index[k]);
    }
    if (tagged != small) {
        free(tagged);
        free(taken);
        free(index);
    }
}

void ftrack_hub_set_intake(ftrack_hub *hub, ftrack_hub_intake_callback callback, void *user_data)
{
    if (!hub)
        return;
    pthread_rwlock_wrlock(&hub->intake_lock);
    hub->intake = callback;
    hub->intake_data = user_data;
    pthread_rwlock_unlock(&hub->intake_lock);
}

void ftrack_hub_queue_set_tag(ftrack_hub_queue *queue, void *tag)
{
    if (!queue)
        return;
    pthread_rwlock_wrlock(&queue->hub->intake_lock);
    queue->tag = tag;
    pthread_rwlock_unlock(&queue->hub->intake_lock);
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
