/* SPDX-License-Identifier: Apache-2.0 */
/* Delivery queues without a server (sdk/src/hub/queue.c): a bounded queue's
 * overflow, order and dispatch on its own consumer, close, the subscriptions a queue lists,
 * and what routing matched travelling with an event (match.c) to the queue or the intake. Moved
 * from hub_dispatch_test.c when dispatch.c was split. */
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
        assert_int_equal(ftrack_hub_queue_dispatch(q, text, len, &d, NULL, NULL), FTRACK_OK);
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

static void deliver_topic(ftrack_hub *hub, const char *topic)
{
    ftrack_event *ev = ftrack_event_new(topic, NULL);
    assert_int_equal(ftrack_hub_deliver_local(hub, ev, NULL), FTRACK_OK);
    ftrack_event_free(ev);
}

/* Routing matches each event once and the queued item carries what it matched: the worker's
 * dispatch calls those subscribers without matching again, so one added after routing does
 * not see the event. One removed since makes the record stale: the event is matched anew.
 * Without the record (a plain take, a journal read back) the event is matched at dispatch. */
static void test_queue_match(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "matched", 10, &q, NULL), FTRACK_OK);
    calls c = {""};
    sub_spec a = {&c, "a", false, false}, b = {&c, "b", false, false};
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.priority = 10;
    so.queue = q;
    char a_id[FTRACK_ID_MAX];
    assert_int_equal(ftrack_hub_subscribe(hub, "topic=test.m", record_cb, &a, &so, a_id, NULL),
                     FTRACK_OK);
    deliver_topic(hub, "test.m");
    deliver_topic(hub, "test.m");
    subscribe(hub, "topic=test.m", &b, 5, NULL, q, false); /* after both were routed */

    size_t len = 0;
    ftrack_hub_match *match = NULL;
    char *text = ftrack_hub_queue_take_matched(q, 0.5, &len, &match);
    assert_non_null(text);
    assert_non_null(match);
    assert_int_equal(ftrack_hub_queue_dispatch_matched(q, text, len, match, NULL, NULL, NULL),
                     FTRACK_OK);
    assert_string_equal(c.log, "a;");
    c.log[0] = '\0';
    assert_int_equal(ftrack_hub_queue_dispatch(q, text, len, NULL, NULL, NULL), FTRACK_OK);
    assert_string_equal(c.log, "b;a;"); /* matched now: b too, first by priority */
    ftrack_hub_match_unref(match);
    ftrack_free(text);

    c.log[0] = '\0';
    text = ftrack_hub_queue_take_matched(q, 0.5, &len, &match);
    assert_non_null(text);
    assert_int_equal(ftrack_hub_unsubscribe(hub, a_id, NULL), FTRACK_OK);
    assert_int_equal(ftrack_hub_queue_dispatch_matched(q, text, len, match, NULL, NULL, NULL),
                     FTRACK_OK);
    assert_string_equal(c.log, "b;");
    ftrack_hub_match_unref(match);
    ftrack_free(text);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

typedef struct intake_seen {
    int calls;
    ftrack_hub_match *match;
    char text[256];
} intake_seen;

static void take_all(json_object *event, const char *text, size_t len, ftrack_hub_match *match,
                     void *const *tags, bool *taken, size_t n, void *user_data)
{
    (void)event;
    intake_seen *seen = user_data;
    seen->calls++;
    assert_int_equal(n, 1);
    assert_ptr_equal(tags[0], seen);
    seen->match = ftrack_hub_match_ref(match);
    snprintf(seen->text, sizeof(seen->text), "%.*s", (int)len, text);
    taken[0] = true;
}

/* The intake gets the event once with what routing matched; a host that keeps both
 * dispatches later without matching again, and nothing was queued. */
static void test_intake_match(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "journaled", 10, &q, NULL), FTRACK_OK);
    calls c = {""};
    sub_spec a = {&c, "a", false, false}, late = {&c, "late", false, false};
    subscribe(hub, "topic=test.i", &a, 10, NULL, q, false);
    intake_seen seen = {0, NULL, ""};
    ftrack_hub_set_intake(hub, take_all, &seen);
    ftrack_hub_queue_set_tag(q, &seen);
    deliver_topic(hub, "test.i");
    deliver_topic(hub, "test.other"); /* matched nothing: not offered */
    ftrack_hub_queue_set_tag(q, NULL);
    ftrack_hub_set_intake(hub, NULL, NULL);
    assert_int_equal(seen.calls, 1);
    assert_non_null(seen.match);
    assert_int_equal(ftrack_hub_queue_depth(q), 0);
    subscribe(hub, "topic=test.i", &late, 5, NULL, q, false);
    assert_int_equal(ftrack_hub_queue_dispatch_matched(q, seen.text, strlen(seen.text), seen.match,
                                                       NULL, NULL, NULL),
                     FTRACK_OK);
    assert_string_equal(c.log, "a;");
    ftrack_hub_match_unref(seen.match);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

static void count_notify(ftrack_hub_queue *q, void *user_data)
{
    (void)q;
    (*(int *)user_data)++;
}

/* A taker that sleeps elsewhere (a host worker's inbox) is told of every push and of close,
 * and a queue with no reply windows has no timer for it. */
static void test_queue_notify(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "notified", 10, &q, NULL), FTRACK_OK);
    calls c = {""};
    sub_spec in_q = {&c, "inq", false, false};
    subscribe(hub, "topic=test.n", &in_q, 100, NULL, q, false);
    int notified = 0;
    ftrack_hub_queue_set_notify(q, count_notify, &notified);
    assert_true(ftrack_hub_queue_next_timer(q) < 0);

    ftrack_event *ev = ftrack_event_new("test.n", NULL);
    assert_int_equal(ftrack_hub_deliver_local(hub, ev, NULL), FTRACK_OK);
    assert_int_equal(notified, 1);
    ftrack_event *other = ftrack_event_new("test.other", NULL);
    ftrack_hub_deliver_local(hub, other, NULL); /* not for q: no call */
    ftrack_event_free(other);
    assert_int_equal(notified, 1);

    ftrack_hub_queue_set_notify(q, NULL, NULL); /* removed: no call after it */
    assert_int_equal(ftrack_hub_deliver_local(hub, ev, NULL), FTRACK_OK);
    assert_int_equal(notified, 1);
    assert_int_equal(ftrack_hub_queue_depth(q), 2);

    ftrack_hub_queue_set_notify(q, count_notify, &notified);
    ftrack_hub_queue_close(q);
    assert_int_equal(notified, 2);
    ftrack_event_free(ev);
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

int main(void)
{
    ftrack_log_set_level(FTRACK_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_overflow_and_dispatch),
        cmocka_unit_test(test_queue_subscriptions),
        cmocka_unit_test(test_queue_notify),
        cmocka_unit_test(test_queue_match),
        cmocka_unit_test(test_intake_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
