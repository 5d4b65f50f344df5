/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_QUEUE_LEASE_H
#define FTH_QUEUE_LEASE_H
/*
 * Partition leases of an ordered instance in queue mode (docs/scale-out.md): each partition of
 * the instance's streams is read by one consumer at a time, the one holding its lease (a Redis
 * key that expires unless renewed). Every round a consumer renews what it holds, gives back
 * what is beyond its fair share of the live consumers (a heartbeat sorted set), and takes free
 * partitions up to its share.
 *
 * Threads. Used on the consumer's worker thread, over the consumer's connection.
 * Ownership. The struct owns `held`; everything else is borrowed from the consumer and must
 * outlive it.
 */
#include <stdatomic.h>
#include <stdbool.h>

#include "scale/queue_redis.h"

typedef struct fth_queue_leases {
    fth_redis *redis;     /* the consumer's connection */
    const char *who;      /* the instance, for log lines */
    const char *consumer; /* this consumer's name: the value a lease it holds has */
    const char *stream;   /* the stream option: prefix of the heartbeat set's key */
    const char *group;    /* the instance's consumer group */
    char *const *streams; /* the stream key of each partition */
    unsigned partitions;
    double ttl;        /* seconds a lease lives unrenewed (claim_idle) */
    bool *held;        /* the partitions whose lease this consumer holds */
    double next_round; /* when balancing is due again */
} fth_queue_leases;

/* Allocates `held` (none held); false when out of memory. */
bool fth_queue_leases_init(fth_queue_leases *l);
void fth_queue_leases_clear(fth_queue_leases *l);

/* Called for each partition newly taken: its previous holder died or gave it up, so whatever
 * is pending in it goes to this consumer, in stream order. */
typedef void (*fth_queue_lease_taken_fn)(void *ctx, unsigned partition);

/* One round when due (every second): renew, give back, take; `stopping` ends the taking. */
void fth_queue_leases_balance(fth_queue_leases *l, const atomic_bool *stopping,
                              fth_queue_lease_taken_fn taken, void *ctx);
/* Hand every held partition over at once (a stopping consumer). */
void fth_queue_leases_release(fth_queue_leases *l);

#endif
