/* SPDX-License-Identifier: Apache-2.0 */
/* The hub's addressing and handshake (protocol §5.1-§5.2): server URL → endpoint, the
 * handshake answer's parsing, the HTTP GET against a local responder (credentials as headers,
 * 401 as a credentials error without the key), and the proxy chosen from the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/internal.h"
#include "hub/hub_internal.h"
#include "http_responder.h"

static void test_parse_url(void **state)
{
    (void)state;
    fti_hub_endpoint ep;
    ftrack_error err;
    assert_int_equal(fti_hub_parse_url("https://studio.ftrackapp.com/some/path?x=1", &ep, &err),
                     FTRACK_OK);
    assert_true(ep.secure);
    assert_string_equal(ep.base_url, "https://studio.ftrackapp.com");
    assert_string_equal(ep.host, "studio.ftrackapp.com");
    assert_string_equal(ep.address, "studio.ftrackapp.com");
    assert_int_equal(ep.port, 443);
    fti_hub_endpoint_clear(&ep);

    assert_int_equal(fti_hub_parse_url("http://127.0.0.1:9090/", &ep, &err), FTRACK_OK);
    assert_false(ep.secure);
    assert_string_equal(ep.base_url, "http://127.0.0.1:9090");
    assert_string_equal(ep.host, "127.0.0.1:9090");
    assert_int_equal(ep.port, 9090);
    fti_hub_endpoint_clear(&ep);

    assert_int_equal(fti_hub_parse_url("http://[::1]:8080", &ep, &err), FTRACK_OK);
    assert_string_equal(ep.address, "::1");
    assert_string_equal(ep.host, "[::1]:8080");
    fti_hub_endpoint_clear(&ep);

    assert_int_equal(fti_hub_parse_url("studio.example.com", &ep, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "Could not determine scheme"));
    assert_int_equal(fti_hub_parse_url("http://", &ep, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "hostname"));
    assert_int_equal(fti_hub_parse_url("ftp://x.example", &ep, &err), FTRACK_ERR_CONFIG);
    assert_int_equal(fti_hub_parse_url(NULL, &ep, &err), FTRACK_ERR_CONFIG);
}

static ftrack_status parse(const char *body, fti_handshake *hs, ftrack_error *err)
{
    return fti_hub_parse_handshake(body, strlen(body), hs, err);
}

static void test_parse_handshake(void **state)
{
    (void)state;
    fti_handshake hs;
    ftrack_error err;
    assert_int_equal(parse("4d4f185e96a7b:60:60:websocket,xhr-polling", &hs, &err), FTRACK_OK);
    assert_string_equal(hs.sid, "4d4f185e96a7b");
    assert_int_equal(hs.heartbeat, 60);
    assert_int_equal(hs.close_timeout, 60);
    assert_int_equal(parse("abc:15:25:xhr-polling,websocket\n", &hs, &err), FTRACK_OK);
    assert_int_equal(hs.heartbeat, 15);
    assert_int_equal(parse("abc:::websocket", &hs, &err), FTRACK_OK);
    assert_int_equal(hs.heartbeat, 0);

    assert_int_equal(parse("abc:60:60:xhr-polling", &hs, &err), FTRACK_ERR_COMPATIBILITY);
    assert_string_equal(err.message, "Server does not support websocket sessions.");
    assert_int_equal(parse("abc:60:60:websockets", &hs, &err), FTRACK_ERR_COMPATIBILITY);
    assert_int_equal(parse("1234567890:", &hs, &err), FTRACK_ERR_BAD_RESPONSE); /* 2 fields */
    assert_int_equal(parse("abc:60:websocket", &hs, &err), FTRACK_ERR_BAD_RESPONSE);
    assert_int_equal(parse(":60:60:websocket", &hs, &err), FTRACK_ERR_BAD_RESPONSE);
    assert_int_equal(parse("a/b:60:60:websocket", &hs, &err), FTRACK_ERR_BAD_RESPONSE);
    assert_int_equal(parse("abc:6x:60:websocket", &hs, &err), FTRACK_ERR_BAD_RESPONSE);
    assert_int_equal(parse("<html>oops</html>", &hs, &err), FTRACK_ERR_BAD_RESPONSE);
}

static http_responder *responder;

static void handshake_against(int status, const char *body, ftrack_status want, fti_handshake *hs,
                              ftrack_error *err)
{
    http_responder_push(responder, status, body);
    fti_hub_endpoint ep;
    assert_int_equal(fti_hub_parse_url(http_responder_url(responder), &ep, NULL), FTRACK_OK);
    const char *headers[] = {"ftrack-strict-api: false", "X-Studio: north", NULL};
    fti_handshake_request req = {
        .endpoint = &ep,
        .api_user = "jane",
        .api_key = "top-secret-key",
        .headers = headers,
        .timeout = 5,
    };
    ftrack_status st = fti_hub_handshake(&req, hs, err);
    if (st != want)
        fail_msg("handshake: status %d (%s), want %d", (int)st, err->message, (int)want);
    fti_hub_endpoint_clear(&ep);
}

static void test_handshake_get(void **state)
{
    (void)state;
    responder = http_responder_start();
    assert_non_null(responder);
    fti_handshake hs;
    ftrack_error err;
    handshake_against(200, "s1d-xyz:60:60:websocket,foo", FTRACK_OK, &hs, &err);
    assert_string_equal(hs.sid, "s1d-xyz");
    const http_request_record *req = http_responder_request(responder, 0);
    assert_non_null(req);
    assert_string_equal(req->method, "GET");
    assert_string_equal(req->path, "/socket.io/1/");
    assert_string_equal(http_request_header(req, "ftrack-user"), "jane");
    assert_string_equal(http_request_header(req, "ftrack-api-key"), "top-secret-key");
    assert_string_equal(http_request_header(req, "ftrack-strict-api"), "false");
    assert_string_equal(http_request_header(req, "X-Studio"), "north");

    handshake_against(401, "{}", FTRACK_ERR_AUTH, &hs, &err);
    assert_int_equal(err.http_status, 401);
    assert_non_null(strstr(err.message, "refused the credentials of API user 'jane'"));
    assert_null(strstr(err.message, "top-secret-key"));

    handshake_against(500, "", FTRACK_ERR_BAD_RESPONSE, &hs, &err);
    assert_non_null(strstr(err.message, "unexpected status code 500"));
    handshake_against(200, "no colons here", FTRACK_ERR_BAD_RESPONSE, &hs, &err);
    http_responder_stop(responder);
}

static void test_handshake_refused_port(void **state)
{
    (void)state;
    fti_hub_endpoint ep;
    assert_int_equal(fti_hub_parse_url("http://127.0.0.1:1", &ep, NULL), FTRACK_OK);
    fti_handshake_request req = {.endpoint = &ep, .api_user = "u", .api_key = "k", .timeout = 5};
    fti_handshake hs;
    ftrack_error err;
    assert_int_equal(fti_hub_handshake(&req, &hs, &err), FTRACK_ERR_NETWORK);
    assert_non_null(
        strstr(err.message, "Failed to connect to the event server at http://127.0.0.1:1"));
    fti_hub_endpoint_clear(&ep);
}

static void test_proxy_from_environment(void **state)
{
    (void)state;
    fti_hub_endpoint secure, plain;
    assert_int_equal(fti_hub_parse_url("https://studio.example.com", &secure, NULL), FTRACK_OK);
    assert_int_equal(fti_hub_parse_url("http://studio.example.com", &plain, NULL), FTRACK_OK);
    char host[128];
    unsigned port = 7;
    unsetenv("HTTPS_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("http_proxy");
    unsetenv("NO_PROXY");
    unsetenv("no_proxy");
    assert_false(fti_hub_proxy_for(&secure, host, sizeof(host), &port));

    setenv("HTTPS_PROXY", "http://user:pw@proxy.local:3128/", 1);
    assert_true(fti_hub_proxy_for(&secure, host, sizeof(host), &port));
    assert_string_equal(host, "user:pw@proxy.local:3128");
    assert_int_equal(port, 0); /* the port is in the address */
    assert_false(fti_hub_proxy_for(&plain, host, sizeof(host), &port)); /* ws uses HTTP_PROXY */

    setenv("NO_PROXY", "localhost,.example.com", 1);
    assert_false(fti_hub_proxy_for(&secure, host, sizeof(host), &port));
    setenv("NO_PROXY", "other.org", 1);
    assert_true(fti_hub_proxy_for(&secure, host, sizeof(host), &port));
    setenv("NO_PROXY", "*", 1);
    assert_false(fti_hub_proxy_for(&secure, host, sizeof(host), &port));
    unsetenv("NO_PROXY");

    setenv("http_proxy", "proxy2.local", 1);
    assert_true(fti_hub_proxy_for(&plain, host, sizeof(host), &port));
    assert_string_equal(host, "proxy2.local");
    assert_int_equal(port, 80);
    unsetenv("http_proxy");
    unsetenv("HTTPS_PROXY");
    fti_hub_endpoint_clear(&secure);
    fti_hub_endpoint_clear(&plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_url),
        cmocka_unit_test(test_parse_handshake),
        cmocka_unit_test(test_handshake_get),
        cmocka_unit_test(test_handshake_refused_port),
        cmocka_unit_test(test_proxy_from_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
