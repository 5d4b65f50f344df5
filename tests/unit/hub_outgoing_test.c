/* SPDX-License-Identifier: Apache-2.0 */
/* The hub client's API for hosts that route events themselves (an isolated plugin's child):
 * ftrack_hub_queue_subscriptions' full listing, ftrack_hub_queue_call (one subscriber by id)
 * and ftrack_hub_set_outgoing (publishes handed to a hook instead of the network). No server:
 * the hub is never connected. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <ftrack/event.h>
#include <ftrack/host.h>
#include <ftrack/hub.h>

#define API_USER "jane"

static ftrack_hub *new_hub(void)
{
    ftrack_hub_options o;
    ftrack_hub_options_init(&o);
    o.server_url = "http://127.0.0.1:9"; /* never connected */
    o.api_user = API_USER;
    o.api_key = "secret-key";
    ftrack_hub *hub = NULL;
    ftrack_error err;
    if (ftrack_hub_new(&o, &hub, &err) != FTRACK_OK)
        fail_msg("ftrack_hub_new: %s", err.message);
    return hub;
}

typedef struct seen {
    int calls;
    unsigned attempt;
    bool redelivery;
    char subscriber_id[FTRACK_ID_MAX];
    char topic[64];
    const char *answer; /* returned as a string, NULL for no reply */
    bool stop, fail;
} seen;

static json_object *remember(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    seen *s = user_data;
    s->calls++;
    s->attempt = d->attempt;
    s->redelivery = d->redelivery;
    snprintf(s->subscriber_id, sizeof(s->subscriber_id), "%s", d->subscriber_id);
    snprintf(s->topic, sizeof(s->topic), "%s", ftrack_event_topic(event));
    if (s->stop)
        ftrack_event_stop(event);
    if (s->fail)
        ftrack_delivery_fail(d, "asked to fail (%d)", s->calls);
    return s->answer ? json_object_new_string(s->answer) : NULL;
}

static void subscribe(ftrack_hub *hub, ftrack_hub_queue *q, const char *expr, const char *id,
                      int priority, bool ignore_own, seen *s)
{
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.priority = priority;
    so.queue = q;
    so.ignore_own_user = ignore_own;
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, "id", json_object_new_string(id));
    json_object_object_add(meta, "applicationId", json_object_new_string("ftrack.test"));
    so.subscriber = meta;
    ftrack_error err;
    if (ftrack_hub_subscribe(hub, expr, remember, s, &so, NULL, &err) != FTRACK_OK)
        fail_msg("subscribe %s: %s", id, err.message);
    json_object_put(meta);
}

static void test_subscriptions_list_everything_a_child_announces(void **state)
{
    (void)state;
    ftrack_hub *hub = new_hub();
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "child", 4, &q, NULL), FTRACK_OK);
    seen a = {0}, b = {0};
    subscribe(hub, q, "topic=b", "s-b", 100, true, &b);
    subscribe(hub, q, "topic=a", "s-a", 10, false, &a);
    json_object *subs = ftrack_hub_queue_subscriptions(q);
    assert_string_equal(json_object_to_json_string_ext(subs, JSON_C_TO_STRING_PLAIN),
                        "[{\"id\":\"s-a\",\"expression\":\"topic=a\",\"priority\":10,"
                        "\"ignore_own_user\":false,"
                        "\"subscriber\":{\"id\":\"s-a\",\"applicationId\":\"ftrack.test\"}},"
                        "{\"id\":\"s-b\",\"expression\":\"topic=b\",\"priority\":100,"
                        "\"ignore_own_user\":true,"
                        "\"subscriber\":{\"id\":\"s-b\",\"applicationId\":\"ftrack.test\"}}]");
    /* the metadata is a copy: changing it leaves the hub's alone */
    json_object *meta = json_object_object_get(json_object_array_get_idx(subs, 0), "subscriber");
    json_object_object_add(meta, "id", json_object_new_string("changed"));
    json_object_put(subs);
    subs = ftrack_hub_queue_subscriptions(q);
    meta = json_object_object_get(json_object_array_get_idx(subs, 0), "subscriber");
    assert_string_equal(json_object_get_string(json_object_object_get(meta, "id")), "s-a");
    json_object_put(subs);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

static void test_queue_call_runs_one_subscriber_by_id(void **state)
{
    (void)state;
    ftrack_hub *hub = new_hub();
    ftrack_hub_queue *q = NULL, *other = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "child", 4, &q, NULL), FTRACK_OK);
    assert_int_equal(ftrack_hub_queue_new(hub, "other", 4, &other, NULL), FTRACK_OK);
    seen first = {.answer = "from-first", .stop = true}, second = {.answer = "from-second"};
    seen elsewhere = {.answer = "nope"};
    subscribe(hub, q, "topic=x", "first", 10, false, &first);
    /* no match needed: the caller (the parent host) matched already */
    subscribe(hub, q, "topic=never", "second", 20, false, &second);
    subscribe(hub, other, "topic=x", "elsewhere", 5, false, &elsewhere);

    ftrack_event *ev = ftrack_event_new("test.call", NULL);
    ftrack_delivery d;
    memset(&d, 0, sizeof(d));
    d.size = sizeof(d);
    d.attempt = 3;
    d.redelivery = true;
    json_object *reply = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_hub_queue_call(q, "second", ev, &d, &reply, &err), FTRACK_OK);
    assert_int_equal(second.calls, 1);
    assert_int_equal(first.calls, 0);
    assert_int_equal(second.attempt, 3);
    assert_true(second.redelivery);
    assert_string_equal(second.subscriber_id, "second");
    assert_string_equal(second.topic, "test.call");
    assert_string_equal(json_object_get_string(reply), "from-second");
    json_object_put(reply);
    assert_false(ftrack_event_is_stopped(ev));

    /* the callback's stop shows on the event; without a delivery the attempt is 1 */
    assert_int_equal(ftrack_hub_queue_call(q, "first", ev, NULL, &reply, &err), FTRACK_OK);
    assert_int_equal(first.attempt, 1);
    assert_true(ftrack_event_is_stopped(ev));
    json_object_put(reply);

    /* a subscriber of another queue, an unknown and a removed one are not found */
    assert_int_equal(ftrack_hub_queue_call(q, "elsewhere", ev, NULL, &reply, &err),
                     FTRACK_ERR_NOT_FOUND);
    assert_null(reply);
    assert_int_equal(elsewhere.calls, 0);
    assert_int_equal(ftrack_hub_queue_call(q, "missing", ev, NULL, &reply, &err),
                     FTRACK_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "missing"));
    assert_int_equal(ftrack_hub_unsubscribe(hub, "second", NULL), FTRACK_OK);
    assert_int_equal(ftrack_hub_queue_call(q, "second", ev, NULL, &reply, &err),
                     FTRACK_ERR_NOT_FOUND);
    assert_int_equal(second.calls, 1);
    assert_int_equal(ftrack_hub_queue_call(NULL, "first", ev, NULL, &reply, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    /* reply may be NULL: the result is dropped */
    assert_int_equal(ftrack_hub_queue_call(q, "first", ev, NULL, NULL, &err), FTRACK_OK);
    assert_int_equal(first.calls, 2);
    ftrack_event_free(ev);
    ftrack_hub_queue_free(other);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

static void test_queue_call_reports_failures_through_the_outcome(void **state)
{
    (void)state;
    ftrack_hub *hub = new_hub();
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "child", 4, &q, NULL), FTRACK_OK);
    seen s = {.fail = true};
    subscribe(hub, q, "topic=x", "failing", 10, false, &s);
    ftrack_delivery_outcome outcome;
    memset(&outcome, 0, sizeof(outcome));
    outcome.size = sizeof(outcome);
    ftrack_delivery d;
    memset(&d, 0, sizeof(d));
    d.size = sizeof(d);
    d.outcome = &outcome;
    ftrack_event *ev = ftrack_event_new("x", NULL);
    json_object *reply = NULL;
    assert_int_equal(ftrack_hub_queue_call(q, "failing", ev, &d, &reply, NULL), FTRACK_OK);
    assert_null(reply);
    assert_int_equal(outcome.failures, 1);
    assert_string_equal(outcome.message, "asked to fail (1)");
    ftrack_event_free(ev);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

/* What the outgoing hook received. */
typedef struct outbox {
    int calls;
    bool refuse;
    json_object *events; /* array of parsed events */
} outbox;

static bool take_event(const char *json, size_t len, void *user_data)
{
    outbox *o = user_data;
    o->calls++;
    assert_int_equal(strlen(json), len);
    if (o->refuse)
        return false;
    json_object *ev = json_tokener_parse(json);
    assert_non_null(ev);
    json_object_array_add(o->events, ev);
    return true;
}

static const char *key_of(json_object *ev, const char *a, const char *b)
{
    json_object *v = json_object_object_get(ev, a);
    if (b)
        v = json_object_object_get(v, b);
    return json_object_get_string(v);
}

static void test_outgoing_hook_takes_publishes_and_replies(void **state)
{
    (void)state;
    ftrack_hub *hub = new_hub();
    outbox box = {.events = json_object_new_array()};
    ftrack_error err;
    /* without a hook, an unconnected hub refuses */
    ftrack_event *ev = ftrack_event_new("test.out", json_object_new_object());
    assert_int_equal(ftrack_hub_publish(hub, ev, NULL, &err), FTRACK_ERR_NOT_CONNECTED);
    ftrack_event_free(ev);

    ftrack_hub_set_outgoing(hub, take_event, &box);
    json_object *data = json_object_new_object();
    json_object_object_add(data, "i", json_object_new_int(7));
    ev = ftrack_event_new("test.out", data);
    assert_int_equal(ftrack_hub_publish(hub, ev, NULL, &err), FTRACK_OK);
    assert_int_equal(box.calls, 1);
    json_object *got = json_object_array_get_idx(box.events, 0);
    assert_string_equal(key_of(got, "topic", NULL), "test.out");
    assert_string_equal(key_of(got, "id", NULL), ftrack_event_id(ev));
    /* the source is prepared as for the network: this hub's id and user */
    assert_string_equal(key_of(got, "source", "id"), ftrack_hub_id(hub));
    json_object *user = json_object_object_get(json_object_object_get(got, "source"), "user");
    assert_string_equal(key_of(user, "username", NULL), API_USER);
    assert_int_equal(
        json_object_get_int(json_object_object_get(json_object_object_get(got, "data"), "i")), 7);

    /* replies take the same road */
    assert_int_equal(ftrack_hub_reply(hub, ev, json_object_new_string("answer"), NULL, &err),
                     FTRACK_OK);
    assert_int_equal(box.calls, 2);
    got = json_object_array_get_idx(box.events, 1);
    assert_string_equal(key_of(got, "topic", NULL), "ftrack.meta.reply");
    assert_string_equal(key_of(got, "inReplyToEvent", NULL), ftrack_event_id(ev));
    ftrack_event_free(ev);

    /* a hook that cannot take the event fails the publish */
    box.refuse = true;
    ev = ftrack_event_new("test.out", NULL);
    assert_int_equal(ftrack_hub_publish(hub, ev, NULL, &err), FTRACK_ERR_NOT_CONNECTED);
    assert_int_equal(box.calls, 3);
    ftrack_event_free(ev);

    /* NULL restores the network (still not connected) */
    box.refuse = false;
    ftrack_hub_set_outgoing(hub, NULL, NULL);
    ev = ftrack_event_new("test.out", NULL);
    assert_int_equal(ftrack_hub_publish(hub, ev, NULL, &err), FTRACK_ERR_NOT_CONNECTED);
    assert_int_equal(box.calls, 3);
    ftrack_event_free(ev);
    json_object_put(box.events);
    ftrack_hub_free(hub);
}

typedef struct tracked {
    int acks, ack_ok, replies, finals;
    char ack_message[128];
} tracked;

static void on_ack(bool success, const char *message, void *user_data)
{
    tracked *t = user_data;
    t->acks++;
    t->ack_ok += success;
    snprintf(t->ack_message, sizeof(t->ack_message), "%s", message ? message : "");
}

static void on_reply(ftrack_event *reply, void *user_data)
{
    tracked *t = user_data;
    if (reply)
        t->replies++;
    else
        t->finals++;
}

static void test_outgoing_hook_acks_the_hand_off(void **state)
{
    (void)state;
    ftrack_hub *hub = new_hub();
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "publisher", 4, &q, NULL), FTRACK_OK);
    outbox box = {.events = json_object_new_array()};
    ftrack_hub_set_outgoing(hub, take_event, &box);
    tracked t = {0};
    ftrack_publish_options po;
    ftrack_publish_options_init(&po);
    po.on_ack = on_ack;
    po.on_reply = on_reply;
    po.user_data = &t;
    po.queue = q;
    po.reply_timeout = 0.2;
    ftrack_event *ev = ftrack_event_new("test.out", NULL);
    ftrack_error err;
    assert_int_equal(ftrack_hub_publish(hub, ev, &po, &err), FTRACK_OK);
    /* the same id again, while its window is open, is refused before the hook sees it */
    assert_int_equal(ftrack_hub_publish(hub, ev, &po, &err), FTRACK_ERR_EXISTS);
    assert_int_equal(box.calls, 1);
    ftrack_event_free(ev);
    /* callbacks run on the publisher's queue, when its consumer looks */
    assert_int_equal(t.acks, 0);
    assert_null(ftrack_hub_queue_take(q, 0.05, NULL));
    assert_int_equal(t.acks, 1);
    assert_int_equal(t.ack_ok, 1);
    assert_string_equal(t.ack_message, "handed to the outgoing hook");
    assert_int_equal(t.finals, 0);
    /* no reply comes back by this road: the window closes with the final call */
    assert_null(ftrack_hub_queue_take(q, 0.5, NULL));
    assert_int_equal(t.replies, 0);
    assert_int_equal(t.finals, 1);
    json_object_put(box.events);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscriptions_list_everything_a_child_announces),
        cmocka_unit_test(test_queue_call_runs_one_subscriber_by_id),
        cmocka_unit_test(test_queue_call_reports_failures_through_the_outcome),
        cmocka_unit_test(test_outgoing_hook_takes_publishes_and_replies),
        cmocka_unit_test(test_outgoing_hook_acks_the_hand_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
