/* SPDX-License-Identifier: Apache-2.0 */
/* The event object: construction, wire parsing, serialisation, source filling, replies. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <ftrack/event.h>

static bool is_uuid_hex(const char *s)
{
    if (strlen(s) != 32)
        return false;
    for (size_t i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[12] == '4' && strchr("89ab", s[16]) != NULL;
}

static char *serialize(const ftrack_event *ev)
{
    size_t len = 0;
    char *s = ftrack_event_serialize(ev, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    return s;
}

static ftrack_event *parse_ok(const char *text, bool strict)
{
    ftrack_event *ev = NULL;
    ftrack_error err;
    ftrack_status st = ftrack_event_parse(text, strlen(text), strict, &ev, &err);
    if (st != FTRACK_OK)
        fail_msg("parse failed: %s", err.message);
    assert_non_null(ev);
    return ev;
}

static ftrack_error parse_fail(const char *text, size_t len, bool strict, ftrack_status want)
{
    ftrack_event *ev = (ftrack_event *)0x1;
    ftrack_error err;
    ftrack_status st = ftrack_event_parse(text, len, strict, &ev, &err);
    if (st != want)
        fail_msg("'%.*s': status %d, wanted %d (%s)", (int)len, text, (int)st, (int)want,
                 err.message);
    assert_null(ev);
    assert_int_equal(err.code, want);
    return err;
}

static void test_uuid(void **state)
{
    (void)state;
    char a[33], b[33];
    ftrack_uuid_hex(a);
    ftrack_uuid_hex(b);
    assert_true(is_uuid_hex(a));
    assert_true(is_uuid_hex(b));
    assert_string_not_equal(a, b);
}

static void test_new_defaults_and_order(void **state)
{
    (void)state;
    ftrack_event *ev = ftrack_event_new("my.topic", NULL);
    assert_non_null(ev);
    assert_true(is_uuid_hex(ftrack_event_id(ev)));
    assert_string_equal(ftrack_event_topic(ev), "my.topic");
    assert_string_equal(ftrack_event_target(ev), "");
    assert_null(ftrack_event_in_reply_to(ev));
    assert_true(json_object_is_type(ftrack_event_data(ev), json_type_object));
    assert_int_equal(json_object_object_length(ftrack_event_source(ev)), 0);
    ftrack_event_set_id(ev, "abc");
    char *s = serialize(ev);
    assert_string_equal(s, "{\"id\":\"abc\",\"data\":{},\"topic\":\"my.topic\",\"sent\":null,"
                           "\"source\":{},\"target\":\"\",\"inReplyToEvent\":null}");
    free(s);
    ftrack_event_free(ev);

    assert_null(ftrack_event_new(NULL, NULL));
    assert_null(ftrack_event_new("", json_object_new_object())); /* data taken, not leaked */
}

static void test_setters_keep_order(void **state)
{
    (void)state;
    ftrack_event *ev = ftrack_event_new("t", json_tokener_parse("{\"k\":[1,2]}"));
    ftrack_event_set_in_reply_to(ev, "orig");
    ftrack_event_set_target(ev, "id=x");
    ftrack_event_set_source(ev, json_tokener_parse("{\"id\":\"s\"}"));
    ftrack_event_set_data(ev, json_object_new_string("/path/é"));
    ftrack_event_set_id(ev, "i");
    char *s = serialize(ev);
    /* No slash escaping; raw UTF-8. */
    assert_string_equal(s, "{\"id\":\"i\",\"data\":\"/path/é\",\"topic\":\"t\",\"sent\":null,"
                           "\"source\":{\"id\":\"s\"},\"target\":\"id=x\","
                           "\"inReplyToEvent\":\"orig\"}");
    free(s);
    assert_string_equal(ftrack_event_in_reply_to(ev), "orig");
    ftrack_event_set_in_reply_to(ev, NULL);
    assert_null(ftrack_event_in_reply_to(ev));
    ftrack_event_set_target(ev, NULL);
    assert_string_equal(ftrack_event_target(ev), "");
    ftrack_event_set_data(ev, NULL);
    ftrack_event_set_source(ev, NULL);
    ftrack_event_set_id(ev, NULL);
    assert_true(is_uuid_hex(ftrack_event_id(ev)));
    assert_int_equal(json_object_object_length(ftrack_event_data(ev)), 0);
    assert_int_equal(json_object_object_length(ftrack_event_source(ev)), 0);
    ftrack_event_free(ev);
}

static void test_parse_wire(void **state)
{
    (void)state;
    static const char wire[] =
        "{\"id\": \"b1c0\", \"data\": {\"a\": 1.50, \"b\": [true, null]}, \"topic\": \"my.topic\", "
        "\"sent\": null, \"source\": {\"id\": \"hub\", \"user\": {\"username\": \"jane\"}, "
        "\"host\": \"ws01\"}, \"target\": \"\", \"inReplyToEvent\": null}";
    ftrack_event *ev = parse_ok(wire, true);
    assert_string_equal(ftrack_event_id(ev), "b1c0");
    assert_string_equal(ftrack_event_topic(ev), "my.topic");
    char *s = serialize(ev);
    /* Compact, key order kept, the double keeps its original text. */
    assert_string_equal(s, "{\"id\":\"b1c0\",\"data\":{\"a\":1.50,\"b\":[true,null]},"
                           "\"topic\":\"my.topic\",\"sent\":null,\"source\":{\"id\":\"hub\","
                           "\"user\":{\"username\":\"jane\"},\"host\":\"ws01\"},\"target\":\"\","
                           "\"inReplyToEvent\":null}");
    /* Round trip. */
    ftrack_event *again = parse_ok(s, true);
    char *s2 = serialize(again);
    assert_string_equal(s, s2);
    free(s);
    free(s2);
    ftrack_event_free(again);
    ftrack_event_free(ev);
}

static void test_parse_reorders_and_defaults(void **state)
{
    (void)state;
    /* Keys in any order, alias for inReplyToEvent, missing id/target/sent, null data/source. */
    ftrack_event *ev = parse_ok("{\"in_reply_to_event\":\"r1\",\"source\":null,\"topic\":\"x\","
                                "\"data\":null}",
                                true);
    assert_true(is_uuid_hex(ftrack_event_id(ev)));
    assert_string_equal(ftrack_event_in_reply_to(ev), "r1");
    assert_string_equal(ftrack_event_target(ev), "");
    ftrack_event_set_id(ev, "i");
    char *s = serialize(ev);
    assert_string_equal(s, "{\"id\":\"i\",\"data\":{},\"topic\":\"x\",\"sent\":null,\"source\":{},"
                           "\"target\":\"\",\"inReplyToEvent\":\"r1\"}");
    free(s);
    ftrack_event_free(ev);

    /* null id and null target are defaults too; non-object data is kept (replies). */
    ev = parse_ok("{\"topic\":\"x\",\"id\":null,\"target\":null,\"data\":false,\"sent\":12}", true);
    assert_true(is_uuid_hex(ftrack_event_id(ev)));
    assert_string_equal(ftrack_event_target(ev), "");
    assert_true(json_object_is_type(ftrack_event_data(ev), json_type_boolean));
    ftrack_event_free(ev);

    /* Both spellings: the wire name wins. */
    ev = parse_ok("{\"topic\":\"x\",\"in_reply_to_event\":\"a\",\"inReplyToEvent\":\"b\"}", true);
    assert_string_equal(ftrack_event_in_reply_to(ev), "b");
    ftrack_event_free(ev);

    /* Surrounding whitespace is fine. */
    ev = parse_ok(" \n{\"topic\":\"x\"}\r\n ", true);
    ftrack_event_free(ev);
}

/* An event already in wire order (as the official clients and the hub send it) is kept as
 * parsed; one that only looks so gets assemble()'s defaults all the same. */
static void test_parse_wire_order(void **state)
{
    (void)state;
    static const char wire[] =
        "{\"id\":\"i\",\"data\":{\"a\":[1,2]},\"topic\":\"x\",\"sent\":null,"
        "\"source\":{\"id\":\"s\"},\"target\":\"t\",\"inReplyToEvent\":null}";
    ftrack_event *ev = parse_ok(wire, true);
    char *s = serialize(ev);
    assert_string_equal(s, wire);
    free(s);
    ftrack_event_set_target(ev, "id=s"); /* a setter keeps the key's place */
    ftrack_event_set_in_reply_to(ev, "r");
    s = serialize(ev);
    assert_string_equal(s,
                        "{\"id\":\"i\",\"data\":{\"a\":[1,2]},\"topic\":\"x\",\"sent\":null,"
                        "\"source\":{\"id\":\"s\"},\"target\":\"id=s\",\"inReplyToEvent\":\"r\"}");
    free(s);
    ftrack_event *copy = ftrack_event_copy(ev);
    ftrack_event_free(ev);
    assert_string_equal(ftrack_event_topic(copy), "x");
    ftrack_event_free(copy);

    /* the order, but null data, source and target: the defaults */
    ev = parse_ok("{\"id\":\"i\",\"data\":null,\"topic\":\"x\",\"sent\":null,\"source\":null,"
                  "\"target\":null,\"inReplyToEvent\":null}",
                  true);
    s = serialize(ev);
    assert_string_equal(s, "{\"id\":\"i\",\"data\":{},\"topic\":\"x\",\"sent\":null,"
                           "\"source\":{},\"target\":\"\",\"inReplyToEvent\":null}");
    free(s);
    ftrack_event_free(ev);

    /* the order with a key more (not strict): only the wire keys are kept */
    ev = parse_ok("{\"id\":\"i\",\"data\":{},\"topic\":\"x\",\"sent\":null,\"source\":{},"
                  "\"target\":\"\",\"inReplyToEvent\":null,\"extra\":1}",
                  false);
    assert_false(json_object_object_get_ex(ftrack_event_json(ev), "extra", NULL));
    ftrack_event_free(ev);
}

static void test_parse_errors(void **state)
{
    (void)state;
    ftrack_error err;
    ftrack_event *ev = NULL;
    err = parse_fail("{\"data\":{}}", 11, false, FTRACK_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "no topic"));
    err = parse_fail("{\"topic\":5}", 11, false, FTRACK_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "topic is not a string"));
    err = parse_fail("{\"topic\":null}", 14, false, FTRACK_ERR_INVALID_ARGUMENT);
    err = parse_fail("{\"topic\":\"x\",\"extra\":1}", 23, true, FTRACK_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "unknown key 'extra'"));
    err = parse_fail("{\"topic\":\"x\",\"id\":5}", 20, false, FTRACK_ERR_INVALID_ARGUMENT);
    err = parse_fail("{\"topic\":\"x\",\"target\":[]}", 25, false, FTRACK_ERR_INVALID_ARGUMENT);
    err = parse_fail("[]", 2, false, FTRACK_ERR_INVALID_ARGUMENT);
    err = parse_fail("\"x\"", 3, false, FTRACK_ERR_INVALID_ARGUMENT);

    const char *syntax[] = {"",
                            "{",
                            "{\"topic\":\"x\"",
                            "{\"topic\":\"x\"} x",
                            "{\"topic\":\"x\"}{}",
                            "{'topic':'x'}",
                            "{\"topic\":\"x\",}",
                            "{topic:\"x\"}",
                            "{\"topic\":\"x\" /* c */}",
                            "nul"};
    for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++)
        parse_fail(syntax[i], strlen(syntax[i]), false, FTRACK_ERR_PARSE);

    /* Invalid UTF-8 in a string. */
    static const char bad_utf8[] = "{\"topic\":\"a\xff\"}";
    parse_fail(bad_utf8, sizeof(bad_utf8) - 1, false, FTRACK_ERR_PARSE);
    /* json-c lets these through; we do not. */
    const char *bad_seqs[] = {
        "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
        "\xe2\x82", "\x80",         "\xc3"};
    for (size_t i = 0; i < sizeof(bad_seqs) / sizeof(bad_seqs[0]); i++) {
        char buf[64];
        int n = snprintf(buf, sizeof(buf), "{\"topic\":\"abcdefgh%s\"}", bad_seqs[i]);
        err = parse_fail(buf, (size_t)n, false, FTRACK_ERR_PARSE);
        assert_non_null(strstr(err.message, "UTF-8 at byte 18"));
    }
    /* Valid multi-byte text, including the edges of each range. */
    ev = parse_ok("{\"topic\":\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 "
                  "\xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf caf\xc3\xa9\"}",
                  true);
    ftrack_event_free(ev);

    /* The length is honoured: a valid prefix of a longer buffer. */
    static const char two[] = "{\"topic\":\"x\"}garbage";
    assert_int_equal(ftrack_event_parse(two, 13, true, &ev, NULL), FTRACK_OK);
    ftrack_event_free(ev);
    parse_fail(two, 12, true, FTRACK_ERR_PARSE);

    /* NULL arguments. */
    assert_int_equal(ftrack_event_parse(NULL, 0, true, &ev, NULL), FTRACK_ERR_INVALID_ARGUMENT);
    assert_int_equal(ftrack_event_parse("{}", 2, true, NULL, NULL), FTRACK_ERR_INVALID_ARGUMENT);
}

static void test_non_strict_keeps_only_wire_keys(void **state)
{
    (void)state;
    ftrack_event *ev = parse_ok("{\"topic\":\"x\",\"id\":\"i\",\"extra\":1}", false);
    char *s = serialize(ev);
    assert_null(strstr(s, "extra"));
    free(s);
    ftrack_event_free(ev);
}

static char *nested(int depth)
{
    size_t cap = (size_t)depth * 2 + 64;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n = (size_t)snprintf(buf, cap, "{\"topic\":\"x\",\"data\":");
    for (int i = 0; i < depth - 1; i++)
        buf[n++] = '[';
    for (int i = 0; i < depth - 1; i++)
        buf[n++] = ']';
    buf[n++] = '}';
    buf[n] = '\0';
    return buf;
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* The event object itself is level 1. */
    char *ok = nested(FTRACK_EVENT_MAX_DEPTH);
    ftrack_event *ev = parse_ok(ok, true);
    ftrack_event_free(ev);
    free(ok);
    char *deep = nested(FTRACK_EVENT_MAX_DEPTH + 1);
    ftrack_error err = parse_fail(deep, strlen(deep), true, FTRACK_ERR_PARSE);
    assert_non_null(strstr(err.message, "nesting too deep"));
    free(deep);
    deep = nested(100000);
    parse_fail(deep, strlen(deep), true, FTRACK_ERR_PARSE);
    free(deep);
}

static void test_from_json_copies(void **state)
{
    (void)state;
    json_object *wire = json_tokener_parse("{\"topic\":\"x\",\"data\":{\"k\":\"v\"}}");
    ftrack_event *ev = NULL;
    assert_int_equal(ftrack_event_from_json(wire, true, &ev, NULL), FTRACK_OK);
    /* Changing the input afterwards does not change the event. */
    json_object_object_add(json_object_object_get(wire, "data"), "k", json_object_new_int(1));
    json_object_put(wire);
    assert_string_equal(json_object_get_string(json_object_object_get(ftrack_event_data(ev), "k")),
                        "v");
    ftrack_event *copy = ftrack_event_copy(ev);
    ftrack_event_stop(ev);
    assert_true(ftrack_event_is_stopped(ev));
    assert_false(ftrack_event_is_stopped(copy));
    assert_string_equal(ftrack_event_id(copy), ftrack_event_id(ev));
    assert_ptr_not_equal(ftrack_event_data(copy), ftrack_event_data(ev));
    char *a = serialize(ev), *b = serialize(copy);
    assert_string_equal(a, b);
    free(a);
    free(b);
    ftrack_event_free(copy);
    ftrack_event_free(ev);

    ftrack_error err;
    assert_int_equal(ftrack_event_from_json(NULL, false, &ev, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_null(ev);
    assert_true(ftrack_event_json(NULL) == NULL);
    ftrack_event_free(NULL);
}

/* test_prepare_event: five source shapes all end with the hub's values where missing. */
static void test_prepare_source(void **state)
{
    (void)state;
    const struct {
        const char *source;
        const char *expected;
    } cases[] = {
        {"{}", "{\"id\":\"hub\",\"user\":{\"username\":\"jane\"},\"host\":\"ws\"}"},
        {"{\"id\":\"own\"}", "{\"id\":\"own\",\"user\":{\"username\":\"jane\"},\"host\":\"ws\"}"},
        {"{\"user\":{\"username\":\"bob\"}}",
         "{\"user\":{\"username\":\"bob\"},\"id\":\"hub\",\"host\":\"ws\"}"},
        {"{\"user\":{}}", "{\"user\":{},\"id\":\"hub\",\"host\":\"ws\"}"},
        {"{\"host\":null,\"applicationId\":\"app\"}",
         "{\"host\":null,\"applicationId\":\"app\",\"id\":\"hub\",\"user\":{\"username\":\"jane\"}"
         "}"},
        {"\"not an object\"", "{\"id\":\"hub\",\"user\":{\"username\":\"jane\"},\"host\":\"ws\"}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ftrack_event *ev = ftrack_event_new("t", NULL);
        ftrack_event_set_source(ev, json_tokener_parse(cases[i].source));
        ftrack_event_prepare_source(ev, "hub", "jane", "ws");
        assert_string_equal(
            json_object_to_json_string_ext(ftrack_event_source(ev), JSON_C_TO_STRING_PLAIN),
            cases[i].expected);
        ftrack_event_free(ev);
    }
    /* NULL arguments skip keys. */
    ftrack_event *ev = ftrack_event_new("t", NULL);
    ftrack_event_prepare_source(ev, NULL, NULL, "ws");
    assert_string_equal(
        json_object_to_json_string_ext(ftrack_event_source(ev), JSON_C_TO_STRING_PLAIN),
        "{\"host\":\"ws\"}");
    ftrack_event_free(ev);
    ftrack_event_prepare_source(NULL, "a", "b", "c");
}

/* test_prepare_reply_event */
static void test_reply(void **state)
{
    (void)state;
    ftrack_event *orig =
        parse_ok("{\"id\":\"orig\",\"topic\":\"q\",\"source\":{\"id\":\"hub1\"}}", true);
    json_object *meta = json_tokener_parse("{\"id\":\"sub\",\"meta\":\"info\"}");
    ftrack_event *reply = ftrack_event_reply_new(orig, json_object_new_string("Replied"), meta);
    assert_non_null(reply);
    /* The source was copied, so the caller's object is untouched by later changes. */
    ftrack_event_prepare_source(reply, "hub2", "jane", "ws");
    assert_int_equal(json_object_object_length(meta), 2);
    json_object_put(meta);
    assert_string_equal(ftrack_event_topic(reply), "ftrack.meta.reply");
    assert_string_equal(ftrack_event_target(reply), "id=hub1");
    assert_string_equal(ftrack_event_in_reply_to(reply), "orig");
    assert_true(is_uuid_hex(ftrack_event_id(reply)));
    assert_string_not_equal(ftrack_event_id(reply), "orig");
    ftrack_event_set_id(reply, "r");
    char *s = serialize(reply);
    assert_string_equal(s, "{\"id\":\"r\",\"data\":\"Replied\",\"topic\":\"ftrack.meta.reply\","
                           "\"sent\":null,\"source\":{\"id\":\"sub\",\"meta\":\"info\","
                           "\"user\":{\"username\":\"jane\"},\"host\":\"ws\"},"
                           "\"target\":\"id=hub1\",\"inReplyToEvent\":\"orig\"}");
    free(s);
    ftrack_event_free(reply);

    /* NULL data → {}, NULL source → {}; a falsy reply is kept (unlike Python's `data or {}`). */
    reply = ftrack_event_reply_new(orig, NULL, NULL);
    assert_int_equal(json_object_object_length(ftrack_event_data(reply)), 0);
    assert_int_equal(json_object_object_length(ftrack_event_source(reply)), 0);
    ftrack_event_free(reply);
    reply = ftrack_event_reply_new(orig, json_object_new_boolean(0), NULL);
    assert_true(json_object_is_type(ftrack_event_data(reply), json_type_boolean));
    ftrack_event_free(reply);
    ftrack_event_free(orig);

    /* No string source.id to reply to: no reply (data is still taken). */
    orig = parse_ok("{\"id\":\"o\",\"topic\":\"q\"}", true);
    assert_null(ftrack_event_reply_new(orig, json_object_new_int(1), NULL));
    ftrack_event_free(orig);
}

/* Ids stay uuid4-shaped and unique across batches, threads and a fork. */
#define IDS_PER_THREAD 2000
static void *make_ids(void *arg)
{
    char(*ids)[33] = arg;
    for (int i = 0; i < IDS_PER_THREAD; i++)
        ftrack_uuid_hex(ids[i]);
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 33);
}

static void test_uuid_unique_across_threads_and_fork(void **state)
{
    (void)state;
    enum { THREADS = 4, TOTAL = THREADS * IDS_PER_THREAD + 2 };
    char(*ids)[33] = calloc(TOTAL, 33);
    assert_non_null(ids);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, make_ids, ids + i * IDS_PER_THREAD), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    /* a child inherits this thread's unused batch: it must not hand out what the parent will */
    ftrack_uuid_hex(ids[TOTAL - 2]); /* leaves most of a batch unused */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char child[33];
        ftrack_uuid_hex(child);
        _exit(write(fds[1], child, 33) == 33 ? 0 : 1);
    }
    close(fds[1]);
    char child[33] = "";
    assert_int_equal(read(fds[0], child, 33), 33);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ftrack_uuid_hex(ids[TOTAL - 1]); /* the parent's next id */
    assert_true(is_uuid_hex(child));
    assert_string_not_equal(child, ids[TOTAL - 1]);
    for (int i = 0; i < TOTAL; i++)
        if (!is_uuid_hex(ids[i]) || ids[i][12] != '4' || !strchr("89ab", ids[i][16]))
            fail_msg("not a uuid4 hex: %s", ids[i]);
    qsort(ids, TOTAL, 33, cmp_id);
    for (int i = 1; i < TOTAL; i++)
        if (memcmp(ids[i - 1], ids[i], 33) == 0)
            fail_msg("duplicate id %s", ids[i]);
    free(ids);
}

/* The thread's reused tokener: a failed or partial parse leaves nothing behind for the next. */
static void *parse_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 500; i++) {
        ftrack_event *ev = NULL;
        ftrack_error err;
        const char *bad = i % 3 == 0 ? "{\"topic\":\"a\",\"data\":{\"x\":[1,2" : "{\"topic\":";
        if (ftrack_event_parse(bad, strlen(bad), false, &ev, &err) != FTRACK_ERR_PARSE)
            return "a truncated event parsed";
        char text[64];
        int n = snprintf(text, sizeof(text), "{\"topic\":\"t.%d\",\"data\":{\"n\":%d}}", i, i);
        if (ftrack_event_parse(text, (size_t)n, true, &ev, &err) != FTRACK_OK)
            return "a good event did not parse after a bad one";
        char want[16];
        snprintf(want, sizeof(want), "t.%d", i);
        bool same = strcmp(ftrack_event_topic(ev), want) == 0;
        ftrack_event_free(ev);
        if (!same)
            return "wrong topic";
    }
    return NULL;
}

static void test_parse_reuses_tokener_safely(void **state)
{
    (void)state;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, parse_many, NULL), 0);
    const char *here = parse_many(NULL);
    if (here)
        fail_msg("%s", here);
    for (int i = 0; i < 3; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        if (r)
            fail_msg("%s", (const char *)r);
    }
}

/* json-c 0.16 keeps a pending high surrogate across json_tokener_reset(): after a text that
 * failed right after one, the next text's first escape came out as U+FFFD (fuzz_event). */
static void test_parse_after_dangling_surrogate(void **state)
{
    (void)state;
    static const char bad[] = "{\"topic\":\"\\ud9b7";
    static const char good[] = "{\"topic\":\"\\u0005x\"}";
    ftrack_event *ev = NULL;
    assert_int_not_equal(ftrack_event_parse(bad, sizeof(bad) - 1, false, &ev, NULL), FTRACK_OK);
    assert_int_equal(ftrack_event_parse(good, sizeof(good) - 1, false, &ev, NULL), FTRACK_OK);
    assert_string_equal(ftrack_event_topic(ev), "\005x");
    ftrack_event_free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_new_defaults_and_order),
        cmocka_unit_test(test_setters_keep_order),
        cmocka_unit_test(test_parse_wire),
        cmocka_unit_test(test_parse_reorders_and_defaults),
        cmocka_unit_test(test_parse_wire_order),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_non_strict_keeps_only_wire_keys),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_from_json_copies),
        cmocka_unit_test(test_prepare_source),
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_uuid_unique_across_threads_and_fork),
        cmocka_unit_test(test_parse_reuses_tokener_safely),
        cmocka_unit_test(test_parse_after_dangling_surrogate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
