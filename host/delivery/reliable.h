/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_RELIABLE_H
#define FTH_RELIABLE_H
/*
 * Reliable delivery for one plugin instance: the journal is its queue.
 *
 *   hub network thread ──► intake (intake.h) ──► journal: the event written once, pending
 *                                                  │        for every instance it matched
 *                          worker thread ◄─────────┘ oldest pending first
 *                          dispatch, then handled / retry later / dead letter
 *
 * The network thread journals each event as it arrives, once for all the journaled instances
 * it matched, and wakes their workers: a crash loses nothing that reached the host, and no
 * thread stands between the socket and the journal. A duplicate event id is recorded once.
 * What comes by the instance's own queue instead (local meta events: ftrack.meta.*, replies
 * to the plugin's own publishes; an event the journal could not take) is dispatched once from
 * a bounded in-memory list; a full queue spills into the journal on the network thread.
 *
 * The worker thread (the journaled strategy of delivery/strategy.h, in the one worker loop)
 * applies the failure policy (failure.h); it sleeps on the worker's inbox until the intake, a
 * replay, a reply to its publishes or stop wakes it, or its next retry comes due. A callback
 * that is still running past its deadline is reported by fth_reliable_watch (main thread); an
 * in-process callback cannot be interrupted, so the instance stays blocked (its events wait
 * in the journal) until it returns: run such plugins isolated.
 *
 * Threads: new/free/stop/watch/getters on the main thread, run on the worker thread,
 * fth_reliable_accepted on the network thread. Ownership: journal, dead-letter file and
 * queue are borrowed.
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
    bool self_timed;  /* the deliver function enforces the deadline itself (isolated: it kills
                         the child), so the loop neither re-checks nor watches it */
    fth_inbox *inbox; /* the worker's inbox (borrowed); NULL: the strategy makes its own */
    ftrack_hub *hub;  /* borrowed; with it the strategy's start makes a reply queue for
                         publishes from callbacks and binds the worker thread to it */
} fth_reliable_spec;

ftrack_status fth_reliable_new(const fth_reliable_spec *spec, fth_reliable **out,
                               ftrack_error *err);
/* NULL is accepted. */
void fth_reliable_free(fth_reliable *r);

/* Start taking this instance's events at receipt (after register): the queue is tagged for
 * the hub's intake (intake.h); without a hub, events come by the queue. */
ftrack_status fth_reliable_start_intake(fth_reliable *r, ftrack_error *err);
/* The journaled steps in the worker loop, without the strategy's start and finish (the caller
 * started the intake); returns once stopped and drained (or past the stop deadline). Events
 * not handled then stay pending in the journal for the next start. */
void fth_reliable_run(fth_reliable *r, fth_deliver_fn deliver, void *ctx);
/* The journaled strategy for the worker loop (delivery/strategy.h): its start starts the intake and
 * the reply queue, its finish records what is left. */
fth_delivery fth_reliable_delivery(fth_reliable *r);
/* Ask the loop to end by `deadline` (fti_now() seconds); from here no event is journaled
 * for the instance. The hub queue is closed by the caller. */
void fth_reliable_stop(fth_reliable *r, double deadline);
/* For the intake (intake.h): the instance's journal and name, and what became of an event
 * journaled for it: true when taken (added, or a duplicate), false when it must come by the
 * queue instead. */
fth_journal *fth_reliable_journal(const fth_reliable *r);
const char *fth_reliable_instance(const fth_reliable *r);
bool fth_reliable_accepted(fth_reliable *r, fth_append_result result, const char *id,
                           const char *topic);
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
