/* SPDX-License-Identifier: Apache-2.0 */
/* The hub's network thread: one libwebsockets context serviced by one thread (Debian's lws
 * has no libevent loop). It owns the connection state machine
 *
 *   IDLE → WAITING (backoff timer) → HANDSHAKE (HTTP GET) → CONNECTING (websocket)
 *        → CONNECTED → (drop) → WAITING ...         CONNECTED → CLOSING (on request) → IDLE
 *
 * Other threads talk to it only through the hub's shared state and lws_cancel_service(),
 * which raises LWS_CALLBACK_EVENT_WAIT_CANCELLED here. No user callback ever runs here:
 * received events are routed to delivery queues as text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "common/internal.h"
#include "hub/hub_internal.h"
#include "wire/socketio.h"
#include "wire/wsframe.h"

#define PROTOCOL_NAME "ftrack-hub"
#define RX_BUFFER 65536
/* Frames are added to one write up to this size (lws sends at most RX_BUFFER per call). */
#define WRITE_BATCH_BYTES (48 * 1024)
#define CLOSE_GRACE_SECONDS 3

struct fti_transport {
    ftrack_hub *hub;
    struct lws_context *ctx;
    pthread_t thread;
    bool thread_started;
    atomic_bool quit;
    atomic_bool abort_handshake;
    /* service thread only */
    struct lws *wsi;
    fti_conn_state state;
    bool established;
    lws_sorted_usec_list_t sul;
    char path[192];
    char *rx;
    size_t rx_len, rx_cap;
    bool rx_discard;
    double last_rx;
    uint64_t rng;
    struct json_tokener *tok;
    char proxy[256];
    fti_wsbatch out; /* the frames of one write */
};

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);

static const struct lws_protocols protocols[] = {
    {PROTOCOL_NAME, callback, 0, RX_BUFFER, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- logging and small helpers ----------------------------------------------------------- */

static void lws_log_emit(int level, const char *line)
{
    (void)level;
    char buf[512];
    fti_strlcpy(buf, line, sizeof(buf));
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    /* lws reports every refused attempt as an error; our own lines say what matters. */
    ftrack_log(FTRACK_LOG_DEBUG, "lws", "%s", buf);
}

static void lws_log_setup(void)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
}

static double jitter(fti_transport *t)
{
    /* xorshift64*: jitter needs spread, not secrecy */
    t->rng ^= t->rng >> 12;
    t->rng ^= t->rng << 25;
    t->rng ^= t->rng >> 27;
    uint64_t r = t->rng * 2685821657736338717ULL;
    return (double)(r >> 11) / 9007199254740992.0; /* [0, 1) */
}

/* Exponential backoff with ±25% jitter, capped. `failures` counts from 1. */
static double backoff(fti_transport *t, unsigned failures)
{
    const ftrack_hub *hub = t->hub;
    double d = hub->reconnect_min;
    for (unsigned i = 1; i < failures && d < hub->reconnect_max; i++)
        d *= 2.0;
    if (d > hub->reconnect_max)
        d = hub->reconnect_max;
    d *= 0.75 + 0.5 * jitter(t);
    return d > hub->reconnect_max ? hub->reconnect_max : d;
}

static void set_idle(fti_transport *t, bool idle)
{
    pthread_mutex_lock(&t->hub->lock);
    t->hub->idle = idle;
    pthread_cond_broadcast(&t->hub->cond);
    pthread_mutex_unlock(&t->hub->lock);
}

static void go_idle(fti_transport *t)
{
    lws_sul_cancel(&t->sul);
    t->state = FTI_ST_IDLE;
    set_idle(t, true);
}

static void attempt_cb(lws_sorted_usec_list_t *sul);

static void schedule_attempt(fti_transport *t, double delay)
{
    t->state = FTI_ST_WAITING;
    set_idle(t, false);
    lws_sul_schedule(t->ctx, 0, &t->sul, attempt_cb, (lws_usec_t)(delay * 1e6) + 1);
}

static bool want_connection(ftrack_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    bool want = hub->want_connected && !hub->destroying;
    pthread_mutex_unlock(&hub->lock);
    return want;
}

static void rx_reset(fti_transport *t)
{
    t->rx_len = 0;
    t->rx_discard = false;
}

/* ---- attempts and losses ------------------------------------------------------------------ */

static void attempt_failed(fti_transport *t, const ftrack_error *e)
{
    ftrack_hub *hub = t->hub;
    t->wsi = NULL;
    pthread_mutex_lock(&hub->lock);
    hub->last_error = *e;
    unsigned n = ++hub->failures;
    bool want = hub->want_connected && !hub->destroying;
    bool give_up =
        want && hub->reconnect_max_attempts > 0 && n >= (unsigned)hub->reconnect_max_attempts;
    size_t dropped = 0;
    if (give_up) {
        hub->want_connected = false;
        hub->initialised = false;
        dropped = hub->pending.n;
        fti_ack_fail_frames_locked(hub, &hub->pending, "the event hub gave up connecting");
        fti_frames_clear(&hub->pending);
    }
    pthread_cond_broadcast(&hub->cond);
    pthread_mutex_unlock(&hub->lock);
    if (give_up) {
        ftrack_log(
            FTRACK_LOG_ERROR, "hub",
            "giving up on the event server after %u attempts (%zu unsent events dropped): %s", n,
            dropped, e->message);
        go_idle(t);
        return;
    }
    if (!want) {
        go_idle(t);
        return;
    }
    double delay = backoff(t, n);
    ftrack_log(FTRACK_LOG_WARNING, "hub", "%s (attempt %u; retrying in %.1f s)", e->message, n,
               delay);
    schedule_attempt(t, delay);
}

static void keep_unsent_locked(ftrack_hub *hub)
{
    fti_frame_list keep = {NULL, NULL, 0};
    fti_frame *f;
    while ((f = fti_frames_pop(&hub->outbox))) {
        if (f->kind == FTI_FRAME_EVENT) {
            fti_frames_append(&keep, f);
            continue;
        }
        fti_ack_forget_locked(hub, f->ack_id); /* announcements are made anew on connect */
        fti_frame_free(f);
    }
    while ((f = fti_frames_pop(&hub->pending)))
        fti_frames_append(&keep, f);
    hub->pending = keep;
}

static void connection_lost(fti_transport *t, const char *why)
{
    ftrack_hub *hub = t->hub;
    t->wsi = NULL;
    t->established = false;
    rx_reset(t);
    pthread_mutex_lock(&hub->lock);
    hub->connected = false;
    keep_unsent_locked(hub);
    fti_ack_fail_sent_locked(hub, "the connection to the event server dropped before it "
                                  "acknowledged the event");
    bool destroying = hub->destroying;
    bool want = hub->want_connected && !destroying;
    if (want)
        hub->failures = 1;
    pthread_cond_broadcast(&hub->cond);
    pthread_mutex_unlock(&hub->lock);
    if (!destroying) {
        ftrack_log(want ? FTRACK_LOG_WARNING : FTRACK_LOG_INFO, "hub",
                   "disconnected from the event server at %s: %s", hub->server_url, why);
        fti_emit_meta(hub, "ftrack.meta.disconnected");
    }
    if (want)
        schedule_attempt(t, backoff(t, 1));
    else
        go_idle(t);
}

/* A callback says the current attempt or connection ended. */
static void connection_ended(fti_transport *t, const char *why)
{
    if (t->established) {
        connection_lost(t, why);
        return;
    }
    ftrack_error e;
    fti_error(&e, FTRACK_ERR_NETWORK, "Failed to open the websocket to the event server at %s: %s",
              t->hub->server_url, why);
    attempt_failed(t, &e);
}

static void start_websocket(fti_transport *t, const fti_handshake *hs)
{
    ftrack_hub *hub = t->hub;
    snprintf(t->path, sizeof(t->path), "/socket.io/1/websocket/%s", hs->sid);
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof(i));
    i.context = t->ctx;
    i.address = hub->endpoint.address;
    i.port = hub->endpoint.port;
    i.path = t->path;
    i.host = hub->endpoint.host;
    i.local_protocol_name = PROTOCOL_NAME;
    i.ietf_version_or_minus_one = -1;
    i.pwsi = &t->wsi;
    if (hub->endpoint.secure) {
        i.ssl_connection = LCCSCF_USE_SSL;
        if (hub->insecure)
            i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    t->state = FTI_ST_CONNECTING;
    t->established = false;
    rx_reset(t);
    if (!lws_client_connect_via_info(&i) && t->state == FTI_ST_CONNECTING)
        connection_ended(t, "could not start the connection");
}

static void attempt_cb(lws_sorted_usec_list_t *sul)
{
    fti_transport *t = lws_container_of(sul, fti_transport, sul);
    ftrack_hub *hub = t->hub;
    pthread_mutex_lock(&hub->lock);
    bool want = hub->want_connected && !hub->destroying;
    if (want)
        atomic_store(&t->abort_handshake, false);
    pthread_mutex_unlock(&hub->lock);
    if (!want || atomic_load(&t->quit)) {
        go_idle(t);
        return;
    }
    t->state = FTI_ST_HANDSHAKE;
    fti_handshake_request req = {
        .endpoint = &hub->endpoint,
        .api_user = hub->api_user,
        .api_key = hub->api_key,
        .headers = (const char *const *)hub->headers,
        .ca_bundle = hub->ca_bundle,
        .insecure = hub->insecure,
        .timeout = hub->connect_timeout,
        .abort = &t->abort_handshake,
    };
    fti_handshake hs;
    ftrack_error e;
    if (fti_hub_handshake(&req, &hs, &e) != FTRACK_OK) {
        attempt_failed(t, &e);
        return;
    }
    if (!want_connection(hub) || atomic_load(&t->quit)) {
        go_idle(t);
        return;
    }
    start_websocket(t, &hs);
}

/* ---- the open connection ------------------------------------------------------------------ */

static void on_established(fti_transport *t, struct lws *wsi)
{
    ftrack_hub *hub = t->hub;
    t->state = FTI_ST_CONNECTED;
    t->established = true;
    t->last_rx = fti_now();
    pthread_mutex_lock(&hub->lock);
    hub->connected = true;
    hub->failures = 0;
    ftrack_error_clear(&hub->last_error);
    hub->connections++;
    /* every subscriber is announced first, then what was published meanwhile */
    fti_frame_list out = {NULL, NULL, 0};
    for (size_t i = 0; hub->subs && i < hub->subs->n; i++) {
        fti_sub *s = hub->subs->subs[i];
        if (atomic_load(&s->removed))
            continue;
        fti_frame *f = fti_announce_frame_locked(hub, s);
        if (f)
            fti_frames_append(&out, f);
    }
    fti_frame *f;
    while ((f = fti_frames_pop(&hub->outbox))) { /* stale frames of an earlier connection */
        fti_ack_forget_locked(hub, f->ack_id);
        fti_frame_free(f);
    }
    while ((f = fti_frames_pop(&hub->pending)))
        fti_frames_append(&out, f);
    hub->outbox = out;
    size_t queued = out.n;
    unsigned long nth = hub->connections;
    pthread_cond_broadcast(&hub->cond);
    pthread_mutex_unlock(&hub->lock);
    lws_set_timer_usecs(wsi, (lws_usec_t)(hub->heartbeat_timeout * 1e6));
    ftrack_log(FTRACK_LOG_INFO, "hub", "%s the event server at %s (hub id %s; %zu frames to send)",
               nth > 1 ? "reconnected to" : "connected to", hub->server_url, hub->id, queued);
    fti_emit_meta(hub, "ftrack.meta.connected");
    lws_callback_on_writable(wsi);
}

static void queue_heartbeat(fti_transport *t, struct lws *wsi)
{
    fti_frame *f = calloc(1, sizeof(*f));
    if (!f)
        return;
    f->kind = FTI_FRAME_CONTROL;
    f->buf = fti_sio_frame_simple(LWS_PRE, FTI_SIO_HEARTBEAT, false, &f->len);
    if (!f->buf) {
        free(f);
        return;
    }
    pthread_mutex_lock(&t->hub->lock);
    fti_frames_prepend(&t->hub->outbox, f);
    pthread_mutex_unlock(&t->hub->lock);
    lws_callback_on_writable(wsi);
}

static void handle_ack(fti_transport *t, const char *data, size_t len)
{
    unsigned long id;
    const char *args;
    size_t alen;
    ftrack_error e;
    if (!data || fti_sio_decode_ack(data, len, &id, &args, &alen, &e) != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_WARNING, "hub", "ignored a malformed acknowledgement");
        return;
    }
    /* args points into the receive buffer, which is NUL-terminated after the frame */
    fti_ack_received(t->hub, id, args, alen);
}

/* Returns -1 to close the connection. */
static int handle_frame(fti_transport *t, struct lws *wsi, const char *buf, size_t len)
{
    fti_sio_packet p;
    ftrack_error e;
    if (fti_sio_decode(buf, len, &p, &e) != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_WARNING, "hub", "ignored a malformed packet: %s", e.message);
        return 0;
    }
    switch (p.type) {
    case FTI_SIO_HEARTBEAT:
        queue_heartbeat(t, wsi);
        return 0;
    case FTI_SIO_EVENT:
        fti_receive_event(t->hub, t->tok, p.data, p.data_len);
        return 0;
    case FTI_SIO_ACK:
        handle_ack(t, p.data, p.data_len);
        return 0;
    case FTI_SIO_DISCONNECT:
        ftrack_log(FTRACK_LOG_INFO, "hub", "the event server asked us to disconnect");
        return -1;
    case FTI_SIO_ERROR:
        ftrack_log(FTRACK_LOG_ERROR, "hub", "Event server reported error: %.*s.",
                   (int)(p.data_len > 200 ? 200 : p.data_len), p.data ? p.data : "");
        return 0;
    default:
        ftrack_log(FTRACK_LOG_DEBUG, "hub", "ignored a socket.io packet of type %d", (int)p.type);
        return 0;
    }
}

static bool rx_append(fti_transport *t, const char *in, size_t len)
{
    if (!fti_array_reserve(&t->rx, &t->rx_cap, t->rx_len + len + 1, 1))
        return false;
    memcpy(t->rx + t->rx_len, in, len);
    t->rx_len += len;
    t->rx[t->rx_len] = '\0';
    return true;
}

static int on_receive(fti_transport *t, struct lws *wsi, const char *in, size_t len)
{
    t->last_rx = fti_now();
    bool final = lws_is_final_fragment(wsi);
    if (lws_frame_is_binary(wsi)) {
        if (final) {
            ftrack_log(FTRACK_LOG_WARNING, "hub",
                       "dropped a binary frame (socket.io 0.9 is text only)");
            rx_reset(t);
        } else {
            t->rx_discard = true;
        }
        return 0;
    }
    if (!t->rx_discard && t->rx_len + len > FTI_HUB_MAX_FRAME) {
        ftrack_log(FTRACK_LOG_WARNING, "hub", "dropped a frame of more than %zu bytes",
                   FTI_HUB_MAX_FRAME);
        t->rx_discard = true;
    }
    if (!t->rx_discard && !rx_append(t, in, len)) {
        ftrack_log(FTRACK_LOG_ERROR, "hub", "out of memory receiving a frame");
        t->rx_discard = true;
    }
    if (!final)
        return 0;
    int rc = t->rx_discard ? 0 : handle_frame(t, wsi, t->rx, t->rx_len);
    rx_reset(t);
    if (t->rx_cap > 4 * RX_BUFFER) { /* give back what one huge frame took */
        free(t->rx);
        t->rx = NULL;
        t->rx_cap = 0;
    }
    return rc;
}

/* Every frame waiting in the outbox (up to a batch) goes out in one write: see wsframe.h. */
static int on_writeable(fti_transport *t, struct lws *wsi)
{
    ftrack_hub *hub = t->hub;
    fti_wsbatch_clear(&t->out);
    for (int n = 0; n < FTI_HUB_WRITE_BATCH && t->out.len < WRITE_BATCH_BYTES; n++) {
        pthread_mutex_lock(&hub->lock);
        fti_frame *f = fti_frames_pop(&hub->outbox);
        if (f)
            fti_ack_mark_sent_locked(hub, f->ack_id);
        pthread_mutex_unlock(&hub->lock);
        if (!f)
            break;
        bool ok = fti_wsbatch_add_text(&t->out, f->buf + LWS_PRE, f->len);
        fti_frame_free(f);
        if (!ok) {
            ftrack_log(FTRACK_LOG_ERROR, "hub", "out of memory writing to the event server");
            return -1;
        }
    }
    size_t len = t->out.len;
    /* lws takes what the socket cannot (partial writes, TLS) and asks for writable again */
    if (len && lws_write(wsi, fti_wsbatch_data(&t->out), len, LWS_WRITE_RAW) < (int)len) {
        ftrack_log(FTRACK_LOG_WARNING, "hub", "writing to the event server failed");
        return -1;
    }
    pthread_mutex_lock(&hub->lock);
    size_t left = hub->outbox.n;
    pthread_mutex_unlock(&hub->lock);
    if (left) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (t->state == FTI_ST_CLOSING) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    return 0;
}

static int on_timer(fti_transport *t, struct lws *wsi)
{
    double hb = t->hub->heartbeat_timeout;
    double quiet = fti_now() - t->last_rx;
    if (quiet >= hb) {
        ftrack_log(FTRACK_LOG_WARNING, "hub",
                   "no frame from the event server for %.0f s; reconnecting", quiet);
        return -1;
    }
    lws_set_timer_usecs(wsi, (lws_usec_t)((hb - quiet) * 1e6) + 1000);
    return 0;
}

/* Another thread changed the shared state: act on it. */
static void kick(fti_transport *t)
{
    ftrack_hub *hub = t->hub;
    pthread_mutex_lock(&hub->lock);
    bool want = hub->want_connected && !hub->destroying;
    bool has_out = hub->outbox.n > 0;
    pthread_mutex_unlock(&hub->lock);
    switch (t->state) {
    case FTI_ST_IDLE:
        if (want)
            schedule_attempt(t, 0);
        break;
    case FTI_ST_WAITING:
        if (!want)
            go_idle(t);
        break;
    case FTI_ST_CONNECTING:
        if (!want && t->wsi)
            lws_set_timeout(t->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        break;
    case FTI_ST_CONNECTED:
        if (!want) {
            t->state = FTI_ST_CLOSING;
            lws_set_timeout(t->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GRACE_SECONDS);
            lws_callback_on_writable(t->wsi);
        } else if (has_out) {
            lws_callback_on_writable(t->wsi);
        }
        break;
    case FTI_ST_CLOSING:
        if (t->wsi)
            lws_callback_on_writable(t->wsi);
        break;
    case FTI_ST_HANDSHAKE:
        break;
    }
}

static int append_headers(fti_transport *t, struct lws *wsi, void *in, size_t len)
{
    unsigned char **p = (unsigned char **)in, *end = (*p) + len;
    ftrack_hub *hub = t->hub;
    /* The session id authenticates the socket; the credentials ride along for servers that
     * check them again on the upgrade. */
    if (lws_add_http_header_by_name(
            wsi, (const unsigned char *)"ftrack-user:", (const unsigned char *)hub->api_user,
            (int)strlen(hub->api_user), p, end) ||
        lws_add_http_header_by_name(
            wsi, (const unsigned char *)"ftrack-api-key:", (const unsigned char *)hub->api_key,
            (int)strlen(hub->api_key), p, end))
        return -1;
    for (char **h = hub->headers; h && *h; h++) {
        const char *colon = strchr(*h, ':');
        char name[128];
        size_t nl = (size_t)(colon - *h);
        if (nl + 2 > sizeof(name))
            continue;
        memcpy(name, *h, nl);
        name[nl] = ':';
        name[nl + 1] = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)v,
                                        (int)strlen(v), p, end))
            return -1;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    struct lws_context *ctx = lws_get_context(wsi);
    ftrack_hub *hub = ctx ? lws_context_user(ctx) : NULL;
    fti_transport *t = hub ? hub->transport : NULL;
    if (!t)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        kick(t);
        return 0;
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return wsi == t->wsi ? append_headers(t, wsi, in, len) : 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (wsi == t->wsi)
            on_established(t, wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return wsi == t->wsi ? on_receive(t, wsi, in, len) : 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return wsi == t->wsi ? on_writeable(t, wsi) : 0;
    case LWS_CALLBACK_TIMER:
        return wsi == t->wsi ? on_timer(t, wsi) : 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (wsi == t->wsi || (!t->wsi && t->state == FTI_ST_CONNECTING)) {
            char why[256];
            snprintf(why, sizeof(why), "%.*s", in ? (int)(len ? len : strlen(in)) : 0,
                     in ? (const char *)in : "");
            connection_ended(t, *why ? why : "connection error");
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (wsi == t->wsi && (t->state == FTI_ST_CONNECTING || t->state == FTI_ST_CONNECTED ||
                              t->state == FTI_ST_CLOSING))
            connection_ended(t, t->state == FTI_ST_CLOSING ? "closed on request"
                                                           : "connection closed");
        return 0;
    default:
        return 0;
    }
}

/* ---- thread and lifecycle ------------------------------------------------------------------ */

static void *service_main(void *arg)
{
    fti_transport *t = arg;
    while (!atomic_load(&t->quit))
        lws_service(t->ctx, 0);
    return NULL;
}

static struct lws_context *create_context(fti_transport *t)
{
    ftrack_hub *hub = t->hub;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = hub;
    /* Without TLS to the event server lws needs no client SSL_CTX: loading the system CA
     * store costs about 0.5 MB of private memory per process for nothing. */
    if (hub->endpoint.secure) {
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = hub->ca_bundle;
    }
    info.fd_limit_per_thread = 32;
    info.connect_timeout_secs = (unsigned)hub->connect_timeout + 1;
    info.timeout_secs = (unsigned)hub->connect_timeout + 1;
    unsigned port = 0;
    if (fti_hub_proxy_for(&hub->endpoint, t->proxy, sizeof(t->proxy), &port)) {
        info.http_proxy_address = t->proxy;
        info.http_proxy_port = port;
    } else if (getenv("http_proxy")) {
        /* lws would otherwise read http_proxy itself, ignoring NO_PROXY */
        info.http_proxy_address = "";
    }
    return lws_create_context(&info);
}

ftrack_status fti_transport_start(ftrack_hub *hub, ftrack_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_mutex_lock(&hub->lock);
    if (hub->transport) {
        pthread_mutex_unlock(&hub->lock);
        return FTRACK_OK;
    }
    pthread_once(&once, lws_log_setup);
    fti_transport *t = calloc(1, sizeof(*t));
    if (!t) {
        pthread_mutex_unlock(&hub->lock);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    t->hub = hub;
    t->state = FTI_ST_IDLE;
    atomic_init(&t->quit, false);
    atomic_init(&t->abort_handshake, false);
    fti_wsbatch_init(&t->out, LWS_PRE);
    t->rng = (uint64_t)(fti_now() * 1e9) ^ (uint64_t)strtoull(hub->id + 16, NULL, 16) ^
             0x9E3779B97F4A7C15ULL;
    t->tok = json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH + 2);
    if (t->tok)
        /* strict, as consumers parse what is queued (ftrack_event_parse): the bytes received
         * are queued as they are, so only what a consumer accepts may pass */
        json_tokener_set_flags(t->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    t->ctx = t->tok ? create_context(t) : NULL;
    if (!t->ctx) {
        if (t->tok)
            json_tokener_free(t->tok);
        free(t);
        pthread_mutex_unlock(&hub->lock);
        return fti_error(err, FTRACK_ERR_INTERNAL, "could not create the websocket context");
    }
    hub->transport = t;
    if (pthread_create(&t->thread, NULL, service_main, t) != 0) {
        hub->transport = NULL;
        pthread_mutex_unlock(&hub->lock);
        lws_context_destroy(t->ctx);
        json_tokener_free(t->tok);
        free(t);
        return fti_error(err, FTRACK_ERR_INTERNAL, "could not start the event hub thread");
    }
    t->thread_started = true;
    pthread_mutex_unlock(&hub->lock);
    return FTRACK_OK;
}

void fti_transport_wake(ftrack_hub *hub)
{
    fti_transport *t = hub->transport;
    if (t && t->ctx)
        lws_cancel_service(t->ctx);
}

void fti_transport_interrupt(ftrack_hub *hub)
{
    fti_transport *t = hub->transport;
    if (!t)
        return;
    atomic_store(&t->abort_handshake, true);
    lws_cancel_service(t->ctx);
}

void fti_transport_stop(ftrack_hub *hub)
{
    fti_transport *t = hub->transport;
    if (!t)
        return;
    atomic_store(&t->quit, true);
    atomic_store(&t->abort_handshake, true);
    lws_cancel_service(t->ctx);
    if (t->thread_started)
        pthread_join(t->thread, NULL);
    /* may raise close callbacks on this thread; hub->destroying keeps them quiet */
    lws_context_destroy(t->ctx);
    hub->transport = NULL;
    json_tokener_free(t->tok);
    fti_wsbatch_free(&t->out);
    free(t->rx);
    free(t);
}
