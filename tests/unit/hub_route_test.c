/* SPDX-License-Identifier: Apache-2.0 */
/* Routing without a full parse: the top-level scanner of an object's text
 * (fti_json_scan_object), the top-level keys an expression reads (fti_expression_top_keys),
 * and the union of keys a subscriber set's routing reads (fti_subset.route_keys), checked by
 * routing events made of only those members. The network path itself (transport.c, receive.c) is
 * covered end to end by tests/integration/test_hub_receive_scan.sh. */
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

#include "common/internal.h"
#include "event/expression_internal.h"
#include "hub/hub_internal.h"
#include "wire/socketio.h"

/* ---- the scanner ----------------------------------------------------------------------- */

#define MAX_MEMBERS 8

typedef struct members {
    size_t n;
    char key[MAX_MEMBERS][64];
    char value[MAX_MEMBERS][256];
    size_t stop_after; /* return false after this many calls; 0: never */
} members;

static bool collect(const char *key, size_t key_len, const char *value, size_t value_len,
                    void *user_data)
{
    members *m = user_data;
    assert_true(m->n < MAX_MEMBERS);
    assert_true(key_len < sizeof(m->key[0]) && value_len < sizeof(m->value[0]));
    memcpy(m->key[m->n], key, key_len);
    m->key[m->n][key_len] = '\0';
    memcpy(m->value[m->n], value, value_len);
    m->value[m->n][value_len] = '\0';
    m->n++;
    return m->stop_after == 0 || m->n < m->stop_after;
}

static members scan_ok(const char *text)
{
    members m;
    memset(&m, 0, sizeof(m));
    if (!fti_json_scan_object(text, strlen(text), FTRACK_EVENT_MAX_DEPTH, collect, &m))
        fail_msg("did not scan: %s", text);
    return m;
}

static bool scans(const char *text, size_t len, int max_depth)
{
    members m;
    memset(&m, 0, sizeof(m));
    return fti_json_scan_object(text, len, max_depth, collect, &m);
}

static void test_scan_members_and_whitespace(void **state)
{
    (void)state;
    members m = scan_ok("{\"a\":1,\"b\":\"x\",\"c\":null,\"d\":-1.5e3,\"e\":true,\"f\":{},\"g\":[]}");
    assert_int_equal(m.n, 7);
    assert_string_equal(m.key[0], "a");
    assert_string_equal(m.value[0], "1");
    assert_string_equal(m.value[1], "\"x\"");
    assert_string_equal(m.value[2], "null");
    assert_string_equal(m.value[3], "-1.5e3");
    assert_string_equal(m.value[4], "true");
    assert_string_equal(m.value[5], "{}");
    assert_string_equal(m.key[6], "g");
    assert_string_equal(m.value[6], "[]");

    m = scan_ok(" \r\n{ \"a\" :\t[1, {\"b\" : 2} ] ,\n\"c\" : 3 } \n");
    assert_int_equal(m.n, 2);
    assert_string_equal(m.value[0], "[1, {\"b\" : 2} ]");
    assert_string_equal(m.key[1], "c");
    assert_string_equal(m.value[1], "3");

    m = scan_ok("{}");
    assert_int_equal(m.n, 0);
    m = scan_ok(" { \n } ");
    assert_int_equal(m.n, 0);
}

static void test_scan_strings_escapes_and_brackets(void **state)
{
    (void)state;
    /* brackets and escaped quotes inside strings do not count */
    members m = scan_ok("{\"s\":\"x\\\"}]{[\",\"d\":{\"t\":\"]}\",\"u\":[\"[\",{\"v\":\"{\"}]},\"e\":1}");
    assert_int_equal(m.n, 3);
    assert_string_equal(m.value[0], "\"x\\\"}]{[\"");
    assert_string_equal(m.value[1], "{\"t\":\"]}\",\"u\":[\"[\",{\"v\":\"{\"}]}");
    assert_string_equal(m.key[2], "e");
    /* an escaped backslash just before the closing quote */
    m = scan_ok("{\"s\":\"x\\\\\",\"t\":\"\\\\\\\"\",\"u\":2}");
    assert_int_equal(m.n, 3);
    assert_string_equal(m.value[0], "\"x\\\\\"");
    assert_string_equal(m.value[1], "\"\\\\\\\"\"");
    assert_string_equal(m.value[2], "2");
    /* unicode escapes and raw UTF-8 in values */
    m = scan_ok("{\"s\":\"\\u00e9\\ud83d\\ude00 \xc3\xa9\",\"k\":[\"\\\"]\"]}");
    assert_int_equal(m.n, 2);
    assert_string_equal(m.value[1], "[\"\\\"]\"]");
    /* keys with a backslash are not read (their bytes are not their value) */
    assert_false(scans("{\"to\\u0070ic\":\"x\"}", 18, 64));
    assert_false(scans("{\"a\\\"b\":1}", 10, 64));
    /* a key after a value that holds escapes is still read */
    m = scan_ok("{\"a\":\"\\\\\",\"topic\":\"t\"}");
    assert_string_equal(m.key[1], "topic");
    assert_string_equal(m.value[1], "\"t\"");
}

static void test_scan_duplicates_in_order(void **state)
{
    (void)state;
    members m = scan_ok("{\"k\":1,\"j\":0,\"k\":{\"x\":2}}");
    assert_int_equal(m.n, 3);
    assert_string_equal(m.key[0], "k");
    assert_string_equal(m.value[0], "1");
    assert_string_equal(m.key[2], "k");
    assert_string_equal(m.value[2], "{\"x\":2}");
}

static void test_scan_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",          " ",         "[1]",          "\"x\"",        "1",
        "null",      "{",         "}",            "{\"a\":1} x",  "{\"a\":1}{}",
        "{\"a\" 1}", "{\"a\":}",  "{\"a\":1,}",   "{,}",          "{a:1}",
        "{\"a\":1 2}", "{\"a\":[}]}", "{\"a\":{]}",  "{\"a\":[1}",   "{\"a\":\"x}",
        "{\"a\":'x'}", "{\"a\":1;\"b\":2}", "{\"a\"}", "{\"a\":1,\"b\"}", "x{\"a\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (scans(bad[i], strlen(bad[i]), 64))
            fail_msg("scanned: '%s'", bad[i]);
    assert_false(fti_json_scan_object(NULL, 0, 64, collect, NULL));
    /* a stop from the callback ends the scan with false */
    members m;
    memset(&m, 0, sizeof(m));
    m.stop_after = 1;
    assert_false(fti_json_scan_object("{\"a\":1,\"b\":2}", 13, 64, collect, &m));
    assert_int_equal(m.n, 1);
    assert_true(fti_json_scan_object("{\"a\":1,\"b\":2}", 13, 64, NULL, NULL));
}

static void test_scan_truncated_never_reads_past(void **state)
{
    (void)state;
    const char *text =
        "{\"topic\":\"a.b\",\"data\":{\"s\":\"]}\\\"{\",\"l\":[1,2,{\"x\":null}]},\"n\":-12,"
        "\"t\":true}";
    size_t len = strlen(text);
    assert_true(scans(text, len, 64));
    /* every prefix fails; copied to its own allocation so ASan sees any read past it */
    for (size_t n = 0; n < len; n++) {
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, text, n);
        if (scans(copy, n, 64))
            fail_msg("a %zu-byte prefix scanned", n);
        free(copy);
    }
}

static void test_scan_depth(void **state)
{
    (void)state;
    const char *text = "{\"a\":[[1]],\"b\":2}"; /* three levels */
    assert_true(scans(text, strlen(text), 3));
    assert_false(scans(text, strlen(text), 2));
    assert_false(scans("{}", 2, 0));
    assert_true(scans("{}", 2, 1));
    assert_false(scans("{\"a\":{}}", 8, 1));
    /* as deep as json-c takes at FTRACK_EVENT_MAX_DEPTH, and one more */
    char deep[2 * FTRACK_EVENT_MAX_DEPTH + 16];
    for (int levels = FTRACK_EVENT_MAX_DEPTH; levels <= FTRACK_EVENT_MAX_DEPTH + 1; levels++) {
        size_t n = 0;
        n += (size_t)snprintf(deep, sizeof(deep), "{\"a\":");
        for (int i = 1; i < levels; i++)
            deep[n++] = '[';
        for (int i = 1; i < levels; i++)
            deep[n++] = ']';
        deep[n++] = '}';
        json_tokener *tok = json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH);
        json_object *o = json_tokener_parse_ex(tok, deep, (int)n);
        assert_int_equal(o != NULL, scans(deep, n, FTRACK_EVENT_MAX_DEPTH));
        assert_int_equal(o != NULL, levels <= FTRACK_EVENT_MAX_DEPTH);
        json_object_put(o);
        json_tokener_free(tok);
    }
}

/* ---- the keys an expression reads ------------------------------------------------------ */

typedef struct key_seen {
    char keys[256];
} key_seen;

static void note_key(const char *key, void *user_data)
{
    key_seen *k = user_data;
    size_t used = strlen(k->keys);
    snprintf(k->keys + used, sizeof(k->keys) - used, "%s;", key);
}

static const char *keys_of(const char *text, key_seen *k)
{
    ftrack_expression *e = NULL;
    assert_int_equal(ftrack_expression_compile(text, &e, NULL), FTRACK_OK);
    k->keys[0] = '\0';
    assert_true(fti_expression_top_keys(e, note_key, k));
    ftrack_expression_free(e);
    return k->keys;
}

static void test_expression_top_keys(void **state)
{
    (void)state;
    key_seen k;
    assert_string_equal(keys_of("topic=ftrack.*", &k), "topic;");
    assert_string_equal(keys_of("data.foo=1", &k), "data;");
    assert_string_equal(keys_of("source.user.username=bob", &k), "source;");
    assert_string_equal(keys_of("topic=a and (data.x=1 or not source.user.username=bob)", &k),
                        "topic;data;source;");
    assert_string_equal(keys_of("not (id!=1 and id<2) or NOT target>=\"x\"", &k),
                        "id;id;target;");
    assert_string_equal(keys_of(".x=1", &k), ";");
    assert_string_equal(keys_of("not.x=1", &k), "not;");
    assert_false(fti_expression_top_keys(NULL, note_key, &k));
}

/* ---- the union, and routing events of only those members ------------------------------- */

static ftrack_hub *new_hub(void)
{
    ftrack_hub_options o;
    ftrack_hub_options_init(&o);
    o.server_url = "http://127.0.0.1:1";
    o.api_user = "jane";
    o.api_key = "secret-key";
    ftrack_hub *hub = NULL;
    assert_int_equal(ftrack_hub_new(&o, &hub, NULL), FTRACK_OK);
    return hub;
}

static json_object *never(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    (void)event;
    (void)d;
    (void)user_data;
    return NULL;
}

static ftrack_hub_queue *queue_on(ftrack_hub *hub, const char *name, const char *expr,
                                  bool ignore_own_user)
{
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, name, 100, &q, NULL), FTRACK_OK);
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.queue = q;
    so.ignore_own_user = ignore_own_user;
    ftrack_error err;
    if (ftrack_hub_subscribe(hub, expr, never, NULL, &so, NULL, &err) != FTRACK_OK)
        fail_msg("subscribe %s: %s", expr, err.message);
    return q;
}

static bool set_has_key(const fti_subset *set, const char *key)
{
    for (size_t i = 0; i < set->route_nkeys; i++)
        if (strcmp(set->route_keys[i], key) == 0)
            return true;
    return false;
}

typedef struct partial {
    const fti_subset *set;
    json_object *event;
} partial;

/* What the network thread keeps of an event: the members the set's routing reads. */
static bool keep_routed(const char *key, size_t key_len, const char *value, size_t value_len,
                        void *user_data)
{
    partial *p = user_data;
    for (size_t i = 0; i < p->set->route_nkeys; i++) {
        const char *k = p->set->route_keys[i];
        if (strlen(k) == key_len && memcmp(k, key, key_len) == 0) {
            char *copy = fti_strndup(value, value_len);
            json_object *v = json_tokener_parse(copy);
            free(copy);
            json_object_object_add(p->event, k, v);
        }
    }
    return true;
}

/* Route `text` as the network thread does, from its routed members only; which of the
 * queues got it, as a string of 0/1. */
static void route_partial(ftrack_hub *hub, const char *text, ftrack_hub_queue **qs, size_t n,
                          char *got)
{
    fti_subset *set = fti_subset_get(hub);
    assert_non_null(set);
    assert_false(set->route_all_keys);
    partial p = {set, json_object_new_object()};
    assert_true(fti_json_scan_object(text, strlen(text), FTRACK_EVENT_MAX_DEPTH, keep_routed, &p));
    size_t before[8];
    for (size_t i = 0; i < n; i++)
        before[i] = ftrack_hub_queue_depth(qs[i]);
    fti_route_set(hub, set, p.event, text, strlen(text), false);
    for (size_t i = 0; i < n; i++)
        got[i] = ftrack_hub_queue_depth(qs[i]) > before[i] ? '1' : '0';
    got[n] = '\0';
    json_object_put(p.event);
    fti_subset_release(set);
}

static void test_route_keys_union(void **state)
{
    (void)state;
    ftrack_hub *hub = new_hub();
    fti_subset *set = fti_subset_get(hub);
    /* no subscribers yet: no set, or one with routing's own keys only */
    if (set) {
        assert_true(set_has_key(set, "topic"));
        assert_false(set_has_key(set, "data"));
    }
    fti_subset_release(set);

    ftrack_hub_queue *qs[4];
    qs[0] = queue_on(hub, "data", "data.x=1", false);
    set = fti_subset_get(hub);
    assert_false(set->route_all_keys);
    static const char *const own[] = {"topic", "target", "id", "inReplyToEvent",
                                      "in_reply_to_event", "data"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        assert_true(set_has_key(set, own[i]));
    assert_false(set_has_key(set, "source"));
    assert_int_equal(set->route_nkeys, 6);
    fti_subset_release(set);

    qs[1] = queue_on(hub, "user", "source.user.username=bob", false);
    qs[2] = queue_on(hub, "prefix", "topic=a.*", false);
    qs[3] = queue_on(hub, "own", "topic=own", true);
    set = fti_subset_get(hub);
    assert_true(set_has_key(set, "source"));
    assert_false(set_has_key(set, "sent"));
    assert_int_equal(set->route_nkeys, 7);
    fti_subset_release(set);

    char got[8];
    route_partial(hub, "{\"topic\":\"a.b\",\"data\":{\"x\":\"1\"},\"source\":{\"user\":{\"username\":\"bob\"}}}",
                  qs, 4, got);
    assert_string_equal(got, "1110");
    route_partial(hub, "{\"topic\":\"z\",\"data\":{\"x\":\"2\",\"big\":\"]}\"},\"source\":{\"user\":{\"username\":\"bob\"}}}",
                  qs, 4, got);
    assert_string_equal(got, "0100");
    route_partial(hub, "{\"sent\":[1,{\"x\":\"]\"}],\"data\":{\"x\":\"1\"},\"topic\":\"a\"}", qs, 4, got);
    assert_string_equal(got, "1000");
    route_partial(hub, "{\"topic\":\"a.\",\"data\":{\"x\":1}}", qs, 4, got);
    assert_string_equal(got, "0010");
    /* ignore_own_user needs source: our own user's event skips that subscriber */
    route_partial(hub, "{\"topic\":\"own\",\"source\":{\"user\":{\"username\":\"jane\"}}}", qs, 4,
                  got);
    assert_string_equal(got, "0000");
    route_partial(hub, "{\"topic\":\"own\",\"source\":{\"user\":{\"username\":\"bob\"}}}", qs, 4,
                  got);
    assert_string_equal(got, "0101");
    /* a target is read, and matched against each subscriber's metadata */
    route_partial(hub, "{\"topic\":\"a.t\",\"target\":\"id=nobody\"}", qs, 4, got);
    assert_string_equal(got, "0000");
    /* the duplicate key's last value decides, as in a whole parse */
    route_partial(hub, "{\"topic\":\"z\",\"topic\":\"a.dup\"}", qs, 4, got);
    assert_string_equal(got, "0010");

    /* unsubscribing the data subscriber takes data out of the union */
    json_object *subs = ftrack_hub_queue_subscriptions(qs[0]);
    const char *id = json_object_get_string(
        json_object_object_get(json_object_array_get_idx(subs, 0), "id"));
    assert_int_equal(ftrack_hub_unsubscribe(hub, id, NULL), FTRACK_OK);
    json_object_put(subs);
    set = fti_subset_get(hub);
    assert_false(set_has_key(set, "data"));
    assert_true(set_has_key(set, "source"));
    fti_subset_release(set);

    for (size_t i = 0; i < 4; i++)
        ftrack_hub_queue_free(qs[i]);
    ftrack_hub_free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_members_and_whitespace),
        cmocka_unit_test(test_scan_strings_escapes_and_brackets),
        cmocka_unit_test(test_scan_duplicates_in_order),
        cmocka_unit_test(test_scan_rejects),
        cmocka_unit_test(test_scan_truncated_never_reads_past),
        cmocka_unit_test(test_scan_depth),
        cmocka_unit_test(test_expression_top_keys),
        cmocka_unit_test(test_route_keys_union),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
