/* SPDX-License-Identifier: Apache-2.0 */
/* Reply windows and acknowledgements of publishes without a server (protocol §6.6, §5.4,
 * sdk/src/hub/reply.c): the reply registry and its expiry, replies handed to the publishing
 * queue, on_ack, windows closing in deadline order and acked entries unlinked. Moved from
 * hub_dispatch_test.c when dispatch.c was split. */
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
    assert_int_equal(ftrack_hub_queue_dispatch(q, text, len, NULL, NULL, NULL), FTRACK_OK);
    ftrack_free(text);
    assert_int_equal(log.replies, 1);
    assert_string_equal(log.last_data, "{\"ok\":true}");
    assert_int_equal(log.finals, 0);
    ftrack_hub_queue_free(q); /* pending reply callbacks of the queue get their final call */
    assert_int_equal(log.finals, 1);
    free(id);
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
        cmocka_unit_test(test_reply_registry_and_expiry),
        cmocka_unit_test(test_reply_goes_to_publishing_queue),
        cmocka_unit_test(test_publish_ack_callback),
        cmocka_unit_test(test_reply_windows_close_in_deadline_order),
        cmocka_unit_test(test_acked_entry_without_reply_is_unlinked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
