/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_PLUGIN_HOST_H
#define FTH_PLUGIN_HOST_H
/*
 * From a plugin path and the arguments to running plugin instances.
 *
 * A *plan* is what would run: the scanned files (loaded or refused) and, for every loaded
 * plugin, its instances (one named after the plugin unless the configuration names others),
 * each with its filtered arguments as JSON text, or the reason it is refused. Both
 * `ftrack-host plugins` (prints it) and `ftrack-host` (runs it) build one.
 *
 * Threads: main thread only. Ownership: the plan owns its strings and the plugin set (which
 * keeps the libraries loaded); the host borrows the plan and must be freed first.
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/plugin_loader.h>
#include "config/config.h"

typedef struct fth_plan_instance {
    char *name;                                    /* instance name */
    const ftrack_plugin_descriptor_v1 *descriptor; /* borrowed from the set */
    const char *path;                              /* the plugin's file (borrowed) */
    char *arguments_json;                          /* filtered arguments; NULL when refused */
    char *dropped;                                 /* "a, b" names not declared, or NULL */
    char *refusal;                                 /* why it would not run, or NULL */
    bool unconfigured;     /* refused, and given none of its parameters: a plugin on the path
                              that nobody set up (logged as a warning, not an error) */
    size_t queue_capacity; /* 0: the default */
    const char *const *command; /* a Python plugin's runner argv (the plan's), or NULL */
} fth_plan_instance;

typedef struct fth_plan {
    ftrack_plugin_set *set;
    fth_plan_instance *instances;
    size_t instance_count;
    size_t refused_files;
    size_t refused_instances;
    char **notes; /* configuration entries that match no loaded plugin */
    size_t note_count;
    /* Python plugins (python_plugins.h): the .py files on the path, whether they run */
    char **python_files;
    size_t python_file_count;
    char **python_refused; /* "path: why" of files that never run */
    size_t python_refused_count;
    bool python_enabled;
    char *python_argv[3]; /* the runner's command line: interpreter, runner, NULL */
} fth_plan;

typedef struct fth_plan_options {
    const char *plugin_paths;    /* ':'-separated */
    json_object *text_arguments; /* --plugin-arg values (object of strings), borrowed, or NULL */
    const fth_config *config;    /* borrowed, may be NULL */
    bool python_plugins;         /* run the .py plugins (python_plugins.h) */
    const char *python;          /* their interpreter, NULL: the default */
} fth_plan_options;
/* Whether the plan runs any Python instance (then its interpreter must be checked). */
bool fth_plan_runs_python(const fth_plan *plan);

/* Scan and plan. Fails only when out of memory. */
ftrack_status fth_plan_build(const fth_plan_options *options, fth_plan *plan, ftrack_error *err);
/* Log every refusal and dropped-argument warning (one line each). */
void fth_plan_log(const fth_plan *plan);
void fth_plan_clear(fth_plan *plan);

/* The running instances of a plan. */
typedef struct fth_plugin_host fth_plugin_host;

/* Start a worker for every instance the plan accepts, with register on the worker; waits for
 * each register and logs failures (the host goes on without that instance). */
ftrack_status fth_plugin_host_start(const fth_plan *plan, ftrack_session *session, ftrack_hub *hub,
                                    size_t default_capacity, fth_plugin_host **out,
                                    ftrack_error *err);
size_t fth_plugin_host_running(const fth_plugin_host *host);
/* Log overflow counts that grew since the last call (from the host's timer). */
void fth_plugin_host_report(fth_plugin_host *host);
/* Drain for up to `drain_timeout` seconds, unregister every instance, free the workers.
 * Returns false when some worker did not end (a callback stuck): the process should then
 * exit without unloading plugins. NULL is accepted. */
bool fth_plugin_host_stop(fth_plugin_host *host, double drain_timeout);

/* How long the host waits for the server to file its plugins' subscriptions. */
#define FTH_SETTLE_SECONDS 5.0
/* Before the host says it is ready (the "ready:" and "reloaded:" lines, systemd's READY=1):
 * wait, at most FTH_SETTLE_SECONDS, until the event server has acknowledged every
 * subscription the plugins made so far, so events published from then on reach them. Logs
 * a warning and goes on when the server is slow; does nothing when the hub is not
 * connected (the subscriptions are announced on connect). Main thread. */
void fth_plugin_host_settle(ftrack_hub *hub);

/* For reload (reload.c) and the status page. Workers are indexed 0..count-1; removing one
 * shifts the later ones down. */
struct fth_worker;
size_t fth_plugin_host_count(const fth_plugin_host *host);
struct fth_worker *fth_plugin_host_worker(const fth_plugin_host *host, size_t index);
/* Start one instance of a plan (borrowed; its descriptor must stay loaded while it runs) and
 * wait for its register. FTRACK_ERR_PLUGIN when register failed (nothing was added). */
ftrack_status fth_plugin_host_add(fth_plugin_host *host, const fth_plan_instance *instance,
                                  ftrack_session *session, ftrack_hub *hub,
                                  size_t default_capacity, ftrack_error *err);
/* Drain (up to drain_timeout), unregister and free worker `index`. False when it did not stop
 * (it is then left running and forgotten: its plugin must never be unloaded). */
bool fth_plugin_host_remove(fth_plugin_host *host, size_t index, double drain_timeout);
#endif
