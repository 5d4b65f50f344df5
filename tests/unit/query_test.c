/* SPDX-License-Identifier: Apache-2.0 */
/* Queries: paging by metadata.next (protocol §3.4), offset/limit stripping, default projections,
 * first/one/get, and answers a client must refuse. */
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

/* Five Foo records served in pages: a query "... offset N limit M" gets records N..N+M-1
 * and next offset N+M, or null after the last. */
#define TOTAL 5
static json_object *paged_answer(fake_server *f, json_object *op)
{
    (void)f;
    const char *expression = fake_op_string(op, "expression");
    const char *o = strstr(expression, " offset ");
    const char *l = strstr(expression, " limit ");
    long offset = o ? strtol(o + 8, NULL, 10) : 0;
    long limit = l ? strtol(l + 7, NULL, 10) : TOTAL;
    json_object *data = json_object_new_array();
    for (long i = offset; i < offset + limit && i < TOTAL; i++) {
        char text[128];
        snprintf(text, sizeof(text),
                 "{\"__entity_type__\": \"Foo\", \"id\": \"f%ld\", \"name\": "
                 "\"n%ld\"}",
                 i, i);
        json_object_array_add(data, json_tokener_parse(text));
    }
    json_object *result = json_object_new_object();
    json_object_object_add(result, "action", json_object_new_string("query"));
    json_object_object_add(result, "data", data);
    json_object *next = json_object_new_object();
    json_object_object_add(next, "offset",
                           offset + limit < TOTAL ? json_object_new_int64(offset + limit) : NULL);
    json_object *metadata = json_object_new_object();
    json_object_object_add(metadata, "next", next);
    json_object_object_add(result, "metadata", metadata);
    return result;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->f = fake_start(paged_answer, NULL);
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

static void assert_expression(fake_server *f, size_t index, const char *expected)
{
    json_object *op = fake_op(f, index);
    assert_non_null(op);
    assert_string_equal(fake_op_string(op, "action"), "query");
    assert_string_equal(fake_op_string(op, "expression"), expected);
    json_object_put(op);
}

static void test_three_pages_then_null(void **state)
{
    fixture *fx = *state;
    ftrack_query *q = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_query(fx->s, "select id, name from Foo", 2, &q, &err),
                     FTRACK_OK);
    assert_int_equal(fake_op_count(fx->f), 0); /* lazy */
    ftrack_entity_list *list = NULL;
    assert_int_equal(ftrack_query_all(q, &list, &err), FTRACK_OK);
    assert_int_equal(list->count, TOTAL);
    for (size_t i = 0; i < list->count; i++) {
        char id[32];
        snprintf(id, sizeof(id), "f%zu", i);
        assert_string_equal(ftrack_entity_id(list->items[i]), id);
        assert_string_equal(ftrack_entity_type(list->items[i]), "Foo");
    }
    assert_int_equal(fake_op_count(fx->f), 3);
    assert_expression(fx->f, 0, "select id, name from Foo offset 0 limit 2");
    assert_expression(fx->f, 1, "select id, name from Foo offset 2 limit 2");
    assert_expression(fx->f, 2, "select id, name from Foo offset 4 limit 2");
    /* Exhausted: no more requests. */
    ftrack_entity *e = (ftrack_entity *)1;
    assert_int_equal(ftrack_query_next(q, &e, &err), FTRACK_OK);
    assert_null(e);
    assert_int_equal(fake_op_count(fx->f), 3);
    ftrack_entity_list_free(list);
    ftrack_query_free(q);
}

static void test_offset_and_limit_are_taken_out(void **state)
{
    fixture *fx = *state;
    ftrack_query *q = NULL;
    assert_int_equal(ftrack_session_query(fx->s,
                                          "select id from Foo where name is \"x\" offset 1 limit 3",
                                          2, &q, NULL),
                     FTRACK_OK);
    assert_string_equal(ftrack_query_expression(q), "select id from Foo where name is \"x\"");
    ftrack_entity_list *list = NULL;
    assert_int_equal(ftrack_query_all(q, &list, NULL), FTRACK_OK);
    /* The expression's limit 3 ends paging after 3 records even though more exist. */
    assert_int_equal(list->count, 3);
    assert_string_equal(ftrack_entity_id(list->items[0]), "f1");
    assert_int_equal(fake_op_count(fx->f), 2);
    assert_expression(fx->f, 0, "select id from Foo where name is \"x\" offset 1 limit 2");
    assert_expression(fx->f, 1, "select id from Foo where name is \"x\" offset 3 limit 2");
    ftrack_entity_list_free(list);
    ftrack_query_free(q);
}

static void test_small_limit_becomes_page_size(void **state)
{
    fixture *fx = *state;
    ftrack_entity_list *list = NULL;
    assert_int_equal(ftrack_session_query_all(fx->s, "select id from Foo limit 2", &list, NULL),
                     FTRACK_OK);
    assert_int_equal(list->count, 2);
    assert_int_equal(fake_op_count(fx->f), 1);
    assert_expression(fx->f, 0, "select id from Foo offset 0 limit 2");
    ftrack_entity_list_free(list);
}

static void test_default_projections(void **state)
{
    fixture *fx = *state;
    ftrack_entity_list *list = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_query_all(fx->s, "Foo where name is \"n1\"", &list, &err),
                     FTRACK_OK);
    assert_expression(fx->f, 0, "select id, name from Foo where name is \"n1\" offset 0 limit 500");
    ftrack_entity_list_free(list);
    ftrack_query *q = NULL;
    assert_int_equal(ftrack_session_query(fx->s, "Unknown where x is 1", 0, &q, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    assert_null(q);
    assert_non_null(strstr(err.message, "Unknown"));
}

static json_object *answer_json(fake_server *f, json_object *op)
{
    (void)op;
    return json_tokener_parse((const char *)f->user);
}

static void test_metadata_next_must_be_an_object(void **state)
{
    fixture *fx = *state;
    fx->f->answer = answer_json;
    fx->f->user = "{\"action\": \"query\", \"data\": [], \"metadata\": {\"next\": null}}";
    ftrack_entity_list *list = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_query_all(fx->s, "select id from Foo", &list, &err),
                     FTRACK_ERR_BAD_RESPONSE);
    assert_null(list);
    assert_non_null(strstr(err.message, "metadata.next"));
    /* next absent: the last page. */
    fx->f->user = "{\"action\": \"query\", \"data\": [{\"__entity_type__\": \"Foo\", \"id\": "
                  "\"z\"}], \"metadata\": {}}";
    assert_int_equal(ftrack_session_query_all(fx->s, "select id from Foo", &list, &err), FTRACK_OK);
    assert_int_equal(list->count, 1);
    ftrack_entity_list_free(list);
    /* An offset that does not advance would page forever. */
    fx->f->user =
        "{\"action\": \"query\", \"data\": [], \"metadata\": {\"next\": {\"offset\": 0}}}";
    assert_int_equal(ftrack_session_query_all(fx->s, "select id from Foo", &list, &err),
                     FTRACK_ERR_BAD_RESPONSE);
    /* No data list. */
    fx->f->user = "{\"action\": \"query\"}";
    assert_int_equal(ftrack_session_query_all(fx->s, "select id from Foo", &list, &err),
                     FTRACK_ERR_BAD_RESPONSE);
}

static void test_first_and_one(void **state)
{
    fixture *fx = *state;
    ftrack_entity *e = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_query_first(fx->s, "select id from Foo", &e, &err), FTRACK_OK);
    assert_string_equal(ftrack_entity_id(e), "f0");
    ftrack_entity_free(e);
    assert_expression(fx->f, 0, "select id from Foo limit 1");
    assert_int_equal(ftrack_session_query_first(fx->s, "select id from Foo limit 3", &e, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);

    assert_int_equal(ftrack_session_query_one(fx->s, "select id from Foo", &e, &err),
                     FTRACK_ERR_EXISTS);
    assert_null(e);
    assert_non_null(strstr(err.message, "MultipleResults"));
    assert_expression(fx->f, 1, "select id from Foo limit 2");

    fx->f->answer = answer_json;
    fx->f->user = "{\"action\": \"query\", \"data\": [], \"metadata\": {\"next\": {\"offset\": "
                  "null}}}";
    assert_int_equal(ftrack_session_query_one(fx->s, "select id from Foo", &e, &err),
                     FTRACK_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "NoResultFound"));
    assert_int_equal(ftrack_session_query_first(fx->s, "select id from Foo", &e, &err), FTRACK_OK);
    assert_null(e);
    fx->f->user = "{\"action\": \"query\", \"data\": [{\"__entity_type__\": \"Foo\", \"id\": "
                  "\"only\"}], \"metadata\": {\"next\": {\"offset\": null}}}";
    assert_int_equal(ftrack_session_query_one(fx->s, "select id from Foo", &e, &err), FTRACK_OK);
    assert_string_equal(ftrack_entity_id(e), "only");
    ftrack_entity_free(e);
}

static void test_get_queries_once_then_uses_the_cache(void **state)
{
    fixture *fx = *state;
    ftrack_entity *e = NULL;
    ftrack_error err;
    fx->f->answer = answer_json;
    fx->f->user = "{\"action\": \"query\", \"data\": [{\"__entity_type__\": \"Foo\", \"id\": "
                  "\"f3\", \"name\": \"n3\"}], \"metadata\": {\"next\": {\"offset\": null}}}";
    assert_int_equal(ftrack_session_get(fx->s, "Foo", "f3", &e, &err), FTRACK_OK);
    assert_int_equal(fake_op_count(fx->f), 1);
    assert_expression(fx->f, 0, "select id, name from Foo where (id is \"f3\") offset 0 limit 500");
    ftrack_entity_free(e);
    assert_int_equal(ftrack_session_get(fx->s, "Foo", "f3", &e, &err), FTRACK_OK);
    assert_int_equal(fake_op_count(fx->f), 1); /* the cache answered */
    char *name = NULL;
    assert_int_equal(ftrack_entity_get_string(e, "name", &name, &err), FTRACK_OK);
    assert_string_equal(name, "n3");
    ftrack_free(name);
    ftrack_entity_free(e);

    fx->f->user = "{\"action\": \"query\", \"data\": [], \"metadata\": {\"next\": {\"offset\": "
                  "null}}}";
    assert_int_equal(ftrack_session_get(fx->s, "Foo", "missing", &e, &err), FTRACK_ERR_NOT_FOUND);
    assert_int_equal(ftrack_session_get(fx->s, "Pair", "x", &e, &err), FTRACK_ERR_INVALID_ARGUMENT);
}

static void test_server_error_reaches_the_caller(void **state)
{
    fixture *fx = *state;
    fx->f->answer = NULL;
    snprintf(fx->f->error, sizeof(fx->f->error),
             "{\"exception\": \"ParseError\", \"content\": \"bad query\", \"error_code\": null}");
    ftrack_entity_list *list = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_query_all(fx->s, "select id from Foo", &list, &err),
                     FTRACK_ERR_SERVER);
    assert_string_equal(err.server_exception, "ParseError");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_three_pages_then_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_and_limit_are_taken_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_limit_becomes_page_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_projections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata_next_must_be_an_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_and_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_queries_once_then_uses_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_error_reaches_the_caller, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
