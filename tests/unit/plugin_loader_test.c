/* The scan: order, what counts as a candidate, the trust checks before dlopen
 * (sdk/src/plugin/loader.c). Real plugins are covered by tests/integration/test_plugins_*.sh;
 * here the files are not shared objects, so dlopen itself must refuse them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <ftrack/plugin_loader.h>

static char root[256];

static void write_file(const char *rel, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not an ELF file\n", f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void make_dir(const char *rel, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/ftrack-loader-test-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *rel(const ftrack_plugin_set *set, size_t i)
{
    return ftrack_plugin_set_path(set, i) + strlen(root) + 1;
}

static void test_sorted_recursive_and_refusals(void **state)
{
    (void)state;
    make_dir("b", 0755);
    make_dir("a", 0755);
    make_dir("open", 0777);
    write_file("b/z.so", 0644);
    write_file("a/y.so", 0644);
    write_file("a/readme.txt", 0644);
    write_file("a/libx.so.1", 0644);
    write_file("c.so", 0666);
    write_file("open/inside.so", 0644);
    /* A link to a folder is not followed (no loops). */
    char link[512];
    snprintf(link, sizeof(link), "%s/a/loop", root);
    assert_int_equal(symlink(root, link), 0);

    char paths[600];
    snprintf(paths, sizeof(paths), " %s/ ::/nonexistent-ftrack-folder", root);
    ftrack_plugin_set *set = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_plugin_set_scan(paths, &set, &err), FTRACK_OK);
    assert_int_equal(ftrack_plugin_set_count(set), 4);
    assert_string_equal(rel(set, 0), "a/y.so");
    assert_string_equal(rel(set, 1), "b/z.so");
    assert_string_equal(rel(set, 2), "c.so");
    assert_string_equal(rel(set, 3), "open/inside.so");
    for (size_t i = 0; i < 4; i++) {
        assert_null(ftrack_plugin_set_descriptor(set, i));
        assert_int_equal(ftrack_plugin_set_abi_version(set, i), 0);
        assert_non_null(ftrack_plugin_set_refusal(set, i));
    }
    assert_non_null(strstr(ftrack_plugin_set_refusal(set, 0), "failed to load"));
    assert_non_null(strstr(ftrack_plugin_set_refusal(set, 2), "writable by everyone"));
    assert_null(strstr(ftrack_plugin_set_refusal(set, 2), "failed to load"));
    assert_non_null(strstr(ftrack_plugin_set_refusal(set, 3), "folder"));
    assert_non_null(strstr(ftrack_plugin_set_refusal(set, 3), "writable by everyone"));
    assert_int_equal(ftrack_plugin_set_find(set, "y"), -1);
    assert_null(ftrack_plugin_set_path(set, 99));
    ftrack_plugin_set_free(set);
}

static void test_writable_root_taints_all(void **state)
{
    (void)state;
    make_dir("w", 0777);
    make_dir("w/deep", 0755);
    write_file("w/deep/p.so", 0644);
    char paths[300];
    snprintf(paths, sizeof(paths), "%s/w", root);
    ftrack_plugin_set *set = NULL;
    assert_int_equal(ftrack_plugin_set_scan(paths, &set, NULL), FTRACK_OK);
    assert_int_equal(ftrack_plugin_set_count(set), 1);
    assert_non_null(strstr(ftrack_plugin_set_refusal(set, 0), "writable by everyone"));
    ftrack_plugin_set_free(set);
}

static void test_empty_paths(void **state)
{
    (void)state;
    ftrack_plugin_set *set = NULL;
    assert_int_equal(ftrack_plugin_set_scan(NULL, &set, NULL), FTRACK_OK);
    assert_int_equal(ftrack_plugin_set_count(set), 0);
    ftrack_plugin_set_free(set);
    ftrack_plugin_set_free(NULL);
    assert_int_equal(ftrack_plugin_set_scan("", NULL, NULL), FTRACK_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sorted_recursive_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable_root_taints_all, setup, teardown),
        cmocka_unit_test(test_empty_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
