/* SPDX-License-Identifier: Apache-2.0 */
/* The operational side of the run command (run_ops.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftrack/ftrack.h>
#include <ftrack/host.h>
#include "cli/cli.h"
#include "common/internal.h"
#include "runtime/workers.h"
#include "ops/health.h"
#include "ops/hub_watch.h"
#include "ops/logging.h"
#include "ops/metrics.h"
#include "ops/notify.h"
#include "runtime/reload.h"
#include "cli/run_ops.h"


struct fth_run_ops {
    fth_run_view view;
    char *api_key;
    fth_reloader *reloader;
    fth_health *health;
    struct event *sighup;
    struct event *watchdog;
    fth_hub_watch *watch;
    bool started, stopping, ready_sent;
};

static void add_env_secret(const char *name)
{
    const char *v = getenv(name);
    if (v)
        fth_logging_add_secret(v);
}

int fth_run_ops_new(const fth_run_view *view, fth_run_ops **out)
{
    *out = NULL;
    fth_run_ops *ops = calloc(1, sizeof(*ops));
    if (!ops || !(ops->reloader = fth_reloader_new())) {
        free(ops);
        return FTH_EXIT_FAILURE;
    }
    ops->view = *view;
    const fth_host_options *o = view->options;
    int format = o->has_log_format          ? o->log_format
                 : o->config.has_log_format ? o->config.log_format
                                            : FTH_LOG_TEXT;
    fth_logging_install((fth_log_format)format, stderr);
    add_env_secret("FTRACK_API_KEY");
    add_env_secret("FTRACK_APIKEY");
    fth_metrics_gauge_set(FTH_GAUGE_START_TIME_SECONDS, (double)time(NULL));
    const char *key_file = o->api_key_file ? o->api_key_file : o->config.api_key_file;
    *out = ops;
    if (!key_file)
        return FTH_EXIT_OK;
    ftrack_error err;
    ftrack_error_clear(&err);
    ops->api_key = fth_read_secret_file(key_file, &err);
    if (!ops->api_key || !*ops->api_key) {
        ftrack_log(FTRACK_LOG_ERROR, "host", "API key file: %s",
                   ops->api_key ? "the file is empty" : err.message);
        return FTH_EXIT_USAGE;
    }
    fth_logging_add_secret(ops->api_key);
    return FTH_EXIT_OK;
}

const char *fth_run_ops_api_key(const fth_run_ops *ops)
{
    return ops ? ops->api_key : NULL;
}

static ftrack_hub *current_hub(const fth_run_ops *ops)
{
    ftrack_session *session = *ops->view.session;
    return session ? ftrack_session_hub(session) : NULL;
}

/* ---- Health callbacks ------------------------------------------------------------------- */

static void health_state(fth_health_state *out, void *user_data)
{
    fth_run_ops *ops = user_data;
    ftrack_hub *hub = current_hub(ops);
    out->started = ops->started;
    out->stopping = ops->stopping;
    out->hub_connected = hub && ftrack_hub_connected(hub);
    out->running = fth_plugin_host_count(*ops->view.host);
    out->server_url = *ops->view.session ? ftrack_session_server_url(*ops->view.session) : NULL;
}

static const char *plan_path(const fth_plan *plan, const char *name)
{
    for (size_t i = 0; plan && i < plan->instance_count; i++)
        if (strcmp(plan->instances[i].name, name) == 0)
            return plan->instances[i].path;
    return NULL;
}

/* "expression (priority N)", one per line, for the status page; caller frees. NULL when
 * unknown (out of memory). An instance without subscribers gets an empty text. */
static char *subscriptions_text(fth_worker *w)
{
    json_object *subs = ftrack_hub_queue_subscriptions(fth_worker_queue(w));
    if (!subs)
        return NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    for (size_t i = 0; f && i < json_object_array_length(subs); i++) {
        json_object *s = json_object_array_get_idx(subs, i);
        fprintf(f, "%s%s (priority %d)", i ? "\n" : "",
                json_object_get_string(json_object_object_get(s, "expression")),
                json_object_get_int(json_object_object_get(s, "priority")));
    }
    if (f)
        fclose(f);
    json_object_put(subs);
    return text;
}

static void health_instances(void (*row)(const fth_health_instance *, void *), void *ctx,
                             void *user_data)
{
    fth_run_ops *ops = user_data;
    fth_plugin_host *host = *ops->view.host;
    for (size_t i = 0; i < fth_plugin_host_count(host); i++) {
        fth_worker *w = fth_plugin_host_worker(host, i);
        const ftrack_plugin_descriptor_v1 *d = fth_worker_descriptor(w);
        char *subs = subscriptions_text(w);
        fth_health_instance inst = {fth_worker_name(w),
                                    d->name,
                                    d->version,
                                    plan_path(ops->view.plan, fth_worker_name(w)),
                                    true,
                                    fth_worker_depth(w),
                                    subs};
        row(&inst, ctx);
        free(subs);
    }
}

static void collect(void *user_data)
{
    fth_run_ops *ops = user_data;
    fth_plugin_host *host = *ops->view.host;
    ftrack_hub *hub = current_hub(ops);
    for (size_t i = 0; i < fth_plugin_host_count(host); i++) {
        fth_worker *w = fth_plugin_host_worker(host, i);
        fth_metrics_set_queue_depth(fth_metrics_find(fth_worker_name(w)), fth_worker_depth(w));
    }
    fth_metrics_gauge_set(FTH_GAUGE_PLUGIN_INSTANCES, (double)fth_plugin_host_count(host));
    fth_metrics_gauge_set(FTH_GAUGE_HUB_CONNECTED, hub && ftrack_hub_connected(hub) ? 1 : 0);
}

/* ---- Hub connection, readiness, watchdog ------------------------------------------------ */

static void send_ready(fth_run_ops *ops)
{
    fth_plugin_host_settle(current_hub(ops));
    char status[256];
    size_t n = fth_plugin_host_count(*ops->view.host);
    snprintf(status, sizeof(status), "%zu plugin instance%s running, event hub connected", n,
             n == 1 ? "" : "s");
    fth_notify_ready(status);
    ops->ready_sent = true;
}

/* The hub watcher's word that the connection changed: the first connection makes the host
 * ready (when it was not at start). */
static void on_hub_change(bool connected, void *user_data)
{
    fth_run_ops *ops = user_data;
    if (connected && !ops->ready_sent && !ops->stopping)
        send_ready(ops);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fth_notify_watchdog();
}

static void on_sighup(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fth_run_ops *ops = arg;
    if (ops->stopping || !*ops->view.host)
        return;
    fth_notify_reloading();
    fth_reload_target t = {ops->view.options, ops->view.plan, ops->view.plugin_paths,
                           *ops->view.host, *ops->view.session};
    fth_reload_summary sum;
    fth_reload(ops->reloader, &t, &sum);
    /* Ready again either way: a refused reload leaves the old configuration running. */
    send_ready(ops);
}

static void watch_hub(fth_run_ops *ops, struct event_base *base)
{
    ftrack_hub *hub = current_hub(ops);
    ftrack_error err;
    ftrack_error_clear(&err);
    if (!hub || fth_hub_watch_start(hub, base, on_hub_change, ops, &ops->watch, &err) != FTRACK_OK)
        ftrack_log(FTRACK_LOG_WARNING, "host", "cannot track the hub connection: %s", err.message);
}

static struct event *add_timer(struct event_base *base, double seconds, event_callback_fn fn,
                               void *arg)
{
    struct event *ev = event_new(base, -1, EV_PERSIST, fn, arg);
    struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    if (ev)
        event_add(ev, &tv);
    return ev;
}

int fth_run_ops_started(fth_run_ops *ops, struct event_base *base)
{
    ops->started = true;
    fth_metrics_set_collector(collect, ops);
    watch_hub(ops, base);
    ops->sighup = evsignal_new(base, SIGHUP, on_sighup, ops);
    if (!ops->sighup || evsignal_add(ops->sighup, NULL) != 0)
        ftrack_log(FTRACK_LOG_WARNING, "host", "cannot handle SIGHUP: reload is unavailable");
    double every = fth_notify_watchdog_interval();
    if (every > 0) {
        ops->watchdog = add_timer(base, every, on_watchdog, ops);
        ftrack_log(FTRACK_LOG_INFO, "host", "systemd watchdog: pinging every %.1f s", every);
    }
    if (fth_hub_watch_connected(ops->watch))
        send_ready(ops);
    return fth_run_ops_serve_health(ops, base);
}

int fth_run_ops_serve_health(fth_run_ops *ops, struct event_base *base)
{
    const fth_host_options *o = ops->view.options;
    const char *listen = o->health_listen ? o->health_listen : o->config.health_listen;
    if (!listen || ops->health)
        return FTH_EXIT_OK;
    fth_health_callbacks cb = {health_state, health_instances, ops};
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_health_start(base, listen, &cb, &ops->health, &err) != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_ERROR, "health", "%s", err.message);
        return FTH_EXIT_FAILURE;
    }
    return FTH_EXIT_OK;
}

void fth_run_ops_stopping(fth_run_ops *ops)
{
    if (!ops)
        return;
    ops->stopping = true;
    fth_notify_stopping();
    fth_metrics_set_collector(NULL, NULL);
    fth_hub_watch_free(ops->watch); /* before the session (and its hub) goes */
    ops->watch = NULL;
}

void fth_run_ops_free(fth_run_ops *ops)
{
    if (!ops)
        return;
    fth_health_free(ops->health);
    if (ops->sighup)
        event_free(ops->sighup);
    if (ops->watchdog)
        event_free(ops->watchdog);
    fth_reloader_free(ops->reloader);
    if (ops->api_key) {
        explicit_bzero(ops->api_key, strlen(ops->api_key));
        free(ops->api_key);
    }
    free(ops);
    /* The log sink stays: the last lines of the run still go through it. */
}
