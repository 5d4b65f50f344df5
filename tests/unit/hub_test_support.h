/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_TEST_HUB_TEST_SUPPORT_H
#define FTRACK_TEST_HUB_TEST_SUPPORT_H
/* Helpers shared by the hub client's unit tests (hub_dispatch_test.c, hub_queue_test.c,
 * hub_reply_test.c, hub_reply_text_test.c) and host_journal_test.c: a hub made from test
 * options, one pointed at a loopback port where nothing listens (so publishes queue), and
 * subscribers that record their calls or answer with a name. They were copied into each of
 * those files; static inline so each test includes only this header and links nothing more.
 * Include after <cmocka.h>. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ftrack/event.h>
#include <ftrack/hub.h>

#define API_USER "jane"

static inline ftrack_hub *hub_with(const char *url, size_t publish_max)
{
    ftrack_hub_options o;
    ftrack_hub_options_init(&o);
    o.server_url = url;
    o.api_user = API_USER;
    o.api_key = "secret-key";
    o.publish_queue_max = publish_max;
    o.reconnect_min_delay = 0.05;
    o.reconnect_max_delay = 0.2;
    o.connect_timeout = 2;
    ftrack_hub *hub = NULL;
    ftrack_error err;
    if (ftrack_hub_new(&o, &hub, &err) != FTRACK_OK)
        fail_msg("ftrack_hub_new: %s", err.message);
    return hub;
}

/* A loopback port with nothing listening (bound, then released). */
static inline int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A hub that has been told to connect to a port where nothing listens: publishes queue. */
static inline ftrack_hub *unreachable_hub(size_t publish_max)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead_port());
    ftrack_hub *hub = hub_with(url, publish_max);
    assert_int_equal(ftrack_hub_connect(hub, NULL), FTRACK_OK);
    return hub;
}

typedef struct calls {
    char log[512];
} calls;

/* user_data for a subscriber: a name, what to return, whether to stop. */
typedef struct sub_spec {
    calls *calls;
    const char *name;
    bool return_name;
    bool stop;
} sub_spec;

static inline json_object *record_cb(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    sub_spec *s = user_data;
    assert_non_null(d);
    assert_true(d->size >= sizeof(ftrack_delivery));
    assert_non_null(d->subscriber_id);
    strncat(s->calls->log, s->name, sizeof(s->calls->log) - strlen(s->calls->log) - 1);
    strncat(s->calls->log, ";", sizeof(s->calls->log) - strlen(s->calls->log) - 1);
    if (s->stop)
        ftrack_event_stop(event);
    return s->return_name ? json_object_new_string(s->name) : NULL;
}

static inline void subscribe(ftrack_hub *hub, const char *expr, sub_spec *spec, int priority,
                             json_object *metadata, ftrack_hub_queue *queue, bool ignore_own)
{
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.priority = priority;
    so.subscriber = metadata;
    so.queue = queue;
    so.ignore_own_user = ignore_own;
    ftrack_error err;
    char id[FTRACK_ID_MAX];
    if (ftrack_hub_subscribe(hub, expr, record_cb, spec, &so, id, &err) != FTRACK_OK)
        fail_msg("subscribe %s: %s", expr, err.message);
    assert_true(strlen(id) > 0);
}

static inline json_object *answer_named(ftrack_event *event, const ftrack_delivery *d,
                                        void *user_data)
{
    (void)event, (void)d;
    const char *name = user_data;
    return name ? json_object_new_string(name) : NULL;
}

static inline void subscribe_answer(ftrack_hub *hub, const char *expr, const char *answer,
                                    int priority, ftrack_hub_queue *q, const char *id)
{
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.priority = priority;
    so.queue = q;
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, "id", json_object_new_string(id));
    so.subscriber = meta;
    ftrack_error err;
    if (ftrack_hub_subscribe(hub, expr, answer_named, (void *)answer, &so, NULL, &err) != FTRACK_OK)
        fail_msg("subscribe: %s", err.message);
    json_object_put(meta);
}

#endif
