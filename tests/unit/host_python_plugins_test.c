/* SPDX-License-Identifier: Apache-2.0 */
/* Python plugins (host/isolation/python_plugins.c): finding the .py files, naming their
 * instances, their arguments, the runner's command and the interpreter check. (The
 * configuration keys that turn them on: host_config_test.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "isolation/python_plugins.h"

static void write_file(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("def register(session):\n    pass\n", f);
    fclose(f);
}

static void test_names(void **state)
{
    (void)state;
    static const char *cases[][2] = {
        {"/p/create_folders.py", "create_folders"},
        {"/p/Off Plugin.py", "off_plugin"},
        {"relative/My-Action.v2.py", "my-action_v2"},
        {"/p/" "a123456789b123456789c123456789d123456789e123456789f123456789g123456789.py",
         "a123456789b123456789c123456789d123456789e123456789f123456789g123"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *name = fth_python_plugin_name(cases[i][0]);
        assert_string_equal(name, cases[i][1]);
        free(name);
    }
}

static void test_arguments(void **state)
{
    (void)state;
    json_object *shared = json_tokener_parse("{\"a\":1,\"b\":2,\"c\":3}");
    json_object *text = json_tokener_parse("{\"b\":\"text\"}");
    json_object *own = json_tokener_parse("{\"c\":[4],\"d\":null}");
    char *json = fth_python_arguments(shared, text, own);
    assert_string_equal(json, "{\"a\":1,\"b\":\"text\",\"c\":[4],\"d\":null}");
    free(json);
    json = fth_python_arguments(NULL, NULL, NULL);
    assert_string_equal(json, "{}");
    free(json);
    json_object_put(shared);
    json_object_put(text);
    json_object_put(own);
}

static void test_scan(void **state)
{
    (void)state;
    char root[] = "/tmp/ftrack-pyscan.XXXXXX";
    assert_non_null(mkdtemp(root));
    char path[512];
    snprintf(path, sizeof(path), "%s/b.py", root);
    write_file(path);
    snprintf(path, sizeof(path), "%s/a.py", root);
    write_file(path);
    snprintf(path, sizeof(path), "%s/notes.txt", root);
    write_file(path);
    snprintf(path, sizeof(path), "%s/sub", root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/sub/c.py", root);
    write_file(path);
    snprintf(path, sizeof(path), "%s/open", root); /* anyone may write here */
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(chmod(path, 0777), 0);
    snprintf(path, sizeof(path), "%s/open/d.py", root);
    write_file(path);
    char target[512];
    snprintf(target, sizeof(target), "%s/sub", root);
    snprintf(path, sizeof(path), "%s/link", root); /* a link to a folder is not followed */
    assert_int_equal(symlink(target, path), 0);

    char **files = NULL, **refused = NULL;
    size_t n = 0, nr = 0;
    char paths[1100];
    snprintf(paths, sizeof(paths), "%s/:/nonexistent", root);
    assert_true(fth_python_scan(paths, &files, &n, &refused, &nr));
    assert_int_equal(n, 3);
    snprintf(path, sizeof(path), "%s/a.py", root);
    assert_string_equal(files[0], path);
    snprintf(path, sizeof(path), "%s/b.py", root);
    assert_string_equal(files[1], path);
    snprintf(path, sizeof(path), "%s/sub/c.py", root);
    assert_string_equal(files[2], path);
    assert_int_equal(nr, 1);
    assert_non_null(strstr(refused[0], "/open/d.py: the folder "));
    assert_non_null(strstr(refused[0], "is writable by everyone"));
    fth_python_files_free(files, n);
    fth_python_files_free(refused, nr);

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_command_and_check(void **state)
{
    (void)state;
    const char *const *argv = fth_python_command(NULL);
    assert_string_equal(argv[0], "python3");
    assert_non_null(strstr(argv[1], "ftrack_host_runner.py"));
    assert_null(argv[2]);
    ftrack_error err;
    ftrack_error_clear(&err);
    assert_int_equal(fth_python_check("/nonexistent/python", &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "/nonexistent/python cannot (cannot run"));
    assert_int_equal(fth_python_descriptor()->register_fn(NULL, NULL, NULL, NULL, &err),
                     FTRACK_ERR_PLUGIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_command_and_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
