/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration file (host/config/config.c) and the listen/option helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/host_options.h"

static ftrack_status parse_text(const char *text, fth_config *c, ftrack_error *err)
{
    json_object *doc = json_tokener_parse(text);
    assert_non_null(doc);
    ftrack_status st = fth_config_parse(doc, "test.json", c, err);
    json_object_put(doc);
    return st;
}

static void test_full_config(void **state)
{
    (void)state;
    fth_config c;
    ftrack_error err;
    assert_int_equal(
        parse_text("{\"arguments\":{\"a\":1},\"plugin_paths\":[\"/x\",\"/y\"],"
                   "\"queue_capacity\":50,\"drain_timeout\":2.5,\"log_level\":\"debug\","
                   "\"plugins\":{\"hook-a\":{\"plugin\":\"webhook\",\"arguments\":{\"url\":\"u\"}},"
                   "\"hook-b\":{\"plugin\":\"webhook\",\"queue_capacity\":7},"
                   "\"audit\":{\"enabled\":false}}}",
                   &c, &err),
        FTRACK_OK);
    assert_string_equal(c.plugin_paths, "/x:/y");
    assert_int_equal(c.queue_capacity, 50);
    assert_true(c.drain_timeout > 2.4 && c.drain_timeout < 2.6);
    assert_true(c.has_log_level);
    assert_int_equal(c.log_level, FTRACK_LOG_DEBUG);
    assert_int_equal(json_object_get_int(json_object_object_get(c.arguments, "a")), 1);
    assert_int_equal(c.instance_count, 3);
    const fth_config_instance *found[4];
    assert_int_equal(fth_config_instances_of(&c, "webhook", found, 4), 2);
    assert_string_equal(found[0]->name, "hook-a");
    assert_string_equal(found[1]->name, "hook-b");
    assert_int_equal(found[1]->queue_capacity, 7);
    assert_null(found[1]->arguments);
    assert_non_null(found[0]->arguments);
    assert_int_equal(fth_config_instances_of(&c, "audit", found, 4), 1);
    assert_false(found[0]->enabled);
    assert_string_equal(found[0]->plugin, "audit");
    fth_config_clear(&c);
}

static void expect_error(const char *text, const char *needle)
{
    fth_config c;
    ftrack_error err;
    ftrack_error_clear(&err);
    assert_int_equal(parse_text(text, &c, &err), FTRACK_ERR_CONFIG);
    if (!strstr(err.message, needle))
        fail_msg("message '%s' lacks '%s'", err.message, needle);
    assert_non_null(strstr(err.message, "test.json"));
    fth_config_clear(&c);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("[]", "must be a JSON object");
    expect_error("{\"argumnets\":{}}", "unknown key \"argumnets\"");
    expect_error("{\"arguments\":[]}", "\"arguments\" must be an object");
    expect_error("{\"plugin_paths\":[1]}", "plugin_paths");
    expect_error("{\"queue_capacity\":0}", "queue_capacity");
    expect_error("{\"drain_timeout\":-1}", "drain_timeout");
    expect_error("{\"log_level\":\"loud\"}", "log_level");
    expect_error("{\"plugins\":{\"Bad Name\":{}}}", "not a valid instance name");
    expect_error("{\"plugins\":{\"a\":{\"plugn\":\"x\"}}}", "unknown key \"plugn\"");
    expect_error("{\"plugins\":{\"a\":{\"arguments\":3}}}", "plugins.a.arguments");
    expect_error("{\"plugins\":{\"a\":{\"enabled\":1}}}", "plugins.a.enabled");
    expect_error("{\"plugins\":[]}", "\"plugins\" must be an object");
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ftrack-config-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\n  \"arguments\": {\"a\": 1},\n  \"plugins\": {\n}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    fth_config c;
    ftrack_error err;
    assert_int_equal(fth_config_load(path, &c, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "not valid JSON"));
    assert_non_null(strstr(err.message, path));
    fth_config_clear(&c);
    FILE *f = fopen(path, "w");
    fputs("{\"plugin_paths\": \"/a:/b\"}\n", f);
    fclose(f);
    assert_int_equal(fth_config_load(path, &c, &err), FTRACK_OK);
    assert_string_equal(c.plugin_paths, "/a:/b");
    fth_config_clear(&c);
    unlink(path);
    assert_int_equal(fth_config_load(path, &c, &err), FTRACK_ERR_IO);
    fth_config_clear(&c);
}

static void test_listen(void **state)
{
    (void)state;
    char *host = NULL;
    int port = 0;
    assert_true(fth_parse_listen("127.0.0.1:0", &host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 0);
    free(host);
    assert_true(fth_parse_listen("[::1]:9091", &host, &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9091);
    free(host);
    assert_true(fth_parse_listen(":9092", &host, &port));
    assert_null(host);
    assert_int_equal(port, 9092);
    assert_false(fth_parse_listen("localhost", &host, &port));
    assert_false(fth_parse_listen("h:70000", &host, &port));
    assert_false(fth_parse_listen("h:x", &host, &port));
    assert_false(fth_parse_listen("[::1]9", &host, &port));
}

static void test_options(void **state)
{
    (void)state;
    char *argv[] = {"run",   "--plugin-path", "/a", "--plugin-arg", "k=v=w", "--plugin-path",
                    "/b:/c", "--plugin-arg",  "n=", "--log-level",  "debug", NULL};
    fth_host_options o;
    assert_int_equal(fth_host_options_parse(11, argv, FTH_OPTIONS_RUN, &o), 0);
    assert_string_equal(o.plugin_paths, "/a:/b:/c");
    assert_string_equal(json_object_get_string(json_object_object_get(o.text_arguments, "k")),
                        "v=w");
    assert_string_equal(json_object_get_string(json_object_object_get(o.text_arguments, "n")), "");
    char *paths = fth_resolve_plugin_paths(&o);
    assert_string_equal(paths, "/a:/b:/c");
    free(paths);
    fth_host_options_clear(&o);

    char *bad[] = {"run", "--plugin-arg", "novalue", NULL};
    assert_int_equal(fth_host_options_parse(3, bad, FTH_OPTIONS_RUN, &o), FTH_OPTIONS_INVALID);
    fth_host_options_clear(&o);
    char *listen_for_plugins[] = {"plugins", "--listen", "x:1", NULL};
    assert_int_equal(fth_host_options_parse(3, listen_for_plugins, FTH_OPTIONS_PLUGINS, &o), FTH_OPTIONS_INVALID);
    fth_host_options_clear(&o);
    char *stray[] = {"run", "extra", NULL};
    assert_int_equal(fth_host_options_parse(2, stray, FTH_OPTIONS_RUN, &o), FTH_OPTIONS_INVALID);
    fth_host_options_clear(&o);

    setenv("FTRACK_EVENT_PLUGIN_PATH", "/from/env", 1);
    char *none[] = {"run", NULL};
    assert_int_equal(fth_host_options_parse(1, none, FTH_OPTIONS_RUN, &o), 0);
    paths = fth_resolve_plugin_paths(&o);
    assert_string_equal(paths, "/from/env");
    free(paths);
    fth_host_options_clear(&o);
    unsetenv("FTRACK_EVENT_PLUGIN_PATH");
}

/* Python plugins (docs/python-plugins.md): the file's keys, under the flag and environment. */
static void test_python_keys(void **state)
{
    (void)state;
    fth_config c;
    ftrack_error err;
    ftrack_error_clear(&err);
    assert_int_equal(parse_text("{\"python_plugins\":true,\"python\":\"/venv/bin/python\"}", &c,
                                &err),
                     FTRACK_OK);
    assert_true(c.python_plugins);
    assert_string_equal(c.python, "/venv/bin/python");

    fth_host_options o;
    memset(&o, 0, sizeof(o));
    bool enabled = false;
    const char *python = NULL;
    fth_python_settings(&o, &c, &enabled, &python); /* the file */
    assert_true(enabled);
    assert_string_equal(python, "/venv/bin/python");
    o.has_python_plugins = true; /* FTRACK_HOST_PYTHON_PLUGINS=0 wins over the file */
    o.python_plugins = false;
    o.python = "/other/python";
    fth_python_settings(&o, &c, &enabled, &python);
    assert_false(enabled);
    assert_string_equal(python, "/other/python");
    fth_config_clear(&c);

    assert_int_equal(parse_text("{\"python_plugins\":\"yes\"}", &c, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "\"python_plugins\" must be true or false"));
    assert_int_equal(parse_text("{\"python\":\"\"}", &c, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "\"python\" must be the path or name"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load_file),   cmocka_unit_test(test_listen),
        cmocka_unit_test(test_options),     cmocka_unit_test(test_python_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
