/* SPDX-License-Identifier: Apache-2.0 */
/* The hub's router and wire handling, without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hub/server_internal.h"

typedef struct hits {
    fhub_route_peer *seen[16];
    size_t n;
} hits;

static void record(fhub_route_peer *peer, void *user_data)
{
    hits *h = user_data;
    if (h->n < 16)
        h->seen[h->n++] = peer;
}

static void subscribe(fhub_router *r, fhub_route_peer *p, const char *meta, const char *expr)
{
    json_object *m = json_tokener_parse(meta);
    ftrack_error err;
    assert_int_equal(fhub_router_subscribe(r, p, m, expr, &err), FTRACK_OK);
    json_object_put(m);
}

static size_t route(fhub_router *r, const char *event, const char *target, hits *h)
{
    json_object *e = json_tokener_parse(event);
    ftrack_expression *t = NULL;
    if (target)
        assert_int_equal(ftrack_expression_compile(target, &t, NULL), FTRACK_OK);
    memset(h, 0, sizeof(*h));
    size_t n = fhub_router_route(r, e, t, record, h);
    ftrack_expression_free(t);
    json_object_put(e);
    return n;
}

static void test_once_per_connection(void **state)
{
    (void)state;
    fhub_router *r = fhub_router_new();
    fhub_route_peer a = {0}, b = {0};
    subscribe(r, &a, "{\"id\":\"a1\"}", "topic=x");
    subscribe(r, &a, "{\"id\":\"a2\"}", "topic=x*");
    subscribe(r, &a, "{\"id\":\"a3\"}", "data.k=v");
    subscribe(r, &b, "{\"id\":\"b1\",\"role\":\"b\"}", "topic=x");
    hits h;
    assert_int_equal(route(r, "{\"topic\":\"x\",\"data\":{\"k\":\"v\"}}", NULL, &h), 2);
    assert_true((h.seen[0] == &a && h.seen[1] == &b) || (h.seen[0] == &b && h.seen[1] == &a));
    assert_int_equal(route(r, "{\"topic\":\"x\"}", "role=b", &h), 1);
    assert_ptr_equal(h.seen[0], &b);
    assert_int_equal(route(r, "{\"topic\":\"y\"}", NULL, &h), 0);
    fhub_router_remove_peer(r, &a);
    fhub_router_remove_peer(r, &b);
    assert_int_equal(fhub_router_subscriber_count(r), 0);
    fhub_router_free(r);
}

static void test_idempotent_and_unsubscribe(void **state)
{
    (void)state;
    fhub_router *r = fhub_router_new();
    fhub_route_peer a = {0};
    subscribe(r, &a, "{\"id\":\"s\"}", "topic=x");
    subscribe(r, &a, "{\"id\":\"s\"}", "topic=x");
    assert_int_equal(fhub_router_subscriber_count(r), 1);
    subscribe(r, &a, "{\"id\":\"s\"}", "topic=y"); /* same id, new subscription: replaced */
    hits h;
    assert_int_equal(route(r, "{\"topic\":\"x\"}", NULL, &h), 0);
    assert_int_equal(route(r, "{\"topic\":\"y\"}", NULL, &h), 1);
    ftrack_error err;
    assert_int_equal(fhub_router_unsubscribe(r, &a, "nope", &err), FTRACK_ERR_NOT_FOUND);
    assert_int_equal(fhub_router_unsubscribe(r, &a, "s", &err), FTRACK_OK);
    assert_int_equal(route(r, "{\"topic\":\"y\"}", NULL, &h), 0);
    json_object *noid = json_tokener_parse("{\"x\":1}");
    assert_int_equal(fhub_router_subscribe(r, &a, noid, "topic=x", &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    json_object *q = json_tokener_parse("{\"id\":\"q\"}");
    assert_int_not_equal(fhub_router_subscribe(r, &a, q, "topic=", &err), FTRACK_OK);
    json_object_put(q);
    json_object_put(noid);
    fhub_router_remove_peer(r, &a);
    fhub_router_free(r);
}

/* The topic index keeps routing from evaluating unrelated subscribers. */
static void test_index_limits_candidates(void **state)
{
    (void)state;
    fhub_router *r = fhub_router_new();
    fhub_route_peer peers[200];
    memset(peers, 0, sizeof(peers));
    char meta[64], expr[64];
    for (int i = 0; i < 200; i++) {
        snprintf(meta, sizeof(meta), "{\"id\":\"s%d\"}", i);
        snprintf(expr, sizeof(expr), "topic=t.%d", i);
        subscribe(r, &peers[i], meta, expr);
    }
    subscribe(r, &peers[0], "{\"id\":\"pfx\"}", "topic=t.1*");
    hits h;
    assert_int_equal(route(r, "{\"topic\":\"t.7\"}", NULL, &h), 1);
    assert_ptr_equal(h.seen[0], &peers[7]);
    assert_true(fhub_router_last_candidates(r) <= 2);
    assert_int_equal(route(r, "{\"topic\":\"t.150\"}", NULL, &h), 2); /* exact + prefix t.1 */
    for (int i = 0; i < 200; i++)
        fhub_router_remove_peer(r, &peers[i]);
    fhub_router_free(r);
}

static void test_wire_raw_and_normalised(void **state)
{
    (void)state;
    fhub_wire_event ev;
    ftrack_error err;
    const char *exact = "{\"id\":\"1\",\"topic\":\"t\",\"data\":{},\"source\":{},\"target\":\"\","
                        "\"sent\":null,\"inReplyToEvent\":null}";
    char buf[512];
    snprintf(buf, sizeof(buf), "{\"name\": \"ftrack.event\", \"args\": [%s]}", exact);
    assert_int_equal(fhub_wire_event_parse(buf, strlen(buf), 64, "u", &ev, &err), FTRACK_OK);
    size_t len = 0;
    const char *text = fhub_wire_event_text(&ev, &len);
    assert_int_equal(len, strlen(exact));
    assert_memory_equal(text, exact, len);
    fhub_wire_event_clear(&ev);

    const char *odd = "{\"name\":\"ftrack.event\",\"args\":[{\"topic\":\"t\",\"x\":1,\"in_reply_to_"
                      "event\":\"r\"}]}";
    assert_int_equal(fhub_wire_event_parse(odd, strlen(odd), 64, "jane", &ev, &err), FTRACK_OK);
    assert_null(ev.raw);
    assert_int_equal(json_object_object_length(ev.event), 7);
    assert_string_equal(json_object_get_string(json_object_object_get(ev.event, "inReplyToEvent")),
                        "r");
    json_object *user = json_object_object_get(json_object_object_get(ev.event, "source"), "user");
    assert_string_equal(json_object_get_string(json_object_object_get(user, "username")), "jane");
    fhub_wire_event_clear(&ev);

    /* A duplicate args key must not be forwarded as a raw slice. */
    const char *dup =
        "{\"name\":\"ftrack.event\",\"args\":[{\"a\":1}],\"args\":[{\"id\":\"1\",\"topic\":\"t\","
        "\"data\":{},\"source\":{},\"target\":\"\",\"sent\":null,\"inReplyToEvent\":null}]}";
    assert_int_equal(fhub_wire_event_parse(dup, strlen(dup), 64, "u", &ev, &err), FTRACK_OK);
    text = fhub_wire_event_text(&ev, &len);
    assert_null(strstr(text, "\"a\""));
    fhub_wire_event_clear(&ev);
}

static void test_wire_rejects(void **state)
{
    (void)state;
    fhub_wire_event ev;
    ftrack_error err;
    const char *bad[] = {
        "{\"name\":\"ftrack.event\",\"args\":[{\"data\":1}]}",
        "{\"name\":\"x\",\"args\":[{\"topic\":\"t\"}]}",
        "{\"name\":\"ftrack.event\",\"args\":[]}",
        "[1]",
        "{\"name\":\"ftrack.event\",\"args\":[{\"topic\":\"t\"}]} x",
        "{\"name\":\"ftrack.event\",\"args\":[{\"topic\":\"t\",\"data\":[[[[[[[[[[]]]]]]]]]]}]}",
        "{\"name\":\"ftrack.event\",\"args\":[{\"topic\":\"\xc3\x28\"}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(fhub_wire_event_parse(bad[i], strlen(bad[i]), 8, "u", &ev, &err),
                             FTRACK_OK);
}

static void test_auth(void **state)
{
    (void)state;
    assert_true(fhub_auth_check("u", "k", "u", "k"));
    assert_false(fhub_auth_check("u", "k", "u", "K"));
    assert_false(fhub_auth_check("u", "k", "v", "k"));
    assert_false(fhub_auth_check("u", "key", "u", "ke"));
    assert_false(fhub_auth_check("u", "k", NULL, "k"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_once_per_connection),
        cmocka_unit_test(test_idempotent_and_unsubscribe),
        cmocka_unit_test(test_index_limits_candidates),
        cmocka_unit_test(test_wire_raw_and_normalised),
        cmocka_unit_test(test_wire_rejects),
        cmocka_unit_test(test_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
