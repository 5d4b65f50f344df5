/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_RUN_OPS_H
#define FTH_RUN_OPS_H
/*
 * The operational side of `ftrack-host` (run), kept out of cmd_run.c: log format and
 * secrets, the health/metrics endpoint, SIGHUP reload, systemd readiness and watchdog, and
 * the hub connection watcher (ops/hub_watch.h; docs/operations.md).
 *
 * Threads: main thread only. Ownership: ops borrows the run command's pieces through the
 * view (pointers to its fields, which may change, e.g. the plugin host is NULL once stopped)
 * and owns the health endpoint, its events, the meta queue and the reloader.
 */
#include <stdbool.h>
#include <event2/event.h>
#include <ftrack/session.h>
#include "config/host_options.h"
#include "runtime/plugin_host.h"

typedef struct fth_run_view {
    fth_host_options *options;
    fth_plan *plan;
    char **plugin_paths;
    fth_plugin_host **host;
    ftrack_session **session;
} fth_run_view;

typedef struct fth_run_ops fth_run_ops;

/* Right after the options are parsed: install the log sink (format: flag/environment, else
 * the file, else text), register secrets with it and read the API key file if one is given.
 * Returns 0, or FTH_EXIT_USAGE (logged) when the key file cannot be read. */
int fth_run_ops_new(const fth_run_view *view, fth_run_ops **out);
/* The API key read from --api-key-file / api_key_file, or NULL. Borrowed. */
const char *fth_run_ops_api_key(const fth_run_ops *ops);
/* Serve /healthz, /readyz and /metrics (when asked) before the session is open, so that a
 * host waiting for its server answers "not ready" instead of nothing. Idempotent. Returns 0
 * or FTH_EXIT_FAILURE (logged) when the endpoint cannot listen. */
int fth_run_ops_serve_health(fth_run_ops *ops, struct event_base *base);
/* After plugins registered: serve health (when asked), handle SIGHUP, ping the watchdog,
 * track the hub connection, and tell systemd READY=1 once the hub is connected. Returns 0 or
 * FTH_EXIT_FAILURE (logged) when the health endpoint cannot listen. */
int fth_run_ops_started(fth_run_ops *ops, struct event_base *base);
/* Shutdown begins (before the plugin host stops and the session closes): readiness off,
 * STOPPING=1, and the ops' own subscriptions removed. */
void fth_run_ops_stopping(fth_run_ops *ops);
/* After the plugin host stopped and the plan was cleared. NULL is accepted. */
void fth_run_ops_free(fth_run_ops *ops);
#endif
