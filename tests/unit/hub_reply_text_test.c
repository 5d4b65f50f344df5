/* SPDX-License-Identifier: Apache-2.0 */
/* A callback's automatic reply is written as text (fti_reply_text_make, fti_publish_pieces)
 * instead of being built as an event and serialised. These tests hold the two roads to the
 * same bytes: the old one (ftrack_event_reply_new, the metadata as source,
 * ftrack_event_prepare_source, ftrack_event_serialize, fti_sio_frame_event) against the new
 * one, for ids with escapes and unicode, nested metadata, metadata changed between replies and
 * every kind of data; then end to end through the pending list, the outgoing hook and the
 * publish queue's limit. */
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
#include <libwebsockets.h>

#include "common/internal.h"
#include "hub/hub_internal.h"
#include "wire/socketio.h"
#include "hub_test_support.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---- helpers ------------------------------------------------------------------------------ */

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o && strcmp(text, "null") != 0)
        fail_msg("bad test JSON: %s", text);
    return o;
}

/* The callback's result for a data spec: parsed text, or built objects for "#built" (values
 * json-c makes rather than parses, e.g. doubles without their source text). */
static json_object *make_data(const char *spec)
{
    if (strcmp(spec, "#built") != 0)
        return parse(spec);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ratio", json_object_new_double(0.1));
    json_object_object_add(o, "big", json_object_new_int64(INT64_MIN));
    json_object_object_add(o, "u", json_object_new_uint64(UINT64_MAX));
    json_object *arr = json_object_new_array();
    json_object_array_add(arr, json_object_new_double(-0.0));
    json_object_array_add(arr, json_object_new_double(1e300));
    json_object_array_add(arr, json_object_new_boolean(false));
    json_object_array_add(arr, NULL);
    json_object_array_add(arr, json_object_new_string_len("a\0b/\"", 5));
    json_object_object_add(o, "list", arr);
    json_object_object_add(o, "empty", json_object_new_object());
    return o;
}

static fti_sub *find_sub(ftrack_hub *hub, const char *id)
{
    pthread_mutex_lock(&hub->lock);
    fti_sub *s = fti_subset_find_locked(hub, id);
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&hub->lock);
    if (!s)
        fail_msg("no subscriber %s", id);
    return s;
}

/* The old road's event text, with the reply's id set to `id` (NULL: keep its own); NULL when
 * ftrack_event_reply_new refuses. */
static char *old_reply_text(ftrack_hub *hub, fti_sub *s, const ftrack_event *ev, json_object *data,
                            const char *id, size_t *len)
{
    ftrack_event *reply = ftrack_event_reply_new(ev, data, NULL);
    if (!reply)
        return NULL;
    pthread_mutex_lock(&s->meta_lock);
    json_object *source = NULL;
    json_object_deep_copy(s->metadata, &source, NULL);
    pthread_mutex_unlock(&s->meta_lock);
    ftrack_event_set_source(reply, source);
    if (id)
        ftrack_event_set_id(reply, id);
    ftrack_event_prepare_source(reply, hub->id, hub->api_user, hub->hostname);
    char *text = ftrack_event_serialize(reply, len);
    ftrack_event_free(reply);
    return text;
}

static void assert_same_bytes(const char *got, size_t got_len, const char *want, size_t want_len)
{
    if (got_len != want_len || memcmp(got, want, want_len) != 0)
        fail_msg("texts differ:\n new %.*s\n old %.*s", (int)got_len, got, (int)want_len, want);
}

/* One reply both ways; returns the new text (to free). */
static char *compare_one(ftrack_hub *hub, fti_sub *s, const char *event_text, const char *data_spec)
{
    ftrack_event *ev = NULL;
    ftrack_error err;
    if (ftrack_event_parse(event_text, strlen(event_text), false, &ev, &err) != FTRACK_OK)
        fail_msg("parse %s: %s", event_text, err.message);
    json_object *data_new = data_spec ? make_data(data_spec) : NULL;
    size_t dlen = 0;
    const char *djson = data_new ? json_object_to_json_string_length(data_new, FLAGS, &dlen) : NULL;
    fti_reply_text rt;
    ftrack_status st = fti_reply_text_make(hub, s, ev, djson, dlen, &rt, &err);
    size_t old_len = 0;
    char *old = old_reply_text(hub, s, ev, data_spec ? make_data(data_spec) : NULL,
                               st == FTRACK_OK ? rt.id : NULL, &old_len);
    char *got = NULL;
    if (!old) {
        assert_int_equal(st, FTRACK_ERR_INVALID_ARGUMENT);
        assert_string_equal(err.message,
                            "the event has no source.id to address a reply to (or out of memory)");
    } else {
        assert_int_equal(st, FTRACK_OK);
        size_t got_len = 0;
        got = fti_sio_join(0, rt.pieces, rt.n, &got_len);
        assert_non_null(got);
        assert_int_equal(strlen(got), got_len);
        assert_same_bytes(got, got_len, old, old_len);
        /* the frame around it, as fti_frame_build made it */
        size_t fa = 0, fb = 0;
        char *fnew = fti_sio_frame_event_pieces(LWS_PRE, 0, rt.pieces, rt.n, &fa);
        char *fold = fti_sio_frame_event(LWS_PRE, 0, old, old_len, &fb);
        assert_same_bytes(fnew + LWS_PRE, fa, fold + LWS_PRE, fb);
        free(fnew);
        free(fold);
        fnew = fti_sio_frame_event_pieces(0, 42, rt.pieces, rt.n, &fa);
        fold = fti_sio_frame_event(0, 42, old, old_len, &fb);
        assert_same_bytes(fnew, fa, fold, fb);
        free(fnew);
        free(fold);
    }
    fti_reply_text_clear(&rt);
    free(old);
    json_object_put(data_new);
    ftrack_event_free(ev);
    return got;
}

static void subscribe_meta(ftrack_hub *hub, const char *meta_text, ftrack_hub_callback cb, void *ud,
                           ftrack_hub_queue *q)
{
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    json_object *meta = meta_text ? parse(meta_text) : NULL;
    so.subscriber = meta;
    so.queue = q;
    ftrack_error err;
    if (ftrack_hub_subscribe(hub, "topic=test.ask", cb, ud, &so, NULL, &err) != FTRACK_OK)
        fail_msg("subscribe %s: %s", meta_text ? meta_text : "(none)", err.message);
    json_object_put(meta);
}

static json_object *answer_spec(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    (void)event, (void)d;
    const char *spec = user_data;
    return spec ? make_data(spec) : NULL;
}

/* ---- the escaper -------------------------------------------------------------------------- */

static void test_escape_matches_json_c_for_every_byte(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        char in[8] = {'a', (char)b, 'z', '/', (char)0xc3, (char)0xa9, (char)b, 0x7f};
        json_object *str = json_object_new_string_len(in, sizeof(in));
        size_t want_len = 0;
        const char *want = json_object_to_json_string_length(str, FLAGS, &want_len);
        fti_text_piece p[] = {{"\"", 1, false}, {in, sizeof(in), true}, {"\"", 1, false}};
        size_t got_len = 0;
        char *got = fti_sio_join(0, p, 3, &got_len);
        assert_same_bytes(got, got_len, want, want_len);
        free(got);
        json_object_put(str);
    }
}

static void test_join_and_frame_pieces(void **state)
{
    (void)state;
    fti_text_piece p[] = {
        {"{\"a\":\"", 6, false}, {"x\"\n", 3, true}, {"", 0, true}, {"\"}", 2, false}};
    size_t len = 0;
    char *buf = fti_sio_join(3, p, 4, &len);
    assert_int_equal(len, 13);
    assert_string_equal(buf + 3, "{\"a\":\"x\\\"\\n\"}");
    free(buf);
    buf = fti_sio_frame_event_pieces(0, 7, p, 4, &len);
    assert_string_equal(buf, "5:7+::{\"name\":\"ftrack.event\",\"args\":[{\"a\":\"x\\\"\\n\"}]}");
    assert_int_equal(strlen(buf), len);
    free(buf);
    buf = fti_sio_join(0, NULL, 0, &len);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
}

/* ---- old road against new ------------------------------------------------------------------ */

static const char *const EVENTS[] = {
    "{\"id\":\"e1\",\"topic\":\"test.ask\",\"source\":{\"id\":\"asker\"}}",
    /* escapes and unicode in both ids */
    "{\"id\":\"q\\\"u\\\\o/t\\u00e9\\n\\t\\u0001\\u001f\\u007f\",\"topic\":\"test.ask\","
    "\"source\":{\"id\":\"h\\u00fcb/\\\"x\\\"\\\\\\b\\f\\r \\ud83d\\ude00 \\u4e2d\"}}",
    /* a NUL inside: the target stops there, inReplyToEvent keeps it */
    "{\"id\":\"a\\u0000b\",\"topic\":\"test.ask\",\"source\":{\"id\":\"c\\u0000d\"}}",
    /* no id (a fresh one), null id, empty ids */
    "{\"topic\":\"test.ask\",\"source\":{\"id\":\"s\"}}",
    "{\"id\":null,\"topic\":\"test.ask\",\"source\":{\"id\":\"s\",\"user\":{\"username\":\"x\"}}}",
    "{\"id\":\"\",\"topic\":\"test.ask\",\"source\":{\"id\":\"\"}}",
    /* more keys around, in another order */
    "{\"source\":{\"applicationId\":\"x\",\"id\":\"late\"},\"target\":\"\",\"topic\":\"test.ask\","
    "\"data\":{\"k\":[1,2]},\"id\":\"ordered\",\"sent\":null,\"inReplyToEvent\":\"older\"}",
    /* nothing to address a reply to */
    "{\"id\":\"e2\",\"topic\":\"test.ask\"}",
    "{\"id\":\"e3\",\"topic\":\"test.ask\",\"source\":{}}",
    "{\"id\":\"e4\",\"topic\":\"test.ask\",\"source\":{\"id\":7}}",
    "{\"id\":\"e5\",\"topic\":\"test.ask\",\"source\":{\"id\":null}}",
    "{\"id\":\"e6\",\"topic\":\"test.ask\",\"source\":\"not an object\"}",
    "{\"id\":\"e7\",\"topic\":\"test.ask\",\"source\":null}",
};

static const char *const DATA[] = {
    NULL, /* JSON null: a missing reply, {} */
    "{}",
    "[]",
    "\"\"",
    "false",
    "0",
    "\"a string with \\\"quotes\\\", a / and \\u00e9 \\ud83d\\ude00 \\u0002\"",
    "[1,-2.5,1e-7,123456789012345678,true,null,\"x\",{\"a\":{\"b\":[[]]}}]",
    "{\"items\":[{\"label\":\"Run \\u2192 now\",\"actionIdentifier\":\"a/b\",\"n\":1.50}],"
    "\"nested\":{\"deep\":{\"deeper\":{\"x\":null}}},\"dup\":1,\"dup\":2}",
    "3.0",
    "-0",
    "#built",
};

static const char *const METAS[] = {
    NULL, /* a generated id only */
    "{\"id\":\"plain\"}",
    "{\"id\":\"s-\\u00e9\\\"/\\\\\\u0003\",\"applicationId\":\"ftrack.test\","
    "\"nested\":{\"a\":[1,{\"b\":\"c\"}],\"e\":{}},\"n\":2.50,\"t\":true}",
    /* user and host given: prepare_source leaves them alone */
    "{\"user\":null,\"host\":\"elsewhere\",\"id\":\"with-user\"}",
    "{\"id\":\"u2\",\"user\":{\"username\":\"someone\",\"extra\":[1]}}",
    /* id null: replaced by a generated one in its place */
    "{\"first\":1,\"id\":null,\"last\":\"x\"}",
};

static void test_reply_text_equals_the_old_road(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    size_t compared = 0;
    for (size_t m = 0; m < sizeof(METAS) / sizeof(METAS[0]); m++) {
        ftrack_hub_queue *q = NULL;
        assert_int_equal(ftrack_hub_queue_new(hub, "q", 4, &q, NULL), FTRACK_OK);
        subscribe_meta(hub, METAS[m], answer_spec, NULL, q);
        json_object *subs = ftrack_hub_queue_subscriptions(q);
        const char *sid = json_object_get_string(
            json_object_object_get(json_object_array_get_idx(subs, 0), "id"));
        fti_sub *s = find_sub(hub, sid);
        json_object_put(subs);
        for (size_t e = 0; e < sizeof(EVENTS) / sizeof(EVENTS[0]); e++) {
            for (size_t d = 0; d < sizeof(DATA) / sizeof(DATA[0]); d++) {
                free(compare_one(hub, s, EVENTS[e], DATA[d]));
                compared++;
            }
        }
        fti_sub_release(s);
        ftrack_hub_queue_free(q);
    }
    assert_int_equal(compared, 6 * 13 * 12);
    ftrack_hub_free(hub);
}

static void test_metadata_changed_between_replies(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    subscribe_meta(hub, "{\"id\":\"changing\",\"v\":1}", answer_spec, NULL, NULL);
    fti_sub *s = find_sub(hub, "changing");
    const char *ev = EVENTS[0];
    char *first = compare_one(hub, s, ev, "{\"r\":1}");
    assert_non_null(strstr(first, "\"source\":{\"id\":\"changing\",\"v\":1,\"user\":"));
    free(compare_one(hub, s, ev, "[2]")); /* from the cache */

    /* a writer changes the metadata and bumps the version: the next reply carries it */
    pthread_mutex_lock(&s->meta_lock);
    json_object_object_add(s->metadata, "v", json_object_new_string("two/\"2\""));
    json_object_object_add(s->metadata, "added", parse("{\"deep\":[{}]}"));
    s->meta_version++;
    pthread_mutex_unlock(&s->meta_lock);
    char *second = compare_one(hub, s, ev, "{\"r\":1}");
    assert_non_null(strstr(second, "\"source\":{\"id\":\"changing\",\"v\":\"two/\\\"2\\\"\","
                                   "\"added\":{\"deep\":[{}]},\"user\":"));
    free(compare_one(hub, s, EVENTS[1], "\"x\""));

    /* and again, dropping keys */
    pthread_mutex_lock(&s->meta_lock);
    json_object_object_del(s->metadata, "added");
    json_object_object_del(s->metadata, "v");
    s->meta_version++;
    pthread_mutex_unlock(&s->meta_lock);
    char *third = compare_one(hub, s, ev, NULL);
    assert_non_null(strstr(third, "\"source\":{\"id\":\"changing\",\"user\":"));
    free(first);
    free(second);
    free(third);
    fti_sub_release(s);
    ftrack_hub_free(hub);
}

/* ---- end to end ------------------------------------------------------------------------------ */

static const char ASK[] = "{\"id\":\"ask-\\u00e9/1\",\"topic\":\"test.ask\","
                          "\"source\":{\"id\":\"asker \\\"hub\\\"\"}}";
#define FRAME_ID_AT (sizeof("5:::{\"name\":\"ftrack.event\",\"args\":[{\"id\":\"") - 1)

/* The old road's frame for what `s` answered to ASK, with the new frame's id. */
static char *old_frame_for(ftrack_hub *hub, fti_sub *s, const char *spec, const char *id,
                           size_t *len)
{
    ftrack_event *ev = NULL;
    assert_int_equal(ftrack_event_parse(ASK, strlen(ASK), false, &ev, NULL), FTRACK_OK);
    size_t jlen = 0;
    char *json = old_reply_text(hub, s, ev, spec ? make_data(spec) : NULL, id, &jlen);
    assert_non_null(json);
    char *frame = fti_sio_frame_event(0, 0, json, jlen, len);
    free(json);
    ftrack_event_free(ev);
    return frame;
}

static void test_replies_reach_the_pending_list_unchanged(void **state)
{
    (void)state;
    ftrack_hub *hub = unreachable_hub(0);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "answers", 16, &q, NULL), FTRACK_OK);
    for (size_t d = 1; d < sizeof(DATA) / sizeof(DATA[0]); d++) {
        char meta[96];
        snprintf(meta, sizeof(meta), "{\"id\":\"e2e-%zu\",\"n\":{\"d\":%zu}}", d, d);
        subscribe_meta(hub, meta, answer_spec, (void *)DATA[d], q);
    }
    for (int round = 0; round < 2; round++) { /* the second from the cached sources */
        ftrack_dispatch_result r = {.size = sizeof(r)};
        assert_int_equal(ftrack_hub_queue_dispatch(q, ASK, strlen(ASK), NULL, &r, NULL),
                         FTRACK_OK);
        size_t n = sizeof(DATA) / sizeof(DATA[0]) - 1;
        assert_int_equal(r.replies, n);
        assert_int_equal(r.reply_failures, 0);
        pthread_mutex_lock(&hub->lock);
        assert_int_equal(hub->pending.n, (size_t)(round + 1) * n);
        fti_frame *f = hub->pending.head;
        for (size_t i = 0; i < (size_t)round * n; i++)
            f = f->next;
        pthread_mutex_unlock(&hub->lock);
        /* subscribed with equal priority: answered in subscription order */
        for (size_t d = 1; d <= n; d++, f = f->next) {
            char sid[32];
            snprintf(sid, sizeof(sid), "e2e-%zu", d);
            fti_sub *s = find_sub(hub, sid);
            const char *text = f->buf + LWS_PRE;
            char id[33];
            memcpy(id, text + FRAME_ID_AT, 32);
            id[32] = '\0';
            size_t want_len = 0;
            char *want = old_frame_for(hub, s, DATA[d], id, &want_len);
            assert_same_bytes(text, f->len, want, want_len);
            assert_int_equal(f->ack_id, 0);
            assert_int_equal(f->kind, FTI_FRAME_EVENT);
            free(want);
            fti_sub_release(s);
        }
    }
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

typedef struct hooked {
    int calls;
    bool refuse;
    char text[4096];
    size_t len;
} hooked;

static bool hook(const char *event_json, size_t len, void *user_data)
{
    hooked *h = user_data;
    h->calls++;
    assert_true(len < sizeof(h->text));
    assert_int_equal(event_json[len], '\0');
    memcpy(h->text, event_json, len + 1);
    h->len = len;
    return !h->refuse;
}

static void test_replies_through_the_outgoing_hook(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0); /* never connected: the hook's road */
    hooked h = {0};
    ftrack_hub_set_outgoing(hub, hook, &h);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "child", 4, &q, NULL), FTRACK_OK);
    const char *spec = DATA[8];
    subscribe_meta(hub, METAS[2], answer_spec, (void *)spec, q);
    ftrack_dispatch_result r = {.size = sizeof(r)};
    assert_int_equal(ftrack_hub_queue_dispatch(q, ASK, strlen(ASK), NULL, &r, NULL), FTRACK_OK);
    assert_int_equal(r.replies, 1);
    assert_int_equal(h.calls, 1);

    /* the old road, and the public ftrack_hub_reply with the metadata as source, agree */
    fti_sub *s = find_sub(hub, "s-\xc3\xa9\"/\\\x03");
    char id[33];
    memcpy(id, h.text + sizeof("{\"id\":\"") - 1, 32);
    id[32] = '\0';
    ftrack_event *ev = NULL;
    assert_int_equal(ftrack_event_parse(ASK, strlen(ASK), false, &ev, NULL), FTRACK_OK);
    size_t old_len = 0;
    char *old = old_reply_text(hub, s, ev, make_data(spec), id, &old_len);
    assert_same_bytes(h.text, h.len, old, old_len);
    free(old);
    char auto_text[sizeof(h.text)];
    memcpy(auto_text, h.text, h.len + 1);
    pthread_mutex_lock(&s->meta_lock);
    json_object *meta = NULL;
    json_object_deep_copy(s->metadata, &meta, NULL);
    pthread_mutex_unlock(&s->meta_lock);
    assert_int_equal(ftrack_hub_reply(hub, ev, make_data(spec), meta, NULL), FTRACK_OK);
    json_object_put(meta);
    assert_int_equal(h.calls, 2);
    assert_int_equal(h.len, strlen(auto_text));
    assert_memory_equal(h.text, auto_text, 7);
    assert_memory_equal(h.text + 39, auto_text + 39, h.len - 39); /* all but the id */

    /* a hook that refuses: the reply fails */
    h.refuse = true;
    assert_int_equal(ftrack_hub_queue_dispatch(q, ASK, strlen(ASK), NULL, &r, NULL), FTRACK_OK);
    assert_int_equal(r.replies, 0);
    assert_int_equal(r.reply_failures, 1);
    assert_int_equal(h.calls, 3);
    ftrack_event_free(ev);
    fti_sub_release(s);
    ftrack_hub_set_outgoing(hub, NULL, NULL);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

static void test_reply_limits_still_apply(void **state)
{
    (void)state;
    /* never connected and no hook: no reply */
    ftrack_hub *idle = hub_with("http://127.0.0.1:1", 0);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(idle, "q", 4, &q, NULL), FTRACK_OK);
    subscribe_meta(idle, "{\"id\":\"a\"}", answer_spec, "1", q);
    ftrack_dispatch_result r = {.size = sizeof(r)};
    assert_int_equal(ftrack_hub_queue_dispatch(q, ASK, strlen(ASK), NULL, &r, NULL), FTRACK_OK);
    assert_int_equal(r.reply_failures, 1);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(idle);

    /* the publish queue's bound: two fit, the third is refused */
    ftrack_hub *hub = unreachable_hub(2);
    assert_int_equal(ftrack_hub_queue_new(hub, "q", 4, &q, NULL), FTRACK_OK);
    subscribe_meta(hub, "{\"id\":\"a\"}", answer_spec, "1", q);
    subscribe_meta(hub, "{\"id\":\"b\"}", answer_spec, "2", q);
    subscribe_meta(hub, "{\"id\":\"c\"}", answer_spec, "3", q);
    assert_int_equal(ftrack_hub_queue_dispatch(q, ASK, strlen(ASK), NULL, &r, NULL), FTRACK_OK);
    assert_int_equal(r.replies, 2);
    assert_int_equal(r.reply_failures, 1);
    pthread_mutex_lock(&hub->lock);
    assert_int_equal(hub->pending.n, 2);
    pthread_mutex_unlock(&hub->lock);

    /* no source.id: refused before anything is built */
    static const char anonymous[] = "{\"id\":\"x\",\"topic\":\"test.ask\"}";
    pthread_mutex_lock(&hub->lock);
    hub->publish_queue_max = 100;
    pthread_mutex_unlock(&hub->lock);
    assert_int_equal(ftrack_hub_queue_dispatch(q, anonymous, strlen(anonymous), NULL, &r, NULL),
                     FTRACK_OK);
    assert_int_equal(r.replies, 0);
    assert_int_equal(r.reply_failures, 3);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_matches_json_c_for_every_byte),
        cmocka_unit_test(test_join_and_frame_pieces),
        cmocka_unit_test(test_reply_text_equals_the_old_road),
        cmocka_unit_test(test_metadata_changed_between_replies),
        cmocka_unit_test(test_replies_reach_the_pending_list_unchanged),
        cmocka_unit_test(test_replies_through_the_outgoing_hook),
        cmocka_unit_test(test_reply_limits_still_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
