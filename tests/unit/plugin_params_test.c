/* SPDX-License-Identifier: Apache-2.0 */
/* Argument filtering and parameter validation (sdk/src/plugin/params.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <ftrack/plugin_loader.h>
#include "plugin/params.h"

static ftrack_status reg(ftrack_plugin_context *c, ftrack_session *s, json_object *a, void **st,
                         ftrack_error *e)
{
    (void)c, (void)s, (void)a, (void)st, (void)e;
    return FTRACK_OK;
}

static const ftrack_plugin_param params[] = {
    {"name", FTRACK_PARAM_STRING, true, NULL, "who"},
    {"port", FTRACK_PARAM_INT, false, "8080", NULL},
    {"ratio", FTRACK_PARAM_DOUBLE, false, "1", NULL},
    {"enabled", FTRACK_PARAM_BOOL, false, "false", NULL},
    {"extra", FTRACK_PARAM_JSON, false, NULL, NULL},
};

static const ftrack_plugin_descriptor_v1 desc = {
    1, sizeof(ftrack_plugin_descriptor_v1), "sample", "1.0", "d", params, 5, reg, NULL, {0}};

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

static ftrack_status filter(const char *shared, const char *text, const char *instance,
                            json_object **out, json_object **dropped, ftrack_error *err)
{
    ftrack_plugin_arguments a;
    ftrack_plugin_arguments_init(&a);
    a.shared = shared ? parse(shared) : NULL;
    a.text = text ? parse(text) : NULL;
    a.instance = instance ? parse(instance) : NULL;
    ftrack_status st = ftrack_plugin_filter_arguments(&desc, &a, out, dropped, err);
    json_object_put(a.shared);
    json_object_put(a.text);
    json_object_put(a.instance);
    return st;
}

static void assert_json(json_object *o, const char *expected)
{
    json_object *e = parse(expected);
    if (!json_object_equal(o, e))
        fail_msg("got %s, expected %s", json_object_to_json_string(o), expected);
    json_object_put(e);
}

static void test_text_values_convert_and_defaults_apply(void **state)
{
    (void)state;
    json_object *out = NULL, *dropped = NULL;
    ftrack_error err;
    assert_int_equal(filter(NULL,
                            "{\"name\":\"x\",\"port\":\"5\",\"enabled\":\"true\","
                            "\"extra\":\"[1,{\\\"a\\\":2}]\"}",
                            NULL, &out, &dropped, &err),
                     FTRACK_OK);
    assert_json(out, "{\"name\":\"x\",\"port\":5,\"ratio\":1.0,\"enabled\":true,"
                     "\"extra\":[1,{\"a\":2}]}");
    assert_true(json_object_is_type(json_object_object_get(out, "ratio"), json_type_double));
    assert_int_equal(json_object_array_length(dropped), 0);
    json_object_put(out);
    json_object_put(dropped);
}

static void test_dropped_names_sorted_unique(void **state)
{
    (void)state;
    json_object *out = NULL, *dropped = NULL;
    ftrack_error err;
    assert_int_equal(filter("{\"name\":\"x\",\"zeta\":1,\"alpha\":2}",
                            "{\"alpha\":\"3\",\"mid\":\"\"}", NULL, &out, &dropped, &err),
                     FTRACK_OK);
    assert_json(dropped, "[\"alpha\",\"mid\",\"zeta\"]");
    json_object_put(out);
    json_object_put(dropped);
}

static void test_precedence_instance_text_shared(void **state)
{
    (void)state;
    json_object *out = NULL;
    ftrack_error err;
    assert_int_equal(filter("{\"name\":\"shared\",\"port\":1}", "{\"name\":\"text\"}",
                            "{\"port\":3}", &out, NULL, &err),
                     FTRACK_OK);
    assert_json(out, "{\"name\":\"text\",\"port\":3,\"ratio\":1.0,\"enabled\":false}");
    json_object_put(out);
    assert_int_equal(filter("{\"name\":\"shared\"}", "{\"name\":\"text\"}", "{\"name\":\"inst\"}",
                            &out, NULL, &err),
                     FTRACK_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(out, "name")), "inst");
    json_object_put(out);
}

static void test_missing_required(void **state)
{
    (void)state;
    json_object *out = NULL;
    ftrack_error err;
    assert_int_equal(filter("{}", NULL, NULL, &out, NULL, &err), FTRACK_ERR_PLUGIN);
    assert_null(out);
    assert_non_null(strstr(err.message, "missing required parameter 'name'"));
}

static void test_wrong_types(void **state)
{
    (void)state;
    json_object *out = NULL;
    ftrack_error err;
    /* Config JSON is checked, not converted: "5" is a string. */
    assert_int_equal(filter("{\"name\":\"x\",\"port\":\"5\"}", NULL, NULL, &out, NULL, &err),
                     FTRACK_ERR_PLUGIN);
    assert_non_null(strstr(err.message, "'port'"));
    assert_non_null(strstr(err.message, "got a string"));
    assert_int_equal(filter(NULL, "{\"name\":\"x\",\"port\":\"5x\"}", NULL, &out, NULL, &err),
                     FTRACK_ERR_PLUGIN);
    assert_non_null(strstr(err.message, "'port' (int) from the command line"));
    assert_int_equal(filter(NULL, "{\"name\":\"x\",\"enabled\":\"maybe\"}", NULL, &out, NULL, &err),
                     FTRACK_ERR_PLUGIN);
    assert_non_null(strstr(err.message, "'enabled'"));
    /* The value itself is never repeated (it could be a secret). */
    assert_null(strstr(err.message, "maybe"));
    assert_int_equal(filter(NULL, "{\"name\":\"x\",\"extra\":\"{nope\"}", NULL, &out, NULL, &err),
                     FTRACK_ERR_PLUGIN);
    assert_int_equal(filter("{\"name\":\"x\",\"ratio\":true}", NULL, NULL, &out, NULL, &err),
                     FTRACK_ERR_PLUGIN);
    assert_int_equal(
        filter(NULL, "{\"name\":\"x\",\"port\":\"99999999999999999999\"}", NULL, &out, NULL, &err),
        FTRACK_ERR_PLUGIN);
    /* An int is fine for a double. */
    assert_int_equal(filter("{\"name\":\"x\",\"ratio\":2}", NULL, NULL, &out, NULL, &err),
                     FTRACK_OK);
    assert_true(json_object_is_type(json_object_object_get(out, "ratio"), json_type_double));
    json_object_put(out);
}

static void test_instance_undeclared_is_error(void **state)
{
    (void)state;
    json_object *out = NULL;
    ftrack_error err;
    assert_int_equal(filter(NULL, NULL, "{\"name\":\"x\",\"prot\":1}", &out, NULL, &err),
                     FTRACK_ERR_PLUGIN);
    assert_non_null(strstr(err.message, "'prot'"));
    assert_non_null(strstr(err.message, "does not declare"));
}

static void test_params_validation(void **state)
{
    (void)state;
    char why[256];
    assert_true(fti_plugin_params_valid(params, 5, why, sizeof(why)));
    const ftrack_plugin_param twice[] = {{"a", FTRACK_PARAM_INT, false, NULL, NULL},
                                         {"a", FTRACK_PARAM_INT, false, NULL, NULL}};
    assert_false(fti_plugin_params_valid(twice, 2, why, sizeof(why)));
    assert_non_null(strstr(why, "declared twice"));
    const ftrack_plugin_param bad_default[] = {{"a", FTRACK_PARAM_INT, false, "\"x\"", NULL}};
    assert_false(fti_plugin_params_valid(bad_default, 1, why, sizeof(why)));
    const ftrack_plugin_param not_json[] = {{"a", FTRACK_PARAM_JSON, false, "{", NULL}};
    assert_false(fti_plugin_params_valid(not_json, 1, why, sizeof(why)));
    const ftrack_plugin_param bad_type[] = {{"a", (ftrack_param_type)42, false, NULL, NULL}};
    assert_false(fti_plugin_params_valid(bad_type, 1, why, sizeof(why)));
    const ftrack_plugin_param bad_name[] = {{"a b", FTRACK_PARAM_INT, false, NULL, NULL}};
    assert_false(fti_plugin_params_valid(bad_name, 1, why, sizeof(why)));
    assert_false(fti_plugin_params_valid(NULL, 3, why, sizeof(why)));
}

static void test_text_bool_and_json_forms(void **state)
{
    (void)state;
    const ftrack_plugin_param b = {"b", FTRACK_PARAM_BOOL, false, NULL, NULL};
    const ftrack_plugin_param j = {"j", FTRACK_PARAM_JSON, false, NULL, NULL};
    const ftrack_plugin_param d = {"d", FTRACK_PARAM_DOUBLE, false, NULL, NULL};
    char why[256];
    json_object *v = NULL;
    json_object *text = json_object_new_string("FALSE");
    assert_true(fti_plugin_param_convert(&b, text, true, &v, why, sizeof(why)));
    assert_false(json_object_get_boolean(v));
    json_object_put(v);
    json_object_put(text);
    text = json_object_new_string(" 3 ");
    assert_true(fti_plugin_param_convert(&j, text, true, &v, why, sizeof(why)));
    assert_int_equal(json_object_get_int(v), 3);
    json_object_put(v);
    json_object_put(text);
    text = json_object_new_string("nan");
    assert_false(fti_plugin_param_convert(&d, text, true, &v, why, sizeof(why)));
    json_object_put(text);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(ftrack_plugin_param_type_name(FTRACK_PARAM_JSON), "json");
    assert_string_equal(ftrack_plugin_param_type_name((ftrack_param_type)0), "unknown");
    size_t n = 0;
    const unsigned *v = ftrack_plugin_abi_versions(&n);
    assert_int_equal(n, 1);
    assert_int_equal(v[0], FTRACK_PLUGIN_ABI_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_values_convert_and_defaults_apply),
        cmocka_unit_test(test_dropped_names_sorted_unique),
        cmocka_unit_test(test_precedence_instance_text_shared),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_instance_undeclared_is_error),
        cmocka_unit_test(test_params_validation),
        cmocka_unit_test(test_text_bool_and_json_forms),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
