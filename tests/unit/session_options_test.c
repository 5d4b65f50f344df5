/* SPDX-License-Identifier: Apache-2.0 */
/* Session options: defaults and the resolution of server, key and user (protocol §1.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "session/session_internal.h"
#include "test_support.h"

/* Every variable resolution may read; saved before each test and restored after it. */
static const char *const env_vars[] = {
    "FTRACK_SERVER",
    "FTRACK_API_KEY",
    "FTRACK_APIKEY",
    "FTRACK_API_USER",
    "LOGNAME",
    "USER",
    "LNAME",
    "USERNAME",
    "FTRACK_EVENT_PLUGIN_PATH",
    "FTRACK_API_SCHEMA_CACHE_PATH",
    "TMPDIR",
};
#define N_VARS (sizeof(env_vars) / sizeof(env_vars[0]))
static char *saved_env[N_VARS];

static int save_env(void **state)
{
    (void)state;
    test_env_save(env_vars, N_VARS, saved_env);
    return 0;
}

static int restore_env(void **state)
{
    (void)state;
    test_env_restore(env_vars, N_VARS, saved_env);
    return 0;
}

typedef struct resolved {
    ftrack_status status;
    ftrack_error err;
    char *url, *key, *user;
} resolved;

static resolved resolve(const ftrack_session_options *o)
{
    resolved r = {0};
    r.status = ftrack_session_resolve(o, &r.url, &r.key, &r.user, &r.err);
    return r;
}

static void resolved_free(resolved *r)
{
    ftrack_free(r->url);
    ftrack_free(r->key);
    ftrack_free(r->user);
}

static ftrack_session_options full_options(void)
{
    ftrack_session_options o;
    ftrack_session_options_init(&o);
    o.server_url = "https://example.ftrackapp.com";
    o.api_key = "KEY-OPTION";
    o.api_user = "opt-user";
    return o;
}

static void test_defaults(void **state)
{
    (void)state;
    ftrack_session_options o;
    memset(&o, 0xAB, sizeof(o));
    ftrack_session_options_init(&o);
    assert_int_equal(o.size, sizeof(o));
    assert_null(o.server_url);
    assert_null(o.api_key);
    assert_null(o.api_user);
    assert_true(o.auto_populate);
    assert_true(o.record_operations);
    assert_null(o.plugin_paths);
    assert_true(o.discover_plugins);
    assert_null(o.plugin_arguments);
    assert_null(o.schema_cache_path);
    assert_false(o.schema_cache_disabled);
    assert_null(o.cache);
    assert_null(o.key_maker);
    assert_false(o.auto_connect_event_hub);
    assert_true(o.check_server);
    assert_true(o.timeout == 60.0);
    assert_null(o.ca_bundle);
    assert_false(o.insecure_skip_verify);
    assert_false(o.strict_api);
    assert_null(o.headers);
    assert_int_equal(o.max_retries, 3);
}

static void test_options_win(void **state)
{
    (void)state;
    setenv("FTRACK_SERVER", "https://env.example.com", 1);
    setenv("FTRACK_API_KEY", "KEY-ENV", 1);
    setenv("FTRACK_API_USER", "env-user", 1);
    ftrack_session_options o = full_options();
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_OK);
    assert_string_equal(r.url, "https://example.ftrackapp.com");
    assert_string_equal(r.key, "KEY-OPTION");
    assert_string_equal(r.user, "opt-user");
    resolved_free(&r);
}

static void test_environment_fallbacks(void **state)
{
    (void)state;
    setenv("FTRACK_SERVER", "https://env.example.com/", 1);
    setenv("FTRACK_API_KEY", "KEY-ENV", 1);
    setenv("FTRACK_API_USER", "env-user", 1);
    resolved r = resolve(NULL);
    assert_int_equal(r.status, FTRACK_OK);
    assert_string_equal(r.url, "https://env.example.com");
    assert_string_equal(r.key, "KEY-ENV");
    assert_string_equal(r.user, "env-user");
    resolved_free(&r);
}

static void test_empty_option_falls_back(void **state)
{
    (void)state;
    setenv("FTRACK_SERVER", "https://env.example.com", 1);
    setenv("FTRACK_API_KEY", "KEY-ENV", 1);
    setenv("FTRACK_API_USER", "env-user", 1);
    ftrack_session_options o;
    ftrack_session_options_init(&o);
    o.server_url = "";
    o.api_key = "";
    o.api_user = "";
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_OK);
    assert_string_equal(r.url, "https://env.example.com");
    assert_string_equal(r.key, "KEY-ENV");
    assert_string_equal(r.user, "env-user");
    resolved_free(&r);
}

static void test_missing_server(void **state)
{
    (void)state;
    setenv("FTRACK_SERVER", "", 1); /* empty counts as missing */
    ftrack_session_options o = full_options();
    o.server_url = NULL;
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_ERR_CONFIG);
    assert_int_equal(r.err.code, FTRACK_ERR_CONFIG);
    assert_string_equal(r.err.message, "Required \"server_url\" not specified. Pass it as an "
                                       "option or set FTRACK_SERVER.");
    assert_null(r.url);
    assert_null(r.key);
    assert_null(r.user);
    assert_null(strstr(r.err.message, "KEY-OPTION"));
}

static void test_slash_only_server_is_missing(void **state)
{
    (void)state;
    ftrack_session_options o = full_options();
    o.server_url = "///";
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_ERR_CONFIG);
    assert_non_null(strstr(r.err.message, "server_url"));
}

static void test_missing_key(void **state)
{
    (void)state;
    setenv("FTRACK_API_KEY", "", 1);
    ftrack_session_options o = full_options();
    o.api_key = NULL;
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_ERR_CONFIG);
    assert_non_null(strstr(r.err.message, "\"api_key\""));
    assert_non_null(strstr(r.err.message, "FTRACK_API_KEY"));
    assert_null(r.url);
}

static void test_legacy_apikey(void **state)
{
    (void)state;
    setenv("FTRACK_APIKEY", "KEY-LEGACY", 1);
    ftrack_session_options o = full_options();
    o.api_key = NULL;
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_OK);
    assert_string_equal(r.key, "KEY-LEGACY");
    resolved_free(&r);

    setenv("FTRACK_API_KEY", "KEY-NEW", 1);
    r = resolve(&o);
    assert_int_equal(r.status, FTRACK_OK);
    assert_string_equal(r.key, "KEY-NEW");
    resolved_free(&r);

    setenv("FTRACK_API_KEY", "", 1); /* empty: the legacy name still counts */
    r = resolve(&o);
    assert_int_equal(r.status, FTRACK_OK);
    assert_string_equal(r.key, "KEY-LEGACY");
    resolved_free(&r);
}

static void test_user_from_login_variables(void **state)
{
    (void)state;
    ftrack_session_options o = full_options();
    o.api_user = NULL;
    setenv("USER", "from-user", 1);
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_OK);
    assert_string_equal(r.user, "from-user");
    resolved_free(&r);

    setenv("LOGNAME", "from-logname", 1);
    r = resolve(&o);
    assert_string_equal(r.user, "from-logname");
    resolved_free(&r);

    setenv("FTRACK_API_USER", "", 1); /* empty: still the login user */
    r = resolve(&o);
    assert_string_equal(r.user, "from-logname");
    resolved_free(&r);
}

static void test_user_from_system(void **state)
{
    (void)state;
    /* No variables at all: getlogin_r(), else the password database. */
    char expected[256] = "";
    if (getlogin_r(expected, sizeof(expected)) != 0 || !expected[0]) {
        struct passwd *pw = getpwuid(getuid());
        assert_non_null(pw);
        snprintf(expected, sizeof(expected), "%s", pw->pw_name);
    }
    ftrack_session_options o = full_options();
    o.api_user = NULL;
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_OK);
    assert_string_equal(r.user, expected);
    resolved_free(&r);
}

static void test_trailing_slashes_and_prefix(void **state)
{
    (void)state;
    ftrack_session_options o = full_options();
    o.server_url = "https://example.com/ftrack///";
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_OK);
    assert_string_equal(r.url, "https://example.com/ftrack");
    resolved_free(&r);
}

static void test_line_breaks_refused_without_quoting(void **state)
{
    (void)state;
    ftrack_session_options o = full_options();
    o.api_key = "SECRET\r\nX-Evil: 1";
    resolved r = resolve(&o);
    assert_int_equal(r.status, FTRACK_ERR_CONFIG);
    assert_null(strstr(r.err.message, "SECRET"));
    assert_null(r.key);

    o = full_options();
    o.api_user = "bob\nX-Evil: 1";
    r = resolve(&o);
    assert_int_equal(r.status, FTRACK_ERR_CONFIG);
}

static void test_null_out_pointers(void **state)
{
    (void)state;
    ftrack_session_options o = full_options();
    char *url = NULL;
    assert_int_equal(ftrack_session_resolve(&o, &url, NULL, NULL, NULL), FTRACK_OK);
    assert_string_equal(url, "https://example.ftrackapp.com");
    ftrack_free(url);
}

static void test_small_options_struct(void **state)
{
    (void)state;
    /* A caller built against a header that ended after api_user. */
    ftrack_session_options in = full_options();
    in.size = offsetof(ftrack_session_options, auto_populate);
    in.auto_populate = false;
    in.max_retries = 42;
    ftrack_session_options out;
    fti_session_options_copy(&in, &out);
    assert_int_equal(out.size, sizeof(out));
    assert_string_equal(out.server_url, "https://example.ftrackapp.com");
    assert_true(out.auto_populate);
    assert_int_equal(out.max_retries, 3);
}

static void test_plugin_paths(void **state)
{
    (void)state;
    ftrack_session_options o = full_options();
    char *paths = fti_resolve_plugin_paths(&o);
    assert_null(paths);
    setenv("FTRACK_EVENT_PLUGIN_PATH", "/a:/b", 1);
    paths = fti_resolve_plugin_paths(&o);
    assert_string_equal(paths, "/a:/b");
    free(paths);
    o.plugin_paths = "/c";
    paths = fti_resolve_plugin_paths(&o);
    assert_string_equal(paths, "/c");
    free(paths);
}

static void test_schema_cache_path(void **state)
{
    (void)state;
    ftrack_session_options o = full_options();
    char *path = fti_resolve_schema_cache_path(&o);
    assert_string_equal(path, "/tmp");
    free(path);
    setenv("TMPDIR", "/var/tmp", 1);
    path = fti_resolve_schema_cache_path(&o);
    assert_string_equal(path, "/var/tmp");
    free(path);
    setenv("FTRACK_API_SCHEMA_CACHE_PATH", "/env/cache", 1);
    path = fti_resolve_schema_cache_path(&o);
    assert_string_equal(path, "/env/cache");
    free(path);
    o.schema_cache_path = "/opt/cache";
    path = fti_resolve_schema_cache_path(&o);
    assert_string_equal(path, "/opt/cache");
    free(path);
    o.schema_cache_disabled = true;
    assert_null(fti_resolve_schema_cache_path(&o));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, save_env, restore_env)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_options_win),
        T(test_environment_fallbacks),
        T(test_empty_option_falls_back),
        T(test_missing_server),
        T(test_slash_only_server_is_missing),
        T(test_missing_key),
        T(test_legacy_apikey),
        T(test_user_from_login_variables),
        T(test_user_from_system),
        T(test_trailing_slashes_and_prefix),
        T(test_line_breaks_refused_without_quoting),
        T(test_null_out_pointers),
        T(test_small_options_struct),
        T(test_plugin_paths),
        T(test_schema_cache_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
