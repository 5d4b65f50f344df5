/* SPDX-License-Identifier: Apache-2.0 */
/* The public headers by audience: a plugin author's headers (plugin.h, event.h, hub.h,
 * common.h) carry no host material, the whole public API names no third-party type but
 * json-c's, and the two small helpers that replaced host-only or libcurl-typed calls
 * (ftrack_delivery_init, ftrack_auth_headers) do what their headers say. The header checks
 * are made by the compiler: this file does not build when a rule is broken. */
#include <ftrack/plugin.h>
#include <ftrack/event.h>
#include <ftrack/hub.h>
#include <ftrack/common.h>

#if defined(FTRACK_HOST_H) || defined(FTRACK_PLUGIN_LOADER_H)
#error "a plugin author's headers pull in host material (ftrack/host.h or ftrack/plugin_loader.h)"
#endif

#include <ftrack/ftrack.h>
#include <ftrack/host.h>
#include <ftrack/plugin_loader.h>

/* Include guards of the other libraries libftrack is built on (old and new spellings). */
#if defined(CURLINC_CURL_H) || defined(__CURL_CURL_H)
#error "a public header includes libcurl"
#endif
#if defined(LIBWEBSOCKET_H_3060898B846849FF9F88F5DB59B5950C)
#error "a public header includes libwebsockets"
#endif
#if defined(EVENT2_EVENT_H_INCLUDED_) || defined(EVENT2_UTIL_H_INCLUDED_)
#error "a public header includes libevent"
#endif
#if defined(SQLITE3_H) || defined(OPENSSL_SSL_H) || defined(HEADER_SSL_H) || defined(OPENSSL_CRYPTO_H)
#error "a public header includes SQLite or OpenSSL"
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_delivery_init(void **state)
{
    (void)state;
    ftrack_delivery_outcome outcome;
    ftrack_delivery d;
    memset(&outcome, 0xff, sizeof(outcome));
    memset(&d, 0xff, sizeof(d));
    ftrack_delivery_init(&d, &outcome);
    assert_int_equal(d.size, sizeof(d));
    assert_int_equal(d.attempt, 1);
    assert_false(d.redelivery);
    assert_null(d.subscriber_id);
    assert_ptr_equal(d.outcome, &outcome);
    assert_int_equal(outcome.size, sizeof(outcome));
    assert_int_equal(outcome.failures, 0);
    assert_string_equal(outcome.message, "");

    /* The outcome it attached is where ftrack_delivery_fail records. */
    ftrack_delivery_fail(&d, "bad %s", "input");
    ftrack_delivery_fail(&d, "second");
    assert_int_equal(outcome.failures, 2);
    assert_string_equal(outcome.message, "bad input");

    /* Without an outcome nobody listens: a failure is only logged. */
    ftrack_delivery_init(&d, NULL);
    assert_null(d.outcome);
    assert_int_equal(d.attempt, 1);
    ftrack_delivery_fail(&d, "nobody listens");
}

static void test_auth_headers(void **state)
{
    (void)state;
    json_object *h = ftrack_auth_headers("bob", "secret");
    assert_non_null(h);
    assert_int_equal(json_object_object_length(h), 2);
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(h, "ftrack-api-key", &v));
    assert_string_equal(json_object_get_string(v), "secret");
    assert_true(json_object_object_get_ex(h, "ftrack-user", &v));
    assert_string_equal(json_object_get_string(v), "bob");
    json_object_put(h);

    h = ftrack_auth_headers(NULL, NULL);
    assert_non_null(h);
    assert_true(json_object_object_get_ex(h, "ftrack-user", &v));
    assert_string_equal(json_object_get_string(v), "");
    json_object_put(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivery_init),
        cmocka_unit_test(test_auth_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
