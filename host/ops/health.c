/* SPDX-License-Identifier: Apache-2.0 */
/* Health, readiness, metrics and the status page over evhttp (health.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <ftrack/ftrack.h>
#include "common/internal.h"
#include "ops/health.h"
#include "config/host_options.h"
#include "ops/logging.h"
#include "ops/metrics.h"

struct fth_health {
    struct evhttp *http;
    fth_health_callbacks cb;
    char url[128];
};

int fth_health_check(const fth_health_state *s, bool readiness, char *why, size_t size)
{
    if (readiness && s->stopping) {
        snprintf(why, size, "shutting down");
        return 503;
    }
    if (readiness && !s->started) {
        snprintf(why, size, "starting: plugins are not registered yet");
        return 503;
    }
    if (!s->hub_connected) {
        snprintf(why, size, "not connected to the event hub%s%s", s->server_url ? " at " : "",
                 s->server_url ? s->server_url : "");
        return 503;
    }
    if (s->started && s->running == 0) {
        snprintf(why, size, "no plugin instance is running");
        return 503;
    }
    snprintf(why, size, "ok");
    return 200;
}

static void reply_text(struct evhttp_request *req, int code, const char *type, const char *body)
{
    struct evbuffer *buf = evbuffer_new();
    if (!buf) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evbuffer_add(buf, body, strlen(body));
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Service Unavailable", buf);
    evbuffer_free(buf);
}

static void current_state(fth_health *h, fth_health_state *s)
{
    memset(s, 0, sizeof(*s));
    if (h->cb.state)
        h->cb.state(s, h->cb.user_data);
}

static void serve_check(fth_health *h, struct evhttp_request *req, bool readiness)
{
    fth_health_state s;
    current_state(h, &s);
    char why[512], body[600];
    int code = fth_health_check(&s, readiness, why, sizeof(why));
    snprintf(body, sizeof(body), "%s\n", why);
    reply_text(req, code, "text/plain; charset=utf-8", body);
}

static void serve_metrics(struct evhttp_request *req)
{
    char *text = fth_metrics_render();
    if (!text) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text);
    free(text);
}

/* ---- The status page ------------------------------------------------------------------- */

static void add_escaped(struct evbuffer *b, const char *text)
{
    char *escaped = evhttp_htmlescape(text ? text : "");
    if (escaped) {
        evbuffer_add(b, escaped, strlen(escaped));
        free(escaped);
    }
}

static void add_cell(struct evbuffer *b, const char *text)
{
    evbuffer_add_printf(b, "<td>");
    add_escaped(b, text);
    evbuffer_add_printf(b, "</td>");
}

static void add_number_cell(struct evbuffer *b, unsigned long long n)
{
    evbuffer_add_printf(b, "<td class=n>%llu</td>", n);
}

static void instance_row(const fth_health_instance *inst, void *ctx)
{
    struct evbuffer *b = ctx;
    fth_instance_metrics *m = fth_metrics_find(inst->name);
    evbuffer_add_printf(b, "<tr>");
    add_cell(b, inst->name);
    add_cell(b, inst->plugin);
    add_cell(b, inst->version);
    add_cell(b, inst->running ? "running" : "stopped");
    add_number_cell(b, inst->queue_depth);
    static const fth_metric shown[] = {FTH_METRIC_RECEIVED, FTH_METRIC_DISPATCHED,
                                       FTH_METRIC_FAILED, FTH_METRIC_DEAD_LETTERED,
                                       FTH_METRIC_DROPPED};
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
        add_number_cell(b, fth_metrics_get(m, shown[i]));
    evbuffer_add_printf(b, "<td><pre>");
    add_escaped(b, inst->subscriptions ? inst->subscriptions : "(not reported)");
    evbuffer_add_printf(b, "</pre></td>");
    add_cell(b, inst->path);
    evbuffer_add_printf(b, "</tr>\n");
}

static void add_recent(struct evbuffer *b)
{
    fth_log_entry *recent = calloc(FTH_LOG_RECENT_MAX, sizeof(*recent));
    size_t n = recent ? fth_logging_recent(recent, FTH_LOG_RECENT_MAX) : 0;
    evbuffer_add_printf(b, "<h2>Recent warnings and errors</h2>\n");
    if (n == 0)
        evbuffer_add_printf(b, "<p>None.</p>\n");
    else
        evbuffer_add_printf(b, "<table><tr><th>time (UTC)</th><th>level</th><th>component</th>"
                               "<th>event</th><th>topic</th><th>message</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        char when[FTRACK_TIME_TEXT_MAX];
        ftrack_time_iso8601(recent[i].time, 0, when, sizeof(when));
        when[10] = ' '; /* a table for people: "2025-01-01 10:00:01" */
        when[19] = '\0';
        evbuffer_add_printf(b, "<tr>");
        add_cell(b, when);
        add_cell(b, recent[i].level >= FTRACK_LOG_ERROR ? "error" : "warning");
        add_cell(b, recent[i].component);
        add_cell(b, recent[i].event_id);
        add_cell(b, recent[i].topic);
        add_cell(b, recent[i].message);
        evbuffer_add_printf(b, "</tr>\n");
    }
    if (n)
        evbuffer_add_printf(b, "</table>\n");
    free(recent);
}

static void serve_page(fth_health *h, struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    fth_health_state s;
    current_state(h, &s);
    char why[512];
    int code = fth_health_check(&s, false, why, sizeof(why));
    evbuffer_add_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=utf-8>"
                           "<title>ftrack-host</title><style>body{font-family:sans-serif}"
                           "td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}"
                           "table{border-collapse:collapse}.n{text-align:right}"
                           "pre{margin:0}</style></head><body>\n<h1>ftrack-host ");
    add_escaped(b, ftrack_version());
    evbuffer_add_printf(b, "</h1>\n<p>Health: <b>");
    add_escaped(b, why);
    evbuffer_add_printf(b, "</b> (%d). Event hub ", code);
    add_escaped(b, s.server_url ? s.server_url : "?");
    evbuffer_add_printf(b, ": %s. %zu plugin instance%s running. Reconnects: %llu.</p>\n",
                        s.hub_connected ? "connected" : "not connected", s.running,
                        s.running == 1 ? "" : "s",
                        (unsigned long long)fth_metrics_global_get(FTH_GLOBAL_RECONNECTS));
    evbuffer_add_printf(b, "<h2>Plugin instances</h2>\n<table><tr><th>instance</th>"
                           "<th>plugin</th><th>version</th><th>state</th><th>queued</th>"
                           "<th>received</th><th>dispatched</th><th>failed</th>"
                           "<th>dead-lettered</th><th>dropped</th><th>subscriptions</th>"
                           "<th>file</th></tr>\n");
    if (h->cb.instances)
        h->cb.instances(instance_row, b, h->cb.user_data);
    evbuffer_add_printf(b, "</table>\n");
    add_recent(b);
    evbuffer_add_printf(b, "<p><a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">"
                           "/healthz</a> · <a href=\"/readyz\">/readyz</a></p></body></html>\n");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/html; charset=utf-8");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    fth_health *h = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    if (strcmp(path, "/healthz") == 0)
        serve_check(h, req, false);
    else if (strcmp(path, "/readyz") == 0)
        serve_check(h, req, true);
    else if (strcmp(path, "/metrics") == 0)
        serve_metrics(req);
    else if (strcmp(path, "/") == 0)
        serve_page(h, req);
    else
        evhttp_send_error(req, HTTP_NOTFOUND, "not found");
}

static bool bound_port(struct evhttp_bound_socket *sock, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) != 0)
        return false;
    if (ss.ss_family == AF_INET)
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        return false;
    return true;
}

static bool is_loopback(const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0;
}

ftrack_status fth_health_start(struct event_base *base, const char *listen,
                               const fth_health_callbacks *callbacks, fth_health **out,
                               ftrack_error *err)
{
    *out = NULL;
    char *host = NULL;
    int port = 0;
    if (!listen || !fth_parse_listen(listen, &host, &port))
        return fti_error(err, FTRACK_ERR_CONFIG, "--health-listen wants HOST:PORT, got '%s'",
                         listen ? listen : "");
    const char *bind_host = host ? host : "127.0.0.1";
    fth_health *h = calloc(1, sizeof(*h));
    if (h)
        h->http = evhttp_new(base);
    if (!h || !h->http) {
        free(h);
        free(host);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    h->cb = *callbacks;
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(h->http, 10);
    evhttp_set_max_headers_size(h->http, 16 * 1024);
    evhttp_set_max_body_size(h->http, 0);
    evhttp_set_gencb(h->http, on_request, h);
    struct evhttp_bound_socket *sock =
        evhttp_bind_socket_with_handle(h->http, bind_host, (ev_uint16_t)port);
    int bound = 0;
    if (!sock || !bound_port(sock, &bound)) {
        ftrack_status st = fti_error(err, FTRACK_ERR_IO,
                                     "cannot listen for health checks on %s: the address is "
                                     "in use or not local",
                                     listen);
        evhttp_free(h->http);
        free(h);
        free(host);
        return st;
    }
    bool v6 = strchr(bind_host, ':') != NULL;
    snprintf(h->url, sizeof(h->url), v6 ? "http://[%s]:%d" : "http://%s:%d", bind_host, bound);
    ftrack_log(FTRACK_LOG_INFO, "health", "health and metrics at %s (/healthz /readyz /metrics)",
               h->url);
    if (!is_loopback(bind_host))
        ftrack_log(FTRACK_LOG_WARNING, "health",
                   "the health endpoint listens on %s, not on loopback: anyone who can reach "
                   "it sees plugin names and counters",
                   bind_host);
    free(host);
    *out = h;
    return FTRACK_OK;
}

const char *fth_health_url(const fth_health *h)
{
    return h ? h->url : NULL;
}

void fth_health_free(fth_health *h)
{
    if (!h)
        return;
    evhttp_free(h->http);
    free(h);
}
