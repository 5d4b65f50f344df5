/* SPDX-License-Identifier: Apache-2.0 */
/* Subscription expressions: parser, matching, topic hints. Cases mirror ftrack-python's
 * test/unit/event/test_expression.py and add our own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ftrack/expression.h>

/* test_expression.py's candidate fixture. */
static const char CANDIDATE[] =
    "{\"id\": 10, \"name\": \"value\", \"change\": {\"name\": \"value\", \"new_value\": 10}}";

static ftrack_expression *compile_ok(const char *text)
{
    ftrack_expression *e = NULL;
    ftrack_error err;
    ftrack_status st = ftrack_expression_compile(text, &e, &err);
    if (st != FTRACK_OK)
        fail_msg("'%s' did not compile: %s", text, err.message);
    assert_non_null(e);
    return e;
}

static bool matches_json(const char *expr, const char *candidate_json)
{
    ftrack_expression *e = compile_ok(expr);
    json_object *c = json_tokener_parse(candidate_json);
    if (!c && strcmp(candidate_json, "null") != 0)
        fail_msg("bad candidate JSON %s", candidate_json);
    bool m = ftrack_expression_match(e, c);
    json_object_put(c);
    ftrack_expression_free(e);
    return m;
}

static bool matches(const char *expr)
{
    return matches_json(expr, CANDIDATE);
}

static ftrack_error compile_err(const char *text)
{
    ftrack_expression *e = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = ftrack_expression_compile(text, &e, &err);
    if (st != FTRACK_ERR_PARSE)
        fail_msg("'%s' should not compile (status %d)", text, (int)st);
    assert_null(e);
    assert_int_equal(err.code, FTRACK_ERR_PARSE);
    assert_non_null(strstr(err.message, "Failed to parse: "));
    return err;
}

/* ---- parsing (test_parser_parse) ---------------------------------------------------- */

static void test_python_parse_cases(void **state)
{
    (void)state;
    compile_err("invalid");
    compile_err("key=value nor other=value");
    assert_true(matches_json("key=value", "{\"key\": \"value\"}"));
    assert_true(matches_json("key=\"value\"", "{\"key\": \"value\"}"));
    assert_false(matches_json("key=\"value\"", "{\"key\": \"\\\"value\\\"\"}"));
}

/* a=b and ((c=d or e!=f) and not g.h > 10) is All[a=b, All[Any[c=d, e!=f], Not[g.h>"10"]]]:
 * check the tree through its truth table. */
static void test_complex_precedence(void **state)
{
    (void)state;
    const char *x = "a=b and ((c=d or e!=f) and not g.h > 10)";
    assert_true(matches_json(x, "{\"a\":\"b\",\"c\":\"d\",\"e\":\"f\",\"g\":{\"h\":\"05\"}}"));
    assert_true(matches_json(x, "{\"a\":\"b\",\"c\":\"x\",\"e\":\"x\",\"g\":{\"h\":\"05\"}}"));
    /* c=d fails and e!=f fails */
    assert_false(matches_json(x, "{\"a\":\"b\",\"c\":\"x\",\"e\":\"f\",\"g\":{\"h\":\"05\"}}"));
    /* g.h > "10" holds ("2" > "10" as strings) so not fails */
    assert_false(matches_json(x, "{\"a\":\"b\",\"c\":\"d\",\"e\":\"f\",\"g\":{\"h\":\"2\"}}"));
    /* g.h missing: the condition fails, not inverts it */
    assert_true(matches_json(x, "{\"a\":\"b\",\"c\":\"d\",\"e\":\"f\"}"));
    assert_false(matches_json(x, "{\"a\":\"x\",\"c\":\"d\",\"e\":\"f\"}"));
}

/* ---- matching (test_match, test_condition_match) ------------------------------------ */

static void test_all_any_not(void **state)
{
    (void)state;
    /* All: all match / not all match; Any: some / none; Not and double not. */
    assert_true(matches("name=value and change.name=value"));
    assert_false(matches("name=value and test=value"));
    assert_true(matches("test=value or name=value"));
    assert_false(matches("test=value or other=value"));
    assert_false(matches("not name=value"));
    assert_true(matches("not not name=value"));
}

/* Python's matrix builds Condition('id', op, 10) with an *integer* 10. Our expressions carry
 * strings only (as Python's parser does), so against the fixture's integer values `=` never
 * matches, `!=` always does and ordering operators never match: we deliberately differ from
 * that Python unit test and follow what its parser + Condition.match do with text (where
 * ordering would raise TypeError). */
static void test_condition_matrix_integer_candidate(void **state)
{
    (void)state;
    const char *keys[] = {"id", "change.new_value"};
    for (size_t k = 0; k < 2; k++) {
        char buf[64];
        const struct {
            const char *op, *value;
            bool expected;
        } rows[] = {
            {"=", "10", false},  {"=", "20", false},  {"!=", "20", true},  {"!=", "10", true},
            {">=", "10", false}, {">=", "20", false}, {"<=", "10", false}, {"<=", "0", false},
            {">", "0", false},   {">", "10", false},  {"<", "20", false},  {"<", "10", false},
        };
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            snprintf(buf, sizeof(buf), "%s%s%s", keys[k], rows[i].op, rows[i].value);
            if (matches(buf) != rows[i].expected)
                fail_msg("%s should %smatch the integer candidate", buf,
                         rows[i].expected ? "" : "not ");
        }
    }
}

/* The same matrix against string values gives Python's expected results exactly. */
static void test_condition_matrix_string_candidate(void **state)
{
    (void)state;
    static const char cand[] = "{\"id\": \"10\", \"change\": {\"new_value\": \"10\"}}";
    const char *keys[] = {"id", "change.new_value"};
    for (size_t k = 0; k < 2; k++) {
        char buf[64];
        const struct {
            const char *op, *value;
            bool expected;
        } rows[] = {
            {"=", "10", true},  {"=", "20", false},  {"!=", "20", true}, {"!=", "10", false},
            {">=", "10", true}, {">=", "20", false}, {"<=", "10", true}, {"<=", "0", false},
            {">", "0", true},   {">", "10", false},  {"<", "20", true},  {"<", "10", false},
        };
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            snprintf(buf, sizeof(buf), "%s%s%s", keys[k], rows[i].op, rows[i].value);
            if (matches_json(buf, cand) != rows[i].expected)
                fail_msg("%s should %smatch", buf, rows[i].expected ? "" : "not ");
        }
    }
}

static void test_wildcard(void **state)
{
    (void)state;
    assert_true(matches("name=valu*"));
    assert_true(matches("change.name=valu*"));
    assert_false(matches("name=values*"));
    assert_false(matches("change.name=values*"));
    assert_true(matches("name=value*"));
    assert_true(matches("name=*"));
    assert_true(matches("name=\"val*\""));
    /* Prefix, not Python's substring test. */
    assert_true(matches_json("topic=ftrack.*", "{\"topic\":\"ftrack.update\"}"));
    assert_false(matches_json("topic=ftrack.*", "{\"topic\":\"x.ftrack.y\"}"));
    assert_false(matches("name=alue*"));
    /* Only under `=`: != and ordering compare the '*' literally. */
    assert_true(matches("name!=valu*"));
    assert_true(matches_json("name!=valu*", "{\"name\":\"valu\"}"));
    assert_false(matches_json("name!=valu*", "{\"name\":\"valu*\"}"));
    /* Non-strings never prefix-match. */
    assert_false(matches("id=1*"));
    assert_false(matches_json("a=*", "{\"a\":null}"));
    assert_false(matches_json("a=*", "{\"a\":{}}"));
}

static void test_list_candidates(void **state)
{
    (void)state;
    static const char cand[] = "{\"tags\": [\"alpha\", 3, \"beta.gamma\", null]}";
    assert_true(matches_json("tags=beta.*", cand));
    assert_true(matches_json("tags=al*", cand));
    assert_false(matches_json("tags=gamma*", cand));
    assert_false(matches_json("tags=3*", cand));
    /* A list never equals a string (Python: [..] == "alpha" is False). */
    assert_false(matches_json("tags=alpha", cand));
    assert_true(matches_json("tags!=alpha", cand));
    assert_false(matches_json("tags>a", cand));
    /* No list indexing. */
    assert_false(matches_json("tags.0=alpha", cand));
    assert_false(matches_json("tags=x*", "{\"tags\": []}"));
}

static void test_precedence(void **state)
{
    (void)state;
    static const char c[] = "{\"a\":\"1\",\"b\":\"1\",\"c\":\"0\"}";
    /* and binds tighter than or: a=0 or (b=1 and c=0) */
    assert_true(matches_json("a=0 or b=1 and c=0", c));
    /* (a=1 or b=0) and c=1 would be false; a=1 or (b=0 and c=1) is true */
    assert_true(matches_json("a=1 or b=0 and c=1", c));
    assert_false(matches_json("(a=1 or b=0) and c=1", c));
    /* not binds tighter than and: (not a=0) and b=1 */
    assert_true(matches_json("not a=0 and b=1", c));
    assert_false(matches_json("not (a=1 and b=1)", c));
    assert_true(matches_json("not a=1 or b=1", c));
    assert_false(matches_json("not (a=1 or b=1)", c));
    /* n-ary chains */
    assert_true(matches_json("a=1 and b=1 and c=0 and not c=1", c));
    assert_true(matches_json("a=0 or b=0 or c=1 or c=0", c));
    assert_true(matches_json("((((a=1))))", c));
    assert_true(matches_json("(a=1)and(b=1)", c));
    assert_true(matches_json("a=\"1\"and b='1'", c));
}

static void test_keywords_case_and_fields(void **state)
{
    (void)state;
    static const char c[] =
        "{\"a\":\"1\",\"b\":\"1\",\"android\":\"1\",\"not\":\"x\",\"and\":\"y\","
        "\"or\":\"z\",\"nothing\":\"n\",\"order\":\"o\"}";
    assert_true(matches_json("a=1 AND b=1", c));
    assert_true(matches_json("a=0 Or b=1", c));
    assert_false(matches_json("NOT a=1", c));
    assert_true(matches_json("nOt a=0 aNd b=1", c));
    assert_true(matches_json("android=1", c));
    assert_true(matches_json("not=x", c));
    assert_true(matches_json("not = x", c));
    assert_true(matches_json("and=y and or=z", c));
    assert_true(matches_json("or=z or and=q", c));
    assert_true(matches_json("nothing=n", c));
    assert_true(matches_json("order=o", c));
    assert_true(matches_json("not not=y", c));
    /* Keywords as values are plain words. */
    assert_true(matches_json("x=and", "{\"x\":\"and\"}"));
    assert_true(matches_json("x=not or x=or", "{\"x\":\"or\"}"));
    /* `andb` is not a keyword. */
    compile_err("a=1 andb=1");
}

static void test_quoting(void **state)
{
    (void)state;
    assert_true(
        matches_json("data.name=\"hello world: 10\"", "{\"data\":{\"name\":\"hello world: 10\"}}"));
    assert_true(matches_json("data.name='a \"b\" c'", "{\"data\":{\"name\":\"a \\\"b\\\" c\"}}"));
    assert_true(matches_json("x=\"\"", "{\"x\":\"\"}"));
    assert_false(matches_json("x=\"\"", "{\"x\":\"a\"}"));
    assert_true(matches_json("x=\"(and or not)\"", "{\"x\":\"(and or not)\"}"));
    assert_true(matches_json("x = 'é ü'", "{\"x\":\"é ü\"}"));
    /* Backslashes are kept as written. */
    assert_true(matches_json("x=\"a\\\"b\"", "{\"x\":\"a\\\\\\\"b\"}"));
    assert_true(matches_json("x='c:\\\\dir'", "{\"x\":\"c:\\\\\\\\dir\"}"));
    assert_true(matches_json("x=\"\\x41\"", "{\"x\":\"\\\\x41\"}"));
    /* A doubled quote stays doubled (pyparsing keeps it inside the token). */
    assert_true(matches_json("x='it''s'", "{\"x\":\"it''s\"}"));
    /* Bare values take - _ , . / * @ + */
    assert_true(matches_json("x=a-b_c,d./e@f+g", "{\"x\":\"a-b_c,d./e@f+g\"}"));
    /* Leading/trailing blanks are stripped. */
    assert_true(matches_json("  \t x=1 \n ", "{\"x\":\"1\"}"));
}

static void test_nested_and_missing(void **state)
{
    (void)state;
    static const char c[] =
        "{\"data\":{\"user\":{\"name\":\"jane\"},\"n\":null,\"list\":[1]},\"s\":\"str\"}";
    assert_true(matches_json("data.user.name=jane", c));
    assert_false(matches_json("data.user.name=john", c));
    const char *ops[] = {"=", "!=", ">=", "<=", ">", "<"};
    const char *paths[] = {"missing",   "data.missing", "data.user.name.deeper",
                           "s.x",       "data.list.x",  "data.n.x",
                           "data..user"};
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
        for (size_t o = 0; o < 6; o++) {
            char buf[96];
            snprintf(buf, sizeof(buf), "%s%sv", paths[p], ops[o]);
            if (matches_json(buf, c))
                fail_msg("%s matched a missing key", buf);
            snprintf(buf, sizeof(buf), "not %s%sv", paths[p], ops[o]);
            if (!matches_json(buf, c))
                fail_msg("%s should match (missing key under not)", buf);
            snprintf(buf, sizeof(buf), "%s%sv*", paths[p], ops[o]);
            if (matches_json(buf, c))
                fail_msg("%s matched a missing key", buf);
        }
    }
    /* null is present: it equals nothing, differs from everything, orders with nothing. */
    assert_false(matches_json("data.n=null", c));
    assert_true(matches_json("data.n!=null", c));
    assert_false(matches_json("data.n>a", c));
    assert_false(matches_json("data.n<a", c));
    /* An empty key part looks up the key "". */
    assert_true(matches_json("a..b=1", "{\"a\":{\"\":{\"b\":\"1\"}}}"));
    /* Candidates that are not objects. */
    assert_false(matches_json("a=1", "[1]"));
    assert_false(matches_json("a=1", "\"a\""));
    assert_true(matches_json("not a=1", "null"));
}

static void test_scalar_types(void **state)
{
    (void)state;
    static const char c[] = "{\"t\":true,\"f\":false,\"d\":1.5,\"o\":{\"a\":1},\"s\":\"b\"}";
    assert_false(matches_json("t=true", c));
    assert_true(matches_json("t!=true", c));
    assert_false(matches_json("f=false", c));
    assert_false(matches_json("d=1.5", c));
    assert_true(matches_json("d!=1.5", c));
    assert_false(matches_json("d>=1", c));
    assert_false(matches_json("o=x", c));
    assert_true(matches_json("o!=x", c));
    /* Strings order byte-wise, like Python's code point order. */
    assert_true(matches_json("s>a", c));
    assert_true(matches_json("s>=b", c));
    assert_true(matches_json("s<=b", c));
    assert_true(matches_json("s<ba", c));
    assert_false(matches_json("s>ba", c));
    assert_true(matches_json("s<\"é\"", c));
    assert_true(matches_json("s=b", "{\"s\":\"b\"}"));
}

/* ---- errors ------------------------------------------------------------------------- */

static void test_error_messages(void **state)
{
    (void)state;
    ftrack_error err = compile_err("topic=a and (b=c");
    assert_int_equal(err.position, 16);
    assert_non_null(strstr(err.message, "Failed to parse: topic=a and (b=c. Expected \")\" at "
                                        "position 16"));
    /* caret line */
    assert_non_null(strstr(err.message, "\ntopic=a and (b=c\n                ^"));

    err = compile_err("a==b");
    assert_int_equal(err.position, 2);
    assert_non_null(strstr(err.message, "Expected a value"));

    err = compile_err("a b=c");
    assert_int_equal(err.position, 2);
    assert_non_null(strstr(err.message, "Expected an operator"));

    err = compile_err("a=b and");
    assert_int_equal(err.position, 7);
    err = compile_err("a=b and ");
    assert_int_equal(err.position, 7);
    err = compile_err("a=b or (c=d))");
    assert_int_equal(err.position, 12);
    assert_non_null(strstr(err.message, "Unexpected \")\""));
    err = compile_err("key='unterminated");
    assert_int_equal(err.position, 4);
    assert_non_null(strstr(err.message, "Unterminated"));
    err = compile_err("key=\"multi\nline\"");
    assert_int_equal(err.position, 4);
    err = compile_err("  invalid");
    assert_int_equal(err.position, 9);
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *bad[] = {"", " ", "\t\n", "()", "(", ")", "(a=b", "a=b)", "a=", "=b", "a",
                         "a=b and", "and a=b", "a=b or", "or", "not", "not not", "a=b c=d", "a=>b",
                         "a=<b", "a!b", "a!==b", "a=b=c", "a=é", "a=b;", "a=\"b\"\"", "x=\"\\x\"",
                         "x=\"\\", "a=b not", "a = (b)", "a=b nor c=d", "not.x=1 or",
                         "a=b and and c=d",
                         /* ',' is a value char: the value is `b,or` and `c` is left over */
                         "a=b,or c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ftrack_expression *e = NULL;
        ftrack_error err;
        ftrack_status st = ftrack_expression_compile(bad[i], &e, &err);
        if (st != FTRACK_ERR_PARSE)
            fail_msg("'%s' compiled (status %d)", bad[i], (int)st);
        assert_null(e);
        assert_true(err.position >= 0 && (size_t)err.position <= strlen(bad[i]));
    }
    ftrack_expression *e = NULL;
    assert_int_equal(ftrack_expression_compile(NULL, &e, NULL), FTRACK_ERR_INVALID_ARGUMENT);
    assert_int_equal(ftrack_expression_compile("a=b", NULL, NULL), FTRACK_ERR_INVALID_ARGUMENT);
    /* A NULL error pointer is fine. */
    assert_int_equal(ftrack_expression_compile("(", &e, NULL), FTRACK_ERR_PARSE);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    char buf[4096];
    /* 63 parentheses nest fine (64 levels including the condition). */
    size_t n = 0;
    for (int i = 0; i < 63; i++)
        buf[n++] = '(';
    memcpy(buf + n, "a=1", 3);
    n += 3;
    for (int i = 0; i < 63; i++)
        buf[n++] = ')';
    buf[n] = '\0';
    assert_true(matches_json(buf, "{\"a\":\"1\"}"));
    /* 1000 is refused with a clear error instead of deep recursion. */
    n = 0;
    for (int i = 0; i < 1000; i++)
        buf[n++] = '(';
    memcpy(buf + n, "a=1", 4);
    ftrack_error err = compile_err(buf);
    assert_non_null(strstr(err.message, "nested too deeply"));
    assert_int_equal(err.position, 64);
    /* Long `not` chains likewise. */
    n = 0;
    for (int i = 0; i < 500; i++) {
        memcpy(buf + n, "not ", 4);
        n += 4;
    }
    memcpy(buf + n, "a=1", 4);
    err = compile_err(buf);
    assert_non_null(strstr(err.message, "nested too deeply"));
    /* 62 nots and the condition are 63 levels: fine (even count, so it matches). */
    n = 0;
    for (int i = 0; i < 62; i++) {
        memcpy(buf + n, "NOT ", 4);
        n += 4;
    }
    memcpy(buf + n, "a=1", 4);
    assert_true(matches_json(buf, "{\"a\":\"1\"}"));
}

static void test_long_input(void **state)
{
    (void)state;
    /* A long flat chain is iterative, not recursive: 20000 conditions. */
    size_t cap = 20000 * 16 + 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%sk%d=v", i ? " or " : "", i);
    assert_true(matches_json(buf, "{\"k19999\":\"v\"}"));
    assert_false(matches_json(buf, "{\"k20000\":\"v\"}"));
    /* A long error is cut in the message but the position is exact. */
    memcpy(buf + n, " )", 3);
    ftrack_error err = compile_err(buf);
    assert_int_equal(err.position, (int)n + 1);
    assert_true(strlen(err.message) < sizeof(err.message));
    assert_null(strchr(err.message, '^'));
    /* Very long single values and fields. */
    memset(buf, 'x', 100000);
    buf[100000] = '\0';
    buf[50000] = '=';
    ftrack_expression *e = compile_ok(buf);
    ftrack_expression_free(e);
    free(buf);
}

/* ---- misc API ----------------------------------------------------------------------- */

static void test_text_and_hint(void **state)
{
    (void)state;
    const char *topic = NULL;
    bool prefix = true;
    ftrack_expression *e = compile_ok(" topic=ftrack.update ");
    assert_string_equal(ftrack_expression_text(e), " topic=ftrack.update ");
    assert_true(ftrack_expression_topic_hint(e, &topic, &prefix));
    assert_string_equal(topic, "ftrack.update");
    assert_false(prefix);
    ftrack_expression_free(e);

    e = compile_ok("source.user.username=jane and topic=ftrack.action.*");
    assert_true(ftrack_expression_topic_hint(e, &topic, &prefix));
    assert_string_equal(topic, "ftrack.action.");
    assert_true(prefix);
    ftrack_expression_free(e);

    e = compile_ok("(topic=\"my topic\" and a=b) and c=d");
    assert_true(ftrack_expression_topic_hint(e, &topic, &prefix));
    assert_string_equal(topic, "my topic");
    ftrack_expression_free(e);

    const char *no_hint[] = {
        "topic=a or topic=b",      "not topic=a", "topic!=a", "data.topic=a", "topic>a", "a=b",
        "a=b or (topic=x and c=d)"};
    for (size_t i = 0; i < sizeof(no_hint) / sizeof(no_hint[0]); i++) {
        e = compile_ok(no_hint[i]);
        if (ftrack_expression_topic_hint(e, &topic, &prefix))
            fail_msg("'%s' gave a topic hint", no_hint[i]);
        ftrack_expression_free(e);
    }
    assert_false(ftrack_expression_topic_hint(NULL, &topic, &prefix));
    assert_false(ftrack_expression_match(NULL, NULL));
    ftrack_expression_free(NULL);
}

/* The wire object of a real event, as subscriptions see it. */
static void test_event_shaped_candidate(void **state)
{
    (void)state;
    static const char ev[] =
        "{\"id\":\"e1\",\"data\":{\"entities\":[{\"entityType\":\"task\"}],\"eventType\":"
        "\"change\"},\"topic\":\"ftrack.update\",\"sent\":null,\"source\":{\"id\":\"s1\","
        "\"user\":{\"username\":\"jane\"}},\"target\":\"\",\"inReplyToEvent\":null}";
    assert_true(matches_json("topic=ftrack.update and source.user.username=jane", ev));
    assert_true(matches_json("topic=ftrack.* and data.eventType=change", ev));
    assert_false(matches_json("topic=ftrack.update and source.user.username!=jane", ev));
    assert_true(matches_json("inReplyToEvent!=x", ev));
    /* Targets are matched against subscriber metadata. */
    assert_true(matches_json("id=s1", "{\"id\":\"s1\",\"applicationId\":\"x\"}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_parse_cases),
        cmocka_unit_test(test_complex_precedence),
        cmocka_unit_test(test_all_any_not),
        cmocka_unit_test(test_condition_matrix_integer_candidate),
        cmocka_unit_test(test_condition_matrix_string_candidate),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_list_candidates),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_keywords_case_and_fields),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_nested_and_missing),
        cmocka_unit_test(test_scalar_types),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_long_input),
        cmocka_unit_test(test_text_and_hint),
        cmocka_unit_test(test_event_shaped_candidate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
