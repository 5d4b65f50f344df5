/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_RELOAD_H
#define FTH_RELOAD_H
/*
 * Reload at SIGHUP (docs/operations.md): re-read the configuration file, rescan the plugin
 * path, and bring the running instances in line without touching the hub connection:
 *
 *   - an instance whose plugin, arguments and queue size are unchanged keeps running (its
 *     worker and queue are not touched, so none of its events is lost);
 *   - a new instance is registered;
 *   - an instance gone from the configuration (or whose plugin file is gone) is drained
 *     (up to the drain timeout), unregistered and freed; its plugin's library is unloaded
 *     once nothing uses it;
 *   - an instance whose arguments or queue size changed is registered anew first and the old
 *     one drained afterwards, so no event goes unhandled in between (one may reach both).
 *
 * A file that cannot be read or is invalid, or an instance the new file would refuse
 * (wrong or missing arguments), rejects the whole reload: it is logged, counted, and the
 * running configuration stays as it was.
 *
 * Threads: main thread only. Ownership: the reloader owns the plans it retired (kept while
 * a running worker still uses a plugin only they hold); free it after the plugin host.
 */
#include <stdbool.h>
#include <stddef.h>
#include <ftrack/session.h>
#include "config/host_options.h"
#include "runtime/plugin_host.h"

typedef struct fth_reloader fth_reloader;

/* The running pieces a reload changes, borrowed from the run command. */
typedef struct fth_reload_target {
    fth_host_options *options; /* its `config` is replaced on success */
    fth_plan *plan;            /* replaced on success (the old one is retired) */
    char **plugin_paths;       /* replaced on success */
    fth_plugin_host *host;
    ftrack_session *session;
} fth_reload_target;

typedef struct fth_reload_summary {
    size_t started, stopped, replaced, unchanged, failed;
} fth_reload_summary;

fth_reloader *fth_reloader_new(void);
/* Reload. Returns true when the new configuration was applied (summary says what changed),
 * false when it was rejected (nothing changed). Logs either way. */
bool fth_reload(fth_reloader *reloader, fth_reload_target *target, fth_reload_summary *summary);
/* Frees the retired plans (unloading their plugins): only after the plugin host stopped. */
void fth_reloader_free(fth_reloader *reloader);

/* Queue capacity and drain timeout in force: flag, else file, else the default. */
size_t fth_effective_queue_capacity(const fth_host_options *options);
double fth_effective_drain_timeout(const fth_host_options *options);
#endif
