/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded hub's server: one lws context, one vhost, one port, serving the websocket and,
 * through server_handshake.c, the socket.io 0.9 handshake and, through server_http.c, POST /api
 * and the component files (protocol §3, §5, Appendices A-B). Everything here runs on the service
 * thread except the few public calls that hand work over through `pending` + lws_cancel_service().
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <ftrack/event.h>
#include "common/internal.h"
#include "wire/socketio.h"
#include "wire/wsframe.h"
#include "server_lws.h"

#define LOG_COMPONENT "hub"
#define MAX_FRAMES_PER_WRITE 64
/* The protocol's rx_buffer_size. lws_issue_raw() sends at most rx_buffer_size + LWS_PRE + 4
 * bytes per call and copies the rest aside, so one batched write stays below it. */
#define WS_RX_BUFFER 65536
#define WRITE_BATCH_BYTES (48 * 1024)
/* A batch buffer a huge frame grew is given back after its write. */
#define WRITE_BATCH_KEEP (4 * WRITE_BATCH_BYTES)
_Static_assert(WRITE_BATCH_BYTES < WS_RX_BUFFER, "a batch must fit one lws send");

/* One outgoing text frame, shared by every connection it is routed to. */
struct frame {
    int refs;
    size_t len;
    char *buf; /* text at buf + LWS_PRE */
};

struct conn {
    fhub_route_peer peer; /* first: the router hands it back */
    struct lws *wsi;
    fhub_server *srv;
    unsigned long serial;
    char user[128];
    frame **q; /* ring of outgoing frames */
    size_t qhead, qlen, qcap, qbytes;
    char *rx; /* the message being received */
    size_t rxlen, rxcap;
    bool in_msg, rx_binary, rx_skip;
    unsigned long skip_ack_id;
    bool skip_ack_plus;
    double last_rx;
    bool closing;
    unsigned long dropped;
    struct conn *prev, *next;
};

/* ---- frames ---------------------------------------------------------------------------------- */

static frame *frame_wrap(char *buf, size_t len)
{
    if (!buf)
        return NULL;
    frame *f = malloc(sizeof(*f));
    if (!f) {
        free(buf);
        return NULL;
    }
    f->refs = 1;
    f->len = len;
    f->buf = buf;
    return f;
}

void fhub_frame_unref(frame *f)
{
    if (f && --f->refs == 0) {
        free(f->buf);
        free(f);
    }
}

frame *fhub_frame_simple(fti_sio_type type)
{
    size_t len = 0;
    char *buf = fti_sio_frame_simple(LWS_PRE, type, false, &len);
    return frame_wrap(buf, len);
}

static frame *frame_text(const char *text, size_t len)
{
    char *buf = malloc(LWS_PRE + len + 1);
    if (!buf)
        return NULL;
    memcpy(buf + LWS_PRE, text, len);
    buf[LWS_PRE + len] = '\0';
    return frame_wrap(buf, len);
}

/* ---- connections ----------------------------------------------------------------------------- */

static void conn_log(const conn *c, ftrack_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_log(const conn *c, ftrack_log_level level, const char *fmt, ...)
{
    if ((int)level < (int)ftrack_log_get_level())
        return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ftrack_log(level, LOG_COMPONENT, "connection %lu (%s): %s", c->serial, c->user, msg);
}

static void conn_enqueue(conn *c, frame *f)
{
    if (!f || c->closing)
        return;
    if (c->qbytes + f->len > c->srv->max_queued) {
        if (c->dropped++ % 1000 == 0)
            conn_log(c, FTRACK_LOG_WARNING,
                     "client is not reading; dropped %lu events for it so far", c->dropped);
        return;
    }
    if (c->qlen == c->qcap) {
        size_t cap = c->qcap ? c->qcap * 2 : 16;
        frame **q = malloc(cap * sizeof(*q));
        if (!q)
            return;
        for (size_t i = 0; i < c->qlen; i++)
            q[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = q;
        c->qhead = 0;
        c->qcap = cap;
    }
    f->refs++;
    c->q[(c->qhead + c->qlen++) % c->qcap] = f;
    c->qbytes += f->len;
    lws_callback_on_writable(c->wsi);
}

static frame *conn_dequeue(conn *c)
{
    frame *f = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    c->qbytes -= f->len;
    return f;
}

/* Appendix B rule 7: "0::", then drop TCP once it is written. */
static void conn_close_softly(conn *c)
{
    if (c->closing)
        return;
    conn_enqueue(c, c->srv->disconnect_frame);
    c->closing = true;
    lws_callback_on_writable(c->wsi);
}

static conn *conn_new(fhub_server *srv, struct lws *wsi, const char *user)
{
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->wsi = wsi;
    c->srv = srv;
    c->serial = ++srv->next_serial;
    fti_strlcpy(c->user, user, sizeof(c->user));
    c->last_rx = fti_now();
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    atomic_fetch_add(&srv->nconns, 1);
    return c;
}

static void conn_free(conn *c)
{
    fhub_server *srv = c->srv;
    fhub_router_remove_peer(srv->router, &c->peer);
    while (c->qlen > 0)
        fhub_frame_unref(conn_dequeue(c));
    free(c->q);
    free(c->rx);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub(&srv->nconns, 1);
    free(c);
}

/* ---- acks and events ------------------------------------------------------------------------- */

static void send_ack(conn *c, const fti_sio_packet *pkt, bool ok, const char *message)
{
    if (pkt->id == 0)
        return;
    if (!pkt->ack_with_data) {
        char text[40];
        int n = snprintf(text, sizeof(text), "6:::%lu", pkt->id);
        frame *f = frame_text(text, (size_t)n);
        conn_enqueue(c, f);
        fhub_frame_unref(f);
        return;
    }
    json_object *args = json_object_new_object();
    json_object_object_add(args, "success", json_object_new_boolean(ok));
    if (!ok)
        json_object_object_add(args, "message",
                               json_object_new_string(message ? message : "error"));
    size_t alen = 0;
    const char *atext = json_object_to_json_string_length(
        args, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &alen);
    size_t len = 0;
    char *buf = fti_sio_frame_ack(LWS_PRE, pkt->id, atext, alen, &len);
    json_object_put(args);
    frame *f = frame_wrap(buf, len);
    conn_enqueue(c, f);
    fhub_frame_unref(f);
}

typedef struct route_ctx {
    fhub_wire_event *ev;
    frame *f;
} route_ctx;

static void deliver(fhub_route_peer *peer, void *user_data)
{
    route_ctx *rc = user_data;
    if (!rc->f) {
        size_t tlen = 0, len = 0;
        const char *text = fhub_wire_event_text(rc->ev, &tlen);
        if (!text)
            return;
        char *buf = fti_sio_frame_event(LWS_PRE, 0, text, tlen, &len);
        rc->f = frame_wrap(buf, len);
        if (!rc->f)
            return;
    }
    conn_enqueue((conn *)peer, rc->f);
}

/* The event's target compiled into *out (NULL for a broadcast); false with *why when it does
 * not compile. */
static bool compile_target(const fhub_wire_event *ev, ftrack_expression **out, ftrack_error *why)
{
    *out = NULL;
    json_object *tv = json_object_object_get(ev->event, "target");
    const char *target =
        json_object_is_type(tv, json_type_string) ? json_object_get_string(tv) : "";
    return target[strspn(target, " \t\r\n")] == '\0' ||
           ftrack_expression_compile(target, out, why) == FTRACK_OK;
}

/* Route one parsed event to the subscribers that match it and its target (`texpr`, NULL for a
 * broadcast). */
static void route_event(fhub_server *srv, fhub_wire_event *ev, const ftrack_expression *texpr)
{
    route_ctx rc = {ev, NULL};
    fhub_router_route(srv->router, ev->event, texpr, deliver, &rc);
    fhub_frame_unref(rc.f);
}

static void handle_subscribe(conn *c, const fti_sio_packet *pkt, json_object *event)
{
    json_object *data = json_object_object_get(event, "data");
    json_object *subscriber = json_object_object_get(data, "subscriber");
    json_object *subscription = json_object_object_get(data, "subscription");
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st =
        json_object_is_type(subscription, json_type_string)
            ? fhub_router_subscribe(c->srv->router, &c->peer, subscriber,
                                    json_object_get_string(subscription), &err)
            : fti_error(&err, FTRACK_ERR_INVALID_ARGUMENT, "subscription is not a string");
    if (st != FTRACK_OK) {
        conn_log(c, FTRACK_LOG_WARNING, "refused a subscription: %s", err.message);
        send_ack(c, pkt, false, err.message);
        return;
    }
    conn_log(c, FTRACK_LOG_DEBUG, "subscribed: %s", json_object_get_string(subscription));
    send_ack(c, pkt, true, NULL);
}

static void handle_unsubscribe(conn *c, const fti_sio_packet *pkt, json_object *event)
{
    json_object *data = json_object_object_get(event, "data");
    json_object *subscriber = json_object_object_get(data, "subscriber");
    json_object *id = json_object_object_get(subscriber, "id");
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fhub_router_unsubscribe(
            c->srv->router, &c->peer,
            json_object_is_type(id, json_type_string) ? json_object_get_string(id) : NULL,
            &err) != FTRACK_OK) {
        conn_log(c, FTRACK_LOG_WARNING, "unsubscribe failed: %s", err.message);
        send_ack(c, pkt, false, err.message);
        return;
    }
    send_ack(c, pkt, true, NULL);
}

static void handle_event(conn *c, const fti_sio_packet *pkt)
{
    fhub_server *srv = c->srv;
    fhub_wire_event ev;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fhub_wire_event_parse(pkt->data, pkt->data ? pkt->data_len : 0, srv->max_depth, c->user,
                              &ev, &err) != FTRACK_OK) {
        conn_log(c, FTRACK_LOG_WARNING, "dropped an event: %s", err.message);
        send_ack(c, pkt, false, err.message);
        return;
    }
    if (strcmp(ev.topic, "ftrack.meta.subscribe") == 0) {
        handle_subscribe(c, pkt, ev.event);
    } else if (strcmp(ev.topic, "ftrack.meta.unsubscribe") == 0) {
        handle_unsubscribe(c, pkt, ev.event);
    } else {
        /* Ack first, so a publisher that also subscribed sees its ack before the echo. */
        ftrack_error why;
        ftrack_error_clear(&why);
        ftrack_expression *texpr = NULL;
        if (!compile_target(&ev, &texpr, &why)) {
            conn_log(c, FTRACK_LOG_WARNING, "dropped an event with an invalid target: %s",
                     why.message);
            send_ack(c, pkt, false, why.message);
        } else {
            send_ack(c, pkt, true, NULL);
            route_event(srv, &ev, texpr);
        }
        ftrack_expression_free(texpr);
    }
    fhub_wire_event_clear(&ev);
}

static void handle_message(conn *c, const char *text, size_t len)
{
    fti_sio_packet pkt;
    ftrack_error err;
    ftrack_error_clear(&err);
    /* Event data is checked for UTF-8 where it is parsed, so the sender still gets its ack. */
    if (fti_sio_decode(text, len, &pkt, &err) != FTRACK_OK) {
        conn_log(c, FTRACK_LOG_WARNING, "dropped a malformed packet: %s", err.message);
        return;
    }
    switch (pkt.type) {
    case FTI_SIO_HEARTBEAT:
    case FTI_SIO_CONNECT:
    case FTI_SIO_NOOP:
    case FTI_SIO_ACK:
        return;
    case FTI_SIO_EVENT:
        handle_event(c, &pkt);
        return;
    case FTI_SIO_DISCONNECT:
        conn_log(c, FTRACK_LOG_DEBUG, "client disconnected");
        conn_close_softly(c);
        return;
    case FTI_SIO_MESSAGE:
    case FTI_SIO_JSON:
    case FTI_SIO_ERROR:
        conn_log(c, FTRACK_LOG_WARNING, "dropped a packet of unsupported type %d", (int)pkt.type);
        send_ack(c, &pkt, false, "unsupported packet type");
        return;
    }
}

/* ---- websocket receive ------------------------------------------------------------------------
 */

static void skip_note_ack(conn *c, const char *head, size_t len)
{
    /* Keep the ack id of an oversized event so its sender still hears why. */
    fti_sio_packet pkt;
    const char *c2 = len > 2 ? memchr(head + 2, ':', len - 2) : NULL;
    c->skip_ack_id = 0;
    if (c2 && fti_sio_decode(head, (size_t)(c2 - head) + 1, &pkt, NULL) == FTRACK_OK &&
        pkt.type == FTI_SIO_EVENT) {
        c->skip_ack_id = pkt.id;
        c->skip_ack_plus = pkt.ack_with_data;
    }
}

static int ws_receive(conn *c, struct lws *wsi, const char *in, size_t len)
{
    fhub_server *srv = c->srv;
    c->last_rx = fti_now();
    if (!c->in_msg) {
        c->in_msg = true;
        c->rx_binary = lws_frame_is_binary(wsi);
        c->rx_skip = false;
        c->rxlen = 0;
    }
    if (!c->rx_binary && !c->rx_skip) {
        if (c->rxlen + len > srv->max_frame) {
            if (c->rxlen == 0)
                skip_note_ack(c, in, len);
            else
                skip_note_ack(c, c->rx, c->rxlen);
            c->rx_skip = true;
        } else {
            if (!fti_array_reserve(&c->rx, &c->rxcap, c->rxlen + len + 1, 1))
                return -1;
            memcpy(c->rx + c->rxlen, in, len);
            c->rxlen += len;
        }
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    c->in_msg = false;
    if (c->rx_binary) {
        conn_log(c, FTRACK_LOG_WARNING, "dropped a binary frame (socket.io 0.9 is text only)");
    } else if (c->rx_skip) {
        char msg[96];
        snprintf(msg, sizeof(msg), "frame larger than %zu bytes", srv->max_frame);
        conn_log(c, FTRACK_LOG_WARNING, "dropped a %s", msg);
        fti_sio_packet pkt = {
            .type = FTI_SIO_EVENT, .id = c->skip_ack_id, .ack_with_data = c->skip_ack_plus};
        send_ack(c, &pkt, false, msg);
    } else {
        handle_message(c, c->rx, c->rxlen);
    }
    c->rxlen = 0;
    /* Give back a buffer an unusually large message grew. */
    if (c->rxcap > 65536) {
        free(c->rx);
        c->rx = NULL;
        c->rxcap = 0;
    }
    return 0;
}

/* Move the frames at the head of the queue into srv->out, up to one write's worth (a frame
 * larger than that goes alone). False when out of memory. */
static bool batch_queued(conn *c)
{
    fti_wsbatch *out = &c->srv->out;
    fti_wsbatch_clear(out);
    for (int n = 0; c->qlen > 0 && n < MAX_FRAMES_PER_WRITE; n++) {
        frame *f = c->q[c->qhead];
        if (out->len && out->len + f->len + 10 > WRITE_BATCH_BYTES)
            break;
        if (!fti_wsbatch_add_text(out, f->buf + LWS_PRE, f->len))
            return false;
        fhub_frame_unref(conn_dequeue(c));
    }
    return true;
}

/* The waiting frames leave as one write of back-to-back server frames (hub/wsframe.h) instead
 * of one lws_write(LWS_WRITE_TEXT), i.e. one send(), each: a delivery to a subscriber that is
 * behind costs no system call of its own. Control frames (ping, pong, close) stay with lws. */
static int ws_writeable(conn *c, struct lws *wsi)
{
    fhub_server *srv = c->srv;
    if (!batch_queued(c)) {
        conn_log(c, FTRACK_LOG_ERROR, "out of memory writing to the connection");
        return -1;
    }
    size_t len = srv->out.len;
    /* lws keeps what the socket does not take (and sends it before the next writeable) */
    if (len && lws_write(wsi, fti_wsbatch_data(&srv->out), len, LWS_WRITE_RAW) < (int)len)
        return -1;
    if (srv->out.cap > WRITE_BATCH_KEEP)
        fti_wsbatch_free(&srv->out);
    if (c->qlen > 0 || (c->closing && lws_partial_buffered(wsi))) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->closing) {
        /* No close frame: the Python client only reconnects on a drop. */
        shutdown(lws_get_socket_fd(wsi), SHUT_RDWR);
        return -1;
    }
    return 0;
}

static void ws_timer(conn *c, struct lws *wsi)
{
    fhub_server *srv = c->srv;
    if (fti_now() - c->last_rx > srv->hb_timeout) {
        conn_log(c, FTRACK_LOG_INFO, "no frame for %.0f s; dropping the connection",
                 srv->hb_timeout);
        conn_close_softly(c);
        return;
    }
    conn_enqueue(c, srv->hb_frame);
    lws_set_timer_usecs(wsi, (lws_usec_t)(srv->hb_interval * 1e6));
}

/* The upgrade the handshake's sid allowed (server_handshake.c): the connection begins. */
static int ws_established(fhub_server *srv, struct lws *wsi, pss *ps)
{
    char user[128];
    memset(ps, 0, sizeof(*ps));
    if (!fhub_claim_sid(srv, wsi, user, sizeof(user)))
        return -1; /* the sid was used by a concurrent upgrade */
    ps->c = conn_new(srv, wsi, user);
    if (!ps->c)
        return -1;
    conn_log(ps->c, FTRACK_LOG_INFO, "connected");
    conn_enqueue(ps->c, srv->connect_frame);
    lws_set_timer_usecs(wsi, (lws_usec_t)(srv->hb_interval * 1e6));
    return 0;
}

/* ---- work handed over from other threads ------------------------------------------------------
 */

static void route_injected(fhub_server *srv, injected *inj)
{
    static const char head[] = "{\"name\":\"ftrack.event\",\"args\":[";
    size_t hl = sizeof(head) - 1;
    char *payload = malloc(hl + inj->len + 3);
    if (!payload)
        return;
    memcpy(payload, head, hl);
    memcpy(payload + hl, inj->text, inj->len);
    memcpy(payload + hl + inj->len, "]}", 3);
    fhub_wire_event ev;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fhub_wire_event_parse(payload, hl + inj->len + 2, srv->max_depth, srv->user, &ev, &err) ==
        FTRACK_OK) {
        ftrack_expression *texpr = NULL;
        if (compile_target(&ev, &texpr, &err))
            route_event(srv, &ev, texpr);
        else
            ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT, "injected event not routed: %s",
                       err.message);
        ftrack_expression_free(texpr);
        fhub_wire_event_clear(&ev);
    } else {
        ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT, "injected event dropped: %s", err.message);
    }
    free(payload);
}

static void run_handed_over(fhub_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    injected *list = srv->inject_head;
    bool drop = srv->drop_all;
    srv->inject_head = srv->inject_tail = NULL;
    srv->drop_all = false;
    pthread_mutex_unlock(&srv->lock);
    while (list) {
        injected *next = list->next;
        route_injected(srv, list);
        free(list->text);
        free(list);
        list = next;
    }
    if (drop)
        for (conn *c = srv->conns; c; c = c->next)
            conn_close_softly(c);
}

/* ---- the lws callback -------------------------------------------------------------------------
 */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    fhub_server *srv = lws_context_user(lws_get_context(wsi));
    pss *ps = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return fhub_handle_http(srv, wsi, ps, in ? (const char *)in : "");
    case LWS_CALLBACK_HTTP_BODY:
        if (ps->is_upload)
            return fhub_upload_body(srv, wsi, ps, in, len);
        if (ps->close_after || ps->refusal)
            return 0; /* refused: the body is dropped */
        return ps->is_api ? fhub_api_body(srv, ps, in, len) : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (ps->close_after)
            return 0; /* answered already, without reading the body */
        if (ps->refusal)
            return fhub_refusal_complete(wsi, ps);
        if (ps->is_upload)
            return fhub_upload_complete(ps, wsi);
        return ps->is_api ? fhub_api_complete(srv, wsi, ps) : -1;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return fhub_http_writeable(wsi, ps);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (ps && !ps->c) {
            free(ps->body);
            free(ps->resp);
            free(ps->refusal);
            ps->body = ps->resp = ps->refusal = NULL;
            fhub_upload_drop(ps);
        }
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return fhub_confirm_upgrade(srv, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(srv, wsi, ps);
    case LWS_CALLBACK_RECEIVE:
        return ps->c ? ws_receive(ps->c, wsi, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ps->c ? ws_writeable(ps->c, wsi) : 0;
    case LWS_CALLBACK_TIMER:
        if (ps && ps->c)
            ws_timer(ps->c, wsi);
        else if (ps && ps->in_request)
            return fhub_request_timed_out(srv, wsi);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (ps && ps->c) {
            conn_log(ps->c, FTRACK_LOG_INFO, "closed");
            conn_free(ps->c);
            ps->c = NULL;
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv)
            run_handed_over(srv);
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols fhub_server_protocols[] = {
    {"ftrack-hub", callback, sizeof(pss), WS_RX_BUFFER, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

size_t fhub_server_connection_count(const fhub_server *srv)
{
    return atomic_load(&((fhub_server *)srv)->nconns);
}

ftrack_status fhub_server_inject(fhub_server *srv, const char *event_json, size_t len,
                                 ftrack_error *err)
{
    char *copy = event_json ? strndup(event_json, len) : NULL;
    json_object *obj = copy ? json_tokener_parse(copy) : NULL;
    free(copy);
    json_object *topic = obj ? json_object_object_get(obj, "topic") : NULL;
    bool ok =
        json_object_is_type(obj, json_type_object) && json_object_is_type(topic, json_type_string);
    json_object_put(obj);
    if (!ok)
        return fti_error(err, FTRACK_ERR_PARSE,
                         "an injected event must be a JSON object with a topic");
    injected *inj = calloc(1, sizeof(*inj));
    if (!inj || !(inj->text = strndup(event_json, len))) {
        free(inj);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    inj->len = strlen(inj->text);
    pthread_mutex_lock(&srv->lock);
    if (srv->inject_tail)
        srv->inject_tail->next = inj;
    else
        srv->inject_head = inj;
    srv->inject_tail = inj;
    pthread_mutex_unlock(&srv->lock);
    lws_cancel_service(srv->ctx);
    return FTRACK_OK;
}

void fhub_server_drop_connections(fhub_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    srv->drop_all = true;
    pthread_mutex_unlock(&srv->lock);
    lws_cancel_service(srv->ctx);
}
