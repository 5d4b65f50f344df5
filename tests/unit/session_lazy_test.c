/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack_session_options.lazy_schemas: by default the schemas are loaded at open (as the Python
 * client does); with lazy_schemas the first query loads them, and an idle session never
 * does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "session/session_internal.h"
#include "session_fake_server.h"

static json_object *one_foo(fake_server *f, json_object *op)
{
    (void)f;
    (void)op;
    return json_tokener_parse("{\"action\": \"query\", \"data\": [{\"__entity_type__\": \"Foo\","
                              " \"id\": \"f1\", \"name\": \"one\"}], \"metadata\": {\"next\":"
                              " {\"offset\": null}}}");
}

/* How many requests asked for query_schemas so far. */
static size_t schema_requests(fake_server *f)
{
    size_t n = 0;
    for (size_t i = 0; i < http_responder_count(f->r); i++)
        n += strstr(http_responder_request(f->r, i)->body, "query_schemas") != NULL;
    return n;
}

static ftrack_session *open_session(fake_server *f, bool lazy)
{
    ftrack_session_options o;
    ftrack_session_options_init(&o);
    assert_false(o.lazy_schemas); /* the default keeps the Python client's behaviour */
    o.server_url = http_responder_url(f->r);
    o.api_key = FAKE_KEY;
    o.api_user = FAKE_USER;
    o.discover_plugins = false;
    o.schema_cache_disabled = true;
    o.max_retries = 0;
    o.lazy_schemas = lazy;
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_open(&o, &s, &err), FTRACK_OK);
    return s;
}

static void query_one(ftrack_session *s)
{
    ftrack_query *q = NULL;
    ftrack_entity_list *list = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_query(s, "select id, name from Foo", 0, &q, &err), FTRACK_OK);
    assert_int_equal(ftrack_query_all(q, &list, &err), FTRACK_OK);
    assert_int_equal(list->count, 1);
    ftrack_entity_list_free(list);
    ftrack_query_free(q);
}

static void test_default_loads_at_open(void **state)
{
    (void)state;
    fake_server *f = fake_start(one_foo, NULL);
    ftrack_session *s = open_session(f, false);
    assert_int_equal(schema_requests(f), 1);
    assert_non_null(s->schemas);
    query_one(s);
    assert_int_equal(schema_requests(f), 1);
    ftrack_session_free(s);
    fake_stop(f);
}

static void test_lazy_loads_on_first_query(void **state)
{
    (void)state;
    fake_server *f = fake_start(one_foo, NULL);
    ftrack_session *s = open_session(f, true);
    assert_int_equal(schema_requests(f), 0);
    assert_null(s->schemas); /* nothing kept in memory until needed */
    query_one(s);
    assert_int_equal(schema_requests(f), 1);
    assert_non_null(s->schemas);
    query_one(s);
    assert_int_equal(schema_requests(f), 1); /* once */
    ftrack_session_free(s);
    fake_stop(f);
}

/* A caller built against the header before lazy_schemas passes a smaller struct: it gets the
 * old behaviour whatever follows in memory. */
static void test_older_callers_keep_eager(void **state)
{
    (void)state;
    fake_server *f = fake_start(one_foo, NULL);
    ftrack_session_options o;
    ftrack_session_options_init(&o);
    o.server_url = http_responder_url(f->r);
    o.api_key = FAKE_KEY;
    o.api_user = FAKE_USER;
    o.discover_plugins = false;
    o.schema_cache_disabled = true;
    o.max_retries = 0;
    o.lazy_schemas = true;
    o.size = offsetof(ftrack_session_options, lazy_schemas);
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_open(&o, &s, &err), FTRACK_OK);
    assert_int_equal(schema_requests(f), 1);
    ftrack_session_free(s);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_loads_at_open),
        cmocka_unit_test(test_lazy_loads_on_first_query),
        cmocka_unit_test(test_older_callers_keep_eager),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
