/* SPDX-License-Identifier: Apache-2.0 */
/* Key makers: byte-exact keys from the string key maker (protocol §12's StringKeyMaker cases)
 * and the canonical JSON key maker (member order never matters, different lists never
 * collide), plus a user-supplied key maker through the vtable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ftrack/ftrack.h>

#define MAX_ITEMS 8

/* The key for items given as JSON texts ("null" for JSON null). */
static char *key_of(ftrack_key_maker *maker, size_t count, const char *const *texts)
{
    json_object *items[MAX_ITEMS];
    assert_true(count <= MAX_ITEMS);
    for (size_t i = 0; i < count; i++) {
        items[i] = json_tokener_parse(texts[i]);
        if (strcmp(texts[i], "null") != 0 && !items[i])
            fail_msg("test JSON does not parse: %s", texts[i]);
    }
    char *key = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status status = ftrack_key_maker_key(maker, items, count, &key, &err);
    for (size_t i = 0; i < count; i++)
        json_object_put(items[i]);
    if (status != FTRACK_OK)
        fail_msg("key failed: %s", err.message);
    return key;
}

#define ITEMS(...)                                                                                 \
    (sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), ((const char *[]){__VA_ARGS__})

static void assert_key(ftrack_key_maker *maker, const char *expected, size_t count,
                       const char *const *texts)
{
    char *key = key_of(maker, count, texts);
    assert_string_equal(key, expected);
    ftrack_free(key);
}

static int setup_string(void **state)
{
    ftrack_key_maker *maker = NULL;
    assert_int_equal(ftrack_string_key_maker_new(&maker, NULL), FTRACK_OK);
    *state = maker;
    return 0;
}

static int setup_json(void **state)
{
    ftrack_key_maker *maker = NULL;
    assert_int_equal(ftrack_json_key_maker_new(&maker, NULL), FTRACK_OK);
    *state = maker;
    return 0;
}

static int teardown(void **state)
{
    ftrack_key_maker_free(*state);
    return 0;
}

/* ---- String key maker --------------------------------------------------------------------- */

/* test_string_key_maker_key: ({},) → '{}', ({}, {}) → '{}{}'. */
static void test_string_single_object(void **state)
{
    assert_key(*state, "{}", ITEMS("{}"));
}

static void test_string_multiple_objects(void **state)
{
    assert_key(*state, "{}{}", ITEMS("{}", "{}"));
}

static void test_string_forms(void **state)
{
    ftrack_key_maker *maker = *state;
    assert_key(maker, "a1", ITEMS("\"a\"", "1"));
    assert_key(maker, "User", ITEMS("\"User\""));
    assert_key(maker, "null", ITEMS("null"));
    assert_key(maker, "truefalse", ITEMS("true", "false"));
    assert_key(maker, "[1,\"x\",{\"b\":null}]", ITEMS("[1, \"x\", {\"b\": null}]"));
    assert_key(maker, "{\"b\":1,\"a\":2}", ITEMS("{\"b\": 1, \"a\": 2}")); /* order kept */
    assert_key(maker, "a/b", ITEMS("\"a/b\""));
    assert_key(maker, "ünï \"quoted\"", ITEMS("\"ünï \\\"quoted\\\"\""));
    assert_key(maker, "1.5-7", ITEMS("1.5", "-7"));
    /* As in Python, the string form can make one key from different lists. */
    assert_key(maker, "ab", ITEMS("\"ab\""));
    assert_key(maker, "ab", ITEMS("\"a\"", "\"b\""));
}

static void test_string_no_items(void **state)
{
    char *key = NULL;
    assert_int_equal(ftrack_key_maker_key(*state, NULL, 0, &key, NULL), FTRACK_OK);
    assert_string_equal(key, "");
    ftrack_free(key);
}

static void test_string_null_item(void **state)
{
    json_object *items[2] = {NULL, json_object_new_string("x")};
    char *key = NULL;
    assert_int_equal(ftrack_key_maker_key(*state, items, 2, &key, NULL), FTRACK_OK);
    assert_string_equal(key, "nullx");
    ftrack_free(key);
    json_object_put(items[1]);
}

static void test_string_nul_byte(void **state)
{
    json_object *items[2] = {json_object_new_string("ok"), json_object_new_string_len("a\0b", 3)};
    char *key = (char *)1;
    ftrack_error err;
    assert_int_equal(ftrack_key_maker_key(*state, items, 2, &key, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    assert_null(key);
    assert_string_equal(err.message, "string key maker: item 1 contains a NUL byte");
    json_object_put(items[0]);
    json_object_put(items[1]);
}

/* ---- Canonical JSON key maker ------------------------------------------------------------- */

static void test_json_documented_example(void **state)
{
    assert_key(*state, "{\"a\":[true,null],\"b\":1},\"x\"",
               ITEMS("{\"b\": 1, \"a\": [true, null]}", "\"x\""));
}

static void test_json_key_order_does_not_matter(void **state)
{
    const char *expected = "{\"a\":{\"c\":null,\"d\":[1,{\"y\":2,\"z\":1}]},\"b\":1}";
    assert_key(*state, expected, ITEMS("{\"b\":1,\"a\":{\"d\":[1,{\"z\":1,\"y\":2}],\"c\":null}}"));
    assert_key(*state, expected, ITEMS("{\"a\":{\"c\":null,\"d\":[1,{\"y\":2,\"z\":1}]},\"b\":1}"));
    assert_key(*state, expected,
               ITEMS("{ \"a\" : { \"d\" : [ 1 , { \"y\" : 2 , \"z\" : 1 } ] , \"c\" : null } ,"
                     " \"b\" : 1 }"));
}

/* Array order is data, not presentation: it does change the key. */
static void test_json_array_order_matters(void **state)
{
    char *a = key_of(*state, ITEMS("[1,2]"));
    char *b = key_of(*state, ITEMS("[2,1]"));
    assert_string_not_equal(a, b);
    ftrack_free(a);
    ftrack_free(b);
}

/* Each item is one JSON text joined by ','; a ',' inside a string stays inside the quotes. */
static void test_json_no_collisions(void **state)
{
    ftrack_key_maker *maker = *state;
    assert_key(maker, "\"a,b\"", ITEMS("\"a,b\""));
    assert_key(maker, "\"a\",\"b\"", ITEMS("\"a\"", "\"b\""));
    assert_key(maker, "[\"a\",\"b\"]", ITEMS("[\"a\",\"b\"]"));
    assert_key(maker, "\"ab\"", ITEMS("\"ab\""));
    assert_key(maker, "{},{}", ITEMS("{}", "{}"));
    assert_key(maker, "{}", ITEMS("{}"));
    assert_key(maker, "\"1\"", ITEMS("\"1\""));
    assert_key(maker, "1", ITEMS("1"));
    assert_key(maker, "null", ITEMS("null"));
    assert_key(maker, "\"null\"", ITEMS("\"null\""));
}

static void test_json_strings_escaped(void **state)
{
    ftrack_key_maker *maker = *state;
    assert_key(maker, "\"line\\nbreak \\\"q\\\" a/b \\\\\"",
               ITEMS("\"line\\nbreak \\\"q\\\" a\\/b \\\\\""));
    assert_key(maker, "\"ünï\"", ITEMS("\"\\u00fcn\\u00ef\""));
    assert_key(maker, "{\"k,\\\"\":1}", ITEMS("{\"k,\\\"\":1}"));
}

/* A double prints from its value, not from the text it was parsed from. */
static void test_json_doubles(void **state)
{
    ftrack_key_maker *maker = *state;
    char *a = key_of(maker, ITEMS("{\"v\": 1.50}"));
    char *b = key_of(maker, ITEMS("{\"v\": 1.5}"));
    char *c = key_of(maker, ITEMS("{\"v\": 15e-1}"));
    assert_string_equal(a, "{\"v\":1.5}");
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    ftrack_free(a);
    ftrack_free(b);
    ftrack_free(c);
    assert_key(maker, "-7,9007199254740993", ITEMS("-7", "9007199254740993"));
}

static void test_json_no_items(void **state)
{
    char *key = NULL;
    assert_int_equal(ftrack_key_maker_key(*state, NULL, 0, &key, NULL), FTRACK_OK);
    assert_string_equal(key, "");
    ftrack_free(key);
}

/* Making a key leaves the items as they were (their member order included). */
static void test_json_items_untouched(void **state)
{
    json_object *item = json_tokener_parse("{\"b\":[1.50,{\"z\":1,\"y\":2}],\"a\":1}");
    char *before = strdup(json_object_to_json_string_ext(item, JSON_C_TO_STRING_PLAIN));
    char *key = NULL;
    assert_int_equal(ftrack_key_maker_key(*state, &item, 1, &key, NULL), FTRACK_OK);
    assert_string_equal(key, "{\"a\":1,\"b\":[1.5,{\"y\":2,\"z\":1}]}");
    assert_string_equal(json_object_to_json_string_ext(item, JSON_C_TO_STRING_PLAIN), before);
    assert_string_equal(before, "{\"b\":[1.50,{\"z\":1,\"y\":2}],\"a\":1}");
    free(before);
    ftrack_free(key);
    json_object_put(item);
}

/* ---- The vtable --------------------------------------------------------------------------- */

typedef struct counting_maker {
    ftrack_key_maker base;
    int calls;
} counting_maker;

static ftrack_status counting_key(ftrack_key_maker *maker, json_object *const *items, size_t count,
                                  char **key, ftrack_error *err)
{
    (void)items;
    (void)err;
    counting_maker *cm = (counting_maker *)maker;
    cm->calls++;
    if (count == 0)
        return FTRACK_ERR_INVALID_ARGUMENT; /* no message: the SDK writes one */
    char buf[32];
    snprintf(buf, sizeof(buf), "%zu items", count);
    *key = strdup(buf);
    return FTRACK_OK;
}

static void counting_destroy(ftrack_key_maker *maker)
{
    free(maker);
}

static const ftrack_key_maker_vtable counting_vtable = {
    .size = sizeof(ftrack_key_maker_vtable),
    .name = "counting",
    .key = counting_key,
    .destroy = counting_destroy,
};

static void test_user_key_maker(void **state)
{
    (void)state;
    counting_maker *cm = calloc(1, sizeof(*cm));
    cm->base.vtable = &counting_vtable;
    assert_key(&cm->base, "2 items", ITEMS("1", "2"));
    char *key = (char *)1;
    ftrack_error err;
    assert_int_equal(ftrack_key_maker_key(&cm->base, NULL, 0, &key, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    assert_null(key);
    assert_string_equal(err.message, "counting key maker failed: invalid argument");
    assert_int_equal(cm->calls, 2);
    ftrack_key_maker_free(&cm->base);
    ftrack_key_maker_free(NULL);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    ftrack_key_maker *maker = NULL;
    ftrack_error err;
    char *key = NULL;
    assert_int_equal(ftrack_string_key_maker_new(NULL, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_int_equal(ftrack_json_key_maker_new(&maker, &err), FTRACK_OK);
    assert_int_equal(ftrack_key_maker_key(maker, NULL, 2, &key, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_string_equal(err.message, "ftrack_key_maker_key: maker, key and items must not be NULL");
    assert_int_equal(ftrack_key_maker_key(NULL, NULL, 0, &key, &err), FTRACK_ERR_INVALID_ARGUMENT);
    static const ftrack_key_maker_vtable empty = {.size = sizeof(ftrack_key_maker_vtable)};
    ftrack_key_maker bad = {.vtable = &empty};
    assert_int_equal(ftrack_key_maker_key(&bad, NULL, 0, &key, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_string_equal(err.message, "ftrack_key_maker_key: the key maker's vtable is incomplete");
    ftrack_key_maker_free(maker);
}

/* The two makers as the session uses them: a key made from an entity's identity finds the
 * value cached under it. */
static void test_keys_address_a_cache(void **state)
{
    (void)state;
    ftrack_key_maker *maker = NULL;
    ftrack_cache *cache = NULL;
    assert_int_equal(ftrack_json_key_maker_new(&maker, NULL), FTRACK_OK);
    assert_int_equal(ftrack_memory_cache_new(0, &cache, NULL), FTRACK_OK);
    char *k1 = key_of(maker, ITEMS("\"Task\"", "{\"id\":\"1\",\"project\":\"p\"}"));
    char *k2 = key_of(maker, ITEMS("\"Task\"", "{\"project\":\"p\",\"id\":\"1\"}"));
    assert_int_equal(ftrack_cache_set_string(cache, k1, "{\"name\":\"t\"}", NULL), FTRACK_OK);
    void *value = NULL;
    assert_int_equal(ftrack_cache_get(cache, k2, &value, NULL, NULL), FTRACK_OK);
    assert_string_equal(value, "{\"name\":\"t\"}");
    ftrack_free(value);
    ftrack_free(k1);
    ftrack_free(k2);
    ftrack_cache_free(cache);
    ftrack_key_maker_free(maker);
}

int main(void)
{
    const struct CMUnitTest string_tests[] = {
        cmocka_unit_test_setup_teardown(test_string_single_object, setup_string, teardown),
        cmocka_unit_test_setup_teardown(test_string_multiple_objects, setup_string, teardown),
        cmocka_unit_test_setup_teardown(test_string_forms, setup_string, teardown),
        cmocka_unit_test_setup_teardown(test_string_no_items, setup_string, teardown),
        cmocka_unit_test_setup_teardown(test_string_null_item, setup_string, teardown),
        cmocka_unit_test_setup_teardown(test_string_nul_byte, setup_string, teardown),
    };
    const struct CMUnitTest json_tests[] = {
        cmocka_unit_test_setup_teardown(test_json_documented_example, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_json_key_order_does_not_matter, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_json_array_order_matters, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_json_no_collisions, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_json_strings_escaped, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_json_doubles, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_json_no_items, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_json_items_untouched, setup_json, teardown),
    };
    const struct CMUnitTest other_tests[] = {
        cmocka_unit_test(test_user_key_maker),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_keys_address_a_cache),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("string key maker", string_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("canonical JSON key maker", json_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("key maker vtable", other_tests, NULL, NULL);
    return failed ? 1 : 0;
}
