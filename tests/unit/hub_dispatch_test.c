/* SPDX-License-Identifier: Apache-2.0 */
/* The hub client without a server: options, local dispatch rules (protocol §6.6),
 * publish_local results, subscribe errors, callback results published as replies, dispatch
 * results, the publish queue's bound and the not-connected errors. Delivery queues are in
 * hub_queue_test.c, reply windows and acknowledgements in hub_reply_test.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ftrack/event.h>
#include <ftrack/host.h>
#include <ftrack/hub.h>
#include <ftrack/log.h>

#include <libwebsockets.h>

#include "common/internal.h"
#include "hub/hub_internal.h"
#include "hub_test_support.h"

/* ---- helpers ------------------------------------------------------------------------------ */

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
    assert_int_equal(ftrack_hub_queue_dispatch(q, asked, strlen(asked), NULL, &r, &err),
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
    assert_int_equal(ftrack_hub_queue_dispatch(q, anonymous, strlen(anonymous), NULL, &r, &err),
                     FTRACK_OK);
    assert_int_equal(r.callbacks, 3);
    assert_int_equal(r.replies, 0);
    assert_int_equal(r.reply_failures, 2);

    /* a caller built against an older, shorter struct gets only what fits */
    struct {
        ftrack_dispatch_result r;
        unsigned guard;
    } old = {{.size = offsetof(ftrack_dispatch_result, replies), .replies = 77}, 0xabcd};
    assert_int_equal(ftrack_hub_queue_dispatch(q, asked, strlen(asked), NULL, &old.r, &err),
                     FTRACK_OK);
    assert_int_equal(old.r.size, offsetof(ftrack_dispatch_result, replies));
    assert_int_equal(old.r.callbacks, 3);
    assert_int_equal(old.r.replies, 77);
    assert_int_equal(old.guard, 0xabcd);

    /* text that does not parse: an error, and a zeroed result */
    r.callbacks = 5;
    assert_int_equal(ftrack_hub_queue_dispatch(q, "{\"topic\":", 9, NULL, &r, &err),
                     FTRACK_ERR_PARSE);
    assert_int_equal(r.callbacks, 0);
    assert_int_equal(r.replies, 0);
    /* the plain variant and a NULL result still work */
    assert_int_equal(ftrack_hub_queue_dispatch(q, asked, strlen(asked), NULL, NULL, NULL),
                     FTRACK_OK);
    assert_int_equal(ftrack_hub_queue_dispatch(q, asked, strlen(asked), NULL, NULL, NULL), FTRACK_OK);

    /* not connected (disconnected): replies cannot be published */
    assert_int_equal(ftrack_hub_disconnect(hub, false, NULL), FTRACK_OK);
    assert_int_equal(ftrack_hub_queue_dispatch(q, asked, strlen(asked), NULL, &r, &err),
                     FTRACK_OK);
    assert_int_equal(r.replies, 0);
    assert_int_equal(r.reply_failures, 2);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
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
        cmocka_unit_test(test_callback_result_is_published_as_reply),
        cmocka_unit_test(test_disconnect_with_unsubscribe),
        cmocka_unit_test(test_dispatch_result_counts_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
