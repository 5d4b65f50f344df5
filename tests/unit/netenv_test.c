/* SPDX-License-Identifier: Apache-2.0 */
/* Trust and proxy settings from the environment (common/netenv.h): the CA file's order
 * (option, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE, system store), the proxy's
 * (lower-case variable first, then upper case; https_ for https, http_ for http) and
 * no_proxy's matching (names, ".domain" suffixes, "*", either case of the variable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/netenv.h"

static const char *const vars[] = {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
                                   "https_proxy",        "HTTPS_PROXY",    "http_proxy",
                                   "HTTP_PROXY",         "no_proxy",       "NO_PROXY"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    return 0;
}

static void test_ca_file_order(void **state)
{
    (void)state;
    assert_null(fti_ca_file(NULL));
    assert_null(fti_ca_file(""));
    setenv("SSL_CERT_FILE", "/ssl.pem", 1);
    assert_string_equal(fti_ca_file(NULL), "/ssl.pem");
    setenv("CURL_CA_BUNDLE", "/curl.pem", 1);
    assert_string_equal(fti_ca_file(NULL), "/curl.pem");
    setenv("REQUESTS_CA_BUNDLE", "/requests.pem", 1);
    assert_string_equal(fti_ca_file(NULL), "/requests.pem");
    assert_string_equal(fti_ca_file("/option.pem"), "/option.pem");
    setenv("REQUESTS_CA_BUNDLE", "", 1); /* set but empty: as if unset */
    assert_string_equal(fti_ca_file(NULL), "/curl.pem");
}

static void expect_proxy(bool secure, const char *host, const char *want)
{
    char *got = fti_proxy_for_host(secure, host);
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
    fti_free_secret(got);
}

static void test_proxy_order(void **state)
{
    (void)state;
    expect_proxy(true, "ftrack.example.com", NULL);
    setenv("HTTPS_PROXY", "http://upper:3128", 1);
    expect_proxy(true, "ftrack.example.com", "http://upper:3128");
    expect_proxy(false, "ftrack.example.com", NULL); /* http uses http_proxy */
    setenv("https_proxy", "http://user:pw@lower:3128", 1);
    expect_proxy(true, "ftrack.example.com", "http://user:pw@lower:3128");
    setenv("HTTP_PROXY", "http://plain:8080", 1); /* upper case is honoured for http too */
    expect_proxy(false, "ftrack.example.com", "http://plain:8080");
}

static void test_no_proxy(void **state)
{
    (void)state;
    setenv("https_proxy", "http://proxy:3128", 1);
    setenv("NO_PROXY", "localhost, .example.com", 1);
    expect_proxy(true, "localhost", NULL);
    expect_proxy(true, "ftrack.example.com", NULL);
    expect_proxy(true, "example.com", NULL);
    expect_proxy(true, "notexample.com", "http://proxy:3128");
    setenv("no_proxy", "other.org", 1); /* lower case wins over upper case */
    expect_proxy(true, "ftrack.example.com", "http://proxy:3128");
    expect_proxy(true, "a.other.org", NULL);
    setenv("no_proxy", "*", 1);
    expect_proxy(true, "anything", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ca_file_order, clear_env),
        cmocka_unit_test_setup(test_proxy_order, clear_env),
        cmocka_unit_test_setup(test_no_proxy, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
