/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_DELIVERY_H
#define FTH_DELIVERY_H
/*
 * One delivery interface: how a plugin worker's events reach its callbacks. The runtime picks
 * one strategy per instance (runtime/workers.c):
 *   - plain ("journal": false): straight from the instance's hub queue, at most once;
 *   - journaled (delivery/reliable.h, the default): the journal is the queue, with the failure
 * policy;
 *   - Redis (scale/queue_mode.h, scale-out workers): a Redis stream is the queue and the journal.
 * Every strategy runs in the one worker loop below, which sleeps on the worker's inbox
 * (delivery/inbox.h) between steps, no longer than the strategy's next real timer (and also on
 * the strategy's socket, if it has one).
 *
 * Threads: start, step and finish run on the instance's worker thread.
 */
#include <stddef.h>
#include <ftrack/host.h>
#include "delivery/inbox.h"

/* Dispatch one event on the worker thread. `match` (borrowed; NULL: match now) is what routing
 * matched for it (ftrack_hub_match). `delivery->outcome` is set; a failure is reported through
 * it (ftrack_delivery_fail). */
typedef void (*fth_deliver_fn)(void *ctx, const char *text, size_t len,
                               const ftrack_hub_match *match, ftrack_delivery *delivery);

typedef enum fth_step {
    FTH_STEP_WORKED, /* did something: step again at once */
    FTH_STEP_IDLE,   /* nothing to do: sleep on the inbox, at most *wait seconds (< 0: no timer) */
    FTH_STEP_DONE,   /* stopped (and drained, or past the stop deadline) */
} fth_step;

typedef struct fth_delivery_ops {
    const char *name; /* for log lines: "plain", "journaled", "redis" */
    /* Once, before the first step (after the plugin registered). NULL: nothing to start. */
    ftrack_status (*start)(void *impl, ftrack_error *err);
    fth_step (*step)(void *impl, fth_deliver_fn deliver, void *ctx, double *wait);
    /* Once, after the last step. NULL: nothing to finish. */
    void (*finish)(void *impl);
    /* A descriptor the loop also sleeps on while the strategy is idle (its work arrives on a
     * socket: the Redis connection of scale/queue_worker.c), or -1. NULL: the inbox only. */
    int (*wait_fd)(void *impl);
} fth_delivery_ops;

typedef struct fth_delivery {
    const fth_delivery_ops *ops;
    void *impl;
} fth_delivery;

/* The worker loop: start, step until done (sleeping on `inbox` while idle), finish. A start
 * that fails is returned (nothing ran). */
ftrack_status fth_delivery_run(const fth_delivery *delivery, fth_inbox *inbox,
                               fth_deliver_fn deliver, void *ctx, ftrack_error *err);

/* A ftrack_hub_queue_notify_callback that wakes the inbox given as user data. */
void fth_delivery_notify_inbox(ftrack_hub_queue *queue, void *inbox);

#endif
