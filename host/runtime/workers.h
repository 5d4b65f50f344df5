/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_DISPATCH_H
#define FTH_DISPATCH_H
/*
 * One worker per plugin instance: a bounded ftrack_hub_queue and a thread that runs the
 * plugin's register, every callback of its subscribers (in queue order, so order is kept per
 * subscriber) and its unregister. Plugins therefore run in parallel: a slow one only delays
 * itself. A full queue is counted (and the first drop logged at once); the host reports the
 * counts from its timer (fth_worker_overflows).
 *
 * Threads. fth_worker_* functions are called from the host's main thread. The worker's
 * arguments cross as JSON text and are parsed on the worker, so no json object is shared.
 *
 * Ownership. The spec's strings are copied; the descriptor and the session are borrowed and
 * must outlive the worker (free the worker before unloading plugins or closing the session).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ftrack/host.h>
#include <ftrack/plugin.h>
#include "delivery/deadletter.h"
#include "delivery/failure.h"
#include "delivery/journal.h"

typedef struct fth_worker fth_worker;

typedef struct fth_worker_spec {
    const char *instance_name;
    const ftrack_plugin_descriptor_v1 *descriptor;
    const char *arguments_json; /* the filtered arguments as JSON text */
    ftrack_session *session;    /* passed to register; may be NULL in tests */
    ftrack_hub *hub;            /* the hub the queue belongs to (the session's) */
    size_t queue_capacity;      /* 0 → FTH_DEFAULT_QUEUE_CAPACITY */
    /* Reliability (docs/reliability.md); all optional, borrowed, must outlive the worker. */
    fth_journal *journal;               /* NULL: in-memory queue only, as before */
    fth_deadletter *deadletter;         /* where failed events go */
    const fth_failure_policy *failure;  /* NULL: the defaults */
    bool isolated;                      /* run the plugin in a child process */
    const char *plugin_path;            /* the plugin's file, for the child */
    const char *const *command;         /* a program to run isolated (a Python plugin's
                                           runner): implies isolated; NULL: the config's */
} fth_worker_spec;

/* Create the queue and start the thread, which begins with register. Returns at once. */
ftrack_status fth_worker_start(const fth_worker_spec *spec, fth_worker **out, ftrack_error *err);
/* Wait for register's outcome. FTRACK_ERR_PLUGIN (with the plugin's message) when it failed:
 * the thread has then ended and the queue's subscribers are removed; free the worker. */
ftrack_status fth_worker_wait_registered(fth_worker *worker, ftrack_error *err);
/* Stop taking new events; the worker finishes what is queued until `deadline` (monotonic
 * seconds, fti_now()), counts and discards the rest, runs unregister and ends. */
void fth_worker_stop(fth_worker *worker, double deadline);
/* Wait for the thread to end, up to `timeout` seconds. False when it did not end (a callback
 * that never returns): the worker must then be leaked, not freed. */
bool fth_worker_join(fth_worker *worker, double timeout);
/* Frees the queue (removing its subscribers) and the worker. Only after join (or after a
 * failed register). NULL is accepted. */
void fth_worker_free(fth_worker *worker);

const char *fth_worker_name(const fth_worker *worker);
/* Events refused because the queue was full, since start. */
uint64_t fth_worker_overflows(const fth_worker *worker);
/* Events dispatched, and events discarded at shutdown after the drain deadline. */
uint64_t fth_worker_handled(const fth_worker *worker);
uint64_t fth_worker_discarded(const fth_worker *worker);
size_t fth_worker_depth(const fth_worker *worker);
/* The worker's delivery queue (borrowed; valid until fth_worker_free). */
ftrack_hub_queue *fth_worker_queue(const fth_worker *worker);
/* What the worker was started with (borrowed; for reload's comparison and the status page). */
const ftrack_plugin_descriptor_v1 *fth_worker_descriptor(const fth_worker *worker);
const char *fth_worker_arguments(const fth_worker *worker);
size_t fth_worker_capacity(const fth_worker *worker);
/* The instance's reliable delivery (reliable.h), or NULL when it runs without a journal. */
struct fth_reliable;
struct fth_reliable *fth_worker_reliable(const fth_worker *worker);
#endif
