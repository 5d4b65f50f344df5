/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_SESSION_HTTP_H
#define FTI_SESSION_HTTP_H
/*
 * The authenticated /api client (protocol §2-§3): one POST {server_url}/api per batch.
 *
 * Threads. One fti_http serves any number of threads at once. Each call borrows an easy handle
 * from a small pool (so a connection is only ever used by one thread, while idle connections are
 * reused by the next call); DNS and TLS sessions are shared through a CURLSH with per-kind
 * mutexes. libcurl's connection cache is deliberately not shared: libcurl does not support
 * sharing it between concurrent threads.
 *
 * Proxies: nothing here sets CURLOPT_PROXY or CURLOPT_NOPROXY, so libcurl honours http_proxy,
 * HTTPS_PROXY, ALL_PROXY and NO_PROXY from the environment by itself.
 *
 * Secrets: the API key is only ever placed in the request header; no message or log line
 * carries a header or a URL with credentials, and error texts copied from the server are
 * scrubbed of the key.
 */
#include <stdbool.h>
#include <json-c/json.h>
#include <ftrack/common.h>

typedef struct fti_http fti_http;

typedef struct fti_http_config {
    const char *server_url; /* without trailing '/'; a path prefix is kept */
    const char *api_user;
    const char *api_key;
    const char *ca_bundle; /* NULL: the system's CAs */
    bool insecure_skip_verify;
    bool strict_api;            /* ftrack-strict-api: true|false */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
    double timeout;             /* seconds per request; <= 0 → 60 */
    int max_retries;            /* < 0 → 3 */
    double retry_base_delay;    /* first backoff in seconds; <= 0 → 0.2 (doubles each retry) */
    double retry_max_delay;     /* backoff ceiling, Retry-After included; <= 0 → 10 */
} fti_http_config;

/* Strings are copied. FTRACK_ERR_INVALID_ARGUMENT for a malformed extra header. */
ftrack_status fti_http_new(const fti_http_config *config, fti_http **out, ftrack_error *err);
/* NULL is accepted. No call may be running. */
void fti_http_free(fti_http *http);

/* Append the two authentication headers (`ftrack-api-key`, `ftrack-user`) to a curl header
 * list and return the new head (NULL when out of memory; the old list is then untouched).
 * Private because it names a libcurl type; ftrack_auth_headers() is the public form. */
struct curl_slist;
struct curl_slist *fti_auth_append_headers(struct curl_slist *list, const char *api_user,
                                           const char *api_key);

/* POST `operations` (a JSON array, borrowed) and store the results array (new, same length)
 * in *results. Errors as ftrack_session_call() documents. */
ftrack_status fti_http_call(fti_http *http, json_object *operations, json_object **results,
                            ftrack_error *err);

/* Apply the session's transfer settings (timeouts, protocols, TLS verification and CA bundle,
 * the proxy for `url`) to another curl handle (a CURL *), e.g. an upload's PUT. No headers,
 * no credentials. */
void fti_http_setup_transfer(const fti_http *http, void *curl, const char *url);

/* Interpret one answer of /api (exposed for tests): status + raw body → results or error.
 * `expected` is the number of operations sent. */
ftrack_status fti_http_interpret(int http_status, const char *body, size_t len, size_t expected,
                                 json_object **results, ftrack_error *err);

/* The URL for messages: userinfo ("user:pass@") removed. New string, NULL on OOM. */
char *fti_url_redact(const char *url);

/* Replace every occurrence of `secret` in the error's texts with "***". */
void fti_error_scrub(ftrack_error *err, const char *secret);

/* Validate one "Name: value" header line: a token name, a colon, no CR/LF anywhere. */
bool fti_http_header_valid(const char *line);

#endif
