/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_hub_flush against a scripted socket.io 0.9 server on loopback (one thread, plain
 * sockets): the server answers the handshake, opens the websocket and holds the
 * acknowledgements of what the client sends until the test lets them go, so the test decides
 * when the frames are settled: flush must time out while they are held, return once they are
 * acknowledged (or refused), and give up at once when the connection drops. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <libwebsockets.h>

#include <ftrack/event.h>
#include <ftrack/host.h>
#include <ftrack/hub.h>

#include "common/internal.h"
#include "hub_test_support.h"

#define MAX_HELD 64

typedef struct sio_server {
    int listen_fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock */
    unsigned long held[MAX_HELD]; /* ack ids received and not answered yet */
    size_t n_held;
    size_t received;     /* frames that asked for an ack, over the server's life */
    bool release;        /* answer what is held, and everything from now on */
    bool refuse;         /* answer with success false */
    double release_at;   /* > 0: set release at this time (fti_now) */
    bool drop;           /* close the websocket */
    atomic_bool quit;
} sio_server;

/* Read an HTTP request head; false on EOF or timeout. */
static bool read_head(int fd, char *buf, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0)
            return false;
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return false;
        n++;
        buf[n] = '\0';
        if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
            return true;
    }
    return false;
}

static void write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0)
            return;
        p += w;
        len -= (size_t)w;
    }
}

static void send_text(int fd, const char *text)
{
    size_t len = strlen(text);
    unsigned char head[4] = {0x81, 0, 0, 0};
    size_t hl = 2;
    if (len < 126) {
        head[1] = (unsigned char)len;
    } else {
        head[1] = 126;
        head[2] = (unsigned char)(len >> 8);
        head[3] = (unsigned char)len;
        hl = 4;
    }
    write_all(fd, head, hl);
    write_all(fd, text, len);
}

static const char *header_value(const char *head, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = head; (p = strstr(p, "\r\n")); p += 2)
        if (strncasecmp(p + 2, name, nl) == 0)
            return p + 2;
    return NULL;
}

static bool upgrade(int fd, const char *head)
{
    const char *k = header_value(head, "Sec-WebSocket-Key:");
    if (!k)
        return false;
    k += strlen("Sec-WebSocket-Key:");
    while (*k == ' ')
        k++;
    char key[128];
    size_t n = strcspn(k, "\r\n");
    if (n + 37 > sizeof(key))
        return false;
    snprintf(key, sizeof(key), "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)n, k);
    unsigned char digest[20];
    lws_SHA1((const unsigned char *)key, strlen(key), digest);
    char accept[64];
    lws_b64_encode_string((const char *)digest, 20, accept, sizeof(accept));
    char resp[256];
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n\r\n",
             accept);
    write_all(fd, resp, strlen(resp));
    return true;
}

/* A text payload from the client: remember the ack id of "5:ID+::{...}". */
static void on_text(sio_server *s, const char *text, size_t len)
{
    if (len < 3 || memcmp(text, "5:", 2) != 0)
        return;
    char *end = NULL;
    unsigned long id = strtoul(text + 2, &end, 10);
    if (!id || !end || *end != '+')
        return;
    pthread_mutex_lock(&s->lock);
    if (s->n_held < MAX_HELD)
        s->held[s->n_held++] = id;
    s->received++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Parse the complete client frames in buf[0..*len); keeps a partial one. False on close. */
static bool parse_frames(sio_server *s, unsigned char *buf, size_t *len)
{
    size_t off = 0;
    for (;;) {
        size_t n = *len - off;
        unsigned char *p = buf + off;
        if (n < 2)
            break;
        unsigned opcode = p[0] & 0x0f;
        size_t plen = p[1] & 0x7f, hl = 2;
        if (plen == 126) {
            if (n < 4)
                break;
            plen = ((size_t)p[2] << 8) | p[3];
            hl = 4;
        } else if (plen == 127) {
            if (n < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = (plen << 8) | p[2 + i];
            hl = 10;
        }
        bool masked = p[1] & 0x80;
        size_t mask_at = hl;
        hl += masked ? 4 : 0;
        if (n < hl + plen)
            break;
        for (size_t i = 0; masked && i < plen; i++)
            p[hl + i] ^= p[mask_at + i % 4];
        if (opcode == 8)
            return false;
        if (opcode == 1)
            on_text(s, (const char *)p + hl, plen);
        off += hl + plen;
    }
    memmove(buf, buf + off, *len - off);
    *len -= off;
    return true;
}

/* Answer the held acks when released. Returns false when the test asked to drop. */
static bool answer(sio_server *s, int fd)
{
    pthread_mutex_lock(&s->lock);
    if (s->release_at > 0 && fti_now() >= s->release_at) {
        s->release = true;
        s->release_at = 0;
    }
    bool drop = s->drop;
    size_t n = s->release ? s->n_held : 0;
    unsigned long ids[MAX_HELD];
    memcpy(ids, s->held, n * sizeof(*ids));
    if (n)
        s->n_held = 0;
    bool refuse = s->refuse;
    pthread_mutex_unlock(&s->lock);
    if (drop)
        return false;
    for (size_t i = 0; i < n; i++) {
        char text[128];
        snprintf(text, sizeof(text), "6:::%lu+[{\"success\":%s}]", ids[i],
                 refuse ? "false,\"message\":\"refused by the test\"" : "true");
        send_text(fd, text);
    }
    return true;
}

static void serve_websocket(sio_server *s, int fd)
{
    unsigned char buf[65536];
    size_t len = 0;
    while (!atomic_load(&s->quit)) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 10);
        if (r > 0) {
            ssize_t got = read(fd, buf + len, sizeof(buf) - len);
            if (got <= 0)
                return;
            len += (size_t)got;
            if (!parse_frames(s, buf, &len))
                return;
        }
        if (!answer(s, fd))
            return;
    }
}

static void *server_main(void *arg)
{
    sio_server *s = arg;
    while (!atomic_load(&s->quit)) {
        struct pollfd p = {s->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        char head[8192];
        if (read_head(fd, head, sizeof(head))) {
            if (strstr(head, "/socket.io/1/websocket/")) {
                if (upgrade(fd, head))
                    serve_websocket(s, fd);
            } else {
                static const char body[] = "sid-flush-test:60:60:websocket";
                char resp[256];
                snprintf(resp, sizeof(resp),
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n%s",
                         sizeof(body) - 1, body);
                write_all(fd, resp, strlen(resp));
            }
        }
        close(fd);
    }
    return NULL;
}

static sio_server *server_start(void)
{
    sio_server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    atomic_init(&s->quit, false);
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->listen_fd, 8), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &l), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    return s;
}

static void server_stop(sio_server *s)
{
    atomic_store(&s->quit, true);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

/* Wait (at most 10 s) until the server has received `n` frames that ask for an ack. */
static void server_wait_received(sio_server *s, size_t n)
{
    double until = fti_now() + 10;
    pthread_mutex_lock(&s->lock);
    while (s->received < n && fti_now() < until) {
        pthread_mutex_unlock(&s->lock);
        usleep(5000);
        pthread_mutex_lock(&s->lock);
    }
    size_t got = s->received;
    pthread_mutex_unlock(&s->lock);
    if (got < n)
        fail_msg("the server received %zu frames asking for an ack, expected %zu", got, n);
}

static void server_set(sio_server *s, bool release, bool refuse, double release_in, bool drop)
{
    pthread_mutex_lock(&s->lock);
    s->release = release;
    s->refuse = refuse;
    s->release_at = release_in > 0 ? fti_now() + release_in : 0;
    s->drop = drop;
    pthread_mutex_unlock(&s->lock);
}

static json_object *ignore_cb(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    (void)event, (void)d, (void)user_data;
    return NULL;
}

static void add_subscription(ftrack_hub *hub, const char *expr)
{
    ftrack_error err;
    if (ftrack_hub_subscribe(hub, expr, ignore_cb, NULL, NULL, NULL, &err) != FTRACK_OK)
        fail_msg("subscribe %s: %s", expr, err.message);
}

/* A hub subscribed twice, connected to the server; returns once the server has both
 * announcements (held). */
static ftrack_hub *connected_hub(sio_server *s)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
    ftrack_hub *hub = hub_with(url, 100);
    add_subscription(hub, "topic=test.one");
    add_subscription(hub, "topic=test.two");
    ftrack_error err;
    assert_int_equal(ftrack_hub_connect(hub, &err), FTRACK_OK);
    if (ftrack_hub_wait_connected(hub, 10, &err) != FTRACK_OK)
        fail_msg("not connected: %s", err.message);
    server_wait_received(s, 2);
    return hub;
}

static void test_flush_needs_a_connected_hub(void **state)
{
    (void)state;
    ftrack_error err;
    assert_int_equal(ftrack_hub_flush(NULL, 1, &err), FTRACK_ERR_INVALID_ARGUMENT);
    ftrack_hub *hub = unreachable_hub(10);
    double t0 = fti_now();
    assert_int_equal(ftrack_hub_flush(hub, 5, &err), FTRACK_ERR_NOT_CONNECTED);
    assert_true(fti_now() - t0 < 1.0);
    assert_non_null(strstr(err.message, "not connected"));
    ftrack_hub_free(hub);
}

/* Held acks: flush times out; let go: it returns, and only after they came. */
static void test_flush_waits_for_the_acks(void **state)
{
    (void)state;
    sio_server *s = server_start();
    ftrack_hub *hub = connected_hub(s);
    ftrack_error err;
    double t0 = fti_now();
    assert_int_equal(ftrack_hub_flush(hub, 0.3, &err), FTRACK_ERR_TIMEOUT);
    assert_true(fti_now() - t0 >= 0.29);
    assert_non_null(strstr(err.message, "did not acknowledge"));

    server_set(s, false, false, 0.4, false); /* the server answers 0.4 s from now */
    t0 = fti_now();
    assert_int_equal(ftrack_hub_flush(hub, 10, &err), FTRACK_OK);
    double waited = fti_now() - t0;
    assert_true(waited >= 0.35);
    assert_true(waited < 5);

    /* Settled: nothing is awaited, so the next flush returns at once. */
    t0 = fti_now();
    assert_int_equal(ftrack_hub_flush(hub, 10, &err), FTRACK_OK);
    assert_true(fti_now() - t0 < 0.2);

    /* A subscription made now is waited for too (the server answers as they come). */
    add_subscription(hub, "topic=test.three");
    assert_int_equal(ftrack_hub_flush(hub, 10, &err), FTRACK_OK);
    server_wait_received(s, 3);
    ftrack_hub_free(hub);
    server_stop(s);
}

/* A refusal settles a frame as well as a success does. */
static void test_flush_counts_a_refusal_as_settled(void **state)
{
    (void)state;
    sio_server *s = server_start();
    ftrack_hub *hub = connected_hub(s);
    server_set(s, true, true, 0, false);
    ftrack_error err;
    assert_int_equal(ftrack_hub_flush(hub, 10, &err), FTRACK_OK);
    ftrack_hub_free(hub);
    server_stop(s);
}

/* The connection drops while acks are held: flush gives up at once, not at its timeout. */
static void test_flush_gives_up_when_the_connection_drops(void **state)
{
    (void)state;
    sio_server *s = server_start();
    ftrack_hub *hub = connected_hub(s);
    server_set(s, false, false, 0, true);
    ftrack_error err;
    double t0 = fti_now();
    assert_int_equal(ftrack_hub_flush(hub, 20, &err), FTRACK_ERR_NOT_CONNECTED);
    assert_true(fti_now() - t0 < 10);
    ftrack_hub_free(hub);
    server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_needs_a_connected_hub),
        cmocka_unit_test(test_flush_waits_for_the_acks),
        cmocka_unit_test(test_flush_counts_a_refusal_as_settled),
        cmocka_unit_test(test_flush_gives_up_when_the_connection_drops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
