/* SPDX-License-Identifier: Apache-2.0 */
/* Recorded operations: payload shapes, every commit optimisation of protocol §3.4, commit
 * merging into the cache, rollback, and per-thread recording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "session/session_internal.h"
#include "session_fake_server.h"

typedef struct fixture {
    fake_server *f;
    ftrack_session *s;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->f = fake_start(fake_scripted_answer, NULL);
    assert_non_null(fx->f);
    fx->s = fake_session(fx->f, NULL);
    assert_non_null(fx->s);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ftrack_session_free(fx->s);
    fake_stop(fx->f);
    free(fx);
    return 0;
}

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

/* An existing entity, as a query would have returned it. */
static ftrack_entity *existing(ftrack_session *s, const char *type, const char *id)
{
    char text[256];
    snprintf(text, sizeof(text), "{\"__entity_type__\": \"%s\", \"id\": \"%s\"}", type, id);
    json_object *data = parse(text);
    ftrack_entity *e = NULL;
    assert_int_equal(fti_entity_from_json(s, data, &e, NULL), FTRACK_OK);
    json_object_put(data);
    return e;
}

static void set_string(ftrack_entity *e, const char *attr, const char *value)
{
    json_object *v = json_object_new_string(value);
    ftrack_error err;
    assert_int_equal(ftrack_entity_set(e, attr, v, &err), FTRACK_OK);
    json_object_put(v);
}

static void assert_json(json_object *actual, const char *expected_text)
{
    json_object *expected = parse(expected_text);
    if (!json_object_equal(actual, expected))
        fail_msg("got %s\nexpected %s",
                 json_object_to_json_string_ext(actual, JSON_C_TO_STRING_PLAIN),
                 json_object_to_json_string_ext(expected, JSON_C_TO_STRING_PLAIN));
    json_object_put(expected);
}

static void test_create_payload_shape(void **state)
{
    fixture *fx = *state;
    json_object *data = parse("{\"name\": \"a\", \"value\": 3}");
    ftrack_entity *e = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_create(fx->s, "Foo", data, &e, &err), FTRACK_OK);
    json_object_put(data);
    const char *id = ftrack_entity_id(e);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4');
    assert_int_equal(id[8], '-');
    json_object *batch = ftrack_session_pending_batch(fx->s);
    char expected[512];
    snprintf(expected, sizeof(expected),
             "[{\"action\": \"create\", \"entity_data\": {\"__entity_type__\": \"Foo\", \"id\": "
             "\"%s\", \"name\": \"a\", \"value\": 3}, \"entity_key\": [\"%s\"], \"entity_type\": "
             "\"Foo\"}]",
             id, id);
    assert_json(batch, expected);
    json_object_put(batch);
    /* The created entity is in the cache already. */
    void *cached = NULL;
    assert_int_equal(ftrack_cache_get(ftrack_session_cache(fx->s), ftrack_entity_cache_key(e),
                                      &cached, NULL, NULL),
                     FTRACK_OK);
    assert_non_null(strstr(cached, "\"name\":\"a\""));
    free(cached);
    ftrack_entity_free(e);
}

static void test_composite_key_must_be_given(void **state)
{
    fixture *fx = *state;
    ftrack_error err;
    json_object *half = parse("{\"a\": \"x\"}");
    assert_int_equal(ftrack_session_create(fx->s, "Pair", half, NULL, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    json_object_put(half);
    assert_int_equal(ftrack_session_recorded_operation_count(fx->s), 0);
    json_object *both = parse("{\"a\": \"x\", \"b\": \"y\"}");
    ftrack_entity *e = NULL;
    assert_int_equal(ftrack_session_create(fx->s, "Pair", both, &e, &err), FTRACK_OK);
    json_object_put(both);
    assert_string_equal(ftrack_entity_cache_key(e), "('Pair', ['x', 'y'])");
    json_object *batch = ftrack_session_pending_batch(fx->s);
    assert_json(json_object_object_get(json_object_array_get_idx(batch, 0), "entity_key"),
                "[\"x\", \"y\"]");
    json_object_put(batch);
    assert_int_equal(ftrack_session_create(fx->s, "Nope", NULL, NULL, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    ftrack_entity_free(e);
}

static void test_update_after_create_is_merged(void **state)
{
    fixture *fx = *state;
    json_object *data = parse("{\"name\": \"a\"}");
    ftrack_entity *e = NULL;
    assert_int_equal(ftrack_session_create(fx->s, "Foo", data, &e, NULL), FTRACK_OK);
    json_object_put(data);
    set_string(e, "name", "b");
    set_string(e, "value", "v");
    assert_int_equal(ftrack_session_recorded_operation_count(fx->s), 3);
    json_object *batch = ftrack_session_pending_batch(fx->s);
    char expected[512];
    snprintf(expected, sizeof(expected),
             "[{\"action\": \"create\", \"entity_data\": {\"__entity_type__\": \"Foo\", \"id\": "
             "\"%s\", \"name\": \"b\", \"value\": \"v\"}, \"entity_key\": [\"%s\"], "
             "\"entity_type\": \"Foo\"}]",
             ftrack_entity_id(e), ftrack_entity_id(e));
    assert_json(batch, expected);
    json_object_put(batch);
    ftrack_entity_free(e);
}

static void test_create_then_delete_is_dropped(void **state)
{
    fixture *fx = *state;
    ftrack_entity *e = NULL, *other = existing(fx->s, "Bar", "b1");
    assert_int_equal(ftrack_session_create(fx->s, "Foo", NULL, &e, NULL), FTRACK_OK);
    set_string(e, "name", "x");
    set_string(other, "label", "kept");
    assert_int_equal(ftrack_session_delete(fx->s, e, NULL), FTRACK_OK);
    json_object *batch = ftrack_session_pending_batch(fx->s);
    assert_json(batch,
                "[{\"action\": \"update\", \"entity_data\": {\"__entity_type__\": \"Bar\", "
                "\"label\": \"kept\"}, \"entity_key\": [\"b1\"], \"entity_type\": \"Bar\"}]");
    json_object_put(batch);
    ftrack_entity_free(e);
    ftrack_entity_free(other);
}

static void test_last_update_wins_and_consecutive_merge(void **state)
{
    fixture *fx = *state;
    ftrack_entity *a = existing(fx->s, "Foo", "a1");
    ftrack_entity *b = existing(fx->s, "Bar", "b1");
    set_string(a, "name", "first");
    set_string(b, "label", "L");
    set_string(a, "name", "second");
    set_string(a, "value", "V");
    json_object *batch = ftrack_session_pending_batch(fx->s);
    /* a's first update lost its only attribute (dropped as empty); the last two merged. */
    assert_json(batch, "[{\"action\": \"update\", \"entity_data\": {\"__entity_type__\": \"Bar\", "
                       "\"label\": \"L\"}, \"entity_key\": [\"b1\"], \"entity_type\": \"Bar\"},"
                       " {\"action\": \"update\", \"entity_data\": {\"__entity_type__\": \"Foo\", "
                       "\"name\": \"second\", \"value\": \"V\"}, \"entity_key\": [\"a1\"], "
                       "\"entity_type\": \"Foo\"}]");
    json_object_put(batch);
    ftrack_entity_free(a);
    ftrack_entity_free(b);
}

static void test_non_consecutive_updates_stay_apart(void **state)
{
    fixture *fx = *state;
    ftrack_entity *a = existing(fx->s, "Foo", "a1");
    ftrack_entity *b = existing(fx->s, "Bar", "b1");
    set_string(a, "name", "n");
    set_string(b, "label", "L");
    set_string(a, "value", "V");
    json_object *batch = ftrack_session_pending_batch(fx->s);
    assert_int_equal(json_object_array_length(batch), 3);
    json_object_put(batch);
    ftrack_entity_free(a);
    ftrack_entity_free(b);
}

static void test_delete_payload_and_key_cannot_be_set(void **state)
{
    fixture *fx = *state;
    ftrack_entity *a = existing(fx->s, "Foo", "a1");
    ftrack_error err;
    json_object *v = json_object_new_string("other");
    assert_int_equal(ftrack_entity_set(a, "id", v, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_int_equal(ftrack_entity_set(a, "no_such_attribute", v, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    json_object_put(v);
    assert_int_equal(ftrack_session_delete(fx->s, a, NULL), FTRACK_OK);
    json_object *batch = ftrack_session_pending_batch(fx->s);
    assert_json(batch, "[{\"action\": \"delete\", \"entity_key\": [\"a1\"], \"entity_type\": "
                       "\"Foo\"}]");
    json_object_put(batch);
    ftrack_entity_free(a);
}

static void test_commit_sends_merges_and_clears(void **state)
{
    fixture *fx = *state;
    json_object *data = parse("{\"name\": \"made\"}");
    ftrack_entity *e = NULL;
    assert_int_equal(ftrack_session_create(fx->s, "Foo", data, &e, NULL), FTRACK_OK);
    json_object_put(data);
    ftrack_entity *gone = existing(fx->s, "Bar", "b9");
    json_object *cached = parse("{\"__entity_type__\": \"Bar\", \"id\": \"b9\"}");
    assert_int_equal(fti_session_merge(fx->s, cached, NULL, NULL), FTRACK_OK);
    json_object_put(cached);
    assert_int_equal(ftrack_session_delete(fx->s, gone, NULL), FTRACK_OK);

    ftrack_error err;
    assert_int_equal(ftrack_session_commit(fx->s, &err), FTRACK_OK);
    assert_int_equal(fake_op_count(fx->f), 2);
    json_object *op0 = fake_op(fx->f, 0), *op1 = fake_op(fx->f, 1);
    assert_string_equal(fake_op_string(op0, "action"), "create");
    assert_string_equal(fake_op_string(op1, "action"), "delete");
    json_object_put(op0);
    json_object_put(op1);
    assert_int_equal(ftrack_session_recorded_operation_count(fx->s), 0);
    /* Deleted entities leave the cache; created ones stay with the server's data. */
    void *text = NULL;
    assert_int_equal(ftrack_cache_get(ftrack_session_cache(fx->s), ftrack_entity_cache_key(gone),
                                      &text, NULL, NULL),
                     FTRACK_ERR_NOT_FOUND);
    assert_int_equal(ftrack_cache_get(ftrack_session_cache(fx->s), ftrack_entity_cache_key(e),
                                      &text, NULL, NULL),
                     FTRACK_OK);
    assert_non_null(strstr(text, "\"made\""));
    free(text);
    /* Nothing left: a second commit sends nothing. */
    assert_int_equal(ftrack_session_commit(fx->s, &err), FTRACK_OK);
    assert_int_equal(fake_op_count(fx->f), 2);
    ftrack_entity_free(e);
    ftrack_entity_free(gone);
}

static json_object *refuse(fake_server *f, json_object *op)
{
    (void)op;
    snprintf(
        f->error, sizeof(f->error),
        "{\"exception\": \"ValidationError\", \"content\": \"bad name\", \"error_code\": null}");
    return NULL;
}

static void test_failed_commit_keeps_operations(void **state)
{
    fixture *fx = *state;
    fx->f->answer = refuse;
    ftrack_entity *a = existing(fx->s, "Foo", "a1");
    set_string(a, "name", "x");
    ftrack_error err;
    assert_int_equal(ftrack_session_commit(fx->s, &err), FTRACK_ERR_SERVER);
    assert_string_equal(err.server_exception, "ValidationError");
    assert_int_equal(ftrack_session_recorded_operation_count(fx->s), 1);
    fx->f->answer = fake_scripted_answer;
    assert_int_equal(ftrack_session_commit(fx->s, &err), FTRACK_OK);
    assert_int_equal(ftrack_session_recorded_operation_count(fx->s), 0);
    ftrack_entity_free(a);
}

static void test_rollback_drops_created_from_cache(void **state)
{
    fixture *fx = *state;
    ftrack_entity *e = NULL;
    assert_int_equal(ftrack_session_create(fx->s, "Foo", NULL, &e, NULL), FTRACK_OK);
    void *text = NULL;
    assert_int_equal(ftrack_cache_get(ftrack_session_cache(fx->s), ftrack_entity_cache_key(e),
                                      &text, NULL, NULL),
                     FTRACK_OK);
    free(text);
    ftrack_session_rollback(fx->s);
    assert_int_equal(ftrack_session_recorded_operation_count(fx->s), 0);
    text = NULL;
    assert_int_equal(ftrack_cache_get(ftrack_session_cache(fx->s), ftrack_entity_cache_key(e),
                                      &text, NULL, NULL),
                     FTRACK_ERR_NOT_FOUND);
    assert_int_equal(ftrack_session_commit(fx->s, NULL), FTRACK_OK);
    assert_int_equal(fake_op_count(fx->f), 0);
    ftrack_entity_free(e);
}

static void test_recording_off_records_nothing(void **state)
{
    fixture *fx = *state;
    ftrack_session_set_record_operations(fx->s, false);
    ftrack_entity *e = NULL;
    assert_int_equal(ftrack_session_create(fx->s, "Foo", NULL, &e, NULL), FTRACK_OK);
    set_string(e, "name", "n");
    assert_int_equal(ftrack_session_delete(fx->s, e, NULL), FTRACK_OK);
    assert_int_equal(ftrack_session_recorded_operation_count(fx->s), 0);
    ftrack_session_set_record_operations(fx->s, true);
    ftrack_entity_free(e);
}

typedef struct thread_job {
    ftrack_session *s;
    pthread_barrier_t *recorded;
    pthread_barrier_t *committed;
    size_t left_after;
} thread_job;

static void *other_thread(void *arg)
{
    thread_job *job = arg;
    json_object *data = json_object_new_object();
    json_object_object_add(data, "name", json_object_new_string("other-thread"));
    ftrack_session_create(job->s, "Foo", data, NULL, NULL);
    json_object_put(data);
    pthread_barrier_wait(job->recorded); /* main commits now */
    pthread_barrier_wait(job->committed);
    job->left_after = ftrack_session_recorded_operation_count(job->s);
    ftrack_session_rollback(job->s);
    return NULL;
}

static void test_one_threads_commit_never_sends_anothers(void **state)
{
    fixture *fx = *state;
    pthread_barrier_t recorded, committed;
    pthread_barrier_init(&recorded, NULL, 2);
    pthread_barrier_init(&committed, NULL, 2);
    thread_job job = {fx->s, &recorded, &committed, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, &job), 0);
    json_object *data = parse("{\"name\": \"main-thread\"}");
    assert_int_equal(ftrack_session_create(fx->s, "Foo", data, NULL, NULL), FTRACK_OK);
    json_object_put(data);
    pthread_barrier_wait(&recorded);
    assert_int_equal(ftrack_session_commit(fx->s, NULL), FTRACK_OK);
    pthread_barrier_wait(&committed);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&recorded);
    pthread_barrier_destroy(&committed);
    assert_int_equal(fake_op_count(fx->f), 1);
    json_object *op = fake_op(fx->f, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(
                            json_object_object_get(op, "entity_data"), "name")),
                        "main-thread");
    json_object_put(op);
    assert_int_equal(job.left_after, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_payload_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_composite_key_must_be_given, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_after_create_is_merged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_then_delete_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_update_wins_and_consecutive_merge, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_non_consecutive_updates_stay_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_payload_and_key_cannot_be_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_sends_merges_and_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_keeps_operations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_drops_created_from_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recording_off_records_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_threads_commit_never_sends_anothers, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
