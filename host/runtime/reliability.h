/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_RELIABILITY_H
#define FTH_RELIABILITY_H
/*
 * The host-wide reliability context of `ftrack-host` (run): the journal and the dead-letter
 * file in the data dir, each instance's failure policy and isolation from the configuration,
 * the control socket (`ftrack-host replay`), and a one-second timer (journal sync, deadline watchdog,
 * compaction, metrics). docs/reliability.md describes the behaviour.
 *
 * Threads: start/stop/attach on the main thread; fth_reliability_fill from whichever thread
 * starts workers (the main thread). Process-wide, like the log: one context per process.
 */
#include <stdbool.h>
#include <event2/event.h>
#include <ftrack/host.h>
#include "config/config.h"
#include "runtime/workers.h"

typedef struct fth_reliability_options {
    const fth_config *config; /* borrowed for the call; what is needed is copied */
    const char *data_dir;     /* NULL: the default state folder */
    struct event_base *base;  /* the main loop (timer, control socket) */
} fth_reliability_options;

/* Open the journal and the dead-letter file, start the control socket and the timer.
 * FTRACK_ERR_CONFIG for a bad "journal"/"failure" value, FTRACK_ERR_IO when the journal or
 * the socket cannot be opened (another host uses the data dir). */
ftrack_status fth_reliability_start(const fth_reliability_options *options, ftrack_error *err);
/* Close everything (after every worker was freed). Safe when never started. */
void fth_reliability_stop(void);

/* At a reload, before instances start: the new configuration's reliability settings (each
 * instance's failure, isolated, command and journal, and the top-level failure policy) are
 * what instances started from now on get. The journal's own options stay those of the start.
 * No-op when not started. Main thread. */
ftrack_status fth_reliability_reload_settings(const fth_config *config, ftrack_error *err);
/* Whether `instance`'s reliability settings changed at the last reload (then a running
 * instance must be registered anew to take them). */
bool fth_reliability_settings_changed(const char *instance);

/* Fill a worker spec's reliability fields for its instance (no-op when not started). */
void fth_reliability_fill(fth_worker_spec *spec);

/* The "command" of an instance (argv, NULL-terminated; borrowed), or NULL. */
const char *const *fth_reliability_command(const char *instance);

/* Registry of running instances, for the control socket and the timer. */
void fth_reliability_attach(const char *instance, struct fth_reliable *reliable);
void fth_reliability_detach(struct fth_reliable *reliable);

/* Hand one event back to `instance` (replay). FTRACK_ERR_NOT_FOUND for an unknown instance. */
ftrack_status fth_reliability_replay(const char *instance, json_object *event, ftrack_error *err);

#endif
