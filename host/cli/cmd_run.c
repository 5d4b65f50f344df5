/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host` (run): the daemon. Resolve the server (or start the embedded hub), open the
 * shared session (retrying with backoff while the server cannot be reached), register every
 * plugin instance on its worker, then wait on the main thread's libevent loop for
 * SIGTERM/SIGINT and the report timer; at a signal, drain, unregister, disconnect and
 * exit 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <ftrack/ftrack.h>
#include "cli/cli.h"
#include "config/data_dir.h"
#include "config/host_options.h"
#include "hub_server.h"
#include "runtime/plugin_host.h"
#include "ops/logging.h"
#include "ops/notify.h"
#include "cli/run_ops.h"
#include "isolation/isolation.h"
#include "delivery/journal.h"
#include "runtime/reliability.h"
#include "scale/queue_mode.h"
#include "isolation/python_plugins.h"

#define DEFAULT_LISTEN_HOST "127.0.0.1"
#define DEFAULT_LISTEN_PORT 9090
#define DEFAULT_DRAIN_TIMEOUT 5.0
#define CONNECT_WAIT 10.0
#define REPORT_INTERVAL 5
/* Opening the session again after a failure retrying can fix: 1 s, doubling up to 30 s. */
#define OPEN_RETRY_MIN 1.0
#define OPEN_RETRY_MAX 30.0
#define OPEN_RETRY_LATER (-1)

typedef struct run_state {
    fth_host_options options;
    char *plugin_paths;
    fth_plan plan;
    bool plan_built;
    struct event_base *base;
    struct event *sigterm;
    struct event *sigint;
    struct event *report;
    fhub_credentials creds;
    bool creds_resolved;
    fhub_server *server;
    const char *embedded_public_url; /* borrowed from the options, or NULL */
    ftrack_session *session;
    fth_plugin_host *host;
    int signal_seen;
    struct event *open_retry; /* the next attempt at opening the session */
    unsigned open_failures;
    int exit_rc; /* set when starting fails after the loop began */
    fth_run_ops *ops; /* logs, health, reload, systemd (run_ops.h) */
} run_state;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    run_state *s = arg;
    s->signal_seen = (int)sig;
    event_base_loopbreak(s->base);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_state *s = arg;
    fth_plugin_host_report(s->host);
}

static void on_open_retry(evutil_socket_t fd, short what, void *arg);

static int setup_loop(run_state *s)
{
    signal(SIGPIPE, SIG_IGN);
    s->base = event_base_new();
    if (!s->base)
        return FTH_EXIT_FAILURE;
    s->sigterm = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sigint = evsignal_new(s->base, SIGINT, on_signal, s);
    s->report = event_new(s->base, -1, EV_PERSIST, on_report, s);
    s->open_retry = evtimer_new(s->base, on_open_retry, s);
    if (!s->sigterm || !s->sigint || !s->report || !s->open_retry ||
        evsignal_add(s->sigterm, NULL) != 0 || evsignal_add(s->sigint, NULL) != 0) {
        ftrack_log(FTRACK_LOG_ERROR, "host", "cannot install signal handlers");
        return FTH_EXIT_FAILURE;
    }
    return FTH_EXIT_OK;
}

static void print_join_line(const run_state *s, const char *url, const char *public_url)
{
    char key_source[1024];
    if (s->creds.key_file)
        snprintf(key_source, sizeof(key_source), "the content of %s%s", s->creds.key_file,
                 s->creds.generated ? " (generated just now)" : "");
    else
        snprintf(key_source, sizeof(key_source), "the FTRACK_API_KEY of this host's environment");
    fth_logging_say(FTRACK_LOG_INFO, "host", "ftrack-host: ",
                    "embedded event hub at %s; clients join with FTRACK_SERVER=%s "
                    "FTRACK_API_USER=%s and FTRACK_API_KEY set to %s",
                    url, public_url, s->creds.api_user, key_source);
}

static int start_embedded_hub(run_state *s)
{
    char *host = NULL;
    int port = DEFAULT_LISTEN_PORT;
    if (s->options.listen && !fth_parse_listen(s->options.listen, &host, &port))
        return FTH_EXIT_USAGE;
    ftrack_error err;
    ftrack_error_clear(&err);
    char *data_dir = s->options.data_dir ? strdup(s->options.data_dir) : fhub_default_data_dir();
    if (fhub_credentials_resolve(data_dir, &s->creds, &err) != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_ERROR, "host", "embedded hub credentials: %s", err.message);
        free(data_dir);
        free(host);
        return FTH_EXIT_USAGE;
    }
    s->creds_resolved = true;
    fth_logging_add_secret(s->creds.api_key);
    fhub_server_config cfg;
    fhub_server_config_init(&cfg);
    cfg.listen_host = host ? host : DEFAULT_LISTEN_HOST;
    cfg.port = port;
    cfg.api_user = s->creds.api_user;
    cfg.api_key = s->creds.api_key;
    cfg.data_dir = data_dir;
    const fth_host_options *o = &s->options;
    cfg.tls_cert = o->tls_cert ? o->tls_cert : o->config.tls_cert;
    cfg.tls_key = o->tls_key ? o->tls_key : o->config.tls_key;
    cfg.public_url = o->public_url ? o->public_url : o->config.public_url;
    ftrack_status st = fhub_server_start(&cfg, &s->server, &err);
    free(data_dir);
    free(host);
    if (st != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_ERROR, "host", "cannot start the embedded event hub: %s",
                   err.message);
        return st == FTRACK_ERR_IO ? FTH_EXIT_FAILURE : FTH_EXIT_USAGE;
    }
    s->embedded_public_url = cfg.public_url;
    ftrack_log(FTRACK_LOG_WARNING, "host",
               "running on the EMBEDDED event hub because FTRACK_SERVER is unset: events stay on "
               "this machine. Set FTRACK_SERVER, FTRACK_API_USER and FTRACK_API_KEY to connect "
               "to ftrack; --require-server makes a missing server an error");
    const char *url = fhub_server_url(s->server);
    print_join_line(s, url, s->embedded_public_url ? s->embedded_public_url : url);
    return FTH_EXIT_OK;
}

/* Failures a later attempt can get past: the server or the network is down, a proxy or
 * load balancer answers for a server in maintenance, its certificate is not trusted yet. */
static bool retry_can_fix(const ftrack_error *err)
{
    switch (err->code) {
    case FTRACK_ERR_NETWORK:
    case FTRACK_ERR_TIMEOUT:
    case FTRACK_ERR_CLOSED:
        return true;
    case FTRACK_ERR_SERVER:
    case FTRACK_ERR_BAD_RESPONSE:
        return err->http_status >= 500 || err->http_status == 429;
    default:
        return false;
    }
}

static double open_retry_delay(unsigned failures)
{
    double d = OPEN_RETRY_MIN;
    for (unsigned i = 1; i < failures && d < OPEN_RETRY_MAX; i++)
        d *= 2.0;
    return d < OPEN_RETRY_MAX ? d : OPEN_RETRY_MAX;
}

static const char *ca_file(const run_state *s)
{
    return s->options.ca_file ? s->options.ca_file : s->options.config.ca_file;
}

/* FTH_EXIT_OK, OPEN_RETRY_LATER (logged, with the delay to wait in *delay) or an exit code
 * (logged). */
static int open_session(run_state *s, double *delay)
{
    ftrack_session_options so;
    ftrack_session_options_init(&so);
    if (s->server) {
        so.server_url = fhub_server_url(s->server);
        so.api_user = s->creds.api_user;
        so.api_key = s->creds.api_key;
    } else if (fth_run_ops_api_key(s->ops)) {
        so.api_key = fth_run_ops_api_key(s->ops);
    }
    so.ca_bundle = ca_file(s);
    so.check_server = true;
    so.lazy_schemas = true; /* most hosts never query: ~0.6 MB they would keep for nothing */
    so.discover_plugins = false;
    /* a queue-mode worker connects once its subscriptions are made local (queue_mode.h) */
    so.auto_connect_event_hub = fth_queue_mode_role() != FTH_QUEUE_WORKER;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = ftrack_session_open(&so, &s->session, &err);
    if (st == FTRACK_OK && s->open_failures > 0)
        ftrack_log(FTRACK_LOG_INFO, "host", "session opened after %u failed attempt%s",
                   s->open_failures, s->open_failures == 1 ? "" : "s");
    if (st == FTRACK_OK)
        st = fth_queue_mode_session_opened(s->session, &err);
    if (st == FTRACK_OK)
        return FTH_EXIT_OK;
    if (!s->session && retry_can_fix(&err)) {
        *delay = open_retry_delay(++s->open_failures);
        ftrack_log(FTRACK_LOG_WARNING, "host",
                   "cannot open the session: %s (attempt %u; retrying in %.0f s)", err.message,
                   s->open_failures, *delay);
        return OPEN_RETRY_LATER;
    }
    ftrack_log(FTRACK_LOG_ERROR, "host", "cannot open the session: %s", err.message);
    return st == FTRACK_ERR_CONFIG ? FTH_EXIT_USAGE : FTH_EXIT_FAILURE;
}

static int start_plugins(run_state *s)
{
    size_t capacity = s->options.config.queue_capacity ? s->options.config.queue_capacity
                                                       : FTH_DEFAULT_QUEUE_CAPACITY;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_plugin_host_start(&s->plan, s->session, ftrack_session_hub(s->session), capacity,
                              &s->host, &err) != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_ERROR, "host", "%s", err.message);
        return FTH_EXIT_FAILURE;
    }
    ftrack_hub *hub = ftrack_session_hub(s->session);
    ftrack_error_clear(&err);
    if (ftrack_hub_wait_connected(hub, CONNECT_WAIT, &err) != FTRACK_OK)
        ftrack_log(FTRACK_LOG_WARNING, "host",
                   "event hub not connected yet (%s); going on, it "
                   "keeps trying",
                   err.message);
    fth_plugin_host_settle(hub);
    size_t running = fth_plugin_host_running(s->host);
    ftrack_log(FTRACK_LOG_INFO, "host", "ready: %zu plugin instance%s running, event hub %s",
               running, running == 1 ? "" : "s",
               ftrack_hub_connected(hub) ? "connected" : "connecting");
    if (running == 0)
        ftrack_log(FTRACK_LOG_WARNING, "host", "no plugin is running (plugin path: %s)",
                   s->plugin_paths && *s->plugin_paths ? s->plugin_paths : "empty");
    return FTH_EXIT_OK;
}

/* Queue mode's ingest (docs/scale-out.md): no plugins run here; the hub's events go to Redis. */
static int start_ingest(run_state *s)
{
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_queue_ingest_start(ftrack_session_hub(s->session), &err) == FTRACK_OK)
        return FTH_EXIT_OK;
    ftrack_log(FTRACK_LOG_ERROR, "host", "%s", err.message);
    return FTH_EXIT_FAILURE;
}

/* The journal, dead letters and control socket (reliability.h), and the
 * credentials isolated plugins' children open their sessions with. */
static int start_reliability(run_state *s)
{
    fth_reliability_options ro = {&s->options.config, s->options.data_dir, s->base};
    ftrack_error err;
    ftrack_error_clear(&err);
    /* No journal, no start: running without one would lose events on a crash and run
     * isolated plugins in process, silently. */
    ftrack_status st = fth_reliability_start(&ro, &err);
    if (st == FTRACK_ERR_IO) {
        ftrack_log(FTRACK_LOG_ERROR, "host",
                   "%s; ftrack-host does not run without its journal: stop the host that uses "
                   "this data dir, or give this one a folder of its own with --data-dir DIR",
                   err.message);
        return FTH_EXIT_FAILURE;
    }
    if (st != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_ERROR, "host", "%s", err.message);
        return st == FTRACK_ERR_CONFIG ? FTH_EXIT_USAGE : FTH_EXIT_FAILURE;
    }
    const char *key = s->server ? s->creds.api_key : fth_run_ops_api_key(s->ops);
    if (!key)
        key = getenv("FTRACK_API_KEY") ? getenv("FTRACK_API_KEY") : getenv("FTRACK_APIKEY");
    fth_isolation_set_credentials(ftrack_session_server_url(s->session),
                                  ftrack_session_api_user(s->session), key, ca_file(s));
    return FTH_EXIT_OK;
}

/* The data dir and its missing parents (0700), before the embedded hub or the journal use
 * it. */
static int make_data_dir(run_state *s)
{
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = fth_data_dir_make(s->options.data_dir, &err);
    if (st == FTRACK_OK)
        return FTH_EXIT_OK;
    ftrack_log(FTRACK_LOG_ERROR, "host",
               "%s; ftrack-host does not run without its journal: give it a folder it can "
               "create with --data-dir DIR",
               err.message);
    return st == FTRACK_ERR_CONFIG ? FTH_EXIT_USAGE : FTH_EXIT_FAILURE;
}

static int prepare(run_state *s)
{
    const char *server = getenv("FTRACK_SERVER");
    bool embedded = !server || !*server;
    if (embedded && s->options.require_server) {
        ftrack_log(FTRACK_LOG_ERROR, "host",
                   "FTRACK_SERVER is not set and --require-server "
                   "was given: set FTRACK_SERVER (and FTRACK_API_USER, FTRACK_API_KEY)");
        return FTH_EXIT_USAGE;
    }
    if (!embedded && s->options.listen)
        ftrack_log(FTRACK_LOG_WARNING, "host",
                   "--listen is ignored: FTRACK_SERVER is set, so "
                   "no embedded hub starts");
    int rc = setup_loop(s);
    if (rc)
        return rc;
    if ((rc = fth_cli_exit_code(fth_queue_mode_configure(&s->options))) != 0)
        return rc;
    s->plugin_paths = fth_resolve_plugin_paths(&s->options);
    fth_plan_options po = {.plugin_paths = s->plugin_paths,
                           .text_arguments = s->options.text_arguments,
                           .config = &s->options.config};
    fth_python_settings(&s->options, &s->options.config, &po.python_plugins, &po.python);
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_plan_build(&po, &s->plan, &err) != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_ERROR, "host", "%s", err.message);
        return FTH_EXIT_FAILURE;
    }
    s->plan_built = true;
    fth_plan_log(&s->plan);
    if (fth_plan_runs_python(&s->plan) && fth_python_check(po.python, &err) != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_ERROR, "host", "%s", err.message);
        return FTH_EXIT_FAILURE;
    }
    if ((rc = make_data_dir(s)) != 0)
        return rc;
    if (embedded && (rc = start_embedded_hub(s)) != 0)
        return rc;
    return FTH_EXIT_OK;
}

/* Once the session is open: the journal, the plugins (or the ingest), readiness. */
static int finish_start(run_state *s)
{
    int rc = start_reliability(s);
    if (rc == FTH_EXIT_OK)
        rc = fth_queue_mode_role() == FTH_QUEUE_INGEST ? start_ingest(s) : start_plugins(s);
    if (rc == FTH_EXIT_OK)
        rc = fth_run_ops_started(s->ops, s->base);
    if (rc == FTH_EXIT_OK) {
        struct timeval every = {REPORT_INTERVAL, 0};
        event_add(s->report, &every);
    }
    return rc;
}

static void schedule_open(run_state *s, double delay)
{
    struct timeval tv = {(time_t)delay, (suseconds_t)((delay - (double)(time_t)delay) * 1e6)};
    event_add(s->open_retry, &tv);
}

/* Open the session now, or schedule the next attempt; starts the rest once it is open. */
static int open_and_start(run_state *s)
{
    double delay = 0;
    int rc = open_session(s, &delay);
    if (rc == OPEN_RETRY_LATER) {
        fth_notify_status("waiting for the ftrack server: opening the session failed");
        schedule_open(s, delay);
        return FTH_EXIT_OK;
    }
    return rc == FTH_EXIT_OK ? finish_start(s) : rc;
}

static void on_open_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_state *s = arg;
    int rc = open_and_start(s);
    if (rc != FTH_EXIT_OK) {
        s->exit_rc = rc;
        event_base_loopbreak(s->base);
    }
}

/* Returns false when a plugin did not stop: its code must then stay loaded. */
static bool shutdown_all(run_state *s)
{
    double drain = s->options.drain_timeout >= 0          ? s->options.drain_timeout
                   : s->options.config.drain_timeout >= 0 ? s->options.config.drain_timeout
                                                          : DEFAULT_DRAIN_TIMEOUT;
    fth_run_ops_stopping(s->ops);
    bool clean = fth_plugin_host_stop(s->host, drain);
    s->host = NULL;
    if (!clean)
        return false;
    fth_queue_mode_stop(); /* the ingest writes what it holds while the hub is still up */
    if (s->session) {
        ftrack_hub_disconnect(ftrack_session_hub(s->session), false, NULL);
        ftrack_session_free(s->session);
        s->session = NULL;
    }
    fhub_server_stop(s->server);
    s->server = NULL;
    if (s->plan_built)
        fth_plan_clear(&s->plan);
    fth_run_ops_free(s->ops); /* after the plan: frees the plans a reload retired */
    s->ops = NULL;
    fth_reliability_stop(); /* after every worker: they wrote to the journal */
    return true;
}

static void release(run_state *s)
{
    if (s->creds_resolved)
        fhub_credentials_clear(&s->creds);
    if (s->report)
        event_free(s->report);
    if (s->open_retry)
        event_free(s->open_retry);
    if (s->sigterm)
        event_free(s->sigterm);
    if (s->sigint)
        event_free(s->sigint);
    if (s->base)
        event_base_free(s->base);
    free(s->plugin_paths);
    fth_host_options_clear(&s->options);
}

int fth_cmd_run(int argc, char **argv)
{
    /* An isolated plugin's child process (isolation.h): `ftrack-host run --isolated-child`. */
    if (argc >= 2 && strcmp(argv[1], "--isolated-child") == 0)
        return fth_child_main(argc - 1, argv + 1);
    run_state s;
    memset(&s, 0, sizeof(s));
    /* JSON from the first line on: the options' own mistakes are lines on stderr too. */
    if (fth_host_options_want_json_logs(argc, argv))
        fth_logging_install(FTH_LOG_JSON, stderr);
    int rc = fth_cli_exit_code(fth_host_options_parse(argc, argv, FTH_OPTIONS_RUN, &s.options));
    if (rc || s.options.help) {
        if (s.options.help)
            fth_host_options_usage(stdout, FTH_OPTIONS_RUN);
        fth_host_options_clear(&s.options);
        return rc;
    }
    if (s.options.has_log_level)
        ftrack_log_set_level(s.options.log_level);
    else if (s.options.config.has_log_level)
        ftrack_log_set_level(s.options.config.log_level);
    fth_run_view view = {&s.options, &s.plan, &s.plugin_paths, &s.host, &s.session};
    rc = fth_run_ops_new(&view, &s.ops);
    if (rc == FTH_EXIT_OK)
        rc = prepare(&s);
    if (rc == FTH_EXIT_OK)
        rc = fth_run_ops_serve_health(s.ops, s.base);
    if (rc == FTH_EXIT_OK)
        rc = open_and_start(&s);
    if (rc == FTH_EXIT_OK) {
        event_base_dispatch(s.base);
        rc = s.exit_rc;
        if (s.signal_seen)
            ftrack_log(FTRACK_LOG_INFO, "host", "%s received: stopping",
                       s.signal_seen == SIGINT ? "SIGINT" : "SIGTERM");
    }
    if (!shutdown_all(&s)) {
        ftrack_log(FTRACK_LOG_ERROR, "host", "exiting with plugins still running");
        return FTH_EXIT_FAILURE;
    }
    release(&s);
    if (rc == FTH_EXIT_OK)
        ftrack_log(FTRACK_LOG_INFO, "host", "stopped cleanly");
    return rc;
}
