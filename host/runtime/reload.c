/* SPDX-License-Identifier: Apache-2.0 */
/* SIGHUP reload (reload.h). */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "runtime/workers.h"
#include "ops/metrics.h"
#include "runtime/reliability.h"
#include "runtime/reload.h"

#define DEFAULT_DRAIN_TIMEOUT 5.0

struct fth_reloader {
    fth_plan *retired; /* plans replaced by a reload, still possibly in use */
    size_t retired_count;
    bool leaked; /* a worker did not stop: nothing it may use can be unloaded, ever */
};

size_t fth_effective_queue_capacity(const fth_host_options *o)
{
    return o->config.queue_capacity ? o->config.queue_capacity : FTH_DEFAULT_QUEUE_CAPACITY;
}

double fth_effective_drain_timeout(const fth_host_options *o)
{
    if (o->drain_timeout >= 0)
        return o->drain_timeout;
    return o->config.drain_timeout >= 0 ? o->config.drain_timeout : DEFAULT_DRAIN_TIMEOUT;
}

fth_reloader *fth_reloader_new(void)
{
    return calloc(1, sizeof(fth_reloader));
}

void fth_reloader_free(fth_reloader *r)
{
    if (!r)
        return;
    for (size_t i = 0; !r->leaked && i < r->retired_count; i++)
        fth_plan_clear(&r->retired[i]);
    free(r->retired);
    free(r);
}

static const fth_plan_instance *find_accepted(const fth_plan *plan, const char *name)
{
    for (size_t i = 0; i < plan->instance_count; i++)
        if (!plan->instances[i].refusal && strcmp(plan->instances[i].name, name) == 0)
            return &plan->instances[i];
    return NULL;
}

static bool same_instance(fth_worker *w, const fth_plan_instance *inst, size_t default_capacity)
{
    if (inst->command)
        return false; /* a Python plugin's file may have changed: a reload runs it anew */
    const ftrack_plugin_descriptor_v1 *d = fth_worker_descriptor(w);
    const char *args = fth_worker_arguments(w);
    size_t capacity = inst->queue_capacity ? inst->queue_capacity : default_capacity;
    return d == inst->descriptor && strcmp(d->name, inst->descriptor->name) == 0 &&
           strcmp(args ? args : "", inst->arguments_json ? inst->arguments_json : "") == 0 &&
           fth_worker_capacity(w) == capacity && !fth_reliability_settings_changed(inst->name);
}

static long index_of(const fth_plugin_host *h, fth_worker *w)
{
    for (size_t i = 0; i < fth_plugin_host_count(h); i++)
        if (fth_plugin_host_worker(h, i) == w)
            return (long)i;
    return -1;
}

/* An instance the file names explicitly: refusing it is the file's fault, even when none
 * of its plugin's parameters were given. */
static bool has_entry(const fth_config *config, const char *name)
{
    for (size_t i = 0; config && i < config->instance_count; i++)
        if (strcmp(config->instances[i].name, name) == 0)
            return true;
    return false;
}

static bool configured_refusals(const fth_plan *plan, const fth_config *config, const char *origin)
{
    bool any = false;
    for (size_t i = 0; i < plan->instance_count; i++) {
        const fth_plan_instance *inst = &plan->instances[i];
        if (!inst->refusal || (inst->unconfigured && !has_entry(config, inst->name)))
            continue;
        ftrack_log(FTRACK_LOG_ERROR, "reload", "%s: plugin instance '%s' would be refused: %s",
                   origin, inst->name, inst->refusal);
        any = true;
    }
    return any;
}

static void remove_worker(fth_reloader *r, fth_reload_target *t, fth_worker *w, double drain)
{
    long i = index_of(t->host, w);
    if (i >= 0 && !fth_plugin_host_remove(t->host, (size_t)i, drain))
        r->leaked = true;
}

/* Bring one running worker in line with the new plan. */
static void reconcile_old(fth_reloader *r, fth_reload_target *t, const fth_plan *plan,
                          fth_worker *w, size_t capacity, double drain, fth_reload_summary *sum)
{
    char name[128];
    fti_strlcpy(name, fth_worker_name(w), sizeof(name));
    const fth_plan_instance *inst = find_accepted(plan, name);
    if (!inst) {
        ftrack_log(FTRACK_LOG_INFO, "reload",
                   "stopping plugin instance '%s' (no longer "
                   "configured): draining",
                   name);
        remove_worker(r, t, w, drain);
        sum->stopped++;
        return;
    }
    if (same_instance(w, inst, capacity)) {
        sum->unchanged++;
        return;
    }
    ftrack_log(FTRACK_LOG_INFO, "reload",
               "plugin instance '%s' changed: registering it anew, then draining the old one",
               name);
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_hub *hub = ftrack_session_hub(t->session);
    if (fth_plugin_host_add(t->host, inst, t->session, hub, capacity, &err) == FTRACK_OK) {
        remove_worker(r, t, w, drain);
        sum->replaced++;
        return;
    }
    /* Both registrations at once may clash (a plugin with a fixed subscriber id): retry
     * after the old one is gone. */
    ftrack_log(FTRACK_LOG_WARNING, "reload",
               "plugin instance '%s': new registration failed beside the old one (%s); "
               "retrying after draining the old one",
               name, err.message);
    remove_worker(r, t, w, drain);
    ftrack_error_clear(&err);
    if (fth_plugin_host_add(t->host, inst, t->session, hub, capacity, &err) == FTRACK_OK) {
        sum->replaced++;
        return;
    }
    ftrack_log(FTRACK_LOG_ERROR, "reload", "plugin instance '%s' could not be registered: %s", name,
               err.message);
    sum->failed++;
}

static bool is_running(const fth_plugin_host *h, const char *name)
{
    for (size_t i = 0; i < fth_plugin_host_count(h); i++)
        if (strcmp(fth_worker_name(fth_plugin_host_worker(h, i)), name) == 0)
            return true;
    return false;
}

static void start_new(fth_reload_target *t, const fth_plan *plan, size_t capacity,
                      fth_reload_summary *sum)
{
    for (size_t i = 0; i < plan->instance_count; i++) {
        const fth_plan_instance *inst = &plan->instances[i];
        if (inst->refusal || is_running(t->host, inst->name))
            continue;
        ftrack_error err;
        ftrack_error_clear(&err);
        if (fth_plugin_host_add(t->host, inst, t->session, ftrack_session_hub(t->session), capacity,
                                &err) == FTRACK_OK) {
            sum->started++;
        } else {
            ftrack_log(FTRACK_LOG_ERROR, "reload",
                       "refused plugin instance '%s' (%s): its register function failed: %s",
                       inst->name, inst->path, err.message);
            sum->failed++;
        }
    }
}

static bool descriptor_in(const fth_plan *plan, const ftrack_plugin_descriptor_v1 *d)
{
    for (size_t i = 0; i < plan->instance_count; i++)
        if (plan->instances[i].descriptor == d)
            return true;
    return false;
}

/* A retired plan may go (and unload its plugins) when every running worker's plugin is
 * also held by the current plan or is not one of its own. */
static void free_unused(fth_reloader *r, fth_reload_target *t)
{
    if (r->leaked)
        return;
    size_t kept = 0;
    for (size_t p = 0; p < r->retired_count; p++) {
        bool needed = false;
        for (size_t i = 0; i < fth_plugin_host_count(t->host) && !needed; i++) {
            const ftrack_plugin_descriptor_v1 *d =
                fth_worker_descriptor(fth_plugin_host_worker(t->host, i));
            needed = descriptor_in(&r->retired[p], d) && !descriptor_in(t->plan, d);
        }
        if (needed)
            r->retired[kept++] = r->retired[p];
        else
            fth_plan_clear(&r->retired[p]);
    }
    r->retired_count = kept;
}

static bool retire(fth_reloader *r, fth_plan *plan)
{
    fth_plan *grown = realloc(r->retired, (r->retired_count + 1) * sizeof(*grown));
    if (!grown)
        return false;
    r->retired = grown;
    r->retired[r->retired_count++] = *plan;
    memset(plan, 0, sizeof(*plan));
    return true;
}

static bool reject(const char *why)
{
    ftrack_log(FTRACK_LOG_ERROR, "reload", "reload refused, the running configuration stays: %s",
               why);
    fth_metrics_global_add(FTH_GLOBAL_RELOAD_FAILURES, 1);
    return false;
}

/* Read and plan the new configuration; false (logged) when it must be rejected. */
static bool prepare(fth_reload_target *t, fth_config *config, char **paths, fth_plan *plan)
{
    fth_config_init(config);
    const char *origin = t->options->config_path ? t->options->config_path : "(no file)";
    ftrack_error err;
    ftrack_error_clear(&err);
    if (t->options->config_path &&
        fth_config_load(t->options->config_path, config, &err) != FTRACK_OK)
        return reject(err.message);
    fth_host_options view = *t->options;
    view.config = *config;
    *paths = fth_resolve_plugin_paths(&view);
    fth_plan_options po = {.plugin_paths = *paths,
                           .text_arguments = t->options->text_arguments,
                           .config = config};
    fth_python_settings(t->options, config, &po.python_plugins, &po.python);
    ftrack_error_clear(&err);
    if (!*paths || fth_plan_build(&po, plan, &err) != FTRACK_OK) {
        if (!*paths)
            fti_strlcpy(err.message, "out of memory", sizeof(err.message));
        free(*paths);
        *paths = NULL;
        fth_config_clear(config);
        return reject(err.message);
    }
    if (configured_refusals(plan, config, origin)) {
        fth_plan_clear(plan);
        free(*paths);
        fth_config_clear(config);
        return reject("a configured plugin instance would be refused (see above)");
    }
    return true;
}

bool fth_reload(fth_reloader *r, fth_reload_target *t, fth_reload_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    ftrack_log(FTRACK_LOG_INFO, "reload", "SIGHUP: reloading %s",
               t->options->config_path ? t->options->config_path : "(no configuration file)");
    fth_config config;
    char *paths = NULL;
    fth_plan plan;
    if (!prepare(t, &config, &paths, &plan))
        return false;
    fth_plan_log(&plan);
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_reliability_reload_settings(&config, &err) != FTRACK_OK) {
        fth_plan_clear(&plan);
        free(paths);
        fth_config_clear(&config);
        return reject(err.message);
    }
    /* From here on the new configuration is in force. */
    fth_config_clear(&t->options->config);
    t->options->config = config;
    if (!t->options->has_log_level && config.has_log_level)
        ftrack_log_set_level(config.log_level);
    size_t capacity = fth_effective_queue_capacity(t->options);
    double drain = fth_effective_drain_timeout(t->options);
    size_t n = fth_plugin_host_count(t->host);
    fth_worker **old = calloc(n ? n : 1, sizeof(*old));
    if (!old) {
        fth_plan_clear(&plan);
        free(paths);
        return reject("out of memory");
    }
    for (size_t i = 0; i < n; i++)
        old[i] = fth_plugin_host_worker(t->host, i);
    for (size_t i = 0; i < n; i++)
        reconcile_old(r, t, &plan, old[i], capacity, drain, sum);
    free(old);
    start_new(t, &plan, capacity, sum);
    if (!retire(r, t->plan))
        r->leaked = true; /* cannot track it: never free (leaks a little, unloads nothing) */
    *t->plan = plan;
    free(*t->plugin_paths);
    *t->plugin_paths = paths;
    free_unused(r, t);
    fth_metrics_global_add(FTH_GLOBAL_RELOADS, 1);
    fth_plugin_host_settle(ftrack_session_hub(t->session));
    ftrack_log(FTRACK_LOG_INFO, "reload",
               "reloaded: %zu started, %zu stopped, %zu re-registered, %zu unchanged, %zu "
               "failed; %zu plugin instance%s running",
               sum->started, sum->stopped, sum->replaced, sum->unchanged, sum->failed,
               fth_plugin_host_count(t->host), fth_plugin_host_count(t->host) == 1 ? "" : "s");
    return true;
}
