/* SPDX-License-Identifier: Apache-2.0 */
/* Queue mode: stream keys and partitions, the process's role, and the ingest (queue_mode.h,
 * docs/scale-out.md). The options are parsed in queue_options.c, the worker side is in
 * queue_worker.c. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "common/internal.h"
#include "config/config.h"
#include "config/host_options.h"
#include "scale/queue_mode.h"
#include "scale/queue_redis.h"

#define DEFAULT_REDIS "127.0.0.1:6379"
#define DEFAULT_STREAM "ftrack-host:events"
#define DEFAULT_GROUP "ftrack-host"
#define INGEST_QUEUE_CAPACITY 200000
#define INGEST_SYNC_INTERVAL 1.0
#define INGEST_STOP_GRACE 3.0

/* ---- keys and partitions --------------------------------------------------------------- */

const char *fth_queue_stream_key(const fth_queue_options *o, unsigned p, char *buf, size_t size)
{
    const char *stream = o->stream ? o->stream : DEFAULT_STREAM;
    if (o->partitions <= 1)
        snprintf(buf, size, "%s", stream);
    else
        snprintf(buf, size, "%s:%u", stream, p);
    return buf;
}

static const char *string_at(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* The id an ordered plugin's order is kept by: the event's first entity. */
static const char *first_entity_id(json_object *event)
{
    json_object *data, *entities;
    if (!json_object_object_get_ex(event, "data", &data))
        return NULL;
    if (json_object_object_get_ex(data, "entities", &entities) &&
        json_object_is_type(entities, json_type_array) && json_object_array_length(entities) > 0) {
        json_object *first = json_object_array_get_idx(entities, 0);
        const char *id = string_at(first, "entityId");
        return id ? id : string_at(first, "entity_id");
    }
    return string_at(data, "entityId");
}

unsigned fth_queue_partition_of(json_object *event, unsigned partitions)
{
    if (partitions <= 1)
        return 0;
    const char *key = first_entity_id(event);
    if (!key)
        key = string_at(event, "id");
    if (!key)
        return 0;
    uint64_t h = 14695981039346656037ULL; /* FNV-1a: stable across hosts and versions */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (unsigned)(h % partitions);
}

bool fth_queue_subscription_key(const char *expression, json_object *metadata, char out[41])
{
    json_object *copy = NULL;
    if (metadata && json_object_deep_copy(metadata, &copy, NULL) != 0)
        return false;
    if (copy)
        json_object_object_del(copy, "id");
    const char *meta = copy ? json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PLAIN) : "{}";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
              EVP_DigestUpdate(ctx, expression, strlen(expression)) &&
              EVP_DigestUpdate(ctx, "\n", 1) && EVP_DigestUpdate(ctx, meta, strlen(meta)) &&
              EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    json_object_put(copy);
    if (!ok || mdlen < 20)
        return false;
    for (unsigned i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return true;
}

/* ---- the process's role ---------------------------------------------------------------- */

static fth_queue_options g_opts;
static bool g_configured;
static char *g_password;

fth_queue_role fth_queue_mode_role(void)
{
    return g_configured ? g_opts.mode : FTH_QUEUE_OFF;
}

const fth_queue_options *fth_queue_mode_options(void)
{
    return &g_opts;
}

bool fth_queue_worker_enabled(void)
{
    return fth_queue_mode_role() == FTH_QUEUE_WORKER;
}

const char *fth_queue_mode_password(void)
{
    return g_password;
}

static int usage(const char *message)
{
    ftrack_log(FTRACK_LOG_ERROR, "queue", "%s", message);
    return FTH_OPTIONS_INVALID;
}

static int apply_flags(const fth_host_options *options)
{
    char msg[400];
    if (options->queue_mode && !fth_queue_role_parse(options->queue_mode, &g_opts.mode)) {
        snprintf(msg, sizeof(msg), "--queue-mode wants off, ingest or worker, got '%s'",
                 options->queue_mode);
        return usage(msg);
    }
    if (options->queue_redis) {
        fth_redis probe;
        bool ok = fth_redis_init(&probe, options->queue_redis, NULL, "check");
        fth_redis_clear(&probe);
        if (!ok) {
            snprintf(msg, sizeof(msg), "--queue-redis wants HOST:PORT or unix:/path, got '%s'",
                     options->queue_redis);
            return usage(msg);
        }
        free(g_opts.redis);
        g_opts.redis = fti_strdup(options->queue_redis);
    }
    if (options->queue_consumer) {
        free(g_opts.consumer);
        g_opts.consumer = fti_strdup(options->queue_consumer);
    }
    return 0;
}

static void fill_defaults(void)
{
    if (!g_opts.redis)
        g_opts.redis = fti_strdup(DEFAULT_REDIS);
    if (!g_opts.stream)
        g_opts.stream = fti_strdup(DEFAULT_STREAM);
    if (!g_opts.group)
        g_opts.group = fti_strdup(DEFAULT_GROUP);
    if (!g_opts.consumer) {
        char host[256] = "host", name[320];
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        snprintf(name, sizeof(name), "%s-%ld", host, (long)getpid());
        g_opts.consumer = fti_strdup(name);
    }
}

int fth_queue_mode_configure(const fth_host_options *options)
{
    fth_queue_mode_stop();
    fth_queue_options_init(&g_opts);
    ftrack_error err;
    ftrack_error_clear(&err);
    const char *origin = options->config_path ? options->config_path : "configuration";
    if (options->config.queue &&
        fth_queue_options_parse(options->config.queue, origin, &g_opts, &err) != FTRACK_OK) {
        fth_queue_options_clear(&g_opts);
        return usage(err.message);
    }
    int rc = apply_flags(options);
    if (rc) {
        fth_queue_options_clear(&g_opts);
        return rc;
    }
    fill_defaults();
    if (g_opts.password_file) {
        g_password = fth_read_secret_file(g_opts.password_file, &err);
        if (!g_password) {
            fth_queue_options_clear(&g_opts);
            return usage(err.message);
        }
    }
    g_configured = true;
    if (g_opts.mode != FTH_QUEUE_OFF)
        ftrack_log(FTRACK_LOG_INFO, "queue",
                   "queue mode %s: Redis %s, stream %s (%u partition%s), group %s, consumer %s",
                   g_opts.mode == FTH_QUEUE_INGEST ? "ingest" : "worker", g_opts.redis,
                   g_opts.stream, g_opts.partitions, g_opts.partitions == 1 ? "" : "s",
                   g_opts.group, g_opts.consumer);
    return 0;
}

ftrack_status fth_queue_mode_session_opened(ftrack_session *session, ftrack_error *err)
{
    if (fth_queue_mode_role() != FTH_QUEUE_WORKER)
        return FTRACK_OK;
    ftrack_hub *hub = ftrack_session_hub(session);
    /* Events reach a worker through the stream only; the hub connection carries replies and
     * the plugins' own publishes. */
    ftrack_hub_set_local_subscriptions(hub, true);
    return ftrack_hub_connect(hub, err);
}

/* ---- ingest ---------------------------------------------------------------------------- */

/* Dedup and append in one step, so two ingest hosts racing on one event add it once. */
static const char INGEST_SCRIPT[] =
    "if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then "
    "return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3], "
    "'id', ARGV[4]) end return false";

typedef struct ingest_sub {
    char key[41];
    char id[FTRACK_ID_MAX];
    bool wanted; /* seen in the latest registry read */
} ingest_sub;

typedef struct ingest {
    ftrack_hub *hub;
    ftrack_hub_queue *queue;
    fth_redis redis;
    pthread_t thread;
    bool started;
    atomic_bool stopping; /* finish what is queued, for INGEST_STOP_GRACE at most */
    atomic_bool abort;    /* the grace is over */
    ingest_sub *subs;
    size_t n, cap;
    double next_sync;
    unsigned long overflow;
    bool error_logged;
} ingest;

static ingest g_ingest;

static json_object *never_called(ftrack_event *event, const ftrack_delivery *d, void *user)
{
    (void)event;
    (void)d;
    (void)user;
    return NULL; /* the ingest takes the queue's texts and never dispatches them */
}

static ingest_sub *find_sub(ingest *g, const char *key)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->subs[i].key, key) == 0)
            return &g->subs[i];
    return NULL;
}

static bool add_sub(ingest *g, const char *key, json_object *entry)
{
    json_object *expr = NULL, *meta = NULL;
    json_object_object_get_ex(entry, "expression", &expr);
    json_object_object_get_ex(entry, "subscriber", &meta);
    if (!json_object_is_type(expr, json_type_string))
        return false;
    if (!fti_array_reserve(&g->subs, &g->cap, g->n + 1, sizeof(*g->subs)))
        return false;
    json_object *copy = NULL;
    if (json_object_is_type(meta, json_type_object))
        json_object_deep_copy(meta, &copy, NULL);
    else
        copy = json_object_new_object();
    /* Unique per ingest host (the server may refuse one id on two connections), stable for
     * the key: the same registry entry always maps to the same subscriber here. */
    ingest_sub *s = &g->subs[g->n];
    memset(s, 0, sizeof(*s));
    fti_strlcpy(s->key, key, sizeof(s->key));
    snprintf(s->id, sizeof(s->id), "q%.20s-%.16s", key, ftrack_hub_id(g->hub));
    json_object_object_add(copy, "id", json_object_new_string(s->id));
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.subscriber = copy;
    so.queue = g->queue;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = ftrack_hub_subscribe(g->hub, json_object_get_string(expr), never_called,
                                            NULL, &so, NULL, &err);
    json_object_put(copy);
    if (st != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_WARNING, "queue", "ingest: cannot subscribe '%s': %s",
                   json_object_get_string(expr), err.message);
        return false;
    }
    s->wanted = true;
    g->n++;
    return true;
}

static void drop_unwanted(ingest *g, size_t *removed)
{
    size_t keep = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (g->subs[i].wanted) {
            g->subs[keep++] = g->subs[i];
            continue;
        }
        ftrack_hub_unsubscribe(g->hub, g->subs[i].id, NULL);
        (*removed)++;
    }
    g->n = keep;
}

static double entry_seen(json_object *entry)
{
    json_object *v;
    return json_object_object_get_ex(entry, "seen", &v) ? json_object_get_double(v) : 0;
}

/* Forget a registry entry no worker refreshed within subscription_ttl. */
static void expire_entry(ingest *g, const char *registry, const char *key)
{
    const char *argv[] = {"HDEL", registry, key};
    redisReply *r = fth_redis_commandv(&g->redis, 3, argv);
    if (r)
        freeReplyObject(r);
    ftrack_log(FTRACK_LOG_INFO, "queue",
               "ingest: dropped subscription %s: no worker registered it for %g s", key,
               g_opts.subscription_ttl);
}

/* Bring the hub subscriptions in line with the workers' registry. */
static void sync_subscriptions(ingest *g)
{
    char registry[512];
    snprintf(registry, sizeof(registry), "%s:subscriptions", g_opts.stream);
    const char *argv[] = {"HGETALL", registry};
    redisReply *r = fth_redis_commandv(&g->redis, 2, argv);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return;
    }
    for (size_t i = 0; i < g->n; i++)
        g->subs[i].wanted = false;
    size_t added = 0, removed = 0;
    double now = (double)time(NULL);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *key = r->element[i]->str;
        json_object *entry = json_tokener_parse(r->element[i + 1]->str);
        if (!key || strlen(key) != 40 || !entry) {
            json_object_put(entry);
            continue;
        }
        if (entry_seen(entry) < now - g_opts.subscription_ttl) {
            expire_entry(g, registry, key);
        } else {
            ingest_sub *s = find_sub(g, key);
            if (s)
                s->wanted = true;
            else if (add_sub(g, key, entry))
                added++;
        }
        json_object_put(entry);
    }
    freeReplyObject(r);
    drop_unwanted(g, &removed);
    if (added || removed)
        ftrack_log(FTRACK_LOG_INFO, "queue",
                   "ingest: subscribed on behalf of the workers: %zu subscription%s (+%zu, -%zu)",
                   g->n, g->n == 1 ? "" : "s", added, removed);
}

/* 1 written, 0 not for the stream (or a duplicate), -1 failed: keep it and try again. */
static int write_event(ingest *g, const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *event = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    /* the network thread routes without validating what routing does not read */
    if (tok && json_tokener_get_error(tok) != json_tokener_success)
        ftrack_log(FTRACK_LOG_WARNING, "queue", "ingest: dropped an event that is not valid JSON");
    json_tokener_free(tok);
    const char *id = string_at(event, "id"), *topic = string_at(event, "topic");
    if (!id || !topic || strncmp(topic, "ftrack.meta.", 12) == 0) {
        json_object_put(event); /* local meta events, or nothing to deduplicate by */
        return 0;
    }
    char stream[512], seen[600], ttl[32], maxlen[32];
    fth_queue_stream_key(&g_opts, fth_queue_partition_of(event, g_opts.partitions), stream,
                         sizeof(stream));
    snprintf(seen, sizeof(seen), "%s:seen:%s", g_opts.stream, id);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ceil(g_opts.dedup_ttl));
    snprintf(maxlen, sizeof(maxlen), "%lld", g_opts.max_length);
    const char *argv[] = {"EVAL", INGEST_SCRIPT, "2", seen, stream, ttl, maxlen, text, id};
    size_t lens[9];
    for (int i = 0; i < 9; i++)
        lens[i] = i == 7 ? len : strlen(argv[i]);
    redisReply *r = fth_redis_command(&g->redis, 9, argv, lens);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ERROR) {
        if (!g->error_logged)
            ftrack_log_event(FTRACK_LOG_WARNING, "queue", id, topic,
                             "ingest: Redis refused the event (%s); retrying", r->str);
        g->error_logged = true;
    } else if (r) {
        rc = r->type == REDIS_REPLY_STRING ? 1 : 0;
        fth_metrics_global_add(rc ? FTH_GLOBAL_QUEUE_PUBLISHED : FTH_GLOBAL_QUEUE_DUPLICATES, 1);
        g->error_logged = false;
    }
    if (r)
        freeReplyObject(r);
    json_object_put(event);
    return rc;
}

static void on_ingest_overflow(ftrack_hub_queue *q, const char *text, size_t len, void *ud)
{
    (void)q;
    (void)text;
    (void)len;
    ingest *g = ud;
    if (g->overflow++ % 1000 == 0)
        ftrack_log(FTRACK_LOG_ERROR, "queue",
                   "ingest: %lu events dropped: Redis has been unreachable for too long and the "
                   "in-memory buffer (%d events) is full",
                   g->overflow, INGEST_QUEUE_CAPACITY);
}

static void pause_briefly(void)
{
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void *ingest_main(void *arg)
{
    ingest *g = arg;
    pthread_setname_np(pthread_self(), "fth-ingest"); /* top -H, gdb, the idle test */
    char *held = NULL;
    size_t held_len = 0;
    double give_up = INFINITY;
    for (;;) {
        if (atomic_load(&g->stopping) && !isfinite(give_up))
            give_up = fti_now() + INGEST_STOP_GRACE;
        if (fti_now() > give_up)
            atomic_store(&g->abort, true);
        if (atomic_load(&g->abort))
            break;
        if (!fth_redis_ready(&g->redis, &g->abort))
            continue;
        if (fti_now() >= g->next_sync && !atomic_load(&g->stopping)) {
            sync_subscriptions(g);
            g->next_sync = fti_now() + INGEST_SYNC_INTERVAL;
        }
        if (!held) {
            /* Asleep until an event comes, the queue closes at stop, or the next
             * registry sync is due: no polling. */
            double wait = g->next_sync - fti_now();
            if (atomic_load(&g->stopping) || wait < 0)
                wait = 0;
            held = ftrack_hub_queue_take(g->queue, wait, &held_len);
            if (!held && atomic_load(&g->stopping))
                break;
            if (!held)
                continue;
        }
        int rc = write_event(g, held, held_len);
        if (rc >= 0) {
            ftrack_free(held);
            held = NULL;
        } else {
            pause_briefly();
        }
    }
    size_t left = ftrack_hub_queue_depth(g->queue) + (held ? 1 : 0);
    if (left)
        ftrack_log(FTRACK_LOG_ERROR, "queue",
                   "ingest: stopped with %zu events not written to the stream", left);
    ftrack_free(held);
    return NULL;
}

ftrack_status fth_queue_ingest_start(ftrack_hub *hub, ftrack_error *err)
{
    ingest *g = &g_ingest;
    memset(g, 0, sizeof(*g));
    g->hub = hub;
    if (!fth_redis_init(&g->redis, g_opts.redis, g_password, "ingest"))
        return fti_error(err, FTRACK_ERR_CONFIG, "queue.redis: cannot parse '%s'", g_opts.redis);
    ftrack_status st = ftrack_hub_queue_new(hub, "ingest", INGEST_QUEUE_CAPACITY, &g->queue, err);
    if (st != FTRACK_OK)
        return st;
    ftrack_hub_queue_set_overflow(g->queue, on_ingest_overflow, g);
    int rc = pthread_create(&g->thread, NULL, ingest_main, g);
    if (rc != 0)
        return fti_error(err, FTRACK_ERR_INTERNAL, "cannot start the ingest thread: %s",
                         strerror(rc));
    g->started = true;
    ftrack_log(FTRACK_LOG_INFO, "queue",
               "ready: ingest into stream %s at Redis %s (subscribing for the workers' plugins)",
               g_opts.stream, g_opts.redis);
    return FTRACK_OK;
}

void fth_queue_mode_stop(void)
{
    ingest *g = &g_ingest;
    if (g->started) {
        atomic_store(&g->stopping, true);
        ftrack_hub_queue_close(g->queue); /* wakes the take; what is queued is still written */
        pthread_join(g->thread, NULL);
        g->started = false;
    }
    if (g->queue) {
        ftrack_hub_queue_free(g->queue);
        g->queue = NULL;
    }
    free(g->subs);
    g->subs = NULL;
    g->n = g->cap = 0;
    fth_redis_clear(&g->redis);
    if (g_password) {
        explicit_bzero(g_password, strlen(g_password));
        free(g_password);
        g_password = NULL;
    }
    if (g_configured)
        fth_queue_options_clear(&g_opts);
    g_configured = false;
}
