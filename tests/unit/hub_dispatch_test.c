/* The hub client without a server: local dispatch rules (protocol §6.6), publish_local
 * results, delivery queues and their overflow, the reply registry and its expiry, the
 * publish queue's bound and the not-connected errors. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <ftrack/event.h>
#include <ftrack/hub.h>
#include <ftrack/log.h>

#include <libwebsockets.h>

#include "common/internal.h"
#include "hub/hub_internal.h"

#define API_USER "jane"

/* ---- helpers ------------------------------------------------------------------------------ */

static ftrack_hub *hub_with(const char *url, size_t publish_max)
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
static int dead_port(void)
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
static ftrack_hub *unreachable_hub(size_t publish_max)
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

static json_object *record_cb(ftrack_event *event, const ftrack_delivery *d, void *user_data)
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

static void subscribe(ftrack_hub *hub, const char *expr, sub_spec *spec, int priority,
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

static json_object *publish_local(ftrack_hub *hub, ftrack_event *ev)
{
    json_object *results = NULL;
    ftrack_error err;
    if (ftrack_hub_publish_local(hub, ev, &results, &err) != FTRACK_OK)
        fail_msg("publish_local: %s", err.message);
    assert_true(json_object_is_type(results, json_type_array));
    return results;
}

static void assert_results(json_object *results, const char *expected_json)
{
    const char *got = json_object_to_json_string_ext(results, JSON_C_TO_STRING_PLAIN);
    if (strcmp(got, expected_json) != 0)
        fail_msg("results %s, expected %s", got, expected_json);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_hub_id_and_options(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("https://example.test:8443/some/path", 0);
    const char *id = ftrack_hub_id(hub);
    assert_int_equal(strlen(id), 32);
    for (const char *p = id; *p; p++)
        assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
    assert_string_equal(hub->endpoint.base_url, "https://example.test:8443");
    assert_true(hub->endpoint.secure);
    assert_int_equal(hub->publish_queue_max, 10000);
    assert_true(hub->reply_timeout == 60.0);
    assert_true(hub->heartbeat_timeout == 60.0);
    assert_int_equal(hub->reconnect_max_attempts, 0);
    assert_false(ftrack_hub_connected(hub));
    ftrack_hub_free(hub);

    ftrack_hub_options o;
    ftrack_hub_options_init(&o);
    o.server_url = "http://x";
    o.api_user = "u";
    ftrack_hub *h2 = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_hub_new(&o, &h2, &err), FTRACK_ERR_CONFIG);
    assert_null(h2);
    assert_non_null(strstr(err.message, "API key"));
    o.api_key = "k";
    o.server_url = "no-scheme.example";
    assert_int_equal(ftrack_hub_new(&o, &h2, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "scheme"));
}

static void test_priority_order_and_nulls(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    calls c = {""};
    sub_spec late = {&c, "late", true, false}, early = {&c, "early", true, false};
    sub_spec a = {&c, "a", true, false}, b = {&c, "b", false, false};
    subscribe(hub, "topic=test.order", &late, 200, NULL, NULL, false);
    subscribe(hub, "topic=test.order", &a, 100, NULL, NULL, false);
    subscribe(hub, "topic=test.order", &early, 50, NULL, NULL, false);
    subscribe(hub, "topic=test.order", &b, 100, NULL, NULL, false);
    subscribe(hub, "topic=test.other", &late, 1, NULL, NULL, false);

    ftrack_event *ev = ftrack_event_new("test.order", NULL);
    json_object *results = publish_local(hub, ev);
    assert_string_equal(c.log, "early;a;b;late;");
    assert_results(results, "[\"early\",\"a\",null,\"late\"]");
    /* the source was prepared in place (protocol §6.2) */
    json_object *src = ftrack_event_source(ev), *v;
    assert_true(json_object_object_get_ex(src, "id", &v));
    assert_string_equal(json_object_get_string(v), ftrack_hub_id(hub));
    json_object_put(results);
    ftrack_event_free(ev);
    ftrack_hub_free(hub);
}

static void test_stop_halts_lower_priority(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    calls c = {""};
    sub_spec first = {&c, "first", true, false}, stopper = {&c, "stopper", false, true};
    sub_spec after = {&c, "after", true, false};
    subscribe(hub, "topic=test.stop", &after, 30, NULL, NULL, false);
    subscribe(hub, "topic=test.stop", &stopper, 20, NULL, NULL, false);
    subscribe(hub, "topic=test.stop", &first, 10, NULL, NULL, false);
    ftrack_event *ev = ftrack_event_new("test.stop", NULL);
    json_object *results = publish_local(hub, ev);
    assert_string_equal(c.log, "first;stopper;");
    assert_results(results, "[\"first\",null]");
    assert_true(ftrack_event_is_stopped(ev));
    json_object_put(results);
    ftrack_event_free(ev);
    ftrack_hub_free(hub);
}

static void test_target_and_subscription_filtering(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    calls c = {""};
    sub_spec x = {&c, "x", true, false}, y = {&c, "y", true, false}, z = {&c, "z", true, false};
    json_object *mx = json_tokener_parse("{\"id\":\"sub-x\",\"role\":\"render\"}");
    json_object *my = json_tokener_parse("{\"id\":\"sub-y\",\"role\":\"review\"}");
    subscribe(hub, "topic=test.a and data.kind=x or topic=test.b", &x, 100, mx, NULL, false);
    subscribe(hub, "topic=test.a and data.kind=x or topic=test.b", &y, 100, my, NULL, false);
    subscribe(hub, "topic=test.*", &z, 100, NULL, NULL, false);
    json_object_put(mx);
    json_object_put(my);

    ftrack_event *ev = ftrack_event_new("test.a", json_tokener_parse("{\"kind\":\"x\"}"));
    json_object *r = publish_local(hub, ev);
    assert_string_equal(c.log, "x;y;z;");
    json_object_put(r);
    ftrack_event_free(ev);

    c.log[0] = '\0';
    ev = ftrack_event_new("test.a", json_tokener_parse("{\"kind\":\"other\"}"));
    r = publish_local(hub, ev);
    assert_string_equal(c.log, "z;");
    json_object_put(r);
    ftrack_event_free(ev);

    c.log[0] = '\0';
    ev = ftrack_event_new("test.b", NULL);
    ftrack_event_set_target(ev, "role=render");
    r = publish_local(hub, ev);
    assert_string_equal(c.log, "x;"); /* z's generated metadata has no role */
    assert_results(r, "[\"x\"]");
    json_object_put(r);
    ftrack_event_free(ev);

    c.log[0] = '\0';
    ev = ftrack_event_new("test.b", NULL);
    ftrack_event_set_target(ev, "id=sub-y");
    r = publish_local(hub, ev);
    assert_string_equal(c.log, "y;");
    json_object_put(r);
    ftrack_event_free(ev);

    /* a target that does not parse drops the event */
    c.log[0] = '\0';
    ev = ftrack_event_new("test.b", NULL);
    ftrack_event_set_target(ev, "id=");
    r = publish_local(hub, ev);
    assert_string_equal(c.log, "");
    json_object_put(r);
    ftrack_event_free(ev);
    ftrack_hub_free(hub);
}

static void test_ignore_own_user(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    calls c = {""};
    sub_spec own = {&c, "ignoring", true, false}, all = {&c, "all", true, false};
    subscribe(hub, "topic=test.user", &own, 10, NULL, NULL, true);
    subscribe(hub, "topic=test.user", &all, 20, NULL, NULL, false);
    ftrack_event *ev = ftrack_event_new("test.user", NULL); /* source.user ← our api user */
    json_object *r = publish_local(hub, ev);
    assert_string_equal(c.log, "all;");
    json_object_put(r);
    ftrack_event_free(ev);

    c.log[0] = '\0';
    ev = ftrack_event_new("test.user", NULL);
    ftrack_event_set_source(ev, json_tokener_parse("{\"user\":{\"username\":\"bob\"}}"));
    r = publish_local(hub, ev);
    assert_string_equal(c.log, "ignoring;all;");
    json_object_put(r);
    ftrack_event_free(ev);
    ftrack_hub_free(hub);
}

static void test_subscribe_errors(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    calls c = {""};
    sub_spec s = {&c, "s", false, false};
    json_object *meta = json_tokener_parse("{\"id\":\"dup\"}");
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.subscriber = meta;
    char id[FTRACK_ID_MAX];
    ftrack_error err;
    assert_int_equal(ftrack_hub_subscribe(hub, "topic=a", record_cb, &s, &so, id, &err), FTRACK_OK);
    assert_string_equal(id, "dup");
    assert_int_equal(ftrack_hub_subscribe(hub, "topic=b", record_cb, &s, &so, id, &err),
                     FTRACK_ERR_EXISTS);
    assert_non_null(strstr(err.message, "dup"));
    assert_int_equal(ftrack_hub_subscribe(hub, "topic=a and", record_cb, &s, NULL, id, &err),
                     FTRACK_ERR_PARSE);
    assert_int_equal(ftrack_hub_unsubscribe(hub, "nope", &err), FTRACK_ERR_NOT_FOUND);
    assert_int_equal(ftrack_hub_unsubscribe(hub, "dup", &err), FTRACK_OK);
    assert_int_equal(ftrack_hub_unsubscribe(hub, "dup", &err), FTRACK_ERR_NOT_FOUND);
    /* the id is free again, and an unsubscribed callback no longer runs */
    assert_int_equal(ftrack_hub_subscribe(hub, "topic=a", record_cb, &s, &so, id, &err), FTRACK_OK);
    assert_int_equal(ftrack_hub_unsubscribe(hub, "dup", &err), FTRACK_OK);
    ftrack_event *ev = ftrack_event_new("a", NULL);
    json_object *r = publish_local(hub, ev);
    assert_int_equal(json_object_array_length(r), 0);
    assert_string_equal(c.log, "");
    json_object_put(r);
    ftrack_event_free(ev);
    json_object_put(meta);
    ftrack_hub_free(hub);
}

static void test_publish_not_connected(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    ftrack_event *ev = ftrack_event_new("test.x", NULL);
    ftrack_error err;
    assert_int_equal(ftrack_hub_publish(hub, ev, NULL, &err), FTRACK_ERR_NOT_CONNECTED);
    assert_non_null(strstr(err.message, "not connected"));
    assert_int_equal(ftrack_hub_wait_connected(hub, 0.1, &err), FTRACK_ERR_NOT_CONNECTED);
    ftrack_event_free(ev);
    ftrack_hub_free(hub);
}

static void test_publish_queue_bound_and_disconnect(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(3);
    ftrack_error err;
    for (int i = 0; i < 3; i++) {
        ftrack_event *ev = ftrack_event_new("test.queued", NULL);
        assert_int_equal(ftrack_hub_publish(hub, ev, NULL, &err), FTRACK_OK);
        ftrack_event_free(ev);
    }
    ftrack_event *ev = ftrack_event_new("test.queued", NULL);
    assert_int_equal(ftrack_hub_publish(hub, ev, NULL, &err), FTRACK_ERR_QUEUE_FULL);
    assert_non_null(strstr(err.message, "full"));
    pthread_mutex_lock(&hub->lock);
    assert_int_equal(hub->pending.n, 3);
    /* each queued frame asks for an acknowledgement, ids counting from 1 */
    const char *first = hub->pending.head->buf + LWS_PRE;
    assert_memory_equal(first, "5:1+::{\"name\":\"ftrack.event\",\"args\":[{", 38);
    pthread_mutex_unlock(&hub->lock);

    /* never connected, and the last error says why */
    assert_int_equal(ftrack_hub_wait_connected(hub, 0.3, &err), FTRACK_ERR_TIMEOUT);
    assert_non_null(strstr(err.message, "last error"));
    assert_null(strstr(err.message, "secret-key"));

    assert_int_equal(ftrack_hub_disconnect(hub, false, &err), FTRACK_OK);
    assert_int_equal(ftrack_hub_publish(hub, ev, NULL, &err), FTRACK_ERR_NOT_CONNECTED);
    pthread_mutex_lock(&hub->lock);
    assert_int_equal(hub->pending.n, 0);
    pthread_mutex_unlock(&hub->lock);
    /* connect again: publishes queue again */
    assert_int_equal(ftrack_hub_connect(hub, &err), FTRACK_OK);
    assert_int_equal(ftrack_hub_publish(hub, ev, NULL, &err), FTRACK_OK);
    ftrack_event_free(ev);
    ftrack_hub_free(hub);
}

typedef struct reply_log {
    int replies;
    int finals;
    char last_data[128];
} reply_log;

static void on_reply(ftrack_event *reply, void *user_data)
{
    reply_log *l = user_data;
    if (!reply) {
        l->finals++;
        return;
    }
    l->replies++;
    fti_strlcpy(l->last_data,
                json_object_to_json_string_ext(ftrack_event_data(reply), JSON_C_TO_STRING_PLAIN),
                sizeof(l->last_data));
}

static char *publish_with_reply(ftrack_hub *hub, reply_log *log, double timeout,
                                ftrack_hub_queue *queue)
{
    ftrack_event *ev = ftrack_event_new("test.ask", NULL);
    ftrack_publish_options po;
    ftrack_publish_options_init(&po);
    po.on_reply = on_reply;
    po.user_data = log;
    po.reply_timeout = timeout;
    po.queue = queue;
    ftrack_error err;
    if (ftrack_hub_publish(hub, ev, &po, &err) != FTRACK_OK)
        fail_msg("publish: %s", err.message);
    char *id = strdup(ftrack_event_id(ev));
    ftrack_event_free(ev);
    return id;
}

static void deliver_reply(ftrack_hub *hub, const char *to_event, const char *target_id,
                          const char *data_json)
{
    ftrack_event *r = ftrack_event_new("ftrack.meta.reply", json_tokener_parse(data_json));
    char target[96];
    snprintf(target, sizeof(target), "id=%s", target_id);
    ftrack_event_set_target(r, target);
    ftrack_event_set_in_reply_to(r, to_event);
    ftrack_event_set_source(r, json_tokener_parse("{\"id\":\"responder\"}"));
    assert_int_equal(ftrack_hub_deliver_local(hub, r, NULL), FTRACK_OK);
    ftrack_event_free(r);
}

static void test_reply_registry_and_expiry(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    reply_log log = {0, 0, ""};
    char *id = publish_with_reply(hub, &log, 0.4, NULL);
    /* a second publish of the same event id cannot register another callback */
    assert_int_equal(lh_table_length(hub->replies), 1);

    deliver_reply(hub, id, ftrack_hub_id(hub), "{\"answer\":1}");
    deliver_reply(hub, id, ftrack_hub_id(hub), "{\"answer\":2}");
    deliver_reply(hub, id, "someone-else", "{\"answer\":3}"); /* not targeted at us */
    deliver_reply(hub, "unknown-event", ftrack_hub_id(hub), "{\"answer\":4}");
    assert_int_equal(ftrack_hub_wait(hub, 0.1, NULL), FTRACK_OK);
    assert_int_equal(log.replies, 2);
    assert_string_equal(log.last_data, "{\"answer\":2}");
    assert_int_equal(log.finals, 0);

    /* the window closes: one final NULL call, and the registry is empty */
    double t0 = fti_now();
    while (log.finals == 0 && fti_now() - t0 < 3.0)
        ftrack_hub_wait(hub, 0.1, NULL);
    assert_int_equal(log.finals, 1);
    assert_int_equal(lh_table_length(hub->replies), 0);
    deliver_reply(hub, id, ftrack_hub_id(hub), "{\"answer\":5}");
    ftrack_hub_wait(hub, 0.1, NULL);
    assert_int_equal(log.replies, 2);

    /* many publishes with short windows: the registry never keeps expired entries */
    reply_log many = {0, 0, ""};
    for (int i = 0; i < 200; i++)
        free(publish_with_reply(hub, &many, 0.05, NULL));
    assert_int_equal(lh_table_length(hub->replies), 200);
    ftrack_hub_wait(hub, 0.3, NULL);
    assert_int_equal(many.finals, 200);
    assert_int_equal(lh_table_length(hub->replies), 0);

    /* pending callbacks get their final call when the hub is freed */
    reply_log at_free = {0, 0, ""};
    free(publish_with_reply(hub, &at_free, 30, NULL));
    free(id);
    ftrack_hub_free(hub);
    assert_int_equal(at_free.finals, 1);
}

static void test_reply_goes_to_publishing_queue(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "plugin-a", 10, &q, NULL), FTRACK_OK);
    reply_log log = {0, 0, ""};
    ftrack_hub_bind_thread(hub, q); /* on_reply of publishes from this thread run on q */
    char *id = publish_with_reply(hub, &log, 30, NULL);
    ftrack_hub_bind_thread(hub, NULL);
    deliver_reply(hub, id, ftrack_hub_id(hub), "{\"ok\":true}");
    assert_int_equal(ftrack_hub_queue_depth(q), 1);
    assert_int_equal(ftrack_hub_queue_depth(hub->default_queue), 0);
    ftrack_hub_wait(hub, 0.05, NULL);
    assert_int_equal(log.replies, 0); /* not the hub's queue */
    size_t len = 0;
    char *text = ftrack_hub_queue_take(q, 1.0, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_int_equal(ftrack_hub_queue_dispatch(q, text, len, NULL, NULL), FTRACK_OK);
    ftrack_free(text);
    assert_int_equal(log.replies, 1);
    assert_string_equal(log.last_data, "{\"ok\":true}");
    assert_int_equal(log.finals, 0);
    ftrack_hub_queue_free(q); /* pending reply callbacks of the queue get their final call */
    assert_int_equal(log.finals, 1);
    free(id);
    ftrack_hub_free(hub);
}

typedef struct overflow_log {
    int calls;
    char last[256];
} overflow_log;

static void on_overflow(ftrack_hub_queue *q, const char *text, size_t len, void *user_data)
{
    (void)q;
    overflow_log *o = user_data;
    o->calls++;
    snprintf(o->last, sizeof(o->last), "%.*s", (int)len, text);
}

static void test_queue_overflow_and_dispatch(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "small", 2, &q, NULL), FTRACK_OK);
    overflow_log ov = {0, ""};
    ftrack_hub_queue_set_overflow(q, on_overflow, &ov);
    calls c = {""};
    sub_spec in_q = {&c, "inq", false, false}, other = {&c, "other", false, false};
    subscribe(hub, "topic=test.q", &in_q, 100, NULL, q, false);
    subscribe(hub, "topic=test.q", &other, 50, NULL, NULL, false); /* the hub's own queue */
    for (int i = 0; i < 3; i++) {
        char data[32];
        snprintf(data, sizeof(data), "{\"n\":%d}", i);
        ftrack_event *ev = ftrack_event_new("test.q", json_tokener_parse(data));
        assert_int_equal(ftrack_hub_deliver_local(hub, ev, NULL), FTRACK_OK);
        ftrack_event_free(ev);
    }
    ftrack_event *nomatch = ftrack_event_new("test.none", NULL);
    ftrack_hub_deliver_local(hub, nomatch, NULL);
    ftrack_event_free(nomatch);
    assert_int_equal(ftrack_hub_queue_depth(q), 2);
    assert_int_equal(ov.calls, 1);
    assert_non_null(strstr(ov.last, "\"n\":2"));
    assert_int_equal(ftrack_hub_queue_depth(hub->default_queue), 3);

    for (int i = 0; i < 2; i++) {
        size_t len;
        char *text = ftrack_hub_queue_take(q, 0.5, &len);
        assert_non_null(text);
        char want[16];
        snprintf(want, sizeof(want), "\"n\":%d", i); /* order kept */
        assert_non_null(strstr(text, want));
        ftrack_delivery d = {.size = sizeof(d), .redelivery = true, .attempt = 2};
        assert_int_equal(ftrack_hub_queue_dispatch(q, text, len, &d, NULL), FTRACK_OK);
        ftrack_free(text);
    }
    /* only q's subscriber ran on q; the other subscriber waits in the hub's queue */
    assert_string_equal(c.log, "inq;inq;");
    assert_null(ftrack_hub_queue_take(q, 0.05, NULL));
    c.log[0] = '\0';
    ftrack_hub_wait(hub, 0.1, NULL);
    assert_string_equal(c.log, "other;other;other;");

    /* close wakes takers and refuses new deliveries */
    ftrack_hub_queue_close(q);
    assert_null(ftrack_hub_queue_take(q, 5.0, NULL));
    ftrack_event *ev = ftrack_event_new("test.q", NULL);
    ftrack_hub_deliver_local(hub, ev, NULL);
    ftrack_event_free(ev);
    assert_int_equal(ftrack_hub_queue_depth(q), 0);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

typedef struct ack_log {
    int calls;
    bool success;
    char message[200];
    bool had_message;
    int replies, finals;
} ack_log;

static void on_ack(bool success, const char *message, void *user_data)
{
    ack_log *l = user_data;
    l->calls++;
    l->success = success;
    l->had_message = message != NULL;
    fti_strlcpy(l->message, message ? message : "", sizeof(l->message));
}

static void on_ack_reply(ftrack_event *reply, void *user_data)
{
    ack_log *l = user_data;
    if (reply)
        l->replies++;
    else
        l->finals++;
}

static unsigned long publish_with_ack(ftrack_hub *hub, ack_log *log, bool with_reply, double window)
{
    ftrack_event *ev = ftrack_event_new("test.acked", NULL);
    ftrack_publish_options po;
    ftrack_publish_options_init(&po);
    po.on_ack = on_ack;
    po.on_reply = with_reply ? on_ack_reply : NULL;
    po.user_data = log;
    po.reply_timeout = window;
    assert_int_equal(ftrack_hub_publish(hub, ev, &po, NULL), FTRACK_OK);
    ftrack_event_free(ev);
    pthread_mutex_lock(&hub->lock);
    unsigned long id = hub->pending.tail->ack_id;
    pthread_mutex_unlock(&hub->lock);
    return id;
}

static void ack(ftrack_hub *hub, unsigned long id, const char *args)
{
    fti_ack_received(hub, id, args, strlen(args)); /* as the network thread does */
}

static void test_publish_ack_callback(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    /* acknowledged: on_ack runs once, on the publisher's queue (inside wait), not before */
    ack_log a = {0};
    unsigned long id = publish_with_ack(hub, &a, false, 30);
    ack(hub, id, "[{\"success\":true}]");
    assert_int_equal(a.calls, 0);
    ftrack_hub_wait(hub, 0.05, NULL);
    assert_int_equal(a.calls, 1);
    assert_true(a.success);
    assert_false(a.had_message);
    assert_int_equal(lh_table_length(hub->replies), 0); /* nothing more to wait for */
    ack(hub, id, "[{\"success\":true}]");               /* a duplicate is ignored */
    ftrack_hub_wait(hub, 0.05, NULL);
    assert_int_equal(a.calls, 1);

    /* refused, with a reply window: on_ack(false, message), later the final reply call */
    ack_log b = {0};
    id = publish_with_ack(hub, &b, true, 0.3);
    ack(hub, id, "[{\"success\":false,\"message\":\"not allowed\"}]");
    ftrack_hub_wait(hub, 0.05, NULL);
    assert_int_equal(b.calls, 1);
    assert_false(b.success);
    assert_string_equal(b.message, "not allowed");
    assert_int_equal(b.finals, 0);
    double t0 = fti_now();
    while (b.finals == 0 && fti_now() - t0 < 3)
        ftrack_hub_wait(hub, 0.05, NULL);
    assert_int_equal(b.finals, 1);
    assert_int_equal(b.calls, 1);

    /* no ack within the window */
    ack_log c = {0};
    publish_with_ack(hub, &c, false, 0.2);
    t0 = fti_now();
    while (c.calls == 0 && fti_now() - t0 < 3)
        ftrack_hub_wait(hub, 0.05, NULL);
    assert_int_equal(c.calls, 1);
    assert_false(c.success);
    assert_non_null(strstr(c.message, "no acknowledgement"));

    /* dropped by a disconnect before it was sent */
    ack_log d = {0};
    publish_with_ack(hub, &d, false, 30);
    assert_int_equal(ftrack_hub_disconnect(hub, false, NULL), FTRACK_OK);
    ftrack_hub_wait(hub, 0.05, NULL);
    assert_int_equal(d.calls, 1);
    assert_false(d.success);
    assert_non_null(strstr(d.message, "disconnected"));
    assert_int_equal(lh_table_length(hub->replies), 0);

    /* still waiting when the hub is freed */
    assert_int_equal(ftrack_hub_connect(hub, NULL), FTRACK_OK);
    ack_log e = {0};
    publish_with_ack(hub, &e, true, 30);
    ftrack_hub_free(hub);
    assert_int_equal(e.calls, 1);
    assert_false(e.success);
    assert_int_equal(e.finals, 1);
}

static void test_disconnect_with_unsubscribe(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    calls c = {""};
    sub_spec s = {&c, "s", true, false};
    json_object *meta = json_tokener_parse("{\"id\":\"keep-or-drop\"}");
    subscribe(hub, "topic=test.d", &s, 100, meta, NULL, false);
    assert_int_equal(ftrack_hub_disconnect(hub, false, NULL), FTRACK_OK);
    ftrack_event *ev = ftrack_event_new("test.d", NULL);
    json_object *r = publish_local(hub, ev);
    assert_string_equal(c.log, "s;"); /* kept without unsubscribe */
    json_object_put(r);
    assert_int_equal(ftrack_hub_connect(hub, NULL), FTRACK_OK);
    assert_int_equal(ftrack_hub_disconnect(hub, true, NULL), FTRACK_OK);
    c.log[0] = '\0';
    r = publish_local(hub, ev);
    assert_string_equal(c.log, ""); /* removed, the internal reply subscriber too */
    assert_int_equal(hub->subs->n, 0);
    json_object_put(r);
    subscribe(hub, "topic=test.d", &s, 100, meta, NULL, false); /* the id is free again */
    ftrack_event_free(ev);
    json_object_put(meta);
    ftrack_hub_free(hub);
}

static json_object *answer_cb(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    (void)event, (void)d, (void)user_data;
    return json_tokener_parse("{\"answered\":true}");
}

static void test_callback_result_is_published_as_reply(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    json_object *meta = json_tokener_parse("{\"id\":\"responder-1\",\"app\":\"probe\"}");
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.subscriber = meta;
    assert_int_equal(
        ftrack_hub_subscribe(hub, "topic=test.question", answer_cb, NULL, &so, NULL, NULL),
        FTRACK_OK);
    json_object_put(meta);
    ftrack_event *q = ftrack_event_new("test.question", NULL);
    ftrack_event_set_id(q, "question-1");
    ftrack_event_set_source(q, json_tokener_parse("{\"id\":\"asker-hub\"}"));
    assert_int_equal(ftrack_hub_deliver_local(hub, q, NULL), FTRACK_OK);
    ftrack_event_free(q);
    assert_int_equal(ftrack_hub_wait(hub, 0.1, NULL), FTRACK_OK);

    pthread_mutex_lock(&hub->lock);
    assert_int_equal(hub->pending.n, 1);
    char *frame = strdup(hub->pending.head->buf + LWS_PRE);
    pthread_mutex_unlock(&hub->lock);
    const char *json = strstr(frame, "[{");
    assert_non_null(json);
    json_object *args = json_tokener_parse(json);
    json_object *reply = json_object_array_get_idx(args, 0), *v, *src;
    assert_true(json_object_object_get_ex(reply, "topic", &v));
    assert_string_equal(json_object_get_string(v), "ftrack.meta.reply");
    assert_true(json_object_object_get_ex(reply, "target", &v));
    assert_string_equal(json_object_get_string(v), "id=asker-hub");
    assert_true(json_object_object_get_ex(reply, "inReplyToEvent", &v));
    assert_string_equal(json_object_get_string(v), "question-1");
    assert_true(json_object_object_get_ex(reply, "source", &src));
    assert_true(json_object_object_get_ex(src, "id", &v));
    assert_string_equal(json_object_get_string(v), "responder-1");
    assert_true(json_object_object_get_ex(src, "app", &v));
    assert_true(json_object_object_get_ex(reply, "data", &v));
    assert_true(json_object_object_get_ex(v, "answered", &v));
    json_object_put(args);
    free(frame);
    ftrack_hub_free(hub);
}

/* ---- dispatch results, subscriptions, reply-window order ------------------------------------ */

static json_object *answer_named(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    (void)event, (void)d;
    const char *name = user_data;
    return name ? json_object_new_string(name) : NULL;
}

static void subscribe_answer(ftrack_hub *hub, const char *expr, const char *answer, int priority,
                             ftrack_hub_queue *q, const char *id)
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

static void test_dispatch_result_counts_replies(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "counted", 10, &q, NULL), FTRACK_OK);
    subscribe_answer(hub, "topic=test.count", "first", 10, q, "s-first");
    subscribe_answer(hub, "topic=test.count", NULL, 20, q, "s-silent");
    subscribe_answer(hub, "topic=test.count", "third", 30, q, "s-third");
    subscribe_answer(hub, "topic=test.count", "elsewhere", 5, NULL, "s-other-queue");
    pthread_mutex_lock(&hub->lock);
    unsigned long acks_before = hub->ack_counter;
    size_t pending_before = hub->pending.n;
    pthread_mutex_unlock(&hub->lock);

    static const char asked[] =
        "{\"id\":\"e1\",\"topic\":\"test.count\",\"source\":{\"id\":\"asker\"}}";
    ftrack_dispatch_result r = {.size = sizeof(r), .callbacks = 99, .replies = 99};
    ftrack_error err;
    assert_int_equal(ftrack_hub_queue_dispatch_ex(q, asked, strlen(asked), NULL, &r, &err),
                     FTRACK_OK);
    assert_int_equal(r.size, sizeof(r));
    assert_int_equal(r.callbacks, 3);
    assert_int_equal(r.replies, 2);
    assert_int_equal(r.reply_failures, 0);
    /* two auto-replies queued, neither asking for an ack: the ack counter did not move */
    pthread_mutex_lock(&hub->lock);
    assert_int_equal(hub->pending.n, pending_before + 2);
    assert_int_equal(hub->ack_counter, acks_before);
    const char *frame = hub->pending.tail->buf + LWS_PRE;
    assert_memory_equal(frame, "5:::{\"name\":\"ftrack.event\",\"args\":[{", 36);
    assert_non_null(strstr(frame, "\"data\":\"third\""));
    assert_non_null(strstr(frame, "\"source\":{\"id\":\"s-third\""));
    assert_non_null(strstr(frame, "\"target\":\"id=asker\""));
    assert_int_equal(hub->pending.tail->ack_id, 0);
    pthread_mutex_unlock(&hub->lock);
    /* an ordinary publish still asks for its ack, numbered on from where it was */
    ftrack_event *ev = ftrack_event_new("test.plain", NULL);
    assert_int_equal(ftrack_hub_publish(hub, ev, NULL, NULL), FTRACK_OK);
    ftrack_event_free(ev);
    pthread_mutex_lock(&hub->lock);
    char want[32];
    snprintf(want, sizeof(want), "5:%lu+::", acks_before + 1);
    assert_memory_equal(hub->pending.tail->buf + LWS_PRE, want, strlen(want));
    pthread_mutex_unlock(&hub->lock);

    /* no source.id to address the replies to: they fail, and are counted as failures */
    static const char anonymous[] = "{\"topic\":\"test.count\"}";
    assert_int_equal(ftrack_hub_queue_dispatch_ex(q, anonymous, strlen(anonymous), NULL, &r, &err),
                     FTRACK_OK);
    assert_int_equal(r.callbacks, 3);
    assert_int_equal(r.replies, 0);
    assert_int_equal(r.reply_failures, 2);

    /* a caller built against an older, shorter struct gets only what fits */
    struct {
        ftrack_dispatch_result r;
        unsigned guard;
    } old = {{.size = offsetof(ftrack_dispatch_result, replies), .replies = 77}, 0xabcd};
    assert_int_equal(ftrack_hub_queue_dispatch_ex(q, asked, strlen(asked), NULL, &old.r, &err),
                     FTRACK_OK);
    assert_int_equal(old.r.size, offsetof(ftrack_dispatch_result, replies));
    assert_int_equal(old.r.callbacks, 3);
    assert_int_equal(old.r.replies, 77);
    assert_int_equal(old.guard, 0xabcd);

    /* text that does not parse: an error, and a zeroed result */
    r.callbacks = 5;
    assert_int_equal(ftrack_hub_queue_dispatch_ex(q, "{\"topic\":", 9, NULL, &r, &err),
                     FTRACK_ERR_PARSE);
    assert_int_equal(r.callbacks, 0);
    assert_int_equal(r.replies, 0);
    /* the plain variant and a NULL result still work */
    assert_int_equal(ftrack_hub_queue_dispatch_ex(q, asked, strlen(asked), NULL, NULL, NULL),
                     FTRACK_OK);
    assert_int_equal(ftrack_hub_queue_dispatch(q, asked, strlen(asked), NULL, NULL), FTRACK_OK);

    /* not connected (disconnected): replies cannot be published */
    assert_int_equal(ftrack_hub_disconnect(hub, false, NULL), FTRACK_OK);
    assert_int_equal(ftrack_hub_queue_dispatch_ex(q, asked, strlen(asked), NULL, &r, &err),
                     FTRACK_OK);
    assert_int_equal(r.replies, 0);
    assert_int_equal(r.reply_failures, 2);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

static void test_queue_subscriptions(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    ftrack_hub_queue *q = NULL, *empty = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "listed", 10, &q, NULL), FTRACK_OK);
    assert_int_equal(ftrack_hub_queue_new(hub, "empty", 10, &empty, NULL), FTRACK_OK);
    subscribe_answer(hub, "topic=b.*", NULL, 200, q, "sub-b");
    subscribe_answer(hub, "topic=a and data.x=1", NULL, 50, q, "sub-a");
    subscribe_answer(hub, "topic=c", NULL, 200, q, "sub-c");
    subscribe_answer(hub, "topic=elsewhere", NULL, 1, NULL, "sub-default");

    json_object *subs = ftrack_hub_queue_subscriptions(q);
    assert_non_null(subs);
    assert_string_equal(
        json_object_to_json_string_ext(subs, JSON_C_TO_STRING_PLAIN),
        "[{\"id\":\"sub-a\",\"expression\":\"topic=a and data.x=1\",\"priority\":50,"
        "\"ignore_own_user\":false,\"subscriber\":{\"id\":\"sub-a\"}},"
        "{\"id\":\"sub-b\",\"expression\":\"topic=b.*\",\"priority\":200,"
        "\"ignore_own_user\":false,\"subscriber\":{\"id\":\"sub-b\"}},"
        "{\"id\":\"sub-c\",\"expression\":\"topic=c\",\"priority\":200,"
        "\"ignore_own_user\":false,\"subscriber\":{\"id\":\"sub-c\"}}]");
    /* a snapshot: later changes do not show in it, only in the next one */
    assert_int_equal(ftrack_hub_unsubscribe(hub, "sub-b", NULL), FTRACK_OK);
    assert_int_equal(json_object_array_length(subs), 3);
    json_object_put(subs);
    subs = ftrack_hub_queue_subscriptions(q);
    assert_int_equal(json_object_array_length(subs), 2);
    json_object_put(subs);

    /* the hub's own queue lists its subscribers, never the internal reply subscriber */
    subs = ftrack_hub_queue_subscriptions(hub->default_queue);
    assert_string_equal(json_object_to_json_string_ext(subs, JSON_C_TO_STRING_PLAIN),
                        "[{\"id\":\"sub-default\",\"expression\":\"topic=elsewhere\","
                        "\"priority\":1,\"ignore_own_user\":false,"
                        "\"subscriber\":{\"id\":\"sub-default\"}}]");
    json_object_put(subs);
    subs = ftrack_hub_queue_subscriptions(empty);
    assert_non_null(subs);
    assert_int_equal(json_object_array_length(subs), 0);
    json_object_put(subs);
    assert_null(ftrack_hub_queue_subscriptions(NULL));
    ftrack_hub_queue_free(empty);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

/* The queue's entries, head to tail, must be in deadline order and linked both ways. */
static size_t assert_reply_list_ordered(ftrack_hub *hub, ftrack_hub_queue *q)
{
    pthread_mutex_lock(&hub->lock);
    size_t n = 0;
    fti_reply_entry *prev = NULL;
    for (fti_reply_entry *e = q->replies; e; prev = e, e = e->next, n++) {
        assert_ptr_equal(e->prev, prev);
        if (prev && prev->deadline > e->deadline)
            fail_msg("entry %zu is due before the one ahead of it", n);
    }
    assert_ptr_equal(q->replies_tail, prev);
    assert_true(q->replies ? q->next_deadline == q->replies->deadline
                           : q->next_deadline == INFINITY);
    pthread_mutex_unlock(&hub->lock);
    return n;
}

typedef struct order_log {
    char seq[64];
} order_log;

typedef struct order_tag {
    order_log *log;
    char name;
} order_tag;

static void on_order_reply(ftrack_event *reply, void *user_data)
{
    order_tag *t = user_data;
    if (reply)
        return;
    size_t n = strlen(t->log->seq);
    if (n + 1 < sizeof(t->log->seq)) {
        t->log->seq[n] = t->name;
        t->log->seq[n + 1] = '\0';
    }
}

static void publish_tagged(ftrack_hub *hub, order_tag *tag, double window)
{
    ftrack_event *ev = ftrack_event_new("test.order", NULL);
    ftrack_publish_options po;
    ftrack_publish_options_init(&po);
    po.on_reply = on_order_reply;
    po.user_data = tag;
    po.reply_timeout = window;
    assert_int_equal(ftrack_hub_publish(hub, ev, &po, NULL), FTRACK_OK);
    ftrack_event_free(ev);
}

static void test_reply_windows_close_in_deadline_order(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    ftrack_hub_queue *q = hub->default_queue;
    order_log log = {""};
    /* published in one order, due in another: windows of different lengths */
    order_tag tags[] = {{&log, 'c'}, {&log, 'a'}, {&log, 'd'}, {&log, 'b'}, {&log, 'e'}};
    const double windows[] = {0.30, 0.10, 0.40, 0.20, 0.40};
    for (size_t i = 0; i < 5; i++)
        publish_tagged(hub, &tags[i], windows[i]);
    assert_int_equal(assert_reply_list_ordered(hub, q), 5);
    pthread_mutex_lock(&hub->lock);
    assert_ptr_equal(q->replies->user_data, &tags[1]);      /* 'a' is due first */
    assert_ptr_equal(q->replies_tail->user_data, &tags[4]); /* equal deadlines keep order */
    pthread_mutex_unlock(&hub->lock);

    /* nothing is due yet: a look changes nothing */
    fti_reply_expire(q, fti_now());
    assert_string_equal(log.seq, "");
    assert_int_equal(assert_reply_list_ordered(hub, q), 5);
    /* as if 0.25 s had passed: the two due entries close, in deadline order, from the head */
    double next = fti_reply_expire(q, fti_now() + 0.25);
    assert_string_equal(log.seq, "ab");
    assert_int_equal(assert_reply_list_ordered(hub, q), 3);
    pthread_mutex_lock(&hub->lock);
    assert_true(next == q->replies->deadline);
    assert_ptr_equal(q->replies->user_data, &tags[0]);
    pthread_mutex_unlock(&hub->lock);
    assert_int_equal(lh_table_length(hub->replies), 3);
    /* the rest close in real time, still in order, through ftrack_hub_wait */
    double t0 = fti_now();
    while (strlen(log.seq) < 5 && fti_now() - t0 < 3)
        ftrack_hub_wait(hub, 0.05, NULL);
    assert_string_equal(log.seq, "abcde");
    assert_int_equal(assert_reply_list_ordered(hub, q), 0);
    assert_int_equal(lh_table_length(hub->replies), 0);

    /* many equal windows: all close, and a later look finds an empty list */
    order_log many = {""};
    order_tag t = {&many, 'x'};
    for (int i = 0; i < 40; i++)
        publish_tagged(hub, &t, 0.05);
    assert_int_equal(assert_reply_list_ordered(hub, q), 40);
    fti_reply_expire(q, fti_now() + 1.0);
    assert_int_equal(strlen(many.seq), 40);
    assert_int_equal(assert_reply_list_ordered(hub, q), 0);
    ftrack_hub_free(hub);
}

static void test_acked_entry_without_reply_is_unlinked(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    ftrack_hub_queue *q = hub->default_queue;
    ack_log only_ack = {0}, both = {0}, later = {0};
    unsigned long id1 = publish_with_ack(hub, &only_ack, false, 30);
    unsigned long id2 = publish_with_ack(hub, &both, true, 30);
    publish_with_ack(hub, &later, false, 30);
    assert_int_equal(assert_reply_list_ordered(hub, q), 3);
    /* the Python client's spaced success is recognised as well as the compact one */
    ack(hub, id1, "[{\"success\": true}]");
    ack(hub, id2, "[{\"success\":true}]");
    fti_reply_expire(q, fti_now());
    assert_int_equal(only_ack.calls, 1);
    assert_true(only_ack.success);
    assert_false(only_ack.had_message);
    assert_int_equal(both.calls, 1);
    assert_true(both.success);
    /* the ack-only entry is gone at once; the one with on_reply waits for its window */
    assert_int_equal(assert_reply_list_ordered(hub, q), 2);
    assert_int_equal(lh_table_length(hub->replies), 2);
    pthread_mutex_lock(&hub->lock);
    assert_null(q->acks_ready);
    assert_null(q->acks_ready_tail);
    pthread_mutex_unlock(&hub->lock);
    assert_int_equal(later.calls, 0);
    assert_int_equal(both.finals, 0);
    /* an ack that arrives for an entry whose window closed first: reported by its final call */
    ack_log late = {0};
    unsigned long id4 = publish_with_ack(hub, &late, false, 0.05);
    ack(hub, id4, "[{\"success\":false,\"message\":\"too late\"}]");
    fti_reply_expire(q, fti_now() + 0.1);
    assert_int_equal(late.calls, 1);
    assert_false(late.success);
    assert_string_equal(late.message, "too late");
    ftrack_hub_free(hub);
    assert_int_equal(both.finals, 1);
    assert_int_equal(later.calls, 1); /* failed by the free */
    assert_false(later.success);
}

int main(void)
{
    ftrack_log_set_level(FTRACK_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hub_id_and_options),
        cmocka_unit_test(test_priority_order_and_nulls),
        cmocka_unit_test(test_stop_halts_lower_priority),
        cmocka_unit_test(test_target_and_subscription_filtering),
        cmocka_unit_test(test_ignore_own_user),
        cmocka_unit_test(test_subscribe_errors),
        cmocka_unit_test(test_publish_not_connected),
        cmocka_unit_test(test_publish_queue_bound_and_disconnect),
        cmocka_unit_test(test_reply_registry_and_expiry),
        cmocka_unit_test(test_reply_goes_to_publishing_queue),
        cmocka_unit_test(test_queue_overflow_and_dispatch),
        cmocka_unit_test(test_callback_result_is_published_as_reply),
        cmocka_unit_test(test_disconnect_with_unsubscribe),
        cmocka_unit_test(test_publish_ack_callback),
        cmocka_unit_test(test_dispatch_result_counts_replies),
        cmocka_unit_test(test_queue_subscriptions),
        cmocka_unit_test(test_reply_windows_close_in_deadline_order),
        cmocka_unit_test(test_acked_entry_without_reply_is_unlinked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
