/* SPDX-License-Identifier: Apache-2.0 */
/* The hub's router: subscribers per connection, indexed by the topic their expression pins
 * down, so an event only evaluates the subscribers that could match it (protocol
 * Appendix B rules 5-6). */
#include <stdlib.h>
#include <string.h>
#include <json-c/linkhash.h>

#include "common/internal.h"
#include "server_internal.h"

enum sub_kind { SUB_EXACT, SUB_PREFIX, SUB_ANY };

/* Subscribers sharing one index key. Order inside a bucket does not matter: delivery is per
 * connection. */
typedef struct bucket {
    char *key;
    fhub_router_sub **subs;
    size_t n, cap;
} bucket;

struct fhub_router_sub {
    fhub_route_peer *peer;
    char *id;
    json_object *metadata;
    ftrack_expression *expr;
    enum sub_kind kind;
    bucket *bucket;
    size_t bucket_index;
};

struct fhub_router {
    struct lh_table *exact;  /* topic → bucket */
    struct lh_table *prefix; /* topic prefix → bucket */
    bucket any;              /* expressions with no topic hint */
    size_t *prefix_lens;     /* prefix_lens[n]: prefix buckets whose key has length n */
    size_t prefix_lens_cap;
    size_t nsubs;
    uint64_t generation;
    size_t last_candidates;
};

static void bucket_entry_free(struct lh_entry *e)
{
    bucket *b = (bucket *)lh_entry_v(e);
    free(b->subs);
    free(b->key);
    free(b);
}

fhub_router *fhub_router_new(void)
{
    fhub_router *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->exact = lh_kchar_table_new(64, bucket_entry_free);
    r->prefix = lh_kchar_table_new(16, bucket_entry_free);
    if (!r->exact || !r->prefix) {
        fhub_router_free(r);
        return NULL;
    }
    return r;
}

void fhub_router_free(fhub_router *r)
{
    if (!r)
        return;
    if (r->exact)
        lh_table_free(r->exact);
    if (r->prefix)
        lh_table_free(r->prefix);
    free(r->any.subs);
    free(r->prefix_lens);
    free(r);
}

static bool bucket_push(bucket *b, fhub_router_sub *s)
{
    if (!fti_array_reserve(&b->subs, &b->cap, b->n + 1, sizeof(*b->subs)))
        return false;
    s->bucket = b;
    s->bucket_index = b->n;
    b->subs[b->n++] = s;
    return true;
}

static void bucket_remove(bucket *b, fhub_router_sub *s)
{
    size_t i = s->bucket_index;
    b->subs[i] = b->subs[--b->n];
    b->subs[i]->bucket_index = i;
}

static bool prefix_len_adjust(fhub_router *r, size_t len, int delta)
{
    size_t old_cap = r->prefix_lens_cap;
    if (!fti_array_reserve(&r->prefix_lens, &r->prefix_lens_cap, len + 1, sizeof(size_t)))
        return false;
    if (r->prefix_lens_cap > old_cap) /* counts of lengths not seen yet */
        memset(r->prefix_lens + old_cap, 0, (r->prefix_lens_cap - old_cap) * sizeof(size_t));
    r->prefix_lens[len] = (size_t)((long)r->prefix_lens[len] + delta);
    return true;
}

/* The bucket for `key` in `table`, created when missing. */
static bucket *bucket_for(struct lh_table *table, const char *key)
{
    void *v = NULL;
    if (lh_table_lookup_ex(table, key, &v))
        return v;
    bucket *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->key = strdup(key);
    if (!b->key || lh_table_insert(table, b->key, b) != 0) {
        free(b->key);
        free(b);
        return NULL;
    }
    return b;
}

static bool index_sub(fhub_router *r, fhub_router_sub *s)
{
    const char *topic = NULL;
    bool is_prefix = false;
    if (!ftrack_expression_topic_hint(s->expr, &topic, &is_prefix) || !topic) {
        s->kind = SUB_ANY;
        return bucket_push(&r->any, s);
    }
    size_t len = strlen(topic);
    /* Accept the hint with or without its trailing '*'. */
    if (is_prefix && len > 0 && topic[len - 1] == '*')
        len--;
    char *key = strndup(topic, len);
    if (!key)
        return false;
    s->kind = is_prefix ? SUB_PREFIX : SUB_EXACT;
    bucket *b = bucket_for(is_prefix ? r->prefix : r->exact, key);
    bool ok = b && (!is_prefix || prefix_len_adjust(r, len, +1));
    if (ok && !bucket_push(b, s)) {
        if (is_prefix)
            prefix_len_adjust(r, len, -1);
        ok = false;
    }
    free(key);
    return ok;
}

static void unindex_sub(fhub_router *r, fhub_router_sub *s)
{
    bucket *b = s->bucket;
    if (!b)
        return;
    bucket_remove(b, s);
    s->bucket = NULL;
    if (s->kind == SUB_ANY || b->n > 0)
        return;
    if (s->kind == SUB_PREFIX)
        prefix_len_adjust(r, strlen(b->key), -1);
    /* Deleting frees b and its key. */
    lh_table_delete(s->kind == SUB_PREFIX ? r->prefix : r->exact, b->key);
}

static void sub_free(fhub_router_sub *s)
{
    if (!s)
        return;
    ftrack_expression_free(s->expr);
    json_object_put(s->metadata);
    free(s->id);
    free(s);
}

static ssize_t peer_find(const fhub_route_peer *peer, const char *id)
{
    for (size_t i = 0; i < peer->nsubs; i++)
        if (strcmp(peer->subs[i]->id, id) == 0)
            return (ssize_t)i;
    return -1;
}

static void peer_drop_at(fhub_router *r, fhub_route_peer *peer, size_t i)
{
    fhub_router_sub *s = peer->subs[i];
    unindex_sub(r, s);
    memmove(peer->subs + i, peer->subs + i + 1, (peer->nsubs - i - 1) * sizeof(*peer->subs));
    peer->nsubs--;
    r->nsubs--;
    sub_free(s);
}

static bool peer_push(fhub_route_peer *peer, fhub_router_sub *s)
{
    if (!fti_array_reserve(&peer->subs, &peer->cap, peer->nsubs + 1, sizeof(*peer->subs)))
        return false;
    peer->subs[peer->nsubs++] = s;
    return true;
}

ftrack_status fhub_router_subscribe(fhub_router *r, fhub_route_peer *peer, json_object *metadata,
                                   const char *subscription, ftrack_error *err)
{
    json_object *idv = NULL;
    if (!json_object_is_type(metadata, json_type_object) ||
        !json_object_object_get_ex(metadata, "id", &idv) ||
        !json_object_is_type(idv, json_type_string) || json_object_get_string_len(idv) == 0)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "subscriber has no string id");
    if (!subscription)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "subscription is not a string");
    fhub_router_sub *s = calloc(1, sizeof(*s));
    if (!s)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    ftrack_status st = ftrack_expression_compile(subscription, &s->expr, err);
    if (st != FTRACK_OK) {
        free(s);
        return st;
    }
    s->peer = peer;
    s->id = strdup(json_object_get_string(idv));
    s->metadata = json_object_get(metadata);
    if (!s->id) {
        sub_free(s);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    /* A repeated id replaces the earlier entry: subscribe is idempotent per connection. */
    ssize_t old = peer_find(peer, s->id);
    if (old >= 0)
        peer_drop_at(r, peer, (size_t)old);
    if (!index_sub(r, s)) {
        sub_free(s);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    if (!peer_push(peer, s)) {
        unindex_sub(r, s);
        sub_free(s);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    r->nsubs++;
    return FTRACK_OK;
}

ftrack_status fhub_router_unsubscribe(fhub_router *r, fhub_route_peer *peer, const char *id,
                                     ftrack_error *err)
{
    ssize_t i = id ? peer_find(peer, id) : -1;
    if (i < 0)
        return fti_error(err, FTRACK_ERR_NOT_FOUND,
                         "no subscriber with id '%.80s' on this connection", id ? id : "");
    peer_drop_at(r, peer, (size_t)i);
    return FTRACK_OK;
}

void fhub_router_remove_peer(fhub_router *r, fhub_route_peer *peer)
{
    while (peer->nsubs > 0)
        peer_drop_at(r, peer, peer->nsubs - 1);
    free(peer->subs);
    peer->subs = NULL;
    peer->cap = 0;
}

typedef struct route_ctx {
    fhub_router *r;
    json_object *event;
    const ftrack_expression *target;
    fhub_route_deliver_fn deliver;
    void *user_data;
    size_t delivered;
} route_ctx;

static void visit(route_ctx *c, const bucket *b)
{
    for (size_t i = 0; i < b->n; i++) {
        fhub_router_sub *s = b->subs[i];
        if (s->peer->mark == c->r->generation)
            continue;
        c->r->last_candidates++;
        if (!ftrack_expression_match(s->expr, c->event))
            continue;
        if (c->target && !ftrack_expression_match(c->target, s->metadata))
            continue;
        s->peer->mark = c->r->generation;
        c->delivered++;
        c->deliver(s->peer, c->user_data);
    }
}

static void visit_prefixes(route_ctx *c, const char *topic)
{
    size_t tlen = strlen(topic);
    size_t max = tlen < c->r->prefix_lens_cap ? tlen : c->r->prefix_lens_cap - 1;
    if (c->r->prefix_lens_cap == 0)
        return;
    char small[256];
    char *key = tlen < sizeof(small) ? small : malloc(tlen + 1);
    if (!key)
        return;
    for (size_t n = 0; n <= max; n++) {
        if (c->r->prefix_lens[n] == 0)
            continue;
        memcpy(key, topic, n);
        key[n] = '\0';
        void *v = NULL;
        if (lh_table_lookup_ex(c->r->prefix, key, &v))
            visit(c, v);
    }
    if (key != small)
        free(key);
}

size_t fhub_router_route(fhub_router *r, json_object *event, const ftrack_expression *target,
                        fhub_route_deliver_fn deliver, void *user_data)
{
    route_ctx c = {r, event, target, deliver, user_data, 0};
    r->generation++;
    r->last_candidates = 0;
    json_object *tv = NULL;
    const char *topic = NULL;
    if (json_object_object_get_ex(event, "topic", &tv) && json_object_is_type(tv, json_type_string))
        topic = json_object_get_string(tv);
    if (topic) {
        void *v = NULL;
        if (lh_table_lookup_ex(r->exact, topic, &v))
            visit(&c, v);
        visit_prefixes(&c, topic);
    }
    visit(&c, &r->any);
    return c.delivered;
}

size_t fhub_router_subscriber_count(const fhub_router *r)
{
    return r->nsubs;
}

size_t fhub_router_last_candidates(const fhub_router *r)
{
    return r->last_candidates;
}
