/* SPDX-License-Identifier: Apache-2.0 */
/* ftbench_floor: the floor of the round-trip benchmark and the fan-out receivers, written
 * with nothing but libwebsockets and json-c (no libftrack), so every figure can be read as a
 * ratio to what the transport and the JSON library cost.
 *
 *   ftbench_floor respond [--topic T]
 *       The floor responder: does the socket.io 0.9 handshake itself (one HTTP GET on a plain
 *       socket), subscribes topic=T, and answers each event: parse it with json-c, build the
 *       reply event, serialise it, frame it, write it. Prints READY once subscribed; runs
 *       until SIGTERM/SIGINT.
 *   ftbench_floor fanout --subscribers M --count K [--window W] [--watch NAME=PID]...
 *       M receiving connections subscribe topic=bench.fanout (they count frames, parse
 *       nothing) and one publishing connection sends K events (at most W per receiver not yet
 *       received) and an end marker. Reports deliveries per second and the CPU per delivery
 *       of each watched process (the hub) and of itself.
 *
 * Connects with FTRACK_SERVER (http://HOST:PORT), FTRACK_API_USER and FTRACK_API_KEY. */
#define _GNU_SOURCE
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libwebsockets.h>

#include "bench_util.h"

typedef enum role { ROLE_RESPONDER, ROLE_RECEIVER, ROLE_PUBLISHER } role;

typedef struct outframe {
    struct outframe *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE headroom, then the text */
} outframe;

typedef struct conn {
    role role;
    struct lws *wsi;
    char sid[128];
    char path[200];
    outframe *head, *tail;
    char *rx;
    size_t rxlen, rxcap;
    bool connected, subscribed, ended, closed;
    unsigned long received;
} conn;

typedef struct floor_state {
    const char *host;
    int port;
    const char *user, *key;
    const char *topic;
    struct lws_context *ctx;
    conn *conns;
    int nconns;
    char source_id[40];
    uint64_t rng;
    struct json_tokener *tok;
    unsigned long replies;
    /* fan-out */
    conn *pub;
    long count, window;
    long sent;
    bool marker_sent, started;
    double t0, t1;
    unsigned long total_received;
    int ended;
    fb_watch watch[FB_MAX_WATCH];
    int nwatch;
} floor_state;

static floor_state S;
static atomic_bool quit;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&quit, true);
    if (S.ctx)
        lws_cancel_service(S.ctx);
}

static void fail(const char *msg)
{
    fprintf(stderr, "ftbench_floor: %s\n", msg);
    exit(1);
}

/* ---- ids and frames --------------------------------------------------------------------- */

static void random_hex(char out[33])
{
    /* xorshift64*: ids need to be unique, not secret */
    static const char digits[] = "0123456789abcdef";
    for (int half = 0; half < 2; half++) {
        S.rng ^= S.rng >> 12;
        S.rng ^= S.rng << 25;
        S.rng ^= S.rng >> 27;
        uint64_t r = S.rng * 2685821657736338717ULL;
        for (int i = 0; i < 16; i++)
            out[half * 16 + i] = digits[(r >> (i * 4)) & 15];
    }
    out[32] = '\0';
}

static void queue_frame(conn *c, const char *prefix, const char *text, size_t len)
{
    size_t plen = strlen(prefix);
    outframe *f = malloc(sizeof(*f) + LWS_PRE + plen + len);
    if (!f)
        fail("out of memory");
    memcpy(f->buf + LWS_PRE, prefix, plen);
    memcpy(f->buf + LWS_PRE + plen, text, len);
    f->len = plen + len;
    f->next = NULL;
    if (c->tail)
        c->tail->next = f;
    else
        c->head = f;
    c->tail = f;
    lws_callback_on_writable(c->wsi);
}

static void send_subscribe(conn *c, const char *topic)
{
    char id[33], sub[33], text[1024];
    random_hex(id);
    random_hex(sub);
    int n = snprintf(text, sizeof(text),
                     "{\"name\":\"ftrack.event\",\"args\":[{\"id\":\"%s\",\"topic\":"
                     "\"ftrack.meta.subscribe\",\"data\":{\"subscriber\":{\"id\":\"%s\"},"
                     "\"subscription\":\"topic=%s\"},\"source\":{\"id\":\"%s\",\"user\":"
                     "{\"username\":\"%s\"}},\"target\":\"\",\"sent\":null,"
                     "\"inReplyToEvent\":null}]}",
                     id, sub, topic, S.source_id, S.user);
    queue_frame(c, "5:1+::", text, (size_t)n);
}

/* ---- the floor's per-event work: parse, build the reply, serialise, frame ------------------ */

static json_object *str(const char *s)
{
    return json_object_new_string(s);
}

static void add(json_object *o, const char *key, json_object *v)
{
    json_object_object_add_ex(o, key, v,
                              JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static void answer_event(conn *c, const char *data, size_t len)
{
    json_tokener_reset(S.tok);
    json_object *payload = json_tokener_parse_ex(S.tok, data, (int)len);
    json_object *args = NULL, *event = NULL, *id = NULL, *source = NULL, *sid = NULL;
    if (!payload || !json_object_object_get_ex(payload, "args", &args) ||
        !(event = json_object_array_get_idx(args, 0)) ||
        !json_object_object_get_ex(event, "id", &id) ||
        !json_object_object_get_ex(event, "source", &source) ||
        !json_object_object_get_ex(source, "id", &sid)) {
        json_object_put(payload);
        return;
    }
    char target[160], rid[33];
    snprintf(target, sizeof(target), "id=%s", json_object_get_string(sid));
    random_hex(rid);
    json_object *reply = json_object_new_object();
    add(reply, "id", str(rid));
    add(reply, "topic", str("ftrack.meta.reply"));
    json_object *rdata = json_object_new_object();
    add(rdata, "items", json_object_new_array());
    add(reply, "data", rdata);
    json_object *rsource = json_object_new_object();
    add(rsource, "id", str(S.source_id));
    json_object *user = json_object_new_object();
    add(user, "username", str(S.user));
    add(rsource, "user", user);
    add(reply, "source", rsource);
    add(reply, "target", str(target));
    add(reply, "sent", NULL);
    add(reply, "inReplyToEvent", json_object_get(id));
    json_object *wrap = json_object_new_object();
    add(wrap, "name", str("ftrack.event"));
    json_object *wargs = json_object_new_array_ext(1);
    json_object_array_add(wargs, reply);
    add(wrap, "args", wargs);
    size_t tlen = 0;
    const char *text = json_object_to_json_string_length(
        wrap, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &tlen);
    queue_frame(c, "5:::", text, tlen);
    json_object_put(wrap);
    json_object_put(payload);
    S.replies++;
}

/* ---- fan-out publisher ------------------------------------------------------------------- */

static const char FAN_EVENT[] =
    "\",\"topic\":\"bench.fanout\",\"data\":{\"selection\":[{\"entityId\":"
    "\"6b5c1a7e-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":\"task\"}],\"applicationId\":"
    "\"ftrack.client.web\",\"context\":{\"selection\":[]}},\"source\":{\"id\":"
    "\"bench-fanout-publisher\",\"user\":{\"id\":\"a1b2c3d4-0000-11ee-9c1e-0242ac120002\","
    "\"username\":\"bench-user\"}},\"target\":\"\",\"sent\":null,\"inReplyToEvent\":null}]}";

static void publish_some(void)
{
    conn *p = S.pub;
    while (S.sent < S.count) {
        unsigned long want = (unsigned long)S.sent * (unsigned long)(S.nconns - 1);
        if (want - S.total_received >= (unsigned long)(S.window * (S.nconns - 1)))
            return;
        char text[1024];
        int n =
            snprintf(text, sizeof(text), "{\"name\":\"ftrack.event\",\"args\":[{\"id\":\"fan-%ld%s",
                     S.sent, FAN_EVENT);
        queue_frame(p, "5:::", text, (size_t)n);
        S.sent++;
    }
    if (!S.marker_sent) {
        char text[1024];
        int n = snprintf(text, sizeof(text),
                         "{\"name\":\"ftrack.event\",\"args\":[{\"id\":\"fan-end%s", FAN_EVENT);
        /* the marker: same size, its id says it is the end */
        queue_frame(p, "5:::", text, (size_t)n);
        S.marker_sent = true;
    }
}

static bool all_subscribed(void)
{
    for (int i = 0; i < S.nconns; i++)
        if (S.conns[i].role != ROLE_PUBLISHER && !S.conns[i].subscribed)
            return false;
    return S.pub ? S.pub->connected : true;
}

static void maybe_start(void)
{
    if (S.started || !S.pub || !all_subscribed())
        return;
    S.started = true;
    fb_watch_sample(S.watch, S.nwatch, 0);
    S.t0 = fb_now();
    publish_some();
}

/* ---- messages ---------------------------------------------------------------------------- */

static void on_message(conn *c, const char *m, size_t len)
{
    if (len < 3)
        return;
    switch (m[0]) {
    case '1': /* connected: subscribe */
        c->connected = true;
        if (c->role != ROLE_PUBLISHER)
            send_subscribe(c, S.topic);
        maybe_start();
        return;
    case '2':
        queue_frame(c, "2::", "", 0);
        return;
    case '6':
        if (strncmp(m, "6:::1", 5) == 0 && !c->subscribed) {
            c->subscribed = true;
            if (c->role == ROLE_RESPONDER) {
                printf("READY\n");
                fflush(stdout);
            }
            maybe_start();
        }
        return;
    case '5':
        break;
    default:
        return;
    }
    if (c->role == ROLE_RESPONDER) {
        /* 5:<id>:<endpoint>:<data>: the data starts after the third colon */
        const char *p = m;
        for (int i = 0; i < 3 && p; i++) {
            p = memchr(p, ':', len - (size_t)(p - m));
            if (p)
                p++;
        }
        if (p)
            answer_event(c, p, len - (size_t)(p - m));
        return;
    }
    if (c->role == ROLE_RECEIVER) {
        static const char end[] = "5:::{\"name\":\"ftrack.event\",\"args\":[{\"id\":\"fan-end";
        if (len >= sizeof(end) - 1 && memcmp(m, end, sizeof(end) - 1) == 0) {
            c->ended = true;
            if (++S.ended == S.nconns - 1) {
                S.t1 = fb_now();
                fb_watch_sample(S.watch, S.nwatch, 1);
                atomic_store(&quit, true);
            }
            return;
        }
        c->received++;
        S.total_received++;
        if (S.started && S.sent < S.count)
            publish_some();
    }
}

static int on_receive(conn *c, struct lws *wsi, const char *in, size_t len)
{
    bool whole = lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi) &&
                 lws_remaining_packet_payload(wsi) == 0;
    if (whole && c->rxlen == 0) {
        on_message(c, in, len);
        return 0;
    }
    if (c->rxlen + len + 1 > c->rxcap) {
        size_t cap = c->rxcap ? c->rxcap * 2 : 65536;
        while (cap < c->rxlen + len + 1)
            cap *= 2;
        c->rx = realloc(c->rx, cap);
        if (!c->rx)
            fail("out of memory");
        c->rxcap = cap;
    }
    memcpy(c->rx + c->rxlen, in, len);
    c->rxlen += len;
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        c->rx[c->rxlen] = '\0';
        on_message(c, c->rx, c->rxlen);
        c->rxlen = 0;
    }
    return 0;
}

static int on_writeable(conn *c, struct lws *wsi)
{
    while (c->head) {
        outframe *f = c->head;
        if (lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT) < (int)f->len)
            return -1;
        c->head = f->next;
        if (!c->head)
            c->tail = NULL;
        free(f);
        if (lws_send_pipe_choked(wsi)) {
            lws_callback_on_writable(wsi);
            break;
        }
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    conn *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return c ? on_receive(c, wsi, in, len) : 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return c ? on_writeable(c, wsi) : 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "ftbench_floor: connection error: %.*s\n", in ? (int)len : 0,
                in ? (const char *)in : "");
        atomic_store(&quit, true);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c) {
            c->closed = true;
            if (!atomic_load(&quit))
                fprintf(stderr, "ftbench_floor: the hub closed a connection\n");
        }
        atomic_store(&quit, true);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"ftbench", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- handshake and connections ------------------------------------------------------------ */

static void url_encode(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *in && o + 4 < size; in++) {
        unsigned char ch = (unsigned char)*in;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

/* GET /socket.io/1/ on a plain socket; the body is "<sid>:<heartbeat>:<close>:<transports>". */
static void handshake(char sid[128])
{
    char port[16], user[256], key[512], req[1200], resp[4096];
    snprintf(port, sizeof(port), "%d", S.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(S.host, port, &hints, &res) != 0)
        fail("cannot resolve the hub");
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0)
        fail("cannot connect to the hub");
    freeaddrinfo(res);
    url_encode(S.user, user, sizeof(user));
    url_encode(S.key, key, sizeof(key));
    int n = snprintf(req, sizeof(req),
                     "GET /socket.io/1/?api_user=%s&api_key=%s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Connection: close\r\n\r\n",
                     user, key, S.host, S.port);
    if (write(fd, req, (size_t)n) != n)
        fail("handshake write failed");
    size_t have = 0;
    ssize_t r;
    while (have < sizeof(resp) - 1 && (r = read(fd, resp + have, sizeof(resp) - 1 - have)) > 0)
        have += (size_t)r;
    close(fd);
    resp[have] = '\0';
    const char *body = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.1 200", 12) != 0 || !body)
        fail("the hub refused the handshake");
    body += 4;
    size_t sl = strcspn(body, ":");
    if (sl == 0 || sl >= 128)
        fail("bad handshake body");
    memcpy(sid, body, sl);
    sid[sl] = '\0';
}

static void open_conn(conn *c, role r)
{
    c->role = r;
    handshake(c->sid);
    snprintf(c->path, sizeof(c->path), "/socket.io/1/websocket/%s", c->sid);
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof(i));
    i.context = S.ctx;
    i.address = S.host;
    i.port = S.port;
    i.path = c->path;
    i.host = S.host;
    i.origin = S.host;
    i.local_protocol_name = "ftbench";
    i.ietf_version_or_minus_one = -1;
    i.opaque_user_data = c;
    i.pwsi = &c->wsi;
    if (!lws_client_connect_via_info(&i))
        fail("cannot open the websocket");
}

static void parse_server(void)
{
    const char *url = getenv("FTRACK_SERVER");
    S.user = getenv("FTRACK_API_USER");
    S.key = getenv("FTRACK_API_KEY");
    if (!url || strncmp(url, "http://", 7) != 0 || !S.user || !S.key)
        fail("set FTRACK_SERVER (http://HOST:PORT), FTRACK_API_USER and FTRACK_API_KEY");
    static char host[256];
    const char *h = url + 7;
    const char *colon = strrchr(h, ':');
    if (!colon || (size_t)(colon - h) >= sizeof(host))
        fail("FTRACK_SERVER needs an explicit port");
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    S.host = host;
    S.port = (int)strtol(colon + 1, NULL, 10);
}

static int usage(void)
{
    fprintf(stderr, "usage: ftbench_floor respond [--topic T]\n"
                    "       ftbench_floor fanout --subscribers M --count K [--window W] "
                    "[--watch NAME=PID]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    bool fanout = strcmp(argv[1], "fanout") == 0;
    if (!fanout && strcmp(argv[1], "respond") != 0)
        return usage();
    S.topic = fanout ? "bench.fanout" : "ftrack.action.discover";
    int subscribers = 1;
    S.count = 10000;
    S.window = 64;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--topic") == 0)
            S.topic = argv[i + 1];
        else if (strcmp(argv[i], "--subscribers") == 0)
            subscribers = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--count") == 0)
            S.count = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--window") == 0)
            S.window = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--watch") == 0 && S.nwatch < FB_MAX_WATCH - 1 &&
                 fb_watch_parse(argv[i + 1], &S.watch[S.nwatch]) == 0)
            S.nwatch++;
        else
            return usage();
    }
    parse_server();
    S.rng = (uint64_t)(fb_now() * 1e9) ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
    char hex[33];
    random_hex(hex);
    snprintf(S.source_id, sizeof(S.source_id), "floor-%.24s", hex);
    S.tok = json_tokener_new_ex(66);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    lws_set_log_level(LLL_ERR, NULL);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.fd_limit_per_thread = (unsigned)(subscribers + 16);
    S.ctx = lws_create_context(&info);
    if (!S.ctx)
        fail("cannot create the lws context");

    S.nconns = fanout ? subscribers + 1 : 1;
    S.conns = calloc((size_t)S.nconns, sizeof(conn));
    if (!S.conns)
        fail("out of memory");
    if (fanout) {
        fb_watch *self = &S.watch[S.nwatch++];
        snprintf(self->name, sizeof(self->name), "receivers");
        self->pid = (long)getpid();
        for (int i = 0; i < subscribers; i++)
            open_conn(&S.conns[i], ROLE_RECEIVER);
        S.pub = &S.conns[subscribers];
        open_conn(S.pub, ROLE_PUBLISHER);
    } else {
        open_conn(&S.conns[0], ROLE_RESPONDER);
    }
    double limit = fb_now() + 300;
    while (!atomic_load(&quit) && fb_now() < limit)
        lws_service(S.ctx, 0);
    int rc = 0;
    if (fanout) {
        if (S.ended != S.nconns - 1) {
            fprintf(stderr, "ftbench_floor: fan-out did not finish (%d of %d receivers)\n", S.ended,
                    S.nconns - 1);
            rc = 1;
        } else {
            double deliveries = (double)S.total_received;
            printf("{\"kind\":\"fanout\",\"subscribers\":%d,\"events\":%ld,\"deliveries\":%.0f,"
                   "\"seconds\":%.4f,\"deliveries_per_s\":%.1f,",
                   subscribers, S.count, deliveries, S.t1 - S.t0, deliveries / (S.t1 - S.t0));
            fb_watch_print(stdout, S.watch, S.nwatch, deliveries);
            printf("}\n");
        }
    }
    lws_context_destroy(S.ctx);
    json_tokener_free(S.tok);
    for (int i = 0; i < S.nconns; i++) {
        while (S.conns[i].head) {
            outframe *f = S.conns[i].head;
            S.conns[i].head = f->next;
            free(f);
        }
        free(S.conns[i].rx);
    }
    free(S.conns);
    return rc;
}
