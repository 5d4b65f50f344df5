/* SPDX-License-Identifier: Apache-2.0 */
/* Plans and running plugin instances (plugin_host.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/host.h>

#include "common/internal.h"
#include "runtime/workers.h"
#include "isolation/isolation.h"
#include "runtime/plugin_host.h"
#include "isolation/python_plugins.h"

#define INSTANCES_PER_PLUGIN_MAX 256
/* Extra time, beyond the drain, for a worker to finish its callback and unregister. */
#define JOIN_GRACE 5.0

static char *join_names(json_object *array)
{
    if (json_object_array_length(array) == 0)
        return NULL;
    return fti_json_join(array, ", ");
}

static fth_plan_instance *plan_append(fth_plan *plan, size_t *cap)
{
    if (!fti_array_reserve(&plan->instances, cap, plan->instance_count + 1,
                           sizeof(*plan->instances)))
        return NULL;
    fth_plan_instance *inst = &plan->instances[plan->instance_count++];
    memset(inst, 0, sizeof(*inst));
    return inst;
}

static bool name_taken(const fth_plan *plan, const char *name)
{
    for (size_t i = 0; i + 1 < plan->instance_count; i++)
        if (strcmp(plan->instances[i].name, name) == 0)
            return true;
    return false;
}

static bool has_key(json_object *o, const char *key)
{
    return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, NULL);
}

static bool given_any(const ftrack_plugin_descriptor_v1 *d, const ftrack_plugin_arguments *a)
{
    for (size_t i = 0; i < d->param_count; i++) {
        const char *name = d->params[i].name;
        if (has_key(a->instance, name) || has_key(a->text, name) || has_key(a->shared, name))
            return true;
    }
    return false;
}

static bool plan_instance(fth_plan *plan, size_t *cap, const fth_plan_options *o, size_t index,
                          const char *name, const fth_config_instance *entry)
{
    fth_plan_instance *inst = plan_append(plan, cap);
    if (!inst)
        return false;
    inst->descriptor = ftrack_plugin_set_descriptor(plan->set, index);
    inst->path = ftrack_plugin_set_path(plan->set, index);
    inst->name = fti_strdup(name);
    inst->queue_capacity = entry ? entry->queue_capacity : 0;
    if (!inst->name)
        return false;
    if (name_taken(plan, name)) {
        inst->refusal =
            fti_asprintf("instance name '%s' is already used by another instance", name);
        plan->refused_instances++;
        return inst->refusal != NULL;
    }
    ftrack_plugin_arguments a;
    ftrack_plugin_arguments_init(&a);
    a.shared = o->config ? o->config->arguments : NULL;
    a.text = o->text_arguments;
    a.instance = entry ? entry->arguments : NULL;
    json_object *args = NULL, *dropped = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (ftrack_plugin_filter_arguments(inst->descriptor, &a, &args, &dropped, &err) != FTRACK_OK) {
        if (err.code == FTRACK_ERR_NO_MEMORY)
            return false;
        inst->refusal = fti_strdup(err.message);
        inst->unconfigured = !given_any(inst->descriptor, &a);
        plan->refused_instances++;
        return inst->refusal != NULL;
    }
    inst->arguments_json = fti_strdup(json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
    inst->dropped = join_names(dropped);
    bool ok = inst->arguments_json && (inst->dropped || json_object_array_length(dropped) == 0);
    json_object_put(args);
    json_object_put(dropped);
    return ok;
}

static bool plan_plugin(fth_plan *plan, size_t *cap, const fth_plan_options *o, size_t index)
{
    const ftrack_plugin_descriptor_v1 *d = ftrack_plugin_set_descriptor(plan->set, index);
    const fth_config_instance *entries[INSTANCES_PER_PLUGIN_MAX];
    size_t n = fth_config_instances_of(o->config, d->name, entries, INSTANCES_PER_PLUGIN_MAX);
    if (n == 0)
        return plan_instance(plan, cap, o, index, d->name, NULL);
    for (size_t i = 0; i < n; i++)
        if (entries[i]->enabled &&
            !plan_instance(plan, cap, o, index, entries[i]->name, entries[i]))
            return false;
    return true;
}

/* The .py file whose plugin name is `name`, or NULL. */
static const char *python_file_of(const fth_plan *plan, const char *name)
{
    for (size_t i = 0; i < plan->python_file_count; i++) {
        char *n = fth_python_plugin_name(plan->python_files[i]);
        bool same = n && strcmp(n, name) == 0;
        free(n);
        if (same)
            return plan->python_files[i];
    }
    return NULL;
}

static bool note_unmatched(fth_plan *plan, const fth_config *config)
{
    if (!config || config->instance_count == 0)
        return true;
    plan->notes = calloc(config->instance_count, sizeof(*plan->notes));
    if (!plan->notes)
        return false;
    for (size_t i = 0; i < config->instance_count; i++) {
        const fth_config_instance *e = &config->instances[i];
        if (e->command || ftrack_plugin_set_find(plan->set, e->plugin) >= 0 ||
            python_file_of(plan, e->plugin))
            continue;
        char *note = fti_asprintf("the configuration's instance '%s' names plugin '%s', which "
                                  "is not loaded",
                                  e->name, e->plugin);
        if (!note)
            return false;
        plan->notes[plan->note_count++] = note;
    }
    return true;
}

/* Instances with a "command" (config_rel.c): isolated programs in any language that speak the
 * child protocol (docs/reliability.md), run under the built-in descriptor "external". */
static bool plan_external(fth_plan *plan, size_t *cap, const fth_config *config)
{
    for (size_t i = 0; config && i < config->instance_count; i++) {
        const fth_config_instance *e = &config->instances[i];
        if (!e->command || !e->enabled)
            continue;
        fth_plan_instance *inst = plan_append(plan, cap);
        if (!inst)
            return false;
        inst->descriptor = fth_isolation_external_descriptor();
        inst->path = json_object_get_string(json_object_array_get_idx(e->command, 0));
        inst->name = fti_strdup(e->name);
        inst->queue_capacity = e->queue_capacity;
        inst->arguments_json = fti_strdup(
            e->arguments ? json_object_to_json_string_ext(e->arguments, JSON_C_TO_STRING_PLAIN)
                         : "{}");
        if (!inst->name || !inst->arguments_json)
            return false;
        if (name_taken(plan, e->name)) {
            free(inst->arguments_json);
            inst->arguments_json = NULL;
            inst->refusal = fti_asprintf("instance name '%s' is already used", e->name);
            plan->refused_instances++;
        }
    }
    return true;
}

/* One instance of a Python plugin: isolated, under the runner, with every argument (the
 * runner reduces them to what register accepts, as ftrack's client does). */
static bool plan_python_instance(fth_plan *plan, size_t *cap, const fth_plan_options *o,
                                 const char *path, const char *name,
                                 const fth_config_instance *entry)
{
    fth_plan_instance *inst = plan_append(plan, cap);
    if (!inst)
        return false;
    inst->descriptor = fth_python_descriptor();
    inst->path = path;
    inst->name = fti_strdup(name);
    inst->queue_capacity = entry ? entry->queue_capacity : 0;
    inst->command = (const char *const *)plan->python_argv;
    if (!inst->name)
        return false;
    if (name_taken(plan, name))
        inst->refusal =
            fti_asprintf("instance name '%s' is already used by another instance", name);
    else if (entry && entry->unjournaled)
        inst->refusal = fti_strdup("a Python plugin runs isolated, which needs the journal: "
                                   "\"journal\": false does not apply");
    if (inst->refusal) {
        plan->refused_instances++;
        return true;
    }
    const fth_config *c = o->config;
    inst->arguments_json = fth_python_arguments(c ? c->arguments : NULL, o->text_arguments,
                                                entry ? entry->arguments : NULL);
    return inst->arguments_json != NULL;
}

/* The .py files on the path (python_plugins.h); when enabled, one instance per file, named
 * after it, unless the configuration's entries for it say otherwise. */
static bool plan_python(fth_plan *plan, size_t *cap, const fth_plan_options *o)
{
    if (!fth_python_scan(o->plugin_paths, &plan->python_files, &plan->python_file_count,
                         &plan->python_refused, &plan->python_refused_count))
        return false;
    plan->python_enabled = o->python_plugins;
    const char *const *argv = fth_python_command(o->python);
    for (size_t i = 0; i < 2; i++)
        if (!(plan->python_argv[i] = fti_strdup(argv[i])))
            return false;
    for (size_t i = 0; plan->python_enabled && i < plan->python_file_count; i++) {
        const char *path = plan->python_files[i];
        char *name = fth_python_plugin_name(path);
        const fth_config_instance *entries[INSTANCES_PER_PLUGIN_MAX];
        size_t n = name ? fth_config_instances_of(o->config, name, entries,
                                                  INSTANCES_PER_PLUGIN_MAX)
                        : 0;
        bool ok = name != NULL;
        if (ok && n == 0)
            ok = plan_python_instance(plan, cap, o, path, name, NULL);
        for (size_t e = 0; ok && e < n; e++)
            if (entries[e]->enabled)
                ok = plan_python_instance(plan, cap, o, path, entries[e]->name, entries[e]);
        free(name);
        if (!ok)
            return false;
    }
    return true;
}

bool fth_plan_runs_python(const fth_plan *plan)
{
    for (size_t i = 0; i < plan->instance_count; i++)
        if (plan->instances[i].command && !plan->instances[i].refusal)
            return true;
    return false;
}

ftrack_status fth_plan_build(const fth_plan_options *options, fth_plan *plan, ftrack_error *err)
{
    memset(plan, 0, sizeof(*plan));
    ftrack_status st = ftrack_plugin_set_scan(options->plugin_paths, &plan->set, err);
    if (st != FTRACK_OK)
        return st;
    size_t cap = 0;
    bool ok = true;
    size_t n = ftrack_plugin_set_count(plan->set);
    for (size_t i = 0; ok && i < n; i++) {
        if (ftrack_plugin_set_descriptor(plan->set, i))
            ok = plan_plugin(plan, &cap, options, i);
        else
            plan->refused_files++;
    }
    ok = ok && plan_python(plan, &cap, options);
    ok = ok && note_unmatched(plan, options->config);
    ok = ok && plan_external(plan, &cap, options->config);
    if (!ok) {
        fth_plan_clear(plan);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory planning plugins");
    }
    return FTRACK_OK;
}

void fth_plan_log(const fth_plan *plan)
{
    size_t n = ftrack_plugin_set_count(plan->set);
    for (size_t i = 0; i < n; i++) {
        const char *why = ftrack_plugin_set_refusal(plan->set, i);
        if (why)
            ftrack_log(FTRACK_LOG_WARNING, "plugins", "refused plugin file %s: %s",
                       ftrack_plugin_set_path(plan->set, i), why);
    }
    for (size_t i = 0; i < plan->instance_count; i++) {
        const fth_plan_instance *inst = &plan->instances[i];
        if (inst->refusal)
            ftrack_log(inst->unconfigured ? FTRACK_LOG_WARNING : FTRACK_LOG_ERROR, "plugins",
                       "refused plugin instance '%s' (%s): %s%s", inst->name, inst->path,
                       inst->refusal,
                       inst->unconfigured ? " (it is not configured: give its arguments "
                                            "with --plugin-arg or --config to run it)"
                                          : "");
        else if (inst->dropped)
            ftrack_log(FTRACK_LOG_WARNING, "plugins",
                       "plugin instance '%s' (plugin '%s') does not declare, and so does not "
                       "receive, the arguments: %s",
                       inst->name, inst->descriptor->name, inst->dropped);
    }
    for (size_t i = 0; i < plan->note_count; i++)
        ftrack_log(FTRACK_LOG_WARNING, "plugins", "%s", plan->notes[i]);
    for (size_t i = 0; i < plan->python_refused_count; i++)
        ftrack_log(FTRACK_LOG_WARNING, "plugins", "refused Python plugin file %s",
                   plan->python_refused[i]);
    if (!plan->python_enabled && plan->python_file_count)
        ftrack_log(FTRACK_LOG_INFO, "plugins",
                   "%zu Python plugin file%s on the plugin path (first: %s) run%s only with "
                   "--python-plugins",
                   plan->python_file_count, plan->python_file_count == 1 ? "" : "s",
                   plan->python_files[0], plan->python_file_count == 1 ? "s" : "");
}

void fth_plan_clear(fth_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->instance_count; i++) {
        free(plan->instances[i].name);
        free(plan->instances[i].arguments_json);
        free(plan->instances[i].dropped);
        free(plan->instances[i].refusal);
    }
    free(plan->instances);
    for (size_t i = 0; i < plan->note_count; i++)
        free(plan->notes[i]);
    free(plan->notes);
    fth_python_files_free(plan->python_files, plan->python_file_count);
    fth_python_files_free(plan->python_refused, plan->python_refused_count);
    free(plan->python_argv[0]);
    free(plan->python_argv[1]);
    ftrack_plugin_set_free(plan->set);
    memset(plan, 0, sizeof(*plan));
}

/* ---- Running ----------------------------------------------------------------------------- */

struct fth_plugin_host {
    fth_worker **workers;
    uint64_t *reported; /* overflow count last logged, per worker */
    size_t count;
};

static void start_all(const fth_plan *plan, ftrack_session *session, ftrack_hub *hub,
                      size_t default_capacity, fth_worker **started)
{
    for (size_t i = 0; i < plan->instance_count; i++) {
        const fth_plan_instance *inst = &plan->instances[i];
        started[i] = NULL;
        if (inst->refusal)
            continue;
        fth_worker_spec spec = {inst->name,
                                inst->descriptor,
                                inst->arguments_json,
                                session,
                                hub,
                                inst->queue_capacity ? inst->queue_capacity : default_capacity,
                                NULL, NULL, NULL, false, NULL, NULL};
        if (inst->command) { /* a Python plugin's runner, given its file */
            spec.command = inst->command;
            spec.plugin_path = inst->path;
        }
        ftrack_error err;
        ftrack_error_clear(&err);
        if (fth_worker_start(&spec, &started[i], &err) != FTRACK_OK)
            ftrack_log(FTRACK_LOG_ERROR, "plugins", "cannot start plugin instance '%s': %s",
                       inst->name, err.message);
    }
}

ftrack_status fth_plugin_host_start(const fth_plan *plan, ftrack_session *session, ftrack_hub *hub,
                                    size_t default_capacity, fth_plugin_host **out,
                                    ftrack_error *err)
{
    *out = NULL;
    fth_plugin_host *h = calloc(1, sizeof(*h));
    size_t n = plan->instance_count ? plan->instance_count : 1;
    fth_worker **started = calloc(n, sizeof(*started));
    if (h) {
        h->workers = calloc(n, sizeof(*h->workers));
        h->reported = calloc(n, sizeof(*h->reported));
    }
    if (!h || !started || !h->workers || !h->reported) {
        free(started);
        if (h) {
            free(h->workers);
            free(h->reported);
        }
        free(h);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory starting plugins");
    }
    /* Registers run in parallel, one per worker; then collect each outcome in plan order. */
    start_all(plan, session, hub, default_capacity, started);
    for (size_t i = 0; i < plan->instance_count; i++) {
        if (!started[i])
            continue;
        const fth_plan_instance *inst = &plan->instances[i];
        ftrack_error reg_err;
        ftrack_error_clear(&reg_err);
        if (fth_worker_wait_registered(started[i], &reg_err) != FTRACK_OK) {
            ftrack_log(FTRACK_LOG_ERROR, "plugins",
                       "refused plugin instance '%s' (%s): its register function failed: %s",
                       inst->name, inst->path, reg_err.message);
            fth_worker_free(started[i]);
            continue;
        }
        ftrack_log(FTRACK_LOG_INFO, "plugins",
                   "registered plugin instance '%s' (plugin '%s' %s, "
                   "%s)",
                   inst->name, inst->descriptor->name, inst->descriptor->version, inst->path);
        h->workers[h->count++] = started[i];
    }
    free(started);
    *out = h;
    return FTRACK_OK;
}

size_t fth_plugin_host_running(const fth_plugin_host *h)
{
    return h ? h->count : 0;
}

static void report_one(fth_plugin_host *h, size_t i)
{
    uint64_t now = fth_worker_overflows(h->workers[i]);
    if (now == h->reported[i])
        return;
    ftrack_log(FTRACK_LOG_WARNING, "dispatch",
               "plugin instance '%s': %llu events dropped because its queue was full "
               "(%llu since the last report)",
               fth_worker_name(h->workers[i]), (unsigned long long)now,
               (unsigned long long)(now - h->reported[i]));
    h->reported[i] = now;
}

void fth_plugin_host_report(fth_plugin_host *h)
{
    for (size_t i = 0; h && i < h->count; i++)
        if (h->workers[i])
            report_one(h, i);
}

/* The last word on a worker whose thread ended (stop and remove): what it left unhandled,
 * its final overflow count, then the worker itself. */
static void release_stopped(fth_plugin_host *h, size_t i, double drain_timeout)
{
    fth_worker *w = h->workers[i];
    if (fth_worker_discarded(w))
        ftrack_log(FTRACK_LOG_WARNING, "plugins",
                   "plugin instance '%s': %llu queued events not handled within the %.1f s "
                   "drain",
                   fth_worker_name(w), (unsigned long long)fth_worker_discarded(w), drain_timeout);
    report_one(h, i);
    fth_worker_free(w);
}

bool fth_plugin_host_stop(fth_plugin_host *h, double drain_timeout)
{
    if (!h)
        return true;
    double deadline = fti_now() + drain_timeout;
    for (size_t i = 0; i < h->count; i++)
        fth_worker_stop(h->workers[i], deadline);
    bool all = true;
    for (size_t i = 0; i < h->count; i++) {
        fth_worker *w = h->workers[i];
        double left = deadline + JOIN_GRACE - fti_now();
        if (!fth_worker_join(w, left > 0.1 ? left : 0.1)) {
            ftrack_log(FTRACK_LOG_ERROR, "plugins",
                       "plugin instance '%s' did not stop within "
                       "%.1f s (a callback is stuck); leaving it running",
                       fth_worker_name(w), drain_timeout + JOIN_GRACE);
            all = false;
            continue;
        }
        release_stopped(h, i, drain_timeout);
        h->workers[i] = NULL;
    }
    if (!all)
        return false; /* the stuck workers still point into h */
    free(h->workers);
    free(h->reported);
    free(h);
    return true;
}

/* ---- Reload (reload.c): one instance at a time ------------------------------------------- */

size_t fth_plugin_host_count(const fth_plugin_host *h)
{
    return h ? h->count : 0;
}

fth_worker *fth_plugin_host_worker(const fth_plugin_host *h, size_t index)
{
    return h && index < h->count ? h->workers[index] : NULL;
}

ftrack_status fth_plugin_host_add(fth_plugin_host *h, const fth_plan_instance *inst,
                                  ftrack_session *session, ftrack_hub *hub,
                                  size_t default_capacity, ftrack_error *err)
{
    fth_worker **workers = realloc(h->workers, (h->count + 1) * sizeof(*workers));
    if (workers)
        h->workers = workers;
    uint64_t *reported = workers ? realloc(h->reported, (h->count + 1) * sizeof(*reported)) : NULL;
    if (reported)
        h->reported = reported;
    if (!workers || !reported)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    fth_worker_spec spec = {
        .instance_name = inst->name,
        .descriptor = inst->descriptor,
        .arguments_json = inst->arguments_json,
        .session = session,
        .hub = hub,
        .queue_capacity = inst->queue_capacity ? inst->queue_capacity : default_capacity,
        .command = inst->command,
        .plugin_path = inst->command ? inst->path : NULL,
    };
    fth_worker *w = NULL;
    ftrack_status st = fth_worker_start(&spec, &w, err);
    if (st != FTRACK_OK)
        return st;
    if ((st = fth_worker_wait_registered(w, err)) != FTRACK_OK) {
        fth_worker_free(w);
        return st;
    }
    ftrack_log(FTRACK_LOG_INFO, "plugins", "registered plugin instance '%s' (plugin '%s' %s, %s)",
               inst->name, inst->descriptor->name, inst->descriptor->version, inst->path);
    h->reported[h->count] = fth_worker_overflows(w);
    h->workers[h->count++] = w;
    return FTRACK_OK;
}

bool fth_plugin_host_remove(fth_plugin_host *h, size_t index, double drain_timeout)
{
    if (!h || index >= h->count)
        return true;
    fth_worker *w = h->workers[index];
    fth_worker_stop(w, fti_now() + drain_timeout);
    bool stopped = fth_worker_join(w, drain_timeout + JOIN_GRACE);
    if (!stopped)
        ftrack_log(FTRACK_LOG_ERROR, "plugins",
                   "plugin instance '%s' did not stop within %.1f s (a callback is stuck); "
                   "leaving it running, unmanaged",
                   fth_worker_name(w), drain_timeout + JOIN_GRACE);
    else
        release_stopped(h, index, drain_timeout);
    memmove(&h->workers[index], &h->workers[index + 1],
            (h->count - index - 1) * sizeof(*h->workers));
    memmove(&h->reported[index], &h->reported[index + 1],
            (h->count - index - 1) * sizeof(*h->reported));
    h->count--;
    return stopped;
}

void fth_plugin_host_settle(ftrack_hub *hub)
{
    if (!hub || !ftrack_hub_connected(hub))
        return;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = ftrack_hub_flush(hub, FTH_SETTLE_SECONDS, &err);
    /* not connected: the hub logs the drop and announces everything again on connect */
    if (st != FTRACK_OK && st != FTRACK_ERR_NOT_CONNECTED)
        ftrack_log(FTRACK_LOG_WARNING, "host",
                   "going on without the event server's acknowledgement of every "
                   "subscription: %s",
                   err.message);
}
