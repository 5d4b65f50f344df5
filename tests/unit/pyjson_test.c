/* SPDX-License-Identifier: Apache-2.0 */
/* Python-compatible json.dumps and the schema cache hash (protocol §1.3). Expected strings were
 * produced by CPython 3.11's json.dumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <locale.h>

#include <cmocka.h>

#include "common/pyjson.h"

static void check_dumps(json_object *v, bool sort_keys, const char *expected)
{
    size_t len = 0;
    char *s = fti_json_python_dumps(v, sort_keys, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(expected));
    assert_string_equal(s, expected);
    free(s);
}

static void check_text(const char *json, bool sort_keys, const char *expected)
{
    json_object *v = json_tokener_parse(json);
    if (!v && strcmp(json, "null") != 0)
        fail_msg("bad test JSON %s", json);
    check_dumps(v, sort_keys, expected);
    json_object_put(v);
}

static void check_double(double d, const char *expected)
{
    json_object *v = json_object_new_double(d);
    check_dumps(v, true, expected);
    json_object_put(v);
}

/* The file sits beside this source: tests run from the build tree. */
static char *read_fixture(const char *name)
{
    char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, sizeof(path), "%.*s/data/%s", dir, slash ? __FILE__ : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* ftrack-python's mocked_schemas fixture (test/unit/conftest.py), as the client writes its
 * cache file (json.dump indent=4); test_session.py expects this hash for it. */
static void test_mocked_schemas_hash(void **state)
{
    (void)state;
    char *text = read_fixture("mocked_schemas.json");
    json_object *schemas = json_tokener_parse(text);
    assert_non_null(schemas);
    size_t len = 0;
    char *dumped = fti_json_python_dumps(schemas, true, &len);
    assert_non_null(dumped);
    char hash[33];
    fti_md5_hex(dumped, len, hash);
    assert_string_equal(hash, "a98d0627b5e33966e43e1cb89b082db7");
    /* Spot-check the text itself. */
    assert_non_null(strstr(dumped, "[{\"default_projections\": [\"id\"], \"id\": \"Foo\", "
                                   "\"immutable\": [\"id\"], \"primary_key\": [\"id\"], "
                                   "\"properties\": {\"bars\": {\"items\": {\"ref\": \"$Bar\"}, "));
    free(dumped);
    json_object_put(schemas);
    free(text);
}

static void test_md5(void **state)
{
    (void)state;
    char hash[33];
    fti_md5_hex("", 0, hash);
    assert_string_equal(hash, "d41d8cd98f00b204e9800998ecf8427e");
    fti_md5_hex("The quick brown fox jumps over the lazy dog", 43, hash);
    assert_string_equal(hash, "9e107d9d372bb6826bd81d3542a419d6");
}

static void test_scalars(void **state)
{
    (void)state;
    check_text("null", true, "null");
    check_text("true", true, "true");
    check_text("false", true, "false");
    check_text("0", true, "0");
    check_text("-12", true, "-12");
    check_text("9223372036854775807", true, "9223372036854775807");
    check_text("-9223372036854775808", true, "-9223372036854775808");
    check_text("18446744073709551615", true, "18446744073709551615");
    check_text("\"\"", true, "\"\"");
}

static void test_floats(void **state)
{
    (void)state;
    const struct {
        double d;
        const char *repr;
    } rows[] = {
        {1.0, "1.0"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {0.1, "0.1"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {1.5e-7, "1.5e-07"},
        {123456789012345680.0, "1.2345678901234568e+17"},
        {1e22, "1e+22"},
        {1e100, "1e+100"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {2.5, "2.5"},
        {1.0 / 3.0, "0.3333333333333333"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {100.0, "100.0"},
        {12345.678, "12345.678"},
        {9007199254740993.0, "9007199254740992.0"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e21, "1e+21"},
        {123e-20, "1.23e-18"},
        {-1.25e-5, "-1.25e-05"},
        {NAN, "NaN"},
        {INFINITY, "Infinity"},
        {-INFINITY, "-Infinity"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        check_double(rows[i].d, rows[i].repr);
    /* Parsed doubles are re-formatted, not echoed: json.loads then dumps. */
    check_text("{\"f\": 1.50, \"e\": 1E2, \"g\": 0.000010}", true,
               "{\"e\": 100.0, \"f\": 1.5, \"g\": 1e-05}");
}

/* A decimal comma locale must not leak into the output. */
static void test_float_locale(void **state)
{
    (void)state;
    /* A locale whose decimal point is a comma (packaging/apt-packages.txt installs
     * locales-all): printf("%g") would write "2,5" there. */
    const char *locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE"};
    const char *set = NULL;
    for (size_t i = 0; i < 3 && !set; i++)
        set = setlocale(LC_NUMERIC, locales[i]);
    if (!set)
        fail_msg("no de_DE or fr_FR locale is installed (Debian: locales-all)");
    assert_string_equal(localeconv()->decimal_point, ",");
    check_double(2.5, "2.5");
    check_double(1.5e-7, "1.5e-07");
    setlocale(LC_NUMERIC, "C");
}

static void test_strings(void **state)
{
    (void)state;
    /* ensure_ascii escapes, in Python's spelling (lowercase hex, short forms). */
    check_text("{\"Z\": \"\\u007f\\u0001\\\"\\\\/\\n\\t\\b\\f\\r\"}", true,
               "{\"Z\": \"\\u007f\\u0001\\\"\\\\/\\n\\t\\b\\f\\r\"}");
    /* BMP and non-BMP (surrogate pair). */
    check_text("[\"é\\u2028😀\"]", true, "[\"\\u00e9\\u2028\\ud83d\\ude00\"]");
    /* Embedded NUL survives. */
    json_object *nul = json_object_new_string_len("a\0b", 3);
    check_dumps(nul, true, "\"a\\u0000b\"");
    json_object_put(nul);
    /* Invalid UTF-8 from the API (the parser would refuse it) becomes U+FFFD. */
    json_object *bad = json_object_new_string("a\xff\xc3");
    check_dumps(bad, true, "\"a\\ufffd\\ufffd\"");
    json_object_put(bad);
    json_object *sur = json_object_new_string("\xed\xa0\x80"); /* an encoded surrogate */
    check_dumps(sur, true, "\"\\ufffd\\ufffd\\ufffd\"");
    json_object_put(sur);
}

static void test_containers_and_sorting(void **state)
{
    (void)state;
    check_text("{\"b\":[1,{\"z\":\"é\\u2028😀\",\"a\":null}],\"a\":true,\"é\":1,\"Z\":\"x\"}", true,
               "{\"Z\": \"x\", \"a\": true, \"b\": [1, {\"a\": null, \"z\": "
               "\"\\u00e9\\u2028\\ud83d\\ude00\"}], \"\\u00e9\": 1}");
    check_text("{\"b\":1,\"a\":2}", false, "{\"b\": 1, \"a\": 2}");
    check_text("{\"b\":1,\"a\":2}", true, "{\"a\": 2, \"b\": 1}");
    check_text("{\"big\": 18446744073709551615, \"neg\": -9223372036854775808, \"f\": 1.50, "
               "\"e\": 1E2, \"list\": [], \"obj\": {}}",
               true,
               "{\"big\": 18446744073709551615, \"e\": 100.0, \"f\": 1.5, \"list\": [], \"neg\": "
               "-9223372036854775808, \"obj\": {}}");
    check_text("[[], {}, [[]], [1, [2, [3]]]]", true, "[[], {}, [[]], [1, [2, [3]]]]");
    /* Code point order: uppercase before lowercase, ASCII before non-ASCII, prefixes first. */
    check_text(
        "{\"ab\":0,\"a\":1,\"B\":2,\"\\u00e0\":3,\"\\u4e2d\":4,\"\\ud83d\\ude00\":5,\"_\":6}", true,
        "{\"B\": 2, \"_\": 6, \"a\": 1, \"ab\": 0, \"\\u00e0\": 3, \"\\u4e2d\": 4, "
        "\"\\ud83d\\ude00\": 5}");
    size_t len = 7;
    char *s = fti_json_python_dumps(NULL, true, &len);
    assert_string_equal(s, "null");
    assert_int_equal(len, 4);
    free(s);
    s = fti_json_python_dumps(NULL, true, NULL);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mocked_schemas_hash),
        cmocka_unit_test(test_md5),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_float_locale),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_containers_and_sorting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
