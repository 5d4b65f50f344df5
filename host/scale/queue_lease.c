/* SPDX-License-Identifier: Apache-2.0 */
/* Partition leases of an ordered instance (queue_lease.h). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/internal.h"
#include "scale/queue_lease.h"

#define LEASE_INTERVAL 1.0

/* Renew (or, when `release`, drop) a lease only if this consumer still holds it. */
static const char LEASE_SCRIPT[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                   "if ARGV[2] == '0' then return redis.call('DEL', KEYS[1]) end "
                                   "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

bool fth_queue_leases_init(fth_queue_leases *l)
{
    l->held = calloc(l->partitions ? l->partitions : 1, sizeof(bool));
    l->next_round = 0;
    return l->held != NULL;
}

void fth_queue_leases_clear(fth_queue_leases *l)
{
    free(l->held);
    l->held = NULL;
}

static void free_reply(redisReply *r)
{
    if (r)
        freeReplyObject(r);
}

static void lease_key(const fth_queue_leases *l, unsigned p, char *buf, size_t size)
{
    snprintf(buf, size, "%s:lease:%s", l->streams[p], l->group);
}

/* 1 when the lease was renewed ("0": dropped) because this consumer held it. */
static long long lease_call(fth_queue_leases *l, unsigned p, const char *ttl_ms)
{
    char key[700];
    lease_key(l, p, key, sizeof(key));
    const char *argv[] = {"EVAL", LEASE_SCRIPT, "1", key, l->consumer, ttl_ms};
    redisReply *r = fth_redis_commandv(l->redis, 6, argv);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    free_reply(r);
    return v;
}

static bool lease_take(fth_queue_leases *l, unsigned p, const char *ttl_ms)
{
    char key[700];
    lease_key(l, p, key, sizeof(key));
    const char *argv[] = {"SET", key, l->consumer, "NX", "PX", ttl_ms};
    redisReply *r = fth_redis_commandv(l->redis, 6, argv);
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    free_reply(r);
    return ok;
}

/* Live consumers of this group (a heartbeat sorted set), to share partitions fairly. */
static long long live_consumers(fth_queue_leases *l)
{
    char key[600], until[32], now[32];
    snprintf(key, sizeof(key), "%s:consumers:%s", l->stream, l->group);
    double t = (double)time(NULL);
    snprintf(until, sizeof(until), "%.0f", t + l->ttl);
    snprintf(now, sizeof(now), "%.0f", t);
    const char *add[] = {"ZADD", key, until, l->consumer};
    const char *trim[] = {"ZREMRANGEBYSCORE", key, "-inf", now};
    const char *card[] = {"ZCARD", key};
    free_reply(fth_redis_commandv(l->redis, 4, add));
    free_reply(fth_redis_commandv(l->redis, 4, trim));
    redisReply *r = fth_redis_commandv(l->redis, 2, card);
    long long n = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? r->integer : 1;
    free_reply(r);
    return n;
}

void fth_queue_leases_balance(fth_queue_leases *l, const atomic_bool *stopping,
                              fth_queue_lease_taken_fn taken, void *ctx)
{
    if (fti_now() < l->next_round)
        return;
    l->next_round = fti_now() + LEASE_INTERVAL;
    char ttl[32];
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(l->ttl * 1000));
    long long live = live_consumers(l);
    unsigned share = (unsigned)((l->partitions + live - 1) / live);
    unsigned held = 0;
    for (unsigned p = 0; p < l->partitions; p++) {
        if (l->held[p] && lease_call(l, p, ttl) != 1) {
            ftrack_log(FTRACK_LOG_WARNING, "queue", "%s: lost the lease of %s", l->who,
                       l->streams[p]);
            l->held[p] = false;
        }
        held += l->held[p];
    }
    for (unsigned p = l->partitions; p-- > 0 && held > share;)
        if (l->held[p] && lease_call(l, p, "0") == 1) {
            l->held[p] = false;
            held--;
        }
    for (unsigned p = 0; p < l->partitions && held < share && !atomic_load(stopping); p++) {
        if (l->held[p] || !lease_take(l, p, ttl))
            continue;
        l->held[p] = true;
        held++;
        taken(ctx, p);
    }
}

void fth_queue_leases_release(fth_queue_leases *l)
{
    for (unsigned p = 0; p < l->partitions; p++)
        if (l->held[p])
            lease_call(l, p, "0");
}
