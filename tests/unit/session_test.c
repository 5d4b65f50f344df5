/* SPDX-License-Identifier: Apache-2.0 */
/* The session: open against a local responder, version check, schemas and their cache, close,
 * per-thread flags and concurrent calls (protocol §1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/internal.h"
#include "http_responder.h"
#include "session/session_internal.h"
#include "test_support.h"

#define KEY "k3y-5ecret-2b7d-41aa"
#define USER "jane"

/* Python's hash of these schemas, computed with
 * hashlib.md5(json.dumps(schemas, sort_keys=True).encode()).hexdigest(). */
#define SCHEMAS                                                                                    \
    "[{\"id\": \"Foo\", \"type\": \"object\", \"properties\": {\"id\": {\"type\": \"string\"}, "   \
    "\"string\": {\"type\": \"string\"}, \"integer\": {\"type\": \"integer\"}, \"number\": "       \
    "{\"type\": \"number\"}, \"boolean\": {\"type\": \"boolean\"}, \"bars\": {\"type\": "          \
    "\"array\", \"items\": {\"ref\": \"$Bar\"}}, \"date\": {\"type\": \"string\", \"format\": "    \
    "\"date-time\"}}, \"immutable\": [\"id\"], \"primary_key\": [\"id\"], \"required\": "          \
    "[\"id\"], \"default_projections\": [\"id\"]}, {\"id\": \"Bar\", \"type\": \"object\", "       \
    "\"properties\": {\"id\": {\"type\": \"string\"}, \"name\": {\"type\": \"string\"}, "          \
    "\"computed_value\": {\"type\": \"string\"}}, \"computed\": [\"computed_value\"], "            \
    "\"immutable\": [\"id\"], \"primary_key\": [\"id\"], \"required\": [\"id\"], "                 \
    "\"default_projections\": [\"id\"], \"x\": [1.5, 1e16, \"\xc3\xa9\xf0\x9f\x98\x80\"]}]"
#define SCHEMAS_PYTHON_HASH "699324502761883d48494fa957c4a248"

static const char *const env_vars[] = {"FTRACK_SERVER",
                                       "FTRACK_API_KEY",
                                       "FTRACK_APIKEY",
                                       "FTRACK_API_USER",
                                       "FTRACK_EVENT_PLUGIN_PATH",
                                       "FTRACK_API_SCHEMA_CACHE_PATH",
                                       "http_proxy",
                                       "no_proxy"};
#define N_VARS (sizeof(env_vars) / sizeof(env_vars[0]))

/* A fake server: answers query_server_information with `info` and query_schemas with SCHEMAS,
 * anything else by echoing {"action": ...}. */
typedef struct server {
    pthread_mutex_t lock;
    char info[512];
    int schema_queries;
} server;

typedef struct fixture {
    http_responder *r;
    server srv;
    char cache_dir[128];
    char *saved_env[N_VARS];
} fixture;

static void server_handler(const http_request_record *request, int *status, char **body, void *ud)
{
    server *srv = ud;
    json_object *ops = json_tokener_parse(request->body);
    json_object *results = json_object_new_array();
    size_t n = json_object_is_type(ops, json_type_array) ? json_object_array_length(ops) : 0;
    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < n; i++) {
        const char *action = json_object_get_string(
            json_object_object_get(json_object_array_get_idx(ops, i), "action"));
        json_object *r;
        if (action && strcmp(action, "query_server_information") == 0) {
            r = json_tokener_parse(srv->info);
        } else if (action && strcmp(action, "query_schemas") == 0) {
            r = json_tokener_parse(SCHEMAS);
            srv->schema_queries++;
        } else {
            r = json_object_new_object();
            json_object_object_add(r, "action", json_object_new_string(action ? action : ""));
        }
        json_object_array_add(results, r);
    }
    pthread_mutex_unlock(&srv->lock);
    *status = 200;
    *body = strdup(json_object_to_json_string(results));
    json_object_put(results);
    json_object_put(ops);
}

static void set_info(fixture *f, const char *info)
{
    pthread_mutex_lock(&f->srv.lock);
    snprintf(f->srv.info, sizeof(f->srv.info), "%s", info);
    pthread_mutex_unlock(&f->srv.lock);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    test_env_save(env_vars, N_VARS, f->saved_env);
    pthread_mutex_init(&f->srv.lock, NULL);
    snprintf(f->srv.info, sizeof(f->srv.info), "{\"version\": \"dev\"}");
    snprintf(f->cache_dir, sizeof(f->cache_dir), "/tmp/ftrack-session-test-XXXXXX");
    assert_non_null(mkdtemp(f->cache_dir));
    f->r = http_responder_start();
    assert_non_null(f->r);
    http_responder_set_handler(f->r, server_handler, &f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    http_responder_stop(f->r);
    char path[256];
    snprintf(path, sizeof(path), "%s/ftrack_api_schema_cache.json", f->cache_dir);
    unlink(path);
    rmdir(f->cache_dir);
    pthread_mutex_destroy(&f->srv.lock);
    test_env_restore(env_vars, N_VARS, f->saved_env);
    free(f);
    return 0;
}

static ftrack_session_options options_for(fixture *f)
{
    ftrack_session_options o;
    ftrack_session_options_init(&o);
    o.server_url = http_responder_url(f->r);
    o.api_key = KEY;
    o.api_user = USER;
    o.schema_cache_path = f->cache_dir;
    o.max_retries = 0;
    o.timeout = 5;
    return o;
}

static ftrack_status open_with(fixture *f, const ftrack_session_options *o, ftrack_session **s,
                               ftrack_error *err)
{
    (void)f;
    ftrack_error_clear(err);
    ftrack_status status = ftrack_session_open(o, s, err);
    assert_null(strstr(err->message, KEY));
    return status;
}

/* ---- Open --------------------------------------------------------------------------------- */

static void test_open_queries_server_and_schemas(void **state)
{
    fixture *f = *state;
    set_info(f, "{\"version\": \"4.13.8\", \"schema_hash\": \"nope\"}");
    char url[128];
    snprintf(url, sizeof(url), "%s/", http_responder_url(f->r));
    ftrack_session_options o = options_for(f);
    o.server_url = url;
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    assert_non_null(s);
    assert_string_equal(ftrack_session_server_url(s), http_responder_url(f->r));
    assert_string_equal(ftrack_session_api_user(s), USER);
    assert_non_null(ftrack_session_hub(s));
    assert_false(ftrack_session_closed(s));

    assert_int_equal(http_responder_count(f->r), 2);
    const http_request_record *first = http_responder_request(f->r, 0);
    assert_string_equal(first->path, "/api");
    assert_non_null(strstr(first->body, "query_server_information"));
    assert_string_equal(http_request_header(first, "ftrack-api-key"), KEY);
    assert_non_null(strstr(http_responder_request(f->r, 1)->body, "query_schemas"));

    json_object *info = ftrack_session_server_information(s);
    assert_string_equal(json_object_get_string(json_object_object_get(info, "version")), "4.13.8");
    json_object_put(info);

    json_object *schemas = NULL;
    assert_int_equal(fti_session_schemas(s, &schemas, &err), FTRACK_OK);
    assert_int_equal(json_object_array_length(schemas), 2);
    assert_int_equal(http_responder_count(f->r), 2); /* already loaded */
    ftrack_session_free(s);
}

static void test_check_server_off(void **state)
{
    fixture *f = *state;
    ftrack_session_options o = options_for(f);
    o.check_server = false;
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    assert_int_equal(http_responder_count(f->r), 0);
    assert_null(ftrack_session_server_information(s));
    ftrack_session_free(s);
}

static void test_open_config_error(void **state)
{
    fixture *f = *state;
    ftrack_session_options o = options_for(f);
    o.server_url = NULL;
    ftrack_session *s = (ftrack_session *)1;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_ERR_CONFIG);
    assert_null(s);
    assert_non_null(strstr(err.message, "FTRACK_SERVER"));
}

static void test_open_auth_error(void **state)
{
    fixture *f = *state;
    http_responder_push(f->r, 200,
                        "{\"exception\": \"InvalidCredentialsError\", \"content\": \"The supplied "
                        "API key " KEY " is not valid.\"}");
    ftrack_session_options o = options_for(f);
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_ERR_AUTH);
    assert_null(s);
    assert_string_equal(err.server_exception, "InvalidCredentialsError");
}

static void test_open_refused(void **state)
{
    fixture *f = *state;
    ftrack_session_options o = options_for(f);
    o.server_url = "http://127.0.0.1:1";
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_ERR_NETWORK);
    assert_null(s);
}

static void test_plugin_arguments_copied(void **state)
{
    fixture *f = *state;
    ftrack_session_options o = options_for(f);
    o.check_server = false;
    json_object *args = json_tokener_parse("{\"threshold\": 3, \"name\": \"x\"}");
    o.plugin_arguments = args;
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    json_object_object_add(args, "threshold", json_object_new_int(99));
    json_object *copy = ftrack_session_plugin_arguments(s);
    assert_int_equal(json_object_get_int(json_object_object_get(copy, "threshold")), 3);
    json_object_object_add(copy, "name", json_object_new_string("changed"));
    json_object_put(copy);
    copy = ftrack_session_plugin_arguments(s);
    assert_string_equal(json_object_get_string(json_object_object_get(copy, "name")), "x");
    json_object_put(copy);
    json_object_put(args);
    ftrack_session_free(s);

    o.plugin_arguments = NULL;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    copy = ftrack_session_plugin_arguments(s);
    assert_true(json_object_is_type(copy, json_type_object));
    assert_int_equal(json_object_object_length(copy), 0);
    json_object_put(copy);
    ftrack_session_free(s);

    json_object *array = json_object_new_array();
    o.plugin_arguments = array;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_ERR_INVALID_ARGUMENT);
    json_object_put(array);
}

static void test_headers_reach_server(void **state)
{
    fixture *f = *state;
    const char *headers[] = {"X-Studio: north", NULL};
    ftrack_session_options o = options_for(f);
    o.headers = headers;
    o.strict_api = true;
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    const http_request_record *req = http_responder_request(f->r, 0);
    assert_string_equal(http_request_header(req, "X-Studio"), "north");
    assert_string_equal(http_request_header(req, "ftrack-strict-api"), "true");
    assert_string_equal(http_request_header(req, "ftrack-user"), USER);
    /* The same list goes to the hub. */
    assert_string_equal(s->headers[0], "X-Studio: north");
    assert_string_equal(s->headers[1], "ftrack-strict-api: true");
    assert_null(s->headers[2]);
    ftrack_session_free(s);
}

static const http_request_record *find_request(http_responder *r, const char *method,
                                               const char *prefix)
{
    for (size_t i = 0; i < http_responder_count(r); i++) {
        const http_request_record *req = http_responder_request(r, i);
        if (strcmp(req->method, method) == 0 && strncmp(req->path, prefix, strlen(prefix)) == 0)
            return req;
    }
    return NULL;
}

static void test_auto_connect_event_hub(void **state)
{
    fixture *f = *state;
    const char *headers[] = {"X-Studio: north", NULL};
    char url[160];
    snprintf(url, sizeof(url), "%s/some/prefix", http_responder_url(f->r));
    ftrack_session_options o = options_for(f);
    o.server_url = url;
    o.headers = headers;
    o.auto_connect_event_hub = true;
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    /* The hub's handshake reaches the server root (no path prefix) with our credentials and
     * the session's headers. */
    const http_request_record *hs = NULL;
    for (int i = 0; i < 100 && !hs; i++) {
        http_responder_wait_count(f->r, http_responder_count(f->r) + 1, 0.05);
        hs = find_request(f->r, "GET", "/socket.io/1/");
    }
    assert_non_null(hs);
    assert_string_equal(http_request_header(hs, "ftrack-user"), USER);
    assert_string_equal(http_request_header(hs, "ftrack-api-key"), KEY);
    assert_string_equal(http_request_header(hs, "ftrack-strict-api"), "false");
    assert_string_equal(http_request_header(hs, "X-Studio"), "north");
    ftrack_session_free(s);
}

static void test_no_hub_connection_by_default(void **state)
{
    fixture *f = *state;
    ftrack_session_options o = options_for(f);
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    http_responder_wait_count(f->r, 3, 0.3);
    assert_null(find_request(f->r, "GET", "/socket.io/"));
    assert_false(ftrack_hub_connected(ftrack_session_hub(s)));
    ftrack_session_free(s);
}

/* ---- Plugin discovery ---------------------------------------------------------------------- */

typedef struct log_capture {
    pthread_mutex_t lock;
    int registered_echo;
} log_capture;

static log_capture captured = {PTHREAD_MUTEX_INITIALIZER, 0};

static void capture_sink(const ftrack_log_record *record, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&captured.lock);
    if (strstr(record->message, "registered plugin 'echo'"))
        captured.registered_echo++;
    pthread_mutex_unlock(&captured.lock);
}

static int echo_registrations(void)
{
    pthread_mutex_lock(&captured.lock);
    int n = captured.registered_echo;
    captured.registered_echo = 0;
    pthread_mutex_unlock(&captured.lock);
    return n;
}

/* The test plugins are built beside this executable: tests/plugins/<name>/. */
static void echo_plugin_dir(char *out, size_t size)
{
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    assert_non_null(slash);
    *slash = '\0';
    snprintf(out, size, "%s/plugins/echo", exe);
}

static void test_plugin_discovery(void **state)
{
    fixture *f = *state;
    char dir[600];
    echo_plugin_dir(dir, sizeof(dir));
    ftrack_log_set_sink(capture_sink, NULL);
    ftrack_session_options o = options_for(f);
    o.check_server = false;
    o.plugin_paths = dir;
    ftrack_session *s = NULL;
    ftrack_error err;
    echo_registrations();

    o.discover_plugins = false;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    ftrack_session_free(s);
    assert_int_equal(echo_registrations(), 0);

    o.discover_plugins = true;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    assert_int_equal(echo_registrations(), 1);
    ftrack_session_free(s);

    /* From the environment when the option is NULL. */
    setenv("FTRACK_EVENT_PLUGIN_PATH", dir, 1);
    o.plugin_paths = NULL;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    assert_int_equal(echo_registrations(), 1);
    ftrack_session_free(s);
    ftrack_log_set_sink(NULL, NULL);
}

/* ---- Version check ------------------------------------------------------------------------- */

static void expect_version(fixture *f, const char *info, ftrack_status expected)
{
    set_info(f, info);
    http_responder_clear(f->r);
    ftrack_session_options o = options_for(f);
    ftrack_session *s = NULL;
    ftrack_error err;
    ftrack_status status = open_with(f, &o, &s, &err);
    if (status != expected)
        fail_msg("server information %s: expected %s, got %s (%s)", info, ftrack_strerror(expected),
                 ftrack_strerror(status), err.message);
    if (expected == FTRACK_ERR_COMPATIBILITY)
        assert_null(s);
    ftrack_session_free(s);
}

static void test_version_matrix(void **state)
{
    fixture *f = *state;
    expect_version(f, "{}", FTRACK_ERR_COMPATIBILITY);
    expect_version(f, "{\"version\": \"\"}", FTRACK_ERR_COMPATIBILITY);
    expect_version(f, "{\"version\": \"3.3.11\"}", FTRACK_OK);
    expect_version(f, "{\"version\": \"3.3.12\"}", FTRACK_OK);
    expect_version(f, "{\"version\": \"3.4\"}", FTRACK_OK);
    expect_version(f, "{\"version\": \"3.4.1\"}", FTRACK_OK);
    expect_version(f, "{\"version\": \"3.5.16\"}", FTRACK_OK);
    expect_version(f, "{\"version\": \"3.3.10\"}", FTRACK_ERR_COMPATIBILITY);
    expect_version(f, "{\"version\": \"dev\"}", FTRACK_OK);
    expect_version(f, "{\"version\": \"2.99.99\"}", FTRACK_ERR_COMPATIBILITY);
    expect_version(f, "{\"version\": \"10.0.0\"}", FTRACK_OK);
    expect_version(f, "{\"version\": \"v3.3.10-rc1\"}", FTRACK_ERR_COMPATIBILITY);
}

static void test_version_message(void **state)
{
    (void)state;
    ftrack_error err;
    json_object *info = json_object_new_object();
    assert_int_equal(fti_session_check_version(info, &err), FTRACK_ERR_COMPATIBILITY);
    assert_string_equal(err.message, "Could not determine server version.");
    json_object_object_add(info, "version", json_object_new_string("3.3.10"));
    assert_int_equal(fti_session_check_version(info, &err), FTRACK_ERR_COMPATIBILITY);
    assert_non_null(strstr(err.message, "3.3.10"));
    assert_non_null(strstr(err.message, "3.3.11"));
    json_object_put(info);
}

/* ---- Schema cache ------------------------------------------------------------------------- */

static void test_schema_hash_matches_python(void **state)
{
    (void)state;
    json_object *schemas = json_tokener_parse(SCHEMAS);
    assert_non_null(schemas);
    char *hash = fti_schema_hash(schemas);
    assert_string_equal(hash, SCHEMAS_PYTHON_HASH);
    free(hash);
    json_object_put(schemas);
}

static int open_and_count_schema_queries(fixture *f, const ftrack_session_options *o)
{
    pthread_mutex_lock(&f->srv.lock);
    f->srv.schema_queries = 0;
    pthread_mutex_unlock(&f->srv.lock);
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, o, &s, &err), FTRACK_OK);
    json_object *schemas = NULL;
    assert_int_equal(fti_session_schemas(s, &schemas, &err), FTRACK_OK);
    assert_int_equal(json_object_array_length(schemas), 2);
    ftrack_session_free(s);
    pthread_mutex_lock(&f->srv.lock);
    int n = f->srv.schema_queries;
    pthread_mutex_unlock(&f->srv.lock);
    return n;
}

static void test_schema_cache(void **state)
{
    fixture *f = *state;
    set_info(f, "{\"version\": \"dev\", \"schema_hash\": \"" SCHEMAS_PYTHON_HASH "\"}");
    ftrack_session_options o = options_for(f);
    char path[256];
    snprintf(path, sizeof(path), "%s/ftrack_api_schema_cache.json", f->cache_dir);

    assert_int_equal(open_and_count_schema_queries(f, &o), 1); /* no cache yet */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(open_and_count_schema_queries(f, &o), 0); /* fresh cache */

    set_info(f, "{\"version\": \"dev\", \"schema_hash\": \"0123456789abcdef\"}");
    assert_int_equal(open_and_count_schema_queries(f, &o), 1); /* stale */

    set_info(f, "{\"version\": \"dev\"}");
    assert_int_equal(open_and_count_schema_queries(f, &o), 1); /* server gives no hash */

    set_info(f, "{\"version\": \"dev\", \"schema_hash\": \"" SCHEMAS_PYTHON_HASH "\"}");
    o.schema_cache_disabled = true;
    assert_int_equal(open_and_count_schema_queries(f, &o), 1); /* disabled */

    /* A corrupt file is ignored and rewritten. */
    o.schema_cache_disabled = false;
    FILE *fp = fopen(path, "w");
    fputs("{not json", fp);
    fclose(fp);
    assert_int_equal(open_and_count_schema_queries(f, &o), 1);
    assert_int_equal(open_and_count_schema_queries(f, &o), 0);
}

static void test_schema_cache_from_environment(void **state)
{
    fixture *f = *state;
    set_info(f, "{\"version\": \"dev\", \"schema_hash\": \"" SCHEMAS_PYTHON_HASH "\"}");
    setenv("FTRACK_API_SCHEMA_CACHE_PATH", f->cache_dir, 1);
    ftrack_session_options o = options_for(f);
    o.schema_cache_path = NULL;
    assert_int_equal(open_and_count_schema_queries(f, &o), 1);
    assert_int_equal(open_and_count_schema_queries(f, &o), 0);
}

/* ---- Close ---------------------------------------------------------------------------------- */

static void test_close(void **state)
{
    fixture *f = *state;
    ftrack_session_options o = options_for(f);
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    ftrack_session_close(s);
    assert_true(ftrack_session_closed(s));
    ftrack_session_close(s); /* idempotent */
    assert_true(ftrack_session_closed(s));
    size_t before = http_responder_count(f->r);
    json_object *ops = json_tokener_parse("[{\"action\": \"query\"}]");
    json_object *results = (json_object *)1;
    assert_int_equal(ftrack_session_call(s, ops, &results, &err), FTRACK_ERR_CLOSED);
    assert_null(results);
    assert_string_equal(err.message, "Connection closed.");
    assert_int_equal(http_responder_count(f->r), before);
    json_object_put(ops);
    /* Getters keep working after close. */
    assert_string_equal(ftrack_session_api_user(s), USER);
    ftrack_session_free(s);
    ftrack_session_free(NULL);
    ftrack_session_close(NULL);
}

/* ---- Per-thread flags ---------------------------------------------------------------------- */

typedef struct flags_seen {
    ftrack_session *s;
    bool auto_populate, record_operations;
    size_t recorded;
} flags_seen;

static void *other_thread(void *arg)
{
    flags_seen *seen = arg;
    seen->auto_populate = ftrack_session_auto_populate(seen->s);
    seen->record_operations = ftrack_session_record_operations(seen->s);
    seen->recorded = json_object_array_length(fti_session_recorded_operations(seen->s));
    /* Change ours; the main thread must not see it. */
    ftrack_session_set_record_operations(seen->s, false);
    json_object_array_add(fti_session_recorded_operations(seen->s), json_object_new_int(7));
    return NULL;
}

static size_t thread_states(ftrack_session *s)
{
    size_t n = 0;
    pthread_mutex_lock(&s->threads_lock);
    for (fti_thread_state *t = s->threads; t; t = t->next)
        n++;
    pthread_mutex_unlock(&s->threads_lock);
    return n;
}

static void test_per_thread_flags(void **state)
{
    fixture *f = *state;
    ftrack_session_options o = options_for(f);
    o.check_server = false;
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);

    assert_true(ftrack_session_auto_populate(s));
    assert_true(ftrack_session_record_operations(s));
    ftrack_session_set_auto_populate(s, false);
    assert_false(ftrack_session_auto_populate(s));
    json_object_array_add(fti_session_recorded_operations(s), json_object_new_int(1));
    json_object_array_add(fti_session_recorded_operations(s), json_object_new_int(2));

    flags_seen seen = {.s = s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, &seen), 0);
    pthread_join(t, NULL);
    assert_true(seen.auto_populate); /* the default, not the main thread's false */
    assert_true(seen.record_operations);
    assert_int_equal(seen.recorded, 0);

    assert_false(ftrack_session_auto_populate(s));
    assert_true(ftrack_session_record_operations(s));
    assert_int_equal(json_object_array_length(fti_session_recorded_operations(s)), 2);
    /* The exited thread's state is gone; ours stays. */
    assert_int_equal(thread_states(s), 1);
    ftrack_session_free(s);
}

static void test_thread_defaults_from_options(void **state)
{
    fixture *f = *state;
    ftrack_session_options o = options_for(f);
    o.check_server = false;
    o.auto_populate = false;
    o.record_operations = false;
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    flags_seen seen = {.s = s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, &seen), 0);
    pthread_join(t, NULL);
    assert_false(seen.auto_populate);
    assert_false(seen.record_operations);
    assert_false(ftrack_session_auto_populate(s));
    ftrack_session_free(s);
}

/* ---- Concurrent calls ----------------------------------------------------------------------- */

typedef struct caller {
    ftrack_session *s;
    int index;
    int ok;
} caller;

static void *caller_main(void *arg)
{
    caller *c = arg;
    for (int i = 0; i < 25; i++) {
        char text[96];
        snprintf(text, sizeof(text), "[{\"action\": \"a%d-%d\"}, {\"action\": \"b%d\"}]", c->index,
                 i, i);
        json_object *ops = json_tokener_parse(text);
        json_object *results = NULL;
        ftrack_error err;
        if (ftrack_session_call(c->s, ops, &results, &err) == FTRACK_OK) {
            char expect[32];
            snprintf(expect, sizeof(expect), "a%d-%d", c->index, i);
            const char *got = json_object_get_string(
                json_object_object_get(json_object_array_get_idx(results, 0), "action"));
            if (got && strcmp(got, expect) == 0)
                c->ok++;
        }
        json_object_put(results);
        json_object_put(ops);
        /* Flags toggled on every thread at once stay each thread's own. */
        ftrack_session_set_auto_populate(c->s, i % 2 == 0);
        if (ftrack_session_auto_populate(c->s) != (i % 2 == 0))
            c->ok = -1000;
    }
    return NULL;
}

static void test_concurrent_calls(void **state)
{
    fixture *f = *state;
    ftrack_session_options o = options_for(f);
    ftrack_session *s = NULL;
    ftrack_error err;
    assert_int_equal(open_with(f, &o, &s, &err), FTRACK_OK);
    http_responder_clear(f->r);
    pthread_t threads[4];
    caller callers[4];
    for (int i = 0; i < 4; i++) {
        callers[i] = (caller){s, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, caller_main, &callers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(callers[i].ok, 25);
    }
    assert_int_equal(http_responder_count(f->r), 100);
    ftrack_session_free(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_queries_server_and_schemas),
        T(test_check_server_off),
        T(test_open_config_error),
        T(test_open_auth_error),
        T(test_open_refused),
        T(test_plugin_arguments_copied),
        T(test_headers_reach_server),
        T(test_auto_connect_event_hub),
        T(test_no_hub_connection_by_default),
        T(test_plugin_discovery),
        T(test_version_matrix),
        T(test_version_message),
        T(test_schema_hash_matches_python),
        T(test_schema_cache),
        T(test_schema_cache_from_environment),
        T(test_close),
        T(test_per_thread_flags),
        T(test_thread_defaults_from_options),
        T(test_concurrent_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
