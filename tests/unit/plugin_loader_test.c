/* SPDX-License-Identifier: Apache-2.0 */
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

/* The refusal of the only file a scan of root/<folder> finds. */
static char *refusal_in(const char *folder)
{
    char paths[300];
    snprintf(paths, sizeof(paths), "%s/%s", root, folder);
    ftrack_plugin_set *set = NULL;
    assert_int_equal(ftrack_plugin_set_scan(paths, &set, NULL), FTRACK_OK);
    assert_int_equal(ftrack_plugin_set_count(set), 1);
    char *why = strdup(ftrack_plugin_set_refusal(set, 0));
    ftrack_plugin_set_free(set);
    return why;
}

static void assert_refused(const char *folder, const char *words, const char *names)
{
    char *why = refusal_in(folder);
    if (!strstr(why, words) || !strstr(why, names))
        fail_msg("%s: '%s' lacks '%s' or '%s'", folder, why, words, names);
    free(why);
}

/* StrictModes: group-writable files and folders (also above a link's target) and files of
 * another user are refused before dlopen; a trusted file reaches dlopen. */
static void test_strict_modes(void **state)
{
    (void)state;
    make_dir("ok", 0755);
    write_file("ok/p.so", 0644);
    assert_refused("ok", "failed to load", "");
    make_dir("gfile", 0755);
    write_file("gfile/p.so", 0664);
    assert_refused("gfile", "writable by its group", "gfile/p.so");
    make_dir("gdir", 0775);
    make_dir("gdir/sub", 0755);
    write_file("gdir/sub/p.so", 0644);
    assert_refused("gdir/sub", "gdir is writable by its group", "folder ");
    /* A link in a trusted folder to a file in a group-writable one. */
    make_dir("links", 0755);
    char target[512], link[512];
    snprintf(target, sizeof(target), "%s/gdir/t.so", root);
    snprintf(link, sizeof(link), "%s/links/l.so", root);
    write_file("gdir/t.so", 0644);
    assert_int_equal(symlink(target, link), 0);
    assert_refused("links", "writable by its group", "/gdir");
    ftrack_error err;
    ftrack_error_clear(&err);
    assert_int_equal(ftrack_plugin_file_trusted(link, &err), FTRACK_ERR_PLUGIN);
    assert_non_null(strstr(err.message, "writable by its group"));
    snprintf(target, sizeof(target), "%s/ok/p.so", root);
    assert_int_equal(ftrack_plugin_file_trusted(target, &err), FTRACK_OK);
    /* A file of another user, where this test may hand one over (as root). */
    make_dir("other", 0755);
    write_file("other/p.so", 0644);
    snprintf(target, sizeof(target), "%s/other/p.so", root);
    if (geteuid() == 0) {
        assert_int_equal(chown(target, 65534, 65534), 0);
        assert_refused("other", "belongs to user 65534", "other/p.so");
    }
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
        cmocka_unit_test_setup_teardown(test_strict_modes, setup, teardown),
        cmocka_unit_test(test_empty_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
