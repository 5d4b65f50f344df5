/* SPDX-License-Identifier: Apache-2.0 */
/* The hub's query language parser (host/hub/query_parser.c): the tree it builds and the errors it
 * gives, with positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hub/query_parser.h"

static fhub_query *parse_ok(const char *text)
{
    fhub_query *q = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = fhub_query_parse(text, &q, &err);
    if (st != FTRACK_OK)
        fail_msg("'%s' did not parse: %s (at %d)", text, err.message, err.position);
    assert_non_null(q);
    return q;
}

static int parse_err(const char *text, ftrack_status want, const char *message_part)
{
    fhub_query *q = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = fhub_query_parse(text, &q, &err);
    assert_null(q);
    assert_int_equal(st, want);
    if (message_part && !strstr(err.message, message_part))
        fail_msg("error for '%s' is '%s', wanted '%s' in it", text, err.message, message_part);
    return err.position;
}

static void assert_path(const fhub_qpath *p, const char *want)
{
    char *text = fhub_qpath_text(p);
    assert_string_equal(text, want);
    free(text);
}

static void test_type_only(void **state)
{
    (void)state;
    fhub_query *q = parse_ok("Task");
    assert_string_equal(q->type, "Task");
    assert_false(q->has_select);
    assert_int_equal(q->nprojections, 0);
    assert_null(q->where);
    assert_int_equal(q->limit, -1);
    assert_int_equal(q->offset, -1);
    fhub_query_free(q);
}

static void test_select_projections(void **state)
{
    (void)state;
    fhub_query *q = parse_ok("select id, name, version.asset.name ,parent.id from AssetVersion");
    assert_true(q->has_select);
    assert_int_equal(q->nprojections, 4);
    assert_path(&q->projections[0], "id");
    assert_path(&q->projections[2], "version.asset.name");
    assert_int_equal(q->projections[2].n, 3);
    assert_path(&q->projections[3], "parent.id");
    assert_string_equal(q->type, "AssetVersion");
    fhub_query_free(q);
}

static void test_where_operators(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        fhub_qop op;
    } cases[] = {
        {"T where a is \"x\"", FHUB_QOP_IS},
        {"T where a is_not 'x'", FHUB_QOP_IS_NOT},
        {"T where a like \"%x%\"", FHUB_QOP_LIKE},
        {"T where a not_like \"x\"", FHUB_QOP_NOT_LIKE},
        {"T where a > 1", FHUB_QOP_GT},
        {"T where a < 1", FHUB_QOP_LT},
        {"T where a >= 1", FHUB_QOP_GE},
        {"T where a <= 1", FHUB_QOP_LE},
        {"T where a = 1", FHUB_QOP_IS},
        {"T where a != 1", FHUB_QOP_IS_NOT},
        {"T where a after \"2024-01-01\"", FHUB_QOP_GT},
        {"T where a before \"2024\"", FHUB_QOP_LT},
        {"T where a in (1, 2)", FHUB_QOP_IN},
        {"T where a not_in (\"x\")", FHUB_QOP_NOT_IN},
        {"T WHERE a IS 1", FHUB_QOP_IS},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fhub_query *q = parse_ok(cases[i].text);
        assert_non_null(q->where);
        assert_int_equal(q->where->kind, FHUB_QN_COND);
        assert_int_equal(q->where->op, cases[i].op);
        assert_path(&q->where->path, "a");
        fhub_query_free(q);
    }
}

static void test_values(void **state)
{
    (void)state;
    fhub_query *q = parse_ok("T where a is \"say \\\"hi\\\" \\\\ 'x'\"");
    assert_int_equal(q->where->value.kind, FHUB_QV_STRING);
    assert_string_equal(q->where->value.text, "say \"hi\" \\ 'x'");
    fhub_query_free(q);

    q = parse_ok("T where a is -42");
    assert_int_equal(q->where->value.kind, FHUB_QV_INTEGER);
    assert_int_equal(q->where->value.integer, -42);
    fhub_query_free(q);

    q = parse_ok("T where a is 2.5e3");
    assert_int_equal(q->where->value.kind, FHUB_QV_NUMBER);
    assert_true(q->where->value.number == 2500.0);
    fhub_query_free(q);

    const char *bools[] = {"true", "True", "false", "FALSE"};
    for (size_t i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof(text), "T where a is %s", bools[i]);
        q = parse_ok(text);
        assert_int_equal(q->where->value.kind, FHUB_QV_BOOL);
        assert_int_equal(q->where->value.boolean, i < 2);
        fhub_query_free(q);
    }
    const char *nulls[] = {"T where a is null", "T where a is None", "T where a is_not NULL"};
    for (size_t i = 0; i < 3; i++) {
        q = parse_ok(nulls[i]);
        assert_int_equal(q->where->value.kind, FHUB_QV_NULL);
        fhub_query_free(q);
    }
    q = parse_ok("T where a in ()");
    assert_int_equal(q->where->value.kind, FHUB_QV_LIST);
    assert_int_equal(q->where->value.nitems, 0);
    fhub_query_free(q);
    q = parse_ok("T where a in (\"x\", 'y', 3, null)");
    assert_int_equal(q->where->value.nitems, 4);
    assert_string_equal(q->where->value.items[1].text, "y");
    assert_int_equal(q->where->value.items[2].integer, 3);
    assert_int_equal(q->where->value.items[3].kind, FHUB_QV_NULL);
    fhub_query_free(q);
}

/* Unquoted ids as ftrack's Python client writes them in populate and lazy loads. */
static void test_unquoted_words(void **state)
{
    (void)state;
    fhub_query *q = parse_ok("select bid from Task where id is 6586e1f2-9c1d-4a2b-8e3f-0123456789ab");
    assert_int_equal(q->where->value.kind, FHUB_QV_STRING);
    assert_string_equal(q->where->value.text, "6586e1f2-9c1d-4a2b-8e3f-0123456789ab");
    fhub_query_free(q);
    q = parse_ok("Task where id in (c1-a,42,2b-9) and name is active");
    const fhub_qvalue *list = &q->where->left->value;
    assert_int_equal(list->nitems, 3);
    assert_string_equal(list->items[0].text, "c1-a");
    assert_int_equal(list->items[1].kind, FHUB_QV_INTEGER);
    assert_string_equal(list->items[2].text, "2b-9");
    assert_int_equal(q->where->right->value.kind, FHUB_QV_STRING);
    assert_string_equal(q->where->right->value.text, "active");
    fhub_query_free(q);
    parse_err("Task where name is and", FTRACK_ERR_PARSE, "value");
}

static void test_precedence(void **state)
{
    (void)state;
    /* and binds tighter than or; not binds tightest. */
    fhub_query *q = parse_ok("T where a is 1 or b is 2 and not c is 3");
    fhub_qnode *n = q->where;
    assert_int_equal(n->kind, FHUB_QN_OR);
    assert_int_equal(n->left->kind, FHUB_QN_COND);
    assert_int_equal(n->right->kind, FHUB_QN_AND);
    assert_int_equal(n->right->right->kind, FHUB_QN_NOT);
    assert_path(&n->right->right->left->path, "c");
    fhub_query_free(q);

    q = parse_ok("T where (a is 1 or b is 2) and c is 3");
    assert_int_equal(q->where->kind, FHUB_QN_AND);
    assert_int_equal(q->where->left->kind, FHUB_QN_OR);
    fhub_query_free(q);

    /* Chains associate to the left. */
    q = parse_ok("T where a is 1 and b is 2 and c is 3");
    assert_int_equal(q->where->kind, FHUB_QN_AND);
    assert_int_equal(q->where->left->kind, FHUB_QN_AND);
    assert_path(&q->where->right->path, "c");
    fhub_query_free(q);
}

static void test_has_any_and_subquery(void **state)
{
    (void)state;
    fhub_query *q = parse_ok("Asset where versions any (version > 2 and status.name is \"x\")");
    assert_int_equal(q->where->kind, FHUB_QN_ANY);
    assert_path(&q->where->path, "versions");
    assert_int_equal(q->where->left->kind, FHUB_QN_AND);
    fhub_query_free(q);

    q = parse_ok("AssetVersion where asset has (name like \"%anim\")");
    assert_int_equal(q->where->kind, FHUB_QN_HAS);
    assert_int_equal(q->where->left->op, FHUB_QOP_LIKE);
    fhub_query_free(q);

    q = parse_ok("Shot where id in (select parent_id from Task where name is \"x\" limit 3)");
    assert_int_equal(q->where->value.kind, FHUB_QV_SUBQUERY);
    fhub_query *sub = q->where->value.subquery;
    assert_string_equal(sub->type, "Task");
    assert_int_equal(sub->nprojections, 1);
    assert_path(&sub->projections[0], "parent_id");
    assert_int_equal(sub->limit, 3);
    fhub_query_free(q);
}

static void test_order_limit_offset(void **state)
{
    (void)state;
    fhub_query *q =
        parse_ok("select name from Task where a is 1 order by parent.name descending, name asc, "
                 "sort limit 10 offset 20");
    assert_int_equal(q->norder, 3);
    assert_path(&q->order[0].path, "parent.name");
    assert_true(q->order[0].descending);
    assert_false(q->order[1].descending);
    assert_false(q->order[2].descending);
    assert_int_equal(q->limit, 10);
    assert_int_equal(q->offset, 20);
    fhub_query_free(q);

    /* The Python client's paging suffix: offset before limit. */
    q = parse_ok("select id from User where username is \"jane\" offset 0 limit 500");
    assert_int_equal(q->offset, 0);
    assert_int_equal(q->limit, 500);
    fhub_query_free(q);

    q = parse_ok("User order by username DESC");
    assert_true(q->order[0].descending);
    fhub_query_free(q);
}

static void test_errors_with_positions(void **state)
{
    (void)state;
    assert_int_equal(parse_err("", FTRACK_ERR_PARSE, "entity type"), 0);
    assert_int_equal(parse_err("select from Task", FTRACK_ERR_PARSE, "attribute"), 7);
    assert_int_equal(parse_err("select id Task", FTRACK_ERR_PARSE, "'from'"), 10);
    assert_int_equal(parse_err("Task where", FTRACK_ERR_PARSE, "attribute"), 10);
    assert_int_equal(parse_err("Task where name", FTRACK_ERR_PARSE, "operator"), 15);
    assert_int_equal(parse_err("Task where name is", FTRACK_ERR_PARSE, "value"), 18);
    assert_int_equal(parse_err("Task where name is \"x", FTRACK_ERR_PARSE, "unterminated"), 19);
    assert_int_equal(parse_err("Task where (name is 1", FTRACK_ERR_PARSE, "')'"), 21);
    assert_int_equal(parse_err("Task where name in 1", FTRACK_ERR_PARSE, "'('"), 19);
    assert_int_equal(parse_err("Task where name is 1 blah", FTRACK_ERR_PARSE, "unexpected"), 21);
    assert_int_equal(parse_err("Task limit", FTRACK_ERR_PARSE, "whole number"), 10);
    assert_int_equal(parse_err("Task limit -1", FTRACK_ERR_PARSE, "at least 0"), 11);
    assert_int_equal(parse_err("Task limit 1 limit 2", FTRACK_ERR_PARSE, "twice"), 13);
    assert_int_equal(parse_err("Task where a is 1 # x", FTRACK_ERR_PARSE, "character"), 18);
    assert_int_equal(parse_err("Task order name", FTRACK_ERR_PARSE, "'by'"), 11);
    parse_err("Shot where id in (select a, b from Task)", FTRACK_ERR_PARSE, "exactly one");
    parse_err("Task where a in ((1))", FTRACK_ERR_PARSE, "value");
    parse_err("Task where a.b. = 1", FTRACK_ERR_PARSE, "attribute");
    parse_err("Task where a is 1e999", FTRACK_ERR_PARSE, "not a number");
    fhub_query *q = NULL;
    assert_int_equal(fhub_query_parse(NULL, &q, NULL), FTRACK_ERR_INVALID_ARGUMENT);
}

static void test_limits(void **state)
{
    (void)state;
    /* Deep nesting is refused, not a stack overflow. */
    size_t depth = 10000;
    size_t size = depth * 2 + 64;
    char *text = malloc(size);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, size, "T where ");
    for (size_t i = 0; i < depth; i++)
        text[n++] = '(';
    n += (size_t)snprintf(text + n, size - n, "a is 1");
    for (size_t i = 0; i < depth; i++)
        text[n++] = ')';
    text[n] = '\0';
    parse_err(text, FTRACK_ERR_INVALID_ARGUMENT, "nested");
    n = (size_t)snprintf(text, size, "T where ");
    for (size_t i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, size - n, "not ");
    snprintf(text + n, size - n, "a is 1");
    parse_err(text, FTRACK_ERR_INVALID_ARGUMENT, "nested");
    free(text);

    parse_err("T where a.b.c.d.e.f.g.h.i is 1", FTRACK_ERR_INVALID_ARGUMENT, "paths");
    fhub_query *q = parse_ok("T where a.b.c.d.e.f.g.h is 1");
    fhub_query_free(q);

    char *big = malloc(FHUB_QUERY_MAX_TEXT + 16);
    memset(big, ' ', FHUB_QUERY_MAX_TEXT + 8);
    memcpy(big, "Task", 4);
    big[FHUB_QUERY_MAX_TEXT + 8] = '\0';
    parse_err(big, FTRACK_ERR_INVALID_ARGUMENT, "longer");
    free(big);
}

static void test_reserved_words_are_not_types(void **state)
{
    (void)state;
    parse_err("where", FTRACK_ERR_PARSE, "entity type");
    parse_err("select id from where", FTRACK_ERR_PARSE, "entity type");
    /* "selection" is a type name, not the keyword. */
    fhub_query *q = parse_ok("selection where status is 1");
    assert_string_equal(q->type, "selection");
    fhub_query_free(q);
}

/* Links have a relation called `from`: a keyword names an attribute before its dot or after one. */
static void test_keywords_as_attribute_names(void **state)
{
    (void)state;
    fhub_query *q = parse_ok("select from.id, from.name, to.order from TypedContextLink "
                             "where from.name is \"sh010\" order by from.name");
    assert_int_equal(q->nprojections, 3);
    assert_path(&q->projections[0], "from.id");
    assert_path(&q->projections[2], "to.order");
    assert_string_equal(q->type, "TypedContextLink");
    assert_path(&q->where->path, "from.name");
    assert_path(&q->order[0].path, "from.name");
    fhub_query_free(q);
    /* Alone (no dot after it) it is still the keyword. */
    assert_int_equal(parse_err("select from TypedContextLink", FTRACK_ERR_PARSE, "attribute"), 7);
    parse_err("select id from Task where from is 1", FTRACK_ERR_PARSE, "attribute");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_only),
        cmocka_unit_test(test_select_projections),
        cmocka_unit_test(test_where_operators),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_unquoted_words),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_has_any_and_subquery),
        cmocka_unit_test(test_order_limit_offset),
        cmocka_unit_test(test_errors_with_positions),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_reserved_words_are_not_types),
        cmocka_unit_test(test_keywords_as_attribute_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
