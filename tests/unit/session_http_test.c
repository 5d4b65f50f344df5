/* SPDX-License-Identifier: Apache-2.0 */
/* The /api client against a scripted local responder (protocol §2-§3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ftrack/session.h>

#include "common/internal.h"
#include "http_responder.h"
#include "session/http.h"
#include "test_support.h"

#define KEY "k3y-5ecret-7c1e-49f1"
#define USER "jane@example.com"

static const char *const env_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                       "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
#define N_VARS (sizeof(env_vars) / sizeof(env_vars[0]))

typedef struct fixture {
    http_responder *r;
    char *saved_env[N_VARS];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    test_env_save(env_vars, N_VARS, f->saved_env);
    f->r = http_responder_start();
    assert_non_null(f->r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    http_responder_stop(f->r);
    test_env_restore(env_vars, N_VARS, f->saved_env);
    free(f);
    return 0;
}

static fti_http_config config_for(const char *url)
{
    fti_http_config c = {
        .server_url = url,
        .api_user = USER,
        .api_key = KEY,
        .timeout = 5,
        .max_retries = 0,
        .retry_base_delay = 0.01,
    };
    return c;
}

static fti_http *client(const fti_http_config *c)
{
    fti_http *http = NULL;
    ftrack_error err;
    assert_int_equal(fti_http_new(c, &http, &err), FTRACK_OK);
    return http;
}

static json_object *ops_of(const char *text)
{
    json_object *ops = json_tokener_parse(text);
    assert_non_null(ops);
    return ops;
}

/* Call and return the status; *results is set on success (caller frees). The key must never
 * show up in the error. */
static ftrack_status call(fti_http *http, const char *ops_text, json_object **results,
                          ftrack_error *err)
{
    json_object *ops = ops_of(ops_text);
    json_object *out = NULL;
    ftrack_error_clear(err);
    ftrack_status status = fti_http_call(http, ops, &out, err);
    json_object_put(ops);
    assert_null(strstr(err->message, KEY));
    assert_null(strstr(err->server_content, KEY));
    if (results)
        *results = out;
    else
        json_object_put(out);
    return status;
}

static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    close(fd);
    return ntohs(addr.sin_port);
}

/* ---- Requests ---------------------------------------------------------------------------- */

static void test_request_headers_and_body(void **state)
{
    fixture *f = *state;
    const char *custom[] = {"X-Custom: yes", "X-Other: 2", NULL};
    fti_http_config c = config_for(http_responder_url(f->r));
    c.headers = custom;
    fti_http *http = client(&c);
    http_responder_push(f->r, 200, "[{\"version\": \"dev\"}]");
    ftrack_error err;
    json_object *results = NULL;
    assert_int_equal(call(http, "[{\"action\": \"query_server_information\"}]", &results, &err),
                     FTRACK_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(
                            json_object_array_get_idx(results, 0), "version")),
                        "dev");
    json_object_put(results);

    const http_request_record *req = http_responder_request(f->r, 0);
    assert_non_null(req);
    assert_string_equal(req->method, "POST");
    assert_string_equal(req->path, "/api");
    assert_string_equal(http_request_header(req, "ftrack-api-key"), KEY);
    assert_string_equal(http_request_header(req, "ftrack-user"), USER);
    assert_string_equal(http_request_header(req, "ftrack-strict-api"), "false");
    assert_string_equal(http_request_header(req, "content-type"), "application/json");
    assert_string_equal(http_request_header(req, "accept"), "application/json");
    assert_string_equal(http_request_header(req, "X-Custom"), "yes");
    assert_string_equal(http_request_header(req, "X-Other"), "2");
    json_object *body = json_tokener_parse(req->body);
    assert_true(json_object_is_type(body, json_type_array));
    assert_string_equal(json_object_get_string(
                            json_object_object_get(json_object_array_get_idx(body, 0), "action")),
                        "query_server_information");
    json_object_put(body);
    fti_http_free(http);
}

static void test_strict_api_and_path_prefix(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof(url), "%s/prefix/ftrack", http_responder_url(f->r));
    fti_http_config c = config_for(url);
    c.strict_api = true;
    fti_http *http = client(&c);
    http_responder_push(f->r, 200, "[]");
    ftrack_error err;
    assert_int_equal(call(http, "[]", NULL, &err), FTRACK_OK);
    const http_request_record *req = http_responder_request(f->r, 0);
    assert_string_equal(req->path, "/prefix/ftrack/api");
    assert_string_equal(http_request_header(req, "ftrack-strict-api"), "true");
    fti_http_free(http);
}

/* Answers each operation with {"index": i, "echo": <the operation>}. */
static void echo_handler(const http_request_record *request, int *status, char **body, void *ud)
{
    (void)ud;
    json_object *ops = json_tokener_parse(request->body);
    json_object *results = json_object_new_array();
    size_t n = json_object_is_type(ops, json_type_array) ? json_object_array_length(ops) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "index", json_object_new_int((int)i));
        json_object_object_add(r, "echo", json_object_get(json_object_array_get_idx(ops, i)));
        json_object_array_add(results, r);
    }
    *status = 200;
    *body = strdup(json_object_to_json_string(results));
    json_object_put(results);
    json_object_put(ops);
}

static void test_batch_results_in_order(void **state)
{
    fixture *f = *state;
    http_responder_set_handler(f->r, echo_handler, NULL);
    fti_http_config c = config_for(http_responder_url(f->r));
    fti_http *http = client(&c);
    ftrack_error err;
    json_object *results = NULL;
    assert_int_equal(call(http,
                          "[{\"action\": \"query\", \"expression\": \"select id from Task\"},"
                          " {\"action\": \"delete\", \"entity_type\": \"Task\"},"
                          " {\"action\": \"query_schemas\"}]",
                          &results, &err),
                     FTRACK_OK);
    assert_int_equal(json_object_array_length(results), 3);
    const char *actions[] = {"query", "delete", "query_schemas"};
    for (size_t i = 0; i < 3; i++) {
        json_object *r = json_object_array_get_idx(results, i);
        assert_int_equal(json_object_get_int(json_object_object_get(r, "index")), (int)i);
        json_object *echo = json_object_object_get(r, "echo");
        assert_string_equal(json_object_get_string(json_object_object_get(echo, "action")),
                            actions[i]);
    }
    json_object_put(results);
    fti_http_free(http);
}

static void test_operations_must_be_array(void **state)
{
    fixture *f = *state;
    fti_http_config c = config_for(http_responder_url(f->r));
    fti_http *http = client(&c);
    ftrack_error err;
    assert_int_equal(call(http, "{\"action\": \"query\"}", NULL, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    assert_int_equal(http_responder_count(f->r), 0);
    fti_http_free(http);
}

static void test_invalid_custom_header(void **state)
{
    fixture *f = *state;
    const char *bad[] = {"X-Evil: 1\r\nX-Injected: 2", NULL};
    fti_http_config c = config_for(http_responder_url(f->r));
    c.headers = bad;
    fti_http *http = NULL;
    ftrack_error err;
    assert_int_equal(fti_http_new(&c, &http, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_null(http);
    const char *no_colon[] = {"NoColon", NULL};
    c.headers = no_colon;
    assert_int_equal(fti_http_new(&c, &http, &err), FTRACK_ERR_INVALID_ARGUMENT);
}

/* ---- Error shapes ------------------------------------------------------------------------ */

static ftrack_status answer(fixture *f, int status, const char *body, ftrack_error *err)
{
    fti_http_config c = config_for(http_responder_url(f->r));
    fti_http *http = client(&c);
    http_responder_push(f->r, status, body);
    ftrack_status s = call(http, "[{\"action\": \"query\"}]", NULL, err);
    fti_http_free(http);
    return s;
}

static void test_exception_with_200(void **state)
{
    ftrack_error err;
    assert_int_equal(answer(*state, 200,
                            "{\"exception\": \"ValidationError\", \"content\": \"Bad thing\", "
                            "\"error_code\": null}",
                            &err),
                     FTRACK_ERR_SERVER);
    assert_int_equal(err.code, FTRACK_ERR_SERVER);
    assert_string_equal(err.message, "Server reported error: ValidationError(Bad thing)");
    assert_string_equal(err.server_exception, "ValidationError");
    assert_string_equal(err.server_content, "Bad thing");
    assert_int_equal(err.http_status, 200);
}

static void test_exception_with_500(void **state)
{
    ftrack_error err;
    assert_int_equal(
        answer(*state, 500, "{\"exception\": \"ServerError\", \"content\": \"Boom\"}", &err),
        FTRACK_ERR_SERVER);
    assert_string_equal(err.message, "Server reported error: ServerError(Boom)");
    assert_int_equal(err.http_status, 500);
}

static void test_auth_errors(void **state)
{
    ftrack_error err;
    assert_int_equal(answer(*state, 200,
                            "{\"exception\": \"InvalidCredentialsError\", \"content\": \"The "
                            "supplied API key is not valid.\"}",
                            &err),
                     FTRACK_ERR_AUTH);
    assert_string_equal(err.server_exception, "InvalidCredentialsError");
    assert_non_null(strstr(err.message, "InvalidCredentialsError"));
    assert_int_equal(answer(*state, 403,
                            "{\"exception\": \"FTAuthenticationError\", \"content\": \"no\"}",
                            &err),
                     FTRACK_ERR_AUTH);
    assert_int_equal(err.http_status, 403);
    assert_int_equal(answer(*state, 401, "Unauthorized", &err), FTRACK_ERR_AUTH);
    assert_int_equal(err.http_status, 401);
}

static void test_compatibility_error(void **state)
{
    ftrack_error err;
    assert_int_equal(answer(*state, 200,
                            "{\"exception\": \"ServerError\", \"content\": \"Invalid action "
                            "u'encode_media'\"}",
                            &err),
                     FTRACK_ERR_COMPATIBILITY);
    assert_string_equal(err.server_content, "Invalid action u'encode_media'");
}

static void test_non_json_body(void **state)
{
    ftrack_error err;
    assert_int_equal(answer(*state, 200, "<html>Gateway oops</html>", &err),
                     FTRACK_ERR_BAD_RESPONSE);
    assert_non_null(strstr(err.message, "<html>Gateway oops</html>"));
    assert_int_equal(err.http_status, 200);

    assert_int_equal(answer(*state, 502, "Bad gateway", &err), FTRACK_ERR_BAD_RESPONSE);
    assert_non_null(strstr(err.message, "502"));
    assert_non_null(strstr(err.message, "Bad gateway"));

    /* A long body is quoted truncated. */
    char big[4096];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(answer(*state, 200, big, &err), FTRACK_ERR_BAD_RESPONSE);
    assert_non_null(strstr(err.message, "xxx..."));
    assert_true(strlen(err.message) < 300);

    assert_int_equal(answer(*state, 200, "", &err), FTRACK_ERR_BAD_RESPONSE);
    assert_int_equal(answer(*state, 200, "[1] trailing", &err), FTRACK_ERR_BAD_RESPONSE);
}

static void test_wrong_result_shapes(void **state)
{
    ftrack_error err;
    assert_int_equal(answer(*state, 200, "[1, 2]", &err), FTRACK_ERR_BAD_RESPONSE);
    assert_non_null(strstr(err.message, "2 results for 1 operations"));
    assert_int_equal(answer(*state, 200, "[]", &err), FTRACK_ERR_BAD_RESPONSE);
    assert_int_equal(answer(*state, 200, "{\"data\": 1}", &err), FTRACK_ERR_BAD_RESPONSE);
    assert_int_equal(answer(*state, 200, "null", &err), FTRACK_ERR_BAD_RESPONSE);
    assert_int_equal(answer(*state, 200, "[{\"ok\": true}]\n", &err), FTRACK_OK);
    /* JSON, no exception, error status. */
    assert_int_equal(answer(*state, 500, "[{}]", &err), FTRACK_ERR_SERVER);
    assert_int_equal(err.http_status, 500);
}

static void test_key_scrubbed_from_server_text(void **state)
{
    ftrack_error err;
    assert_int_equal(
        answer(*state, 200,
               "{\"exception\": \"ValidationError\", \"content\": \"key " KEY " is odd\"}", &err),
        FTRACK_ERR_SERVER);
    assert_non_null(strstr(err.message, "key *** is odd"));
    assert_string_equal(err.server_content, "key *** is odd");
    assert_int_equal(answer(*state, 200, "not json " KEY, &err), FTRACK_ERR_BAD_RESPONSE);
    assert_non_null(strstr(err.message, "not json ***"));
}

static void test_refused(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", unused_port());
    fti_http_config c = config_for(url);
    fti_http *http = client(&c);
    ftrack_error err;
    assert_int_equal(call(http, "[]", NULL, &err), FTRACK_ERR_NETWORK);
    assert_non_null(strstr(err.message, url));
    assert_int_equal(err.http_status, 0);
    fti_http_free(http);
}

static void test_refused_is_retried_with_backoff(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", unused_port());
    fti_http_config c = config_for(url);
    c.max_retries = 2;
    c.retry_base_delay = 0.1;
    fti_http *http = client(&c);
    ftrack_error err;
    double t0 = fti_now();
    assert_int_equal(call(http, "[]", NULL, &err), FTRACK_ERR_NETWORK);
    double elapsed = fti_now() - t0;
    /* Two backoffs: 0.1 then 0.2 seconds. */
    assert_true(elapsed >= 0.28);
    assert_true(elapsed < 3.0);
    fti_http_free(http);
}

static void test_timeout_not_retried(void **state)
{
    fixture *f = *state;
    fti_http_config c = config_for(http_responder_url(f->r));
    c.timeout = 0.3;
    c.max_retries = 3;
    fti_http *http = client(&c);
    http_responder_push_ex(f->r, 200, "[{}]", 1.5, NULL);
    http_responder_push(f->r, 200, "[{}]"); /* would succeed if the timeout were retried */
    ftrack_error err;
    double t0 = fti_now();
    assert_int_equal(call(http, "[{\"action\": \"create\"}]", NULL, &err), FTRACK_ERR_TIMEOUT);
    assert_true(fti_now() - t0 < 1.2);
    assert_non_null(strstr(err.message, "timed out"));
    assert_int_equal(http_responder_count(f->r), 1);
    fti_http_free(http);
}

static void test_503_then_200(void **state)
{
    fixture *f = *state;
    fti_http_config c = config_for(http_responder_url(f->r));
    c.max_retries = 3;
    fti_http *http = client(&c);
    http_responder_push(f->r, 503, "Service Unavailable");
    http_responder_push(f->r, 200, "[\"done\"]");
    ftrack_error err;
    json_object *results = NULL;
    assert_int_equal(call(http, "[{\"action\": \"query\"}]", &results, &err), FTRACK_OK);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(results, 0)), "done");
    json_object_put(results);
    assert_int_equal(http_responder_count(f->r), 2);
    /* The retry sends the very same request. */
    assert_string_equal(http_responder_request(f->r, 0)->body,
                        http_responder_request(f->r, 1)->body);
    fti_http_free(http);
}

static void test_429_then_200(void **state)
{
    fixture *f = *state;
    fti_http_config c = config_for(http_responder_url(f->r));
    c.max_retries = 3;
    fti_http *http = client(&c);
    http_responder_push(f->r, 429, "{\"exception\": \"TooManyRequests\", \"content\": \"slow\"}");
    http_responder_push(f->r, 429, "Too Many Requests");
    http_responder_push(f->r, 200, "[1]");
    ftrack_error err;
    assert_int_equal(call(http, "[{\"action\": \"query\"}]", NULL, &err), FTRACK_OK);
    assert_int_equal(http_responder_count(f->r), 3);
    fti_http_free(http);
}

static void test_gives_up_after_max_retries(void **state)
{
    fixture *f = *state;
    fti_http_config c = config_for(http_responder_url(f->r));
    c.max_retries = 2;
    fti_http *http = client(&c);
    http_responder_set_default(f->r, 503,
                               "{\"exception\": \"ServiceUnavailable\", \"content\": \"busy\"}");
    ftrack_error err;
    assert_int_equal(call(http, "[{\"action\": \"query\"}]", NULL, &err), FTRACK_ERR_SERVER);
    assert_int_equal(err.http_status, 503);
    assert_string_equal(err.server_exception, "ServiceUnavailable");
    assert_int_equal(http_responder_count(f->r), 3); /* first try + 2 retries */
    fti_http_free(http);
}

static void test_retry_after_respected(void **state)
{
    fixture *f = *state;
    fti_http_config c = config_for(http_responder_url(f->r));
    c.max_retries = 1;
    fti_http *http = client(&c);
    http_responder_push_ex(f->r, 503, "busy", 0, "Retry-After: 1");
    http_responder_push(f->r, 200, "[1]");
    ftrack_error err;
    double t0 = fti_now();
    assert_int_equal(call(http, "[{\"action\": \"query\"}]", NULL, &err), FTRACK_OK);
    assert_true(fti_now() - t0 >= 0.9);
    fti_http_free(http);
}

static void test_other_errors_not_retried(void **state)
{
    fixture *f = *state;
    fti_http_config c = config_for(http_responder_url(f->r));
    c.max_retries = 3;
    fti_http *http = client(&c);
    http_responder_set_default(f->r, 500, "{\"exception\": \"E\", \"content\": \"c\"}");
    ftrack_error err;
    assert_int_equal(call(http, "[{\"action\": \"query\"}]", NULL, &err), FTRACK_ERR_SERVER);
    assert_int_equal(http_responder_count(f->r), 1);
    fti_http_free(http);
}

/* ---- Proxies from the environment -------------------------------------------------------- */

static void set_bogus_proxy(void)
{
    char proxy[64];
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", unused_port());
    /* libcurl reads only the lower-case name for http:// URLs (httpoxy); set both. */
    setenv("http_proxy", proxy, 1);
    setenv("HTTP_PROXY", proxy, 1);
}

static void test_no_proxy_reaches_responder(void **state)
{
    fixture *f = *state;
    set_bogus_proxy();
    setenv("NO_PROXY", "127.0.0.1", 1);
    fti_http_config c = config_for(http_responder_url(f->r));
    fti_http *http = client(&c);
    http_responder_push(f->r, 200, "[1]");
    ftrack_error err;
    assert_int_equal(call(http, "[{\"action\": \"query\"}]", NULL, &err), FTRACK_OK);
    assert_int_equal(http_responder_count(f->r), 1);
    fti_http_free(http);
}

static void test_bogus_proxy_is_used(void **state)
{
    fixture *f = *state;
    set_bogus_proxy();
    fti_http_config c = config_for(http_responder_url(f->r));
    fti_http *http = client(&c);
    http_responder_push(f->r, 200, "[1]");
    ftrack_error err;
    assert_int_equal(call(http, "[{\"action\": \"query\"}]", NULL, &err), FTRACK_ERR_NETWORK);
    assert_int_equal(http_responder_count(f->r), 0);
    fti_http_free(http);
}

/* ---- Threads ------------------------------------------------------------------------------- */

typedef struct worker {
    fti_http *http;
    int index;
    int ok;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 25; i++) {
        char text[128];
        snprintf(text, sizeof(text), "[{\"action\": \"t%d\"}, {\"action\": \"c%d\"}]", w->index, i);
        json_object *ops = json_tokener_parse(text);
        json_object *results = NULL;
        ftrack_error err;
        if (fti_http_call(w->http, ops, &results, &err) == FTRACK_OK &&
            json_object_array_length(results) == 2) {
            char expect[16];
            snprintf(expect, sizeof(expect), "c%d", i);
            json_object *echo =
                json_object_object_get(json_object_array_get_idx(results, 1), "echo");
            if (strcmp(json_object_get_string(json_object_object_get(echo, "action")), expect) == 0)
                w->ok++;
        }
        json_object_put(results);
        json_object_put(ops);
    }
    return NULL;
}

static void test_concurrent_calls(void **state)
{
    fixture *f = *state;
    http_responder_set_handler(f->r, echo_handler, NULL);
    fti_http_config c = config_for(http_responder_url(f->r));
    fti_http *http = client(&c);
    pthread_t threads[4];
    worker workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (worker){http, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].ok, 25);
    }
    assert_int_equal(http_responder_count(f->r), 100);
    fti_http_free(http);
}

/* ---- Pure helpers -------------------------------------------------------------------------- */

static void test_auth_append_headers(void **state)
{
    (void)state;
    struct curl_slist *list = curl_slist_append(NULL, "X-First: 1");
    struct curl_slist *head = fti_auth_append_headers(list, "bob", "secret");
    assert_ptr_equal(head, list);
    assert_string_equal(head->data, "X-First: 1");
    assert_string_equal(head->next->data, "ftrack-api-key: secret");
    assert_string_equal(head->next->next->data, "ftrack-user: bob");
    assert_null(head->next->next->next);
    curl_slist_free_all(head);

    head = fti_auth_append_headers(NULL, "bob", "secret");
    assert_non_null(head);
    assert_string_equal(head->data, "ftrack-api-key: secret");
    curl_slist_free_all(head);
}

static void test_url_redact(void **state)
{
    (void)state;
    char *u = fti_url_redact("https://user:pa55@host.example:8443/ftrack/api?x=1");
    assert_string_equal(u, "https://host.example:8443/ftrack/api?x=1");
    free(u);
    u = fti_url_redact("https://host.example/a@b");
    assert_string_equal(u, "https://host.example/a@b");
    free(u);
}

static void test_scrub(void **state)
{
    (void)state;
    ftrack_error err;
    fti_error(&err, FTRACK_ERR_SERVER, "a %s b %s", "SEC", "SEC");
    fti_error_scrub(&err, "SEC");
    assert_string_equal(err.message, "a *** b ***");
    fti_error(&err, FTRACK_ERR_SERVER, "x*y");
    fti_error_scrub(&err, "*"); /* must terminate */
    assert_string_equal(err.message, "x***y");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_request_headers_and_body),
        T(test_strict_api_and_path_prefix),
        T(test_batch_results_in_order),
        T(test_operations_must_be_array),
        T(test_invalid_custom_header),
        T(test_exception_with_200),
        T(test_exception_with_500),
        T(test_auth_errors),
        T(test_compatibility_error),
        T(test_non_json_body),
        T(test_wrong_result_shapes),
        T(test_key_scrubbed_from_server_text),
        T(test_refused),
        T(test_refused_is_retried_with_backoff),
        T(test_timeout_not_retried),
        T(test_503_then_200),
        T(test_429_then_200),
        T(test_gives_up_after_max_retries),
        T(test_retry_after_respected),
        T(test_other_errors_not_retried),
        T(test_no_proxy_reaches_responder),
        T(test_bogus_proxy_is_used),
        T(test_concurrent_calls),
        T(test_auth_append_headers),
        T(test_url_redact),
        T(test_scrub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
