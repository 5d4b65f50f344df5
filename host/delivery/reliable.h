/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_RELIABLE_H
#define FTH_RELIABLE_H
/*
 * Reliable delivery for one plugin instance: the journal is its queue.
 *
 *   hub network thread ──► hub queue ──► intake thread ──► journal (pending for X)
 *                                                            │
 *                                  worker thread ◄───────────┘ oldest pending first
 *                                  dispatch, then handled / retry later / dead letter
 *
 * The intake thread moves each event from the instance's in-memory hub queue into the
 * journal within microseconds, so a crash loses nothing that reached the host; a duplicate
 * event id is recorded once. When the hub queue is full anyway (the disk stalls), the
 * overflow callback spills the event straight into the journal on the network thread.
 * Local meta events (ftrack.meta.*: replies to the plugin's own publishes, connection events)
 * are not journaled: they go through a bounded in-memory list and are dispatched once.
 *
 * The worker thread (the journaled strategy of delivery/strategy.h, in the one worker loop) applies the
 * failure policy (failure.h); it sleeps on the worker's inbox until the intake, a replay, a
 * reply to its publishes or stop wakes it, or its next retry comes due. A callback that
 * is still running past its deadline is reported by fth_reliable_watch (main thread); an
 * in-process callback cannot be interrupted, so the instance stays blocked (its events wait
 * in the journal) until it returns: run such plugins isolated.
 *
 * Threads: new/free/stop/watch/getters on the main thread, run on the worker thread, the
 * intake on its own thread. Ownership: journal, dead-letter file and queue are borrowed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <ftrack/host.h>
#include "delivery/deadletter.h"
#include "delivery/failure.h"
#include "delivery/journal.h"
#include "delivery/strategy.h"
#include "ops/metrics.h"

typedef struct fth_reliable fth_reliable;

typedef struct fth_reliable_spec {
    const char *instance;
    fth_journal *journal;
    fth_deadletter *deadletter;
    fth_failure_policy policy;
    ftrack_hub_queue *queue;
    size_t memory_capacity;        /* bound of the in-memory list of meta events; 0 → 1000 */
    fth_instance_metrics *metrics; /* counts spills and dead letters; may be NULL */
    bool self_timed; /* the deliver function enforces the deadline itself (isolated: it kills
                        the child), so the loop neither re-checks nor watches it */
    fth_inbox *inbox; /* the worker's inbox (borrowed); NULL: the strategy makes its own */
    ftrack_hub *hub;  /* borrowed; with it the strategy's start makes a reply queue for
                         publishes from callbacks and binds the worker thread to it */
} fth_reliable_spec;

ftrack_status fth_reliable_new(const fth_reliable_spec *spec, fth_reliable **out,
                               ftrack_error *err);
/* Joins the intake thread when it runs. NULL is accepted. */
void fth_reliable_free(fth_reliable *r);

/* Start moving events from the hub queue into the journal (after register). */
ftrack_status fth_reliable_start_intake(fth_reliable *r, ftrack_error *err);
/* The journaled steps in the worker loop, without the strategy's start and finish (the caller
 * started the intake); returns once stopped and drained (or past the stop deadline). Events
 * not handled then stay pending in the journal for the next start. */
void fth_reliable_run(fth_reliable *r, fth_deliver_fn deliver, void *ctx);
/* The journaled strategy for the worker loop (delivery/strategy.h): its start starts the intake and
 * the reply queue, its finish records what is left. */
fth_delivery fth_reliable_delivery(fth_reliable *r);
/* Ask the loop to end by `deadline` (fti_now() seconds); the hub queue is closed by the
 * caller. */
void fth_reliable_stop(fth_reliable *r, double deadline);
/* Wake the worker (new pending events were put in the journal, e.g. by a replay). */
void fth_reliable_wake(fth_reliable *r);
/* Main thread, about every second: log a dispatch running past its deadline (once). */
void fth_reliable_watch(fth_reliable *r, double now);

typedef struct fth_reliable_stats {
    uint64_t handled;
    uint64_t failures; /* failed dispatches (each attempt) */
    uint64_t retries;  /* dispatches after a failure */
    uint64_t dead_lettered;
    uint64_t deadline_exceeded;
    uint64_t duplicates; /* events received twice (dispatched once) */
    uint64_t spilled;    /* hub queue overflows journaled from the network thread */
    uint64_t dropped;    /* events that could be neither journaled nor kept */
    uint64_t pauses;
    bool paused;
    uint64_t left; /* pending when the loop ended */
} fth_reliable_stats;

void fth_reliable_get_stats(fth_reliable *r, fth_reliable_stats *out);
#endif
