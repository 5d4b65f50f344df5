/* SPDX-License-Identifier: Apache-2.0 */
/* The webhook forwarder's logic: signing, retry policy, configuration, and real deliveries
 * to a scripted HTTP server on loopback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "http_responder.h"

/* The plugin's logic is compiled into this test (it is not part of any library). */
#include "../../plugins/webhook/webhook_logic.c"

static json_object *args_from(const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

/* ---- signature --------------------------------------------------------------------------- */

static void test_sign_rfc4231_case2(void **state)
{
    (void)state;
    char sig[WEBHOOK_SIGNATURE_MAX];
    const char *data = "what do ya want for nothing?";
    assert_true(webhook_sign("Jefe", data, strlen(data), sig));
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_sign_rfc4231_case1(void **state)
{
    (void)state;
    char key[21];
    char sig[WEBHOOK_SIGNATURE_MAX];
    memset(key, 0x0b, 20);
    key[20] = '\0';
    assert_true(webhook_sign(key, "Hi There", 8, sig));
    assert_string_equal(sig,
                        "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_sign_covers_exact_bytes(void **state)
{
    (void)state;
    char a[WEBHOOK_SIGNATURE_MAX], b[WEBHOOK_SIGNATURE_MAX], empty[WEBHOOK_SIGNATURE_MAX];
    assert_true(webhook_sign("k", "{\"a\":1}", 7, a));
    assert_true(webhook_sign("k", "{\"a\": 1}", 8, b));
    assert_string_not_equal(a, b);
    /* Only `len` bytes count, not up to a NUL. */
    assert_true(webhook_sign("k", "{\"a\":1}trailing", 7, b));
    assert_string_equal(a, b);
    assert_true(webhook_sign("k", NULL, 0, empty));
    assert_int_equal(strlen(empty), 71);
    assert_false(webhook_sign(NULL, "x", 1, a));
}

/* ---- retry policy ------------------------------------------------------------------------ */

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(webhook_classify(CURLE_OK, 200), WEBHOOK_DELIVERED);
    assert_int_equal(webhook_classify(CURLE_OK, 204), WEBHOOK_DELIVERED);
    assert_int_equal(webhook_classify(CURLE_OK, 500), WEBHOOK_RETRY);
    assert_int_equal(webhook_classify(CURLE_OK, 503), WEBHOOK_RETRY);
    assert_int_equal(webhook_classify(CURLE_OK, 599), WEBHOOK_RETRY);
    assert_int_equal(webhook_classify(CURLE_OK, 429), WEBHOOK_RETRY);
    assert_int_equal(webhook_classify(CURLE_OK, 408), WEBHOOK_RETRY);
    assert_int_equal(webhook_classify(CURLE_OK, 400), WEBHOOK_GIVE_UP);
    assert_int_equal(webhook_classify(CURLE_OK, 401), WEBHOOK_GIVE_UP);
    assert_int_equal(webhook_classify(CURLE_OK, 404), WEBHOOK_GIVE_UP);
    assert_int_equal(webhook_classify(CURLE_OK, 301), WEBHOOK_GIVE_UP);
    assert_int_equal(webhook_classify(CURLE_COULDNT_CONNECT, 0), WEBHOOK_RETRY);
    assert_int_equal(webhook_classify(CURLE_OPERATION_TIMEDOUT, 0), WEBHOOK_RETRY);
    assert_int_equal(webhook_classify(CURLE_GOT_NOTHING, 0), WEBHOOK_RETRY);
    assert_int_equal(webhook_classify(CURLE_COULDNT_RESOLVE_HOST, 0), WEBHOOK_RETRY);
    assert_int_equal(webhook_classify(CURLE_PEER_FAILED_VERIFICATION, 0), WEBHOOK_GIVE_UP);
    assert_int_equal(webhook_classify(CURLE_URL_MALFORMAT, 0), WEBHOOK_GIVE_UP);
    assert_int_equal(webhook_classify(CURLE_UNSUPPORTED_PROTOCOL, 0), WEBHOOK_GIVE_UP);
}

static void test_backoff(void **state)
{
    (void)state;
    webhook_config cfg = {.retry_delay = 0.5, .retry_max_delay = 3.0};
    assert_float_equal(webhook_backoff(&cfg, 1, 0), 0.5, 1e-9);
    assert_float_equal(webhook_backoff(&cfg, 2, 0), 1.0, 1e-9);
    assert_float_equal(webhook_backoff(&cfg, 3, 0), 2.0, 1e-9);
    assert_float_equal(webhook_backoff(&cfg, 4, 0), 3.0, 1e-9);  /* capped */
    assert_float_equal(webhook_backoff(&cfg, 20, 0), 3.0, 1e-9); /* no overflow */
    /* Retry-After wins when longer, within the cap. */
    assert_float_equal(webhook_backoff(&cfg, 1, 2), 2.0, 1e-9);
    assert_float_equal(webhook_backoff(&cfg, 3, 1), 2.0, 1e-9);
    assert_float_equal(webhook_backoff(&cfg, 1, 120), 3.0, 1e-9);
    webhook_config zero = {.retry_delay = 0, .retry_max_delay = 0};
    assert_float_equal(webhook_backoff(&zero, 5, 10), 0.0, 1e-9);
}

static void test_header_value_ok(void **state)
{
    (void)state;
    assert_true(webhook_header_value_ok("ftrack.update"));
    assert_true(webhook_header_value_ok("0f1e2d3c-aaaa-bbbb-cccc-000000000000"));
    assert_false(webhook_header_value_ok("a\r\nX-Evil: 1"));
    assert_false(webhook_header_value_ok("tab\there"));
    assert_false(webhook_header_value_ok("caf\xc3\xa9"));
    assert_false(webhook_header_value_ok(""));
    assert_false(webhook_header_value_ok(NULL));
}

/* ---- configuration ----------------------------------------------------------------------- */

static void test_config_defaults(void **state)
{
    (void)state;
    webhook_config cfg;
    ftrack_error err;
    json_object *args =
        args_from("{\"webhook_url\": \"https://example.com/hook\", \"unsigned\": true}");
    assert_int_equal(webhook_config_from_args(args, &cfg, &err), FTRACK_OK);
    assert_string_equal(cfg.url, "https://example.com/hook");
    assert_float_equal(cfg.budget, 50.0, 1e-9);
    assert_string_equal(cfg.expression, "topic=ftrack.update");
    assert_null(cfg.secret);
    assert_float_equal(cfg.timeout, 10.0, 1e-9);
    assert_int_equal(cfg.max_retries, 5);
    assert_float_equal(cfg.retry_delay, 0.5, 1e-9);
    assert_float_equal(cfg.retry_max_delay, 30.0, 1e-9);
    webhook_config_clear(&cfg);
    json_object_put(args);
}

static void expect_config_error(const char *text, const char *needle);

static void test_config_values(void **state)
{
    (void)state;
    webhook_config cfg;
    ftrack_error err;
    json_object *args = args_from("{\"webhook_url\": \"http://127.0.0.1:9/x\","
                                  " \"webhook_secret\": \"s3cr3t\", \"webhook_timeout\": 2,"
                                  " \"webhook_max_retries\": 0, \"webhook_retry_delay\": 0.25,"
                                  " \"webhook_expression\": \"topic=a or topic=b\","
                                  " \"webhook_retry_max_delay\": 4.5}");
    assert_int_equal(webhook_config_from_args(args, &cfg, &err), FTRACK_OK);
    assert_string_equal(cfg.secret, "s3cr3t");
    assert_string_equal(cfg.expression, "topic=a or topic=b");
    assert_float_equal(cfg.timeout, 2.0, 1e-9);
    assert_int_equal(cfg.max_retries, 0);
    assert_float_equal(cfg.retry_delay, 0.25, 1e-9);
    assert_float_equal(cfg.retry_max_delay, 4.5, 1e-9);
    webhook_config_clear(&cfg);
    json_object_put(args);

    /* An empty secret is never "signed with the empty key": unsigned, and only when asked. */
    args = args_from("{\"webhook_url\": \"http://h/\", \"webhook_secret\": \"\","
                     " \"unsigned\": true}");
    assert_int_equal(webhook_config_from_args(args, &cfg, &err), FTRACK_OK);
    assert_null(cfg.secret);
    webhook_config_clear(&cfg);
    json_object_put(args);
    expect_config_error("{\"webhook_url\": \"http://h/\", \"webhook_secret\": \"\"}", "unsigned");
    expect_config_error("{\"webhook_url\": \"http://h/\"}", "webhook_secret is missing");
    expect_config_error("{\"webhook_url\": \"http://h/\", \"unsigned\": \"yes\"}", "unsigned");
}

static void expect_config_error(const char *text, const char *needle)
{
    webhook_config cfg;
    ftrack_error err;
    json_object *args = args_from(text);
    assert_int_equal(webhook_config_from_args(args, &cfg, &err), FTRACK_ERR_CONFIG);
    assert_int_equal(err.code, FTRACK_ERR_CONFIG);
    if (!strstr(err.message, needle))
        fail_msg("error '%s' does not mention '%s'", err.message, needle);
    /* Neither the secret nor the URL's path (often a token) is ever quoted. */
    assert_null(strstr(err.message, "TOPSECRET"));
    assert_null(strstr(err.message, "PATHTOKEN"));
    assert_null(cfg.url);
    json_object_put(args);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("{}", "webhook_url");
    expect_config_error("{\"webhook_url\": \"\"}", "webhook_url");
    expect_config_error("{\"webhook_url\": 3}", "webhook_url");
    expect_config_error("{\"webhook_url\": \"ftp://h/PATHTOKEN\", \"webhook_secret\": "
                        "\"TOPSECRET\"}",
                        "http or https");
    expect_config_error("{\"webhook_url\": \"not a url PATHTOKEN\"}", "webhook_url");
    expect_config_error("{\"webhook_url\": \"http://h/PATHTOKEN\", \"webhook_secret\": "
                        "\"TOPSECRET\", \"webhook_timeout\": \"fast\"}",
                        "webhook_timeout");
    expect_config_error("{\"webhook_url\": \"http://h/\", \"webhook_timeout\": 0}",
                        "webhook_timeout");
    expect_config_error("{\"webhook_url\": \"http://h/\", \"webhook_max_retries\": -1}",
                        "webhook_max_retries");
    expect_config_error("{\"webhook_url\": \"http://h/\", \"webhook_max_retries\": 1000}",
                        "webhook_max_retries");
    expect_config_error("{\"webhook_url\": \"http://h/\", \"webhook_retry_delay\": 1e9}",
                        "webhook_retry_delay");
    expect_config_error("{\"webhook_url\": \"http://h/\", \"webhook_expression\": \"\"}",
                        "webhook_expression");
    expect_config_error("{\"webhook_url\": \"http://h/\", \"webhook_secret\": 12}",
                        "webhook_secret");
}

static void test_url_origin(void **state)
{
    (void)state;
    char *o = webhook_url_origin("https://hooks.example.com/services/T0/B0/PATHTOKEN?k=v");
    assert_string_equal(o, "https://hooks.example.com");
    free(o);
    o = webhook_url_origin("http://127.0.0.1:8080/hook");
    assert_string_equal(o, "http://127.0.0.1:8080");
    free(o);
    o = webhook_url_origin("http://user:pw@host.example/x");
    assert_string_equal(o, "http://host.example");
    free(o);
    o = webhook_url_origin("::nonsense::");
    assert_string_equal(o, "(invalid URL)");
    free(o);
}

/* ---- deliveries against a real HTTP server ---------------------------------------------- */

#define MAX_LOGS 16

typedef struct recorder {
    int sleeps;
    double slept[32];
    int logs;
    bool final[MAX_LOGS];
    char text[MAX_LOGS][CURL_ERROR_SIZE + 512];
} recorder;

static void record_sleep(void *user_data, double seconds)
{
    recorder *r = user_data;
    if (r->sleeps < 32)
        r->slept[r->sleeps] = seconds;
    r->sleeps++;
}

static void record_log(void *user_data, bool final, const char *event_id, const char *topic,
                       const char *message)
{
    recorder *r = user_data;
    if (r->logs >= MAX_LOGS)
        return;
    r->final[r->logs] = final;
    snprintf(r->text[r->logs], sizeof(r->text[0]), "event %s (%s): %s", event_id, topic, message);
    r->logs++;
}

typedef struct fixture {
    http_responder *server;
    webhook_config cfg;
    webhook_sender *sender;
    recorder rec;
} fixture;

static const char *BODY = "{\"id\":\"e1\",\"data\":{\"x\":1},\"topic\":\"ftrack.update\","
                          "\"sent\":null,\"source\":{},\"target\":\"\",\"inReplyToEvent\":null}";

static fixture *fixture_new(const char *extra_args)
{
    fixture *f = calloc(1, sizeof(*f));
    char text[1024];
    ftrack_error err;
    f->server = http_responder_start();
    assert_non_null(f->server);
    snprintf(text, sizeof(text),
             "{\"webhook_url\": \"%s/hook/PATHTOKEN\", \"webhook_timeout\": 5, %s%s}",
             http_responder_url(f->server), extra_args,
             strstr(extra_args, "webhook_secret") ? "" : ", \"unsigned\": true");
    json_object *args = args_from(text);
    assert_int_equal(webhook_config_from_args(args, &f->cfg, &err), FTRACK_OK);
    json_object_put(args);
    f->sender = webhook_sender_new(&f->cfg);
    assert_non_null(f->sender);
    webhook_sender_set_sleep(f->sender, record_sleep, &f->rec);
    return f;
}

static void fixture_free(fixture *f)
{
    for (int i = 0; i < f->rec.logs; i++) {
        /* No log line may carry the secret or the URL path. */
        assert_null(strstr(f->rec.text[i], "TOPSECRET"));
        assert_null(strstr(f->rec.text[i], "PATHTOKEN"));
    }
    webhook_sender_free(f->sender);
    webhook_config_clear(&f->cfg);
    http_responder_stop(f->server);
    free(f);
}

static webhook_verdict deliver(fixture *f)
{
    return webhook_deliver(f->sender, BODY, strlen(BODY), "e1", "ftrack.update", record_log,
                           &f->rec);
}

/* X-Ftrack-Signature is "t=<unix time>,v1=<hex HMAC of "<t>." + body>", with t recent. */
static void assert_signed(const http_request_record *req, const char *secret)
{
    const char *given = http_request_header(req, "X-Ftrack-Signature");
    assert_non_null(given);
    long long t = 0;
    int consumed = 0;
    assert_int_equal(sscanf(given, "t=%lld,v1=%n", &t, &consumed), 1);
    assert_true(consumed > 0);
    long long now = (long long)time(NULL);
    assert_true(t <= now && t > now - 60);
    /* Independently of webhook_sign: OpenSSL's HMAC over "<t>." and the bytes received. */
    char prefix[32];
    size_t mlen = (size_t)snprintf(prefix, sizeof(prefix), "%lld.", t);
    char *msg = malloc(mlen + req->body_len);
    assert_non_null(msg);
    memcpy(msg, prefix, mlen);
    memcpy(msg + mlen, req->body, req->body_len);
    unsigned char mac[32];
    unsigned int n = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg,
                         mlen + req->body_len, mac, &n));
    free(msg);
    char expected[65];
    for (unsigned i = 0; i < n; i++)
        snprintf(expected + 2 * i, 3, "%02x", mac[i]);
    assert_string_equal(given + consumed, expected);
}

static void test_deliver_signed(void **state)
{
    (void)state;
    fixture *f = fixture_new("\"webhook_secret\": \"TOPSECRET\"");
    http_responder_push(f->server, 200, "ok");
    assert_int_equal(deliver(f), WEBHOOK_DELIVERED);
    assert_int_equal(http_responder_count(f->server), 1);
    const http_request_record *req = http_responder_request(f->server, 0);
    assert_string_equal(req->method, "POST");
    assert_string_equal(req->path, "/hook/PATHTOKEN");
    assert_int_equal(req->body_len, strlen(BODY));
    assert_memory_equal(req->body, BODY, req->body_len);
    assert_string_equal(http_request_header(req, "Content-Type"), "application/json");
    assert_string_equal(http_request_header(req, "X-Ftrack-Event-Id"), "e1");
    assert_string_equal(http_request_header(req, "X-Ftrack-Topic"), "ftrack.update");
    assert_string_equal(http_request_header(req, "X-Ftrack-Delivery-Attempt"), "1");
    assert_signed(req, "TOPSECRET");
    assert_int_equal(f->rec.logs, 0);
    assert_int_equal(f->rec.sleeps, 0);
    fixture_free(f);
}

/* Retries stop where the next wait would pass webhook_budget, whatever max_retries allows. */
static void test_deliver_within_budget(void **state)
{
    (void)state;
    fixture *f = fixture_new("\"webhook_secret\": \"TOPSECRET\", \"webhook_retry_delay\": 0.25,"
                             " \"webhook_max_retries\": 5, \"webhook_budget\": 0.5");
    for (int i = 0; i < 6; i++)
        http_responder_push(f->server, 500, "boom");
    assert_int_equal(deliver(f), WEBHOOK_GIVE_UP);
    assert_int_equal(http_responder_count(f->server), 2);
    assert_int_equal(f->rec.sleeps, 1);
    assert_non_null(strstr(f->rec.text[f->rec.logs - 1], "within webhook_budget"));
    fixture_free(f);
}

static void test_deliver_unsigned(void **state)
{
    (void)state;
    fixture *f = fixture_new("\"webhook_max_retries\": 0");
    http_responder_push(f->server, 204, NULL);
    assert_int_equal(deliver(f), WEBHOOK_DELIVERED);
    assert_null(http_request_header(http_responder_request(f->server, 0), "X-Ftrack-Signature"));
    fixture_free(f);
}

static void test_deliver_retries_500_then_200(void **state)
{
    (void)state;
    fixture *f = fixture_new("\"webhook_secret\": \"TOPSECRET\", \"webhook_retry_delay\": 0.25");
    http_responder_push(f->server, 500, "boom");
    http_responder_push(f->server, 200, "ok");
    assert_int_equal(deliver(f), WEBHOOK_DELIVERED);
    assert_int_equal(http_responder_count(f->server), 2);
    for (size_t i = 0; i < 2; i++) {
        const http_request_record *req = http_responder_request(f->server, i);
        assert_memory_equal(req->body, BODY, req->body_len);
        assert_signed(req, "TOPSECRET");
    }
    assert_string_equal(
        http_request_header(http_responder_request(f->server, 1), "X-Ftrack-Delivery-Attempt"),
        "2");
    assert_int_equal(f->rec.sleeps, 1);
    assert_float_equal(f->rec.slept[0], 0.25, 1e-9);
    assert_int_equal(f->rec.logs, 1);
    assert_false(f->rec.final[0]);
    assert_non_null(strstr(f->rec.text[0], "event e1 (ftrack.update)"));
    assert_non_null(strstr(f->rec.text[0], "HTTP status 500"));
    fixture_free(f);
}

static void test_deliver_gives_up_after_max_retries(void **state)
{
    (void)state;
    fixture *f = fixture_new("\"webhook_max_retries\": 3, \"webhook_retry_delay\": 1,"
                             " \"webhook_retry_max_delay\": 3");
    http_responder_set_default(f->server, 503, "busy");
    assert_int_equal(deliver(f), WEBHOOK_GIVE_UP);
    assert_int_equal(http_responder_count(f->server), 4);
    assert_int_equal(f->rec.sleeps, 3);
    assert_float_equal(f->rec.slept[0], 1.0, 1e-9);
    assert_float_equal(f->rec.slept[1], 2.0, 1e-9);
    assert_float_equal(f->rec.slept[2], 3.0, 1e-9);
    assert_int_equal(f->rec.logs, 4);
    assert_true(f->rec.final[3]);
    assert_non_null(strstr(f->rec.text[3], "after 4 attempts"));
    fixture_free(f);
}

static void test_deliver_does_not_retry_4xx(void **state)
{
    (void)state;
    fixture *f = fixture_new("\"webhook_max_retries\": 3");
    http_responder_push(f->server, 400, "bad");
    http_responder_push(f->server, 200, "ok");
    assert_int_equal(deliver(f), WEBHOOK_GIVE_UP);
    assert_int_equal(http_responder_count(f->server), 1);
    assert_int_equal(f->rec.sleeps, 0);
    assert_int_equal(f->rec.logs, 1);
    assert_non_null(strstr(f->rec.text[0], "not retried"));
    fixture_free(f);
}

static void test_deliver_honours_retry_after(void **state)
{
    (void)state;
    fixture *f = fixture_new("\"webhook_retry_delay\": 0.1");
    http_responder_push_ex(f->server, 429, "slow down", 0, "Retry-After: 7");
    http_responder_push(f->server, 200, "ok");
    assert_int_equal(deliver(f), WEBHOOK_DELIVERED);
    assert_int_equal(f->rec.sleeps, 1);
    assert_float_equal(f->rec.slept[0], 7.0, 1e-9);
    fixture_free(f);
}

static void test_deliver_retries_timeouts(void **state)
{
    (void)state;
    fixture *f = fixture_new("\"webhook_timeout\": 0.3, \"webhook_max_retries\": 1");
    http_responder_push_ex(f->server, 200, "late", 2.0, NULL);
    http_responder_push(f->server, 200, "ok");
    assert_int_equal(deliver(f), WEBHOOK_DELIVERED);
    assert_int_equal(f->rec.sleeps, 1);
    assert_int_equal(f->rec.logs, 1);
    fixture_free(f);
}

static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd); /* nobody listens there now */
    return ntohs(a.sin_port);
}

static void test_deliver_connection_refused(void **state)
{
    (void)state;
    webhook_config cfg;
    ftrack_error err;
    recorder rec;
    char text[256];
    memset(&rec, 0, sizeof(rec));
    snprintf(text, sizeof(text),
             "{\"webhook_url\": \"http://127.0.0.1:%d/PATHTOKEN\", \"webhook_max_retries\": 2,"
             " \"webhook_secret\": \"TOPSECRET\"}",
             closed_port());
    json_object *args = args_from(text);
    assert_int_equal(webhook_config_from_args(args, &cfg, &err), FTRACK_OK);
    webhook_sender *s = webhook_sender_new(&cfg);
    webhook_sender_set_sleep(s, record_sleep, &rec);
    assert_int_equal(webhook_deliver(s, BODY, strlen(BODY), "e1", "t", record_log, &rec),
                     WEBHOOK_GIVE_UP);
    assert_int_equal(rec.sleeps, 2);
    assert_int_equal(rec.logs, 3);
    assert_true(rec.final[2]);
    assert_non_null(strstr(rec.text[2], "after 3 attempts"));
    for (int i = 0; i < rec.logs; i++) {
        assert_null(strstr(rec.text[i], "PATHTOKEN"));
        assert_null(strstr(rec.text[i], "TOPSECRET"));
    }
    webhook_sender_free(s);
    webhook_config_clear(&cfg);
    json_object_put(args);
}

static void test_unsafe_header_values_are_left_out(void **state)
{
    (void)state;
    fixture *f = fixture_new("\"webhook_max_retries\": 0");
    http_responder_push(f->server, 200, "ok");
    assert_int_equal(
        webhook_deliver(f->sender, BODY, strlen(BODY), "e1", "evil\r\nX-Injected: 1", NULL, NULL),
        WEBHOOK_DELIVERED);
    const http_request_record *req = http_responder_request(f->server, 0);
    assert_null(http_request_header(req, "X-Injected"));
    assert_null(http_request_header(req, "X-Ftrack-Topic"));
    assert_string_equal(http_request_header(req, "X-Ftrack-Event-Id"), "e1");
    fixture_free(f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_rfc4231_case2),
        cmocka_unit_test(test_sign_rfc4231_case1),
        cmocka_unit_test(test_sign_covers_exact_bytes),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_header_value_ok),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_values),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_url_origin),
        cmocka_unit_test(test_deliver_signed),
        cmocka_unit_test(test_deliver_unsigned),
        cmocka_unit_test(test_deliver_within_budget),
        cmocka_unit_test(test_deliver_retries_500_then_200),
        cmocka_unit_test(test_deliver_gives_up_after_max_retries),
        cmocka_unit_test(test_deliver_does_not_retry_4xx),
        cmocka_unit_test(test_deliver_honours_retry_after),
        cmocka_unit_test(test_deliver_retries_timeouts),
        cmocka_unit_test(test_deliver_connection_refused),
        cmocka_unit_test(test_unsafe_header_values_are_left_out),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
