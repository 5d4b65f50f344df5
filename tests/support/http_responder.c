/* SPDX-License-Identifier: Apache-2.0 */
/* Scripted HTTP responder for tests: see http_responder.h. */
#include "http_responder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

typedef struct scripted {
    int status;
    char *body;
    double delay;
    char *headers;
    struct scripted *next;
} scripted;

/* A reply waiting for its delay; kept in a list so stop() can release what never fired. */
typedef struct pending {
    http_responder *owner;
    struct evhttp_request *req;
    int status;
    char *body;
    char *headers;
    struct pending *prev, *next;
} pending;

struct http_responder {
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_event; /* activated by stop(); works even before the loop runs */
    pthread_t thread;
    int port;
    char url[64];

    pthread_mutex_t lock;
    pthread_cond_t arrived;
    http_request_record **records;
    size_t count, cap;
    scripted *script_head, *script_tail;
    http_responder_handler handler;
    void *handler_data;
    int default_status;
    char *default_body;
    pending *pending; /* touched only on the loop thread, or after it stopped */
};

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;

static void use_pthreads(void)
{
    evthread_use_pthreads();
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void record_free(http_request_record *rec)
{
    if (!rec)
        return;
    for (size_t i = 0; i < rec->header_count; i++) {
        free(rec->header_names[i]);
        free(rec->header_values[i]);
    }
    free(rec->header_names);
    free(rec->header_values);
    free(rec->path);
    free(rec->body);
    free(rec);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "?";
}

static http_request_record *record_new(struct evhttp_request *req)
{
    http_request_record *rec = calloc(1, sizeof(*rec));
    if (!rec)
        return NULL;
    snprintf(rec->method, sizeof(rec->method), "%s", method_name(evhttp_request_get_command(req)));
    rec->path = strdup(evhttp_request_get_uri(req));
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    size_t n = 0;
    for (struct evkeyval *kv = headers->tqh_first; kv; kv = kv->next.tqe_next)
        n++;
    rec->header_names = calloc(n + 1, sizeof(char *));
    rec->header_values = calloc(n + 1, sizeof(char *));
    for (struct evkeyval *kv = headers->tqh_first; kv && rec->header_names;
         kv = kv->next.tqe_next) {
        rec->header_names[rec->header_count] = strdup(kv->key);
        rec->header_values[rec->header_count] = strdup(kv->value);
        rec->header_count++;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    rec->body_len = evbuffer_get_length(in);
    rec->body = malloc(rec->body_len + 1);
    if (rec->body) {
        evbuffer_copyout(in, rec->body, rec->body_len);
        rec->body[rec->body_len] = '\0';
    }
    return rec;
}

static void store_record(http_responder *r, http_request_record *rec)
{
    pthread_mutex_lock(&r->lock);
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        http_request_record **grown = realloc(r->records, cap * sizeof(*grown));
        if (!grown) {
            pthread_mutex_unlock(&r->lock);
            record_free(rec);
            return;
        }
        r->records = grown;
        r->cap = cap;
    }
    r->records[r->count++] = rec;
    pthread_cond_broadcast(&r->arrived);
    pthread_mutex_unlock(&r->lock);
}

static void add_headers(struct evhttp_request *req, const char *lines)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    bool has_type = false;
    char *copy = dup_or_null(lines);
    char *save = NULL;
    for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *value = colon + 1;
        while (*value == ' ')
            value++;
        if (strcasecmp(line, "content-type") == 0)
            has_type = true;
        evhttp_add_header(out, line, value);
    }
    free(copy);
    if (!has_type)
        evhttp_add_header(out, "Content-Type", "application/json");
}

static void send_now(struct evhttp_request *req, int status, const char *body, const char *headers)
{
    add_headers(req, headers);
    struct evbuffer *buf = evbuffer_new();
    if (buf && body)
        evbuffer_add(buf, body, strlen(body));
    evhttp_send_reply(req, status, status < 400 ? "OK" : "Error", buf);
    if (buf)
        evbuffer_free(buf);
}

static void pending_unlink(http_responder *r, pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        r->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
}

static void pending_free(pending *p)
{
    free(p->body);
    free(p->headers);
    free(p);
}

static void on_delay_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pending *p = arg;
    pending_unlink(p->owner, p);
    /* evhttp frees a request whose client already left when we answer it. */
    send_now(p->req, p->status, p->body, p->headers);
    pending_free(p);
}

static void answer_later(http_responder *r, struct evhttp_request *req, int status, char *body,
                         char *headers, double delay)
{
    pending *p = calloc(1, sizeof(*p));
    if (!p) {
        send_now(req, status, body, headers);
        free(body);
        free(headers);
        return;
    }
    *p = (pending){r, req, status, body, headers, NULL, r->pending};
    if (r->pending)
        r->pending->prev = p;
    r->pending = p;
    struct timeval tv = {(time_t)delay, (suseconds_t)((delay - (double)(time_t)delay) * 1e6)};
    event_base_once(r->base, -1, EV_TIMEOUT, on_delay_done, p, &tv);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    http_responder *r = arg;
    http_request_record *rec = record_new(req);
    int status;
    char *body = NULL, *headers = NULL;
    double delay = 0;

    pthread_mutex_lock(&r->lock);
    scripted *s = r->script_head;
    if (s) {
        r->script_head = s->next;
        if (!r->script_head)
            r->script_tail = NULL;
        status = s->status;
        body = s->body;
        headers = s->headers;
        delay = s->delay;
        free(s);
        pthread_mutex_unlock(&r->lock);
    } else if (r->handler && rec) {
        http_responder_handler handler = r->handler;
        void *data = r->handler_data;
        pthread_mutex_unlock(&r->lock);
        status = 200;
        handler(rec, &status, &body, data);
    } else {
        status = r->default_status;
        body = dup_or_null(r->default_body);
        pthread_mutex_unlock(&r->lock);
    }
    if (rec)
        store_record(r, rec);

    if (delay > 0) {
        answer_later(r, req, status, body, headers, delay);
        return;
    }
    send_now(req, status, body, headers);
    free(body);
    free(headers);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_responder *r = arg;
    event_base_loopbreak(r->base);
}

static void *loop_main(void *arg)
{
    http_responder *r = arg;
    event_base_loop(r->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int bound_port(struct evhttp_bound_socket *handle)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    if (getsockname(evhttp_bound_socket_get_fd(handle), (struct sockaddr *)&addr, &len) != 0)
        return -1;
    return ntohs(addr.sin_port);
}

http_responder *http_responder_start(void)
{
    pthread_once(&threads_once, use_pthreads);
    http_responder *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->arrived, NULL);
    r->default_status = 500;
    r->default_body = strdup("no scripted response");
    r->base = event_base_new();
    r->http = r->base ? evhttp_new(r->base) : NULL;
    struct evhttp_bound_socket *handle =
        r->http ? evhttp_bind_socket_with_handle(r->http, "127.0.0.1", 0) : NULL;
    if (!handle) {
        if (r->http)
            evhttp_free(r->http);
        if (r->base)
            event_base_free(r->base);
        free(r->default_body);
        free(r);
        return NULL;
    }
    evhttp_set_gencb(r->http, on_request, r);
    evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    r->stop_event = event_new(r->base, -1, 0, on_stop, r);
    r->port = bound_port(handle);
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d", r->port);
    if (!r->stop_event || pthread_create(&r->thread, NULL, loop_main, r) != 0) {
        if (r->stop_event)
            event_free(r->stop_event);
        evhttp_free(r->http);
        event_base_free(r->base);
        free(r->default_body);
        free(r);
        return NULL;
    }
    return r;
}

static void script_free(scripted *s)
{
    while (s) {
        scripted *next = s->next;
        free(s->body);
        free(s->headers);
        free(s);
        s = next;
    }
}

void http_responder_clear(http_responder *r)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->count; i++)
        record_free(r->records[i]);
    r->count = 0;
    script_free(r->script_head);
    r->script_head = r->script_tail = NULL;
    pthread_mutex_unlock(&r->lock);
}

void http_responder_stop(http_responder *r)
{
    if (!r)
        return;
    /* event_base_loopbreak() from here could be lost if the loop has not started yet. */
    event_active(r->stop_event, EV_READ, 0);
    pthread_join(r->thread, NULL);
    event_free(r->stop_event);
    /* The loop is stopped: answer delayed requests whose clients left (evhttp frees those);
     * the ones still attached to a connection go with evhttp_free(). */
    while (r->pending) {
        pending *p = r->pending;
        pending_unlink(r, p);
        if (!evhttp_request_get_connection(p->req))
            evhttp_send_reply(p->req, 503, "Stopping", NULL);
        pending_free(p);
    }
    evhttp_free(r->http);
    event_base_free(r->base);
    http_responder_clear(r);
    free(r->records);
    free(r->default_body);
    pthread_cond_destroy(&r->arrived);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int http_responder_port(const http_responder *r)
{
    return r->port;
}

const char *http_responder_url(const http_responder *r)
{
    return r->url;
}

void http_responder_push(http_responder *r, int status, const char *body)
{
    http_responder_push_ex(r, status, body, 0, NULL);
}

void http_responder_push_ex(http_responder *r, int status, const char *body, double delay,
                            const char *headers)
{
    scripted *s = calloc(1, sizeof(*s));
    if (!s)
        return;
    s->status = status;
    s->body = dup_or_null(body);
    s->delay = delay;
    s->headers = dup_or_null(headers);
    pthread_mutex_lock(&r->lock);
    if (r->script_tail)
        r->script_tail->next = s;
    else
        r->script_head = s;
    r->script_tail = s;
    pthread_mutex_unlock(&r->lock);
}

void http_responder_set_handler(http_responder *r, http_responder_handler handler, void *user_data)
{
    pthread_mutex_lock(&r->lock);
    r->handler = handler;
    r->handler_data = user_data;
    pthread_mutex_unlock(&r->lock);
}

void http_responder_set_default(http_responder *r, int status, const char *body)
{
    pthread_mutex_lock(&r->lock);
    r->default_status = status;
    free(r->default_body);
    r->default_body = dup_or_null(body);
    pthread_mutex_unlock(&r->lock);
}

size_t http_responder_count(http_responder *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

const http_request_record *http_responder_request(http_responder *r, size_t index)
{
    pthread_mutex_lock(&r->lock);
    const http_request_record *rec = index < r->count ? r->records[index] : NULL;
    pthread_mutex_unlock(&r->lock);
    return rec;
}

bool http_responder_wait_count(http_responder *r, size_t n, double timeout)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    long nsec = (long)((timeout - (double)(long)timeout) * 1e9);
    deadline.tv_sec += (time_t)timeout + (deadline.tv_nsec + nsec) / 1000000000L;
    deadline.tv_nsec = (deadline.tv_nsec + nsec) % 1000000000L;
    pthread_mutex_lock(&r->lock);
    while (r->count < n) {
        if (pthread_cond_timedwait(&r->arrived, &r->lock, &deadline) != 0)
            break;
    }
    bool ok = r->count >= n;
    pthread_mutex_unlock(&r->lock);
    return ok;
}

const char *http_request_header(const http_request_record *request, const char *name)
{
    for (size_t i = 0; request && i < request->header_count; i++) {
        if (strcasecmp(request->header_names[i], name) == 0)
            return request->header_values[i];
    }
    return NULL;
}
