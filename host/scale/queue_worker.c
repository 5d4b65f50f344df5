/* SPDX-License-Identifier: Apache-2.0 */
/* The worker side of queue mode (queue_mode.h, docs/scale-out.md): one consumer per plugin
 * instance, on the instance's worker thread, with its own Redis connection. An ordered
 * instance reads only the partitions it leases (queue_lease.c).
 *
 * The instance's subscriptions (with their subscriber metadata) come from
 * ftrack_hub_queue_subscriptions(), so this file needs none of the SDK's private headers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/internal.h"
#include "scale/queue_lease.h"
#include "scale/queue_mode.h"
#include "scale/queue_redis.h"

/* A read blocks in Redis until the consumer's next timer, at least this long (a timer that
 * keeps failing is tried again at this pace, not in a busy loop). */
#define MIN_BLOCK_MS 100
/* How long past its BLOCK a read's answer may take before the connection counts as dead. */
#define ANSWER_GRACE 5.0
/* A pause after a pass that could not go on (a group not created, an acknowledgement or a
 * read refused with an error answer). */
#define RETRY_PAUSE 0.1
#define REGISTER_INTERVAL 30.0
#define ACK_BACKLOG_MAX 100000

typedef struct pending_ack {
    unsigned partition;
    char id[64];
} pending_ack;

struct fth_queue_consumer {
    char *instance;
    ftrack_hub_queue *queue;
    fth_instance_metrics *metrics;
    fth_deadletter *deadletter;
    fth_failure_policy policy;
    const fth_queue_options *o; /* the process's (queue_mode.c), stable while workers run */
    fth_redis redis;
    char group[512];
    char **streams; /* one key per partition */
    unsigned partitions;
    bool ordered;
    fth_queue_leases leases; /* ordered: the partitions this consumer may read */
    bool groups_ready;       /* the groups exist on this connection's server */
    bool read_own;           /* read what this consumer already took (after a reconnect) */
    double next_register, next_claim;
    double read_deadline;       /* the stream read sent: its answer is due by then */
    double pause_until;         /* nothing to send Redis before then (RETRY_PAUSE, no partition) */
    char registered_digest[41]; /* what was last registered, to notice new subscriptions */
    pending_ack *acks;          /* handled, acknowledgement not yet confirmed by Redis */
    size_t ack_count, ack_cap;
    fth_deliver_fn deliver;
    void *ctx;
    atomic_bool *stopping;
    fth_inbox *inbox;
};

/* ---- small helpers --------------------------------------------------------------------- */

static bool is_ordered(const fth_queue_options *o, const char *instance)
{
    for (size_t i = 0; i < o->ordered_count; i++)
        if (strcmp(o->ordered[i], instance) == 0)
            return true;
    return false;
}

static bool stopping(const fth_queue_consumer *c)
{
    return atomic_load(c->stopping);
}

static void free_reply(redisReply *r)
{
    if (r)
        freeReplyObject(r);
}

static bool reply_ok(redisReply *r)
{
    return r && r->type != REDIS_REPLY_ERROR;
}

/* ---- the subscription registry --------------------------------------------------------- */

/* The instance's subscriptions as registry entries {key: {"expression","subscriber",...}}. */
static json_object *subscriptions_of(fth_queue_consumer *c)
{
    json_object *out = json_object_new_object();
    json_object *subs = ftrack_hub_queue_subscriptions(c->queue);
    for (size_t i = 0; out && i < json_object_array_length(subs); i++) {
        json_object *s = json_object_array_get_idx(subs, i);
        const char *expr = json_object_get_string(json_object_object_get(s, "expression"));
        json_object *meta = json_object_get(json_object_object_get(s, "subscriber"));
        char key[41];
        if (!expr || !meta || !fth_queue_subscription_key(expr, meta, key)) {
            json_object_put(meta);
            continue;
        }
        json_object_object_del(meta, "id"); /* each ingest host gives its own */
        json_object *e = json_object_new_object();
        json_object_object_add(e, "expression", json_object_new_string(expr));
        json_object_object_add(e, "subscriber", meta);
        json_object_object_add(e, "instance", json_object_new_string(c->instance));
        json_object_object_add(out, key, e);
    }
    json_object_put(subs);
    return out;
}

/* Register (and refresh) the instance's subscriptions, so the ingest hosts subscribe for it.
 * Entries are never removed by a worker: events keep flowing into the stream while the
 * workers are down; the ingest forgets entries nobody refreshed for subscription_ttl. */
static void register_subscriptions(fth_queue_consumer *c, bool force)
{
    json_object *subs = subscriptions_of(c);
    char digest[41] = "";
    fth_queue_subscription_key(json_object_to_json_string_ext(subs, JSON_C_TO_STRING_PLAIN), NULL,
                               digest);
    if (!force && fti_now() < c->next_register && strcmp(digest, c->registered_digest) == 0) {
        json_object_put(subs);
        return;
    }
    char registry[512], seen[32];
    snprintf(registry, sizeof(registry), "%s:subscriptions", c->o->stream);
    snprintf(seen, sizeof(seen), "%lld", (long long)time(NULL));
    bool ok = true;
    size_t n = 0;
    json_object_object_foreach(subs, key, entry)
    {
        json_object_object_add(entry, "seen", json_object_new_int64(atoll(seen)));
        const char *argv[] = {"HSET", registry, key,
                              json_object_to_json_string_ext(entry, JSON_C_TO_STRING_PLAIN)};
        redisReply *r = fth_redis_commandv(&c->redis, 4, argv);
        ok = ok && reply_ok(r);
        free_reply(r);
        n++;
    }
    json_object_put(subs);
    if (!ok)
        return; /* tried again on the next pass */
    if (strcmp(digest, c->registered_digest) != 0)
        ftrack_log(FTRACK_LOG_INFO, "queue",
                   "%s: registered %zu subscription%s for the ingest hosts; consuming %s as %s "
                   "in group %s%s",
                   c->instance, n, n == 1 ? "" : "s", c->o->stream, c->o->consumer, c->group,
                   c->ordered ? " (ordered by entity)" : "");
    fti_strlcpy(c->registered_digest, digest, sizeof(c->registered_digest));
    c->next_register = fti_now() + REGISTER_INTERVAL;
}

/* ---- groups, acknowledgements ---------------------------------------------------------- */

static bool create_groups(fth_queue_consumer *c)
{
    for (unsigned p = 0; p < c->partitions; p++) {
        /* "$": an instance sees what arrives from now on (its subscriptions are registered
         * after this, so nothing meant for it can come earlier). */
        const char *argv[] = {"XGROUP", "CREATE", c->streams[p], c->group, "$", "MKSTREAM"};
        redisReply *r = fth_redis_commandv(&c->redis, 6, argv);
        bool ok = reply_ok(r) || (r && strncmp(r->str, "BUSYGROUP", 9) == 0);
        if (r && !ok)
            ftrack_log(FTRACK_LOG_WARNING, "queue", "%s: cannot create group %s on %s: %s",
                       c->instance, c->group, c->streams[p], r->str);
        free_reply(r);
        if (!ok)
            return false;
    }
    return true;
}

static bool ack_now(fth_queue_consumer *c, unsigned p, const char *id)
{
    const char *argv[] = {"XACK", c->streams[p], c->group, id};
    redisReply *r = fth_redis_commandv(&c->redis, 4, argv);
    bool ok = reply_ok(r);
    free_reply(r);
    if (ok)
        fth_metrics_global_add(FTH_GLOBAL_QUEUE_ACKED, 1);
    return ok;
}

/* Acknowledge a handled entry; when Redis is away, remember it and acknowledge after the
 * reconnect, before reading again (else this consumer would take it a second time). */
static void ack(fth_queue_consumer *c, unsigned p, const char *id)
{
    if (ack_now(c, p, id))
        return;
    if (c->ack_count >= ACK_BACKLOG_MAX ||
        !fti_array_reserve(&c->acks, &c->ack_cap, c->ack_count + 1, sizeof(*c->acks))) {
        ftrack_log(FTRACK_LOG_ERROR, "queue",
                   "%s: cannot remember the acknowledgement of %s: it may run again", c->instance,
                   id);
        return;
    }
    c->acks[c->ack_count].partition = p;
    fti_strlcpy(c->acks[c->ack_count].id, id, sizeof(c->acks[0].id));
    c->ack_count++;
}

static bool was_handled(const fth_queue_consumer *c, unsigned p, const char *id)
{
    for (size_t i = 0; i < c->ack_count; i++)
        if (c->acks[i].partition == p && strcmp(c->acks[i].id, id) == 0)
            return true;
    return false;
}

static bool flush_acks(fth_queue_consumer *c)
{
    while (c->ack_count) {
        pending_ack *a = &c->acks[c->ack_count - 1];
        if (!ack_now(c, a->partition, a->id))
            return false;
        c->ack_count--;
    }
    return true;
}

/* ---- handling one entry ---------------------------------------------------------------- */

/* How many times Redis delivered this entry (XPENDING), 0 when unknown. */
static unsigned times_delivered(fth_queue_consumer *c, unsigned p, const char *id)
{
    const char *argv[] = {"XPENDING", c->streams[p], c->group, id, id, "1"};
    redisReply *r = fth_redis_commandv(&c->redis, 6, argv);
    unsigned n = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 4)
        n = (unsigned)r->element[0]->element[3]->integer;
    free_reply(r);
    return n;
}

static const char *field_of(const redisReply *fields, const char *name, size_t *len)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->str && strcmp(fields->element[i]->str, name) == 0) {
            *len = fields->element[i + 1]->len;
            return fields->element[i + 1]->str;
        }
    return NULL;
}

static void dead_letter(fth_queue_consumer *c, const char *text, unsigned attempts, const char *why)
{
    fth_metrics_add(c->metrics, FTH_METRIC_DEAD_LETTERED, 1);
    ftrack_log(FTRACK_LOG_ERROR, "queue", "%s: gave up on an event after %u attempt%s: %s",
               c->instance, attempts, attempts == 1 ? "" : "s", why);
    if (c->deadletter)
        fth_deadletter_append(c->deadletter, c->instance, "failed", why, attempts, text);
}

/* Dispatch with the failure policy: retries wait on this thread (order is kept), the last
 * failure goes to the dead-letter file. Returns false when a stop interrupted the retries
 * (the entry then stays pending, for this consumer's next start or another's claim). */
static bool dispatch_entry(fth_queue_consumer *c, const char *text, size_t len, unsigned attempt,
                           bool redelivery)
{
    if (attempt > c->policy.max_attempts) {
        dead_letter(c, text, attempt - 1,
                    "delivered to workers that never acknowledged it (did they die handling it?)");
        return true;
    }
    for (;; attempt++) {
        ftrack_delivery_outcome outcome;
        ftrack_delivery d;
        ftrack_delivery_init(&d, &outcome);
        d.attempt = attempt;
        d.redelivery = redelivery || attempt > 1;
        c->deliver(c->ctx, text, len, NULL, &d); /* came by Redis: matched here */
        if (!outcome.failures)
            return true;
        if (attempt >= c->policy.max_attempts) {
            dead_letter(c, text, attempt, outcome.message);
            return true;
        }
        /* Stop wakes the inbox (it closes the instance's queue), so the wait ends early. */
        double until = fti_now() + fth_failure_retry_delay(&c->policy, attempt);
        for (double now = fti_now(); now < until; now = fti_now()) {
            if (stopping(c))
                return false;
            fth_inbox_wait(c->inbox, until - now);
        }
    }
}

/* One stream entry ([id, [field, value, ...]]): dispatch unless already handled, then ack. */
static void handle_entry(fth_queue_consumer *c, unsigned p, const redisReply *entry,
                         bool redelivery)
{
    if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        !entry->element[0]->str)
        return; /* an entry deleted (trimmed) while pending */
    const char *id = entry->element[0]->str;
    if (was_handled(c, p, id))
        return;
    size_t len = 0;
    const char *text = field_of(entry->element[1], "event", &len);
    if (!text) {
        ack(c, p, id); /* not ours to read: nothing a retry would change */
        return;
    }
    unsigned attempt = 1;
    if (redelivery) {
        unsigned n = times_delivered(c, p, id);
        attempt = n > 1 ? n : 2;
    }
    if (dispatch_entry(c, text, len, attempt, redelivery))
        ack(c, p, id);
}

static unsigned partition_of_key(const fth_queue_consumer *c, const char *key)
{
    for (unsigned p = 0; p < c->partitions; p++)
        if (strcmp(c->streams[p], key) == 0)
            return p;
    return 0;
}

/* An XREADGROUP answer: [[stream, [entry, ...]], ...]. Returns how many entries came. */
static size_t handle_read(fth_queue_consumer *c, redisReply *r, bool redelivery)
{
    size_t n = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t s = 0; s < r->elements && !stopping(c); s++) {
        redisReply *st = r->element[s];
        if (st->type != REDIS_REPLY_ARRAY || st->elements < 2 || !st->element[0]->str)
            continue;
        unsigned p = partition_of_key(c, st->element[0]->str);
        redisReply *entries = st->element[1];
        for (size_t i = 0; i < entries->elements && !stopping(c); i++, n++)
            handle_entry(c, p, entries->element[i], redelivery);
    }
    return n;
}

static bool readable(const fth_queue_consumer *c, unsigned p)
{
    return !c->ordered || c->leases.held[p];
}

/* XREADGROUP over the readable partitions, from `from` (">": new entries; "0": this
 * consumer's own pending ones), blocking up to block_ms (0: not at all) into argv. Returns
 * argc, 0 when no partition is readable. */
static int read_argv(fth_queue_consumer *c, const char *from, int block_ms, const char **argv,
                     char count[16], char block[16])
{
    int n = 0;
    snprintf(count, 16, "%u", c->o->batch);
    snprintf(block, 16, "%d", block_ms);
    argv[n++] = "XREADGROUP";
    argv[n++] = "GROUP";
    argv[n++] = c->group;
    argv[n++] = c->o->consumer;
    argv[n++] = "COUNT";
    argv[n++] = count;
    if (block_ms > 0) {
        argv[n++] = "BLOCK";
        argv[n++] = block;
    }
    argv[n++] = "STREAMS";
    int first = n;
    for (unsigned p = 0; p < c->partitions; p++)
        if (readable(c, p))
            argv[n++] = c->streams[p];
    int streams = n - first;
    if (streams == 0)
        return 0;
    for (int i = 0; i < streams; i++)
        argv[n++] = from;
    return n;
}

/* An error answer to XREADGROUP (freed): true when it was one. */
static bool read_refused(fth_queue_consumer *c, redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ERROR)
        return false;
    /* NOGROUP after Redis lost its data (restarted without persistence): recreate */
    if (strncmp(r->str, "NOGROUP", 7) == 0)
        c->groups_ready = false;
    else
        ftrack_log(FTRACK_LOG_WARNING, "queue", "%s: XREADGROUP failed: %s", c->instance, r->str);
    free_reply(r);
    c->pause_until = fti_now() + RETRY_PAUSE;
    return true;
}

/* This consumer's own pending entries, at once (no BLOCK). */
static redisReply *read_own(fth_queue_consumer *c)
{
    const char *argv[12 + 2 * 256];
    char count[16], block[16];
    int n = read_argv(c, "0", 0, argv, count, block);
    if (n == 0)
        return NULL;
    redisReply *r = fth_redis_commandv(&c->redis, n, argv);
    return read_refused(c, r) ? NULL : r;
}

/* When the consumer's next timer is due: a claim pass (or a lease round, ordered) or the
 * registry refresh. */
static double next_timer(const fth_queue_consumer *c)
{
    double timer = c->ordered ? c->leases.next_round : c->next_claim;
    return timer < c->next_register ? timer : c->next_register;
}

/* Send the read of new entries, blocking in Redis until the next timer, and return: the
 * worker loop sleeps on the connection and the inbox at once (consumer_wait_fd), so the
 * thread wakes only when entries (or the timer's empty answer) arrive, or for its inbox. */
static void start_read(fth_queue_consumer *c)
{
    double ms = (next_timer(c) - fti_now()) * 1000.0;
    int block_ms = ms < MIN_BLOCK_MS ? MIN_BLOCK_MS : ms > 3600000 ? 3600000 : (int)ms + 1;
    const char *argv[12 + 2 * 256];
    char count[16], block[16];
    int n = read_argv(c, ">", block_ms, argv, count, block);
    if (n == 0) { /* ordered, no partition held: nothing to read until the next lease round */
        c->pause_until = c->leases.next_round;
        return;
    }
    if (fth_redis_send(&c->redis, n, argv))
        c->read_deadline = fti_now() + block_ms / 1000.0 + ANSWER_GRACE;
}

/* The read's answer, if it came: handle its entries. FTH_STEP_IDLE (with *wait) while it has
 * not. */
static fth_step collect_read(fth_queue_consumer *c, double *wait)
{
    redisReply *r = NULL;
    fth_redis_answer a = fth_redis_take_answer(&c->redis, &r);
    if (a == FTH_REDIS_WAITING) {
        double left = c->read_deadline - fti_now();
        if (left > 0) {
            *wait = left;
            return FTH_STEP_IDLE;
        }
        fth_redis_drop(&c->redis, "no answer to a stream read past its BLOCK");
        return FTH_STEP_WORKED;
    }
    if (a == FTH_REDIS_ANSWERED && !read_refused(c, r)) {
        handle_read(c, r, false);
        free_reply(r);
    }
    return FTH_STEP_WORKED;
}

/* At stop, a read still blocked in Redis is ended (CLIENT UNBLOCK) and its answer taken, so
 * the connection serves the finish (acknowledgements, leases). Entries in that answer stay
 * pending (handle_read leaves them at stop): this consumer's next start, or another's claim,
 * runs them. The unblock is tried again when it came before Redis blocked the read. */
static void end_read(fth_queue_consumer *c)
{
    for (int attempt = 0; attempt < 3 && fth_redis_awaiting(&c->redis); attempt++) {
        if (!fth_redis_unblock(&c->redis))
            break;
        redisReply *r = NULL;
        if (fth_redis_await_answer(&c->redis, attempt < 2 ? 0.5 : ANSWER_GRACE, &r) ==
                FTH_REDIS_ANSWERED &&
            !read_refused(c, r)) {
            handle_read(c, r, false);
            free_reply(r);
        }
    }
    if (fth_redis_awaiting(&c->redis))
        fth_redis_drop(&c->redis, "cannot end the blocked stream read (CLIENT UNBLOCK) at stop");
}

/* Take over entries pending in this group for longer than `idle` seconds (0: all of them)
 * on partition p, and handle them. Returns how many were claimed. */
static size_t claim(fth_queue_consumer *c, unsigned p, double idle)
{
    char min_idle[32], count[16], cursor[64] = "0-0";
    snprintf(min_idle, sizeof(min_idle), "%lld", (long long)(idle * 1000));
    snprintf(count, sizeof(count), "%u", c->o->batch);
    size_t total = 0;
    do {
        const char *argv[] = {"XAUTOCLAIM", c->streams[p], c->group, c->o->consumer,
                              min_idle,     cursor,        "COUNT",  count};
        redisReply *r = fth_redis_commandv(&c->redis, 8, argv);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 || !r->element[0]->str) {
            free_reply(r);
            return total;
        }
        fti_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
        redisReply *entries = r->element[1];
        if (entries->elements) {
            fth_metrics_global_add(FTH_GLOBAL_QUEUE_CLAIMED, entries->elements);
            ftrack_log(FTRACK_LOG_INFO, "queue", "%s: claimed %zu pending event%s from %s",
                       c->instance, entries->elements, entries->elements == 1 ? "" : "s",
                       c->streams[p]);
        }
        for (size_t i = 0; i < entries->elements && !stopping(c); i++, total++)
            handle_entry(c, p, entries->element[i], true);
        free_reply(r);
    } while (strcmp(cursor, "0-0") != 0 && !stopping(c));
    return total;
}

/* A partition newly leased (queue_lease.h): what is pending in it is this consumer's now. */
static void claim_taken(void *ctx, unsigned p)
{
    claim(ctx, p, 0);
}

/* ---- the loop -------------------------------------------------------------------------- */

/* What arrived on the instance's own queue: replies to its publishes, local events. */
static void drain_local(fth_queue_consumer *c)
{
    size_t len = 0;
    char *text;
    ftrack_hub_match *match = NULL;
    while (!stopping(c) && (text = ftrack_hub_queue_take_matched(c->queue, 0, &len, &match))) {
        ftrack_delivery d;
        ftrack_delivery_init(&d, NULL);
        c->deliver(c->ctx, text, len, match, &d);
        ftrack_hub_match_unref(match);
        ftrack_free(text);
    }
}

static void after_connect(fth_queue_consumer *c)
{
    if (fth_redis_take_reconnected(&c->redis)) {
        c->read_own = true; /* a read's answer may have been lost with the connection */
        c->next_register = 0;
    }
    if (!c->groups_ready && create_groups(c)) {
        c->groups_ready = true;
        register_subscriptions(c, true);
    }
}

/* What Redis can do now, ending with the stream read sent (start_read) unless a pass on
 * this consumer's own entries came first. */
static void one_pass(fth_queue_consumer *c)
{
    after_connect(c);
    if (!c->groups_ready || !flush_acks(c)) {
        c->pause_until = fti_now() + RETRY_PAUSE;
        return;
    }
    register_subscriptions(c, false);
    if (c->ordered)
        fth_queue_leases_balance(&c->leases, c->stopping, claim_taken, c);
    if (c->read_own && c->ordered) {
        /* the held partitions' pending entries, ours included, in stream order */
        for (unsigned q = 0; q < c->partitions && !stopping(c); q++)
            if (c->leases.held[q])
                claim(c, q, 0);
        c->read_own = false;
        return;
    }
    if (c->read_own) {
        redisReply *r = read_own(c);
        size_t n = handle_read(c, r, true);
        if (r && n == 0)
            c->read_own = false;
        free_reply(r);
        return;
    }
    if (!c->ordered && fti_now() >= c->next_claim) {
        for (unsigned p = 0; p < c->partitions && !stopping(c); p++)
            claim(c, p, c->o->claim_idle);
        double every = c->o->claim_idle / 2;
        c->next_claim = fti_now() + (every < 5 ? every : 5);
    }
    if (!stopping(c))
        start_read(c);
}

static double earlier(double a, double b)
{
    if (a < 0)
        return b;
    return b < 0 || a < b ? a : b;
}

/* A step never blocks in Redis: the read is sent, and the worker loop sleeps until its
 * answer, the inbox (a reply, a local event, stop) or a timer: the hub queue's (reply
 * windows), a pause, the reconnect backoff. */
static fth_step consumer_step(void *impl, fth_deliver_fn deliver, void *ctx, double *wait)
{
    fth_queue_consumer *c = impl;
    c->deliver = deliver;
    c->ctx = ctx;
    if (stopping(c)) {
        end_read(c);
        return FTH_STEP_DONE;
    }
    drain_local(c); /* replies come also while Redis is away */
    double local = ftrack_hub_queue_next_timer(c->queue);
    if (fth_redis_awaiting(&c->redis)) {
        fth_step s = collect_read(c, wait);
        *wait = earlier(local, *wait);
        return s;
    }
    double pause = c->pause_until - fti_now();
    double retry = fth_redis_retry_in(&c->redis);
    if (retry > pause)
        pause = retry;
    if (pause > 0) {
        *wait = earlier(local, pause);
        return FTH_STEP_IDLE;
    }
    if (fth_redis_ready(&c->redis, c->stopping))
        one_pass(c);
    return FTH_STEP_WORKED;
}

static int consumer_wait_fd(void *impl)
{
    fth_queue_consumer *c = impl;
    return fth_redis_awaiting(&c->redis) ? fth_redis_fd(&c->redis) : -1;
}

static void consumer_finish(void *impl)
{
    fth_queue_consumer *c = impl;
    end_read(c);
    if (!c->redis.ctx && fth_redis_retry_in(&c->redis) == 0 && (c->ack_count || c->ordered))
        fth_redis_ready(&c->redis, NULL); /* one attempt, for the acknowledgements and leases */
    flush_acks(c);
    if (c->ack_count)
        ftrack_log(FTRACK_LOG_WARNING, "queue",
                   "%s: %zu handled events could not be acknowledged (Redis unreachable): "
                   "they will run again",
                   c->instance, c->ack_count);
    if (c->ordered)
        fth_queue_leases_release(&c->leases); /* hand the partitions over at once */
}

static const fth_delivery_ops consumer_ops = {"redis", NULL, consumer_step, consumer_finish,
                                              consumer_wait_fd};

fth_delivery fth_queue_consumer_delivery(fth_queue_consumer *c)
{
    return (fth_delivery){&consumer_ops, c};
}

ftrack_status fth_queue_consumer_new(const fth_queue_consumer_spec *spec, fth_queue_consumer **out,
                                     ftrack_error *err)
{
    *out = NULL;
    const fth_queue_options *o = fth_queue_mode_options();
    fth_queue_consumer *c = calloc(1, sizeof(*c));
    if (!c)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    c->instance = fti_strdup(spec->instance);
    c->queue = spec->queue;
    c->metrics = spec->metrics;
    c->deadletter = spec->deadletter;
    c->policy = spec->policy;
    c->stopping = spec->stopping;
    c->inbox = spec->inbox;
    c->o = o;
    c->partitions = o->partitions ? o->partitions : 1;
    c->ordered = is_ordered(o, spec->instance);
    c->streams = calloc(c->partitions, sizeof(char *));
    snprintf(c->group, sizeof(c->group), "%s:%s", o->group, spec->instance);
    c->leases = (fth_queue_leases){&c->redis,  c->instance,   o->consumer,   o->stream, c->group,
                                   c->streams, c->partitions, o->claim_idle, NULL,      0};
    bool ok = c->instance && c->streams && fth_queue_leases_init(&c->leases) &&
              fth_redis_init(&c->redis, o->redis, fth_queue_mode_password(), c->instance);
    for (unsigned p = 0; ok && p < c->partitions; p++) {
        char key[512];
        c->streams[p] = fti_strdup(fth_queue_stream_key(o, p, key, sizeof(key)));
        ok = c->streams[p] != NULL;
    }
    if (!ok) {
        fth_queue_consumer_free(c);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory (queue consumer)");
    }
    c->redis.who = c->instance;
    c->read_own = true; /* a restart under the same consumer name finds what it held */
    *out = c;
    return FTRACK_OK;
}

void fth_queue_consumer_free(fth_queue_consumer *c)
{
    if (!c)
        return;
    fth_redis_clear(&c->redis);
    for (unsigned p = 0; c->streams && p < c->partitions; p++)
        free(c->streams[p]);
    free(c->streams);
    fth_queue_leases_clear(&c->leases);
    free(c->acks);
    free(c->instance);
    free(c);
}
