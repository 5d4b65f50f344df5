/* SPDX-License-Identifier: Apache-2.0 */
/* Discovery for SDK-only programs (sdk/src/plugin/discover.c), with the test plugins the build
 * places beside this executable (tests/plugins/<name>/). */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <ftrack/ftrack.h>
#include "plugin/discover.h"

static char logged[8192];

static void sink(const ftrack_log_record *r, void *user_data)
{
    (void)user_data;
    size_t used = strlen(logged);
    snprintf(logged + used, sizeof(logged) - used, "%d %s: %s\n", (int)r->level,
             r->component ? r->component : "-", r->message);
}

static void plugin_dir(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(out, size, "%s/plugins", exe);
}

static void test_discover_registers_and_filters(void **state)
{
    (void)state;
    char dir[PATH_MAX + 16], paths[2 * PATH_MAX + 128];
    plugin_dir(dir, sizeof(dir));
    snprintf(paths, sizeof(paths), "%s/typed:%s/noentry", dir, dir);
    logged[0] = '\0';
    ftrack_log_set_sink(sink, NULL);
    json_object *args = json_tokener_parse("{\"name\":\"n\",\"port\":1,\"zzz\":true}");
    ftrack_session *fake = (ftrack_session *)&logged; /* only compared, never used */
    ftrack_error err;
    assert_int_equal(fti_plugin_discover_for_session(fake, paths, args, &err), FTRACK_OK);
    json_object_put(args);
    ftrack_log_set_sink(NULL, NULL);
    printf("%s", logged);
    assert_non_null(strstr(logged, "registered plugin 'typed' 1.0.0"));
    assert_non_null(strstr(logged, "plugin 'typed' does not declare, and so does not receive, "
                                   "the arguments: zzz\n"));
    assert_non_null(strstr(logged, "test_plugin_noentry.so: no entry point"));
    fti_plugin_release_for_session(fake);
    fti_plugin_release_for_session(fake); /* a second release finds nothing */
}

static void test_discover_refuses_missing_required(void **state)
{
    (void)state;
    char dir[PATH_MAX + 16], paths[PATH_MAX + 64];
    plugin_dir(dir, sizeof(dir));
    snprintf(paths, sizeof(paths), "%s/typed", dir);
    logged[0] = '\0';
    ftrack_log_set_sink(sink, NULL);
    ftrack_session *fake = (ftrack_session *)&paths;
    assert_int_equal(fti_plugin_discover_for_session(fake, paths, NULL, NULL), FTRACK_OK);
    ftrack_log_set_sink(NULL, NULL);
    assert_non_null(strstr(logged, "refused plugin 'typed'"));
    assert_non_null(strstr(logged, "missing required parameter 'name'"));
    assert_null(strstr(logged, "registered plugin"));
    fti_plugin_release_for_session(fake);
    assert_int_equal(fti_plugin_discover_for_session(fake, "", NULL, NULL), FTRACK_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover_registers_and_filters),
        cmocka_unit_test(test_discover_refuses_missing_required),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
