/* SPDX-License-Identifier: Apache-2.0 */
/* Entities in the session: cache layering (memory over the user's cache, protocol §9), the
 * Python identity keys, auto-populate on and off (per thread), relations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "session/session_internal.h"
#include "session_fake_server.h"

static json_object *answer_json(fake_server *f, json_object *op)
{
    (void)op;
    return json_tokener_parse((const char *)f->user);
}

#define ONE_FOO                                                                                    \
    "{\"action\": \"query\", \"data\": [{\"__entity_type__\": \"Foo\", \"id\": \"f1\", \"name\": " \
    "\"n1\"}], \"metadata\": {\"next\": {\"offset\": null}}}"
#define FOO_VALUE                                                                                  \
    "{\"action\": \"query\", \"data\": [{\"__entity_type__\": \"Foo\", \"id\": \"f1\", "           \
    "\"value\": "                                                                                  \
    "42}], \"metadata\": {\"next\": {\"offset\": null}}}"

static ftrack_entity *query_one(ftrack_session *s, const char *expression)
{
    ftrack_entity *e = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_query_one(s, expression, &e, &err), FTRACK_OK);
    return e;
}

static void test_identity_strings(void **state)
{
    (void)state;
    json_object *key = json_tokener_parse("[\"abc\"]");
    char *id = fti_entity_identity("User", key);
    assert_string_equal(id, "('User', ['abc'])");
    free(id);
    json_object_put(key);
    key = json_tokener_parse("[\"a\", \"b\"]");
    id = fti_entity_identity("JobComponent", key);
    assert_string_equal(id, "('JobComponent', ['a', 'b'])");
    free(id);
    json_object_put(key);
    /* Python's repr quoting: double quotes when the text has a single quote. */
    key = json_tokener_parse("[\"it's\", \"a\\\\b\\n\"]");
    id = fti_entity_identity("T", key);
    assert_string_equal(id, "('T', [\"it's\", 'a\\\\b\\n'])");
    free(id);
    json_object_put(key);
}

static void test_cache_keys_by_key_maker(void **state)
{
    (void)state;
    fake_server *f = fake_start(answer_json, ONE_FOO);
    ftrack_session *s = fake_session(f, NULL);
    ftrack_entity *e = query_one(s, "select id, name from Foo");
    /* The default string key maker keeps the identity string as it is. */
    assert_string_equal(ftrack_entity_cache_key(e), "('Foo', ['f1'])");
    ftrack_entity_free(e);
    ftrack_session_free(s);

    ftrack_key_maker *km = NULL;
    assert_int_equal(ftrack_json_key_maker_new(&km, NULL), FTRACK_OK);
    ftrack_session_options o;
    ftrack_session_options_init(&o);
    o.server_url = http_responder_url(f->r);
    o.api_key = FAKE_KEY;
    o.api_user = FAKE_USER;
    o.discover_plugins = false;
    o.schema_cache_disabled = true;
    o.key_maker = km;
    assert_int_equal(ftrack_session_open(&o, &s, NULL), FTRACK_OK);
    e = query_one(s, "select id, name from Foo");
    assert_string_equal(ftrack_entity_cache_key(e), "\"('Foo', ['f1'])\"");
    ftrack_entity_free(e);
    ftrack_session_free(s);
    ftrack_key_maker_free(km);
    fake_stop(f);
}

static void test_cache_layering(void **state)
{
    (void)state;
    fake_server *f = fake_start(answer_json, ONE_FOO);
    ftrack_cache *user = NULL;
    assert_int_equal(ftrack_memory_cache_new(0, &user, NULL), FTRACK_OK);
    ftrack_session *s = fake_session(f, user);
    ftrack_cache *cache = ftrack_session_cache(s);
    assert_string_equal(ftrack_cache_name(cache), "layered");
    assert_int_equal(ftrack_layered_cache_count(cache), 2);
    ftrack_cache *top = ftrack_layered_cache_layer(cache, 0);
    assert_ptr_not_equal(top, user);
    assert_ptr_equal(ftrack_layered_cache_layer(cache, 1), user);

    ftrack_entity *e = query_one(s, "select id, name from Foo");
    ftrack_entity_free(e);
    /* Written through to both layers, as JSON text. */
    void *text = NULL;
    assert_int_equal(ftrack_cache_get(user, "('Foo', ['f1'])", &text, NULL, NULL), FTRACK_OK);
    json_object *obj = json_tokener_parse(text);
    assert_string_equal(json_object_get_string(json_object_object_get(obj, "__entity_type__")),
                        "Foo");
    assert_string_equal(json_object_get_string(json_object_object_get(obj, "name")), "n1");
    json_object_put(obj);
    free(text);
    assert_int_equal(ftrack_memory_cache_count(top), 1);

    /* close() clears only the session's own layer. */
    ftrack_session_free(s);
    assert_int_equal(ftrack_memory_cache_count(user), 1);

    /* A new session over the same user cache: get() is answered from layer 2 without a
     * request, and the value climbs into the new top layer. */
    s = fake_session(f, user);
    size_t before = fake_op_count(f);
    assert_int_equal(ftrack_session_get(s, "Foo", "f1", &e, NULL), FTRACK_OK);
    assert_int_equal(fake_op_count(f), before);
    assert_int_equal(
        ftrack_memory_cache_count(ftrack_layered_cache_layer(ftrack_session_cache(s), 0)), 1);
    ftrack_entity_free(e);
    ftrack_session_free(s);
    ftrack_cache_free(user);

    /* Without a user cache the session still has its memory layer. */
    s = fake_session(f, NULL);
    assert_int_equal(ftrack_layered_cache_count(ftrack_session_cache(s)), 1);
    ftrack_session_free(s);
    fake_stop(f);
}

static void test_merge_keeps_earlier_attributes(void **state)
{
    (void)state;
    fake_server *f = fake_start(answer_json, ONE_FOO);
    ftrack_session *s = fake_session(f, NULL);
    ftrack_entity *first = query_one(s, "select id, name from Foo");
    f->user = FOO_VALUE;
    ftrack_entity *second = query_one(s, "select id, value from Foo");
    /* The second handle sees what the cache knew (name) and what the server sent (value). */
    assert_true(ftrack_entity_loaded(second, "name"));
    assert_true(ftrack_entity_loaded(second, "value"));
    /* The first handle is a snapshot, but reads the missing value from the cache without a
     * request, even with auto-populate off. */
    ftrack_session_set_auto_populate(s, false);
    size_t before = fake_op_count(f);
    json_object *v = NULL;
    assert_int_equal(ftrack_entity_get(first, "value", &v, NULL), FTRACK_OK);
    assert_int_equal(json_object_get_int(v), 42);
    json_object_put(v);
    assert_int_equal(fake_op_count(f), before);
    ftrack_entity_free(first);
    ftrack_entity_free(second);
    ftrack_session_free(s);
    fake_stop(f);
}

static void test_auto_populate_on_fetches(void **state)
{
    (void)state;
    fake_server *f = fake_start(answer_json, ONE_FOO);
    ftrack_session *s = fake_session(f, NULL);
    ftrack_entity *e = query_one(s, "select id, name from Foo");
    assert_false(ftrack_entity_loaded(e, "value"));
    f->user = FOO_VALUE;
    json_object *v = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_entity_get(e, "value", &v, &err), FTRACK_OK);
    assert_int_equal(json_object_get_int(v), 42);
    json_object_put(v);
    json_object *op = fake_op(f, fake_op_count(f) - 1);
    assert_string_equal(fake_op_string(op, "expression"),
                        "select value from Foo where id is \"f1\"");
    json_object_put(op);
    /* An attribute the schema lacks is refused without asking. */
    size_t before = fake_op_count(f);
    assert_int_equal(ftrack_entity_get(e, "nonsense", &v, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_int_equal(fake_op_count(f), before);
    /* The server not returning it is a clear not-found. */
    f->user = ONE_FOO;
    assert_int_equal(ftrack_entity_get(e, "bar", &v, &err), FTRACK_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "did not return"));
    ftrack_entity_free(e);
    ftrack_session_free(s);
    fake_stop(f);
}

typedef struct populate_job {
    ftrack_session *s;
    ftrack_status status;
    bool flag;
    char message[FTRACK_ERROR_MESSAGE_MAX];
} populate_job;

static void *reader_thread(void *arg)
{
    populate_job *job = arg;
    job->flag = ftrack_session_auto_populate(job->s);
    ftrack_entity *e = NULL;
    ftrack_session_query_one(job->s, "select id, name from Foo", &e, NULL);
    ftrack_session_set_auto_populate(job->s, false);
    json_object *v = NULL;
    ftrack_error err;
    job->status = ftrack_entity_get(e, "value", &v, &err);
    snprintf(job->message, sizeof(job->message), "%s", err.message);
    json_object_put(v);
    ftrack_entity_free(e);
    return NULL;
}

static void test_auto_populate_off_is_per_thread(void **state)
{
    (void)state;
    fake_server *f = fake_start(answer_json, ONE_FOO);
    ftrack_session *s = fake_session(f, NULL);
    populate_job job = {s, FTRACK_OK, false, ""};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_thread, &job), 0);
    pthread_join(t, NULL);
    assert_true(job.flag); /* the session's default */
    assert_int_equal(job.status, FTRACK_ERR_NOT_FOUND);
    assert_non_null(strstr(job.message, "not loaded"));
    /* This thread still auto-populates. */
    assert_true(ftrack_session_auto_populate(s));
    ftrack_entity *e = query_one(s, "select id, name from Foo");
    f->user = FOO_VALUE;
    json_object *v = NULL;
    assert_int_equal(ftrack_entity_get(e, "value", &v, NULL), FTRACK_OK);
    json_object_put(v);
    ftrack_entity_free(e);
    ftrack_session_free(s);
    fake_stop(f);
}

static void test_relations(void **state)
{
    (void)state;
    fake_server *f = fake_start(
        answer_json,
        "{\"action\": \"query\", \"data\": [{\"__entity_type__\": \"Foo\", \"id\": \"f1\", "
        "\"bar\": {\"__entity_type__\": \"Bar\", \"id\": \"b1\", \"label\": \"L\"}, \"bars\": "
        "[{\"__entity_type__\": \"Bar\", \"id\": \"b2\", \"label\": \"M\"}]}], \"metadata\": "
        "{\"next\": {\"offset\": null}}}");
    ftrack_session *s = fake_session(f, NULL);
    ftrack_entity *e = query_one(s, "select id, bar, bars from Foo");
    ftrack_entity *bar = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_entity_get_entity(e, "bar", &bar, &err), FTRACK_OK);
    assert_string_equal(ftrack_entity_type(bar), "Bar");
    assert_string_equal(ftrack_entity_id(bar), "b1");
    json_object *ref = ftrack_entity_reference(bar);
    assert_int_equal(json_object_object_length(ref), 2);
    json_object_put(ref);
    ftrack_entity_free(bar);
    assert_int_equal(ftrack_entity_get_entity(e, "bars", &bar, &err), FTRACK_ERR_INVALID_ARGUMENT);
    /* Nested entities were cached under their own keys. */
    size_t before = fake_op_count(f);
    assert_int_equal(ftrack_session_get(s, "Bar", "b2", &bar, &err), FTRACK_OK);
    assert_int_equal(fake_op_count(f), before);
    char *label = NULL;
    assert_int_equal(ftrack_entity_get_string(bar, "label", &label, &err), FTRACK_OK);
    assert_string_equal(label, "M");
    ftrack_free(label);
    ftrack_entity_free(bar);
    json_object *whole = ftrack_entity_json(e);
    assert_string_equal(json_object_get_string(json_object_object_get(whole, "__entity_type__")),
                        "Foo");
    json_object_put(whole);
    ftrack_entity_free(e);
    ftrack_session_free(s);
    fake_stop(f);
}

static void test_closed_session_refuses(void **state)
{
    (void)state;
    fake_server *f = fake_start(answer_json, ONE_FOO);
    ftrack_session *s = fake_session(f, NULL);
    ftrack_session_close(s);
    ftrack_entity *e = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_query_one(s, "select id from Foo", &e, &err),
                     FTRACK_ERR_CLOSED);
    assert_int_equal(ftrack_session_commit(s, &err), FTRACK_ERR_CLOSED);
    ftrack_session_free(s);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_strings),
        cmocka_unit_test(test_cache_keys_by_key_maker),
        cmocka_unit_test(test_cache_layering),
        cmocka_unit_test(test_merge_keeps_earlier_attributes),
        cmocka_unit_test(test_auto_populate_on_fetches),
        cmocka_unit_test(test_auto_populate_off_is_per_thread),
        cmocka_unit_test(test_relations),
        cmocka_unit_test(test_closed_session_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
