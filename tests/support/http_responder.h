/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_TEST_HTTP_RESPONDER_H
#define FTRACK_TEST_HTTP_RESPONDER_H
/*
 * A small scripted HTTP server for tests, on 127.0.0.1 with an ephemeral port.
 *
 * It runs libevent's evhttp on a background thread. Every request is recorded (method, path,
 * headers, body) and answered from, in this order:
 *   1. the script: a FIFO of canned answers pushed with http_responder_push*();
 *      each is used once;
 *   2. the handler set with http_responder_set_handler() (called on the responder's thread);
 *   3. the default answer (initially HTTP 500 with the text "no scripted response", so a test
 *      that forgot to script an answer fails loudly).
 * An answer may be delayed (timeouts) and carry extra headers (Retry-After, say). The
 * Content-Type is application/json unless the extra headers name another.
 *
 * Typical use:
 *   http_responder *r = http_responder_start();
 *   http_responder_push(r, 200, "[{\"version\": \"dev\"}]");
 *   ... point a client at http_responder_url(r) ...
 *   const http_request_record *req = http_responder_request(r, 0);
 *   assert_string_equal(http_request_header(req, "ftrack-user"), "jane");
 *   http_responder_stop(r);
 *
 * Threads: every function may be called from any thread. Records are append-only; a pointer
 * returned by http_responder_request() stays valid until http_responder_clear() or
 * http_responder_stop().
 *
 * Ownership: strings passed in are copied.
 */
#include <stdbool.h>
#include <stddef.h>

typedef struct http_responder http_responder;

typedef struct http_request_record {
    char method[16]; /* "POST", "GET", ... */
    char *path;      /* the request target as sent, query included */
    size_t header_count;
    char **header_names; /* as sent (case preserved) */
    char **header_values;
    char *body; /* NUL-terminated copy of the body ("" when none) */
    size_t body_len;
} http_request_record;

/* Called for a request the script does not answer. Set *status and *body (malloc'ed; the
 * responder frees it; NULL means an empty body). Runs on the responder's thread. */
typedef void (*http_responder_handler)(const http_request_record *request, int *status, char **body,
                                       void *user_data);

/* Start on 127.0.0.1, port 0. NULL on failure. */
http_responder *http_responder_start(void);
/* Stop the thread, close connections, answer nothing more, free everything. NULL is fine. */
void http_responder_stop(http_responder *r);

int http_responder_port(const http_responder *r);
/* "http://127.0.0.1:<port>" (borrowed). */
const char *http_responder_url(const http_responder *r);

/* Queue one answer. `body` may be NULL (empty). */
void http_responder_push(http_responder *r, int status, const char *body);
/* As above, answered after `delay` seconds, with `headers` extra "Name: value" lines
 * separated by '\n' (NULL for none). */
void http_responder_push_ex(http_responder *r, int status, const char *body, double delay,
                            const char *headers);
void http_responder_set_handler(http_responder *r, http_responder_handler handler, void *user_data);
void http_responder_set_default(http_responder *r, int status, const char *body);

/* Number of requests received so far. */
size_t http_responder_count(http_responder *r);
/* The index-th request (0-based), or NULL. Borrowed (see above). */
const http_request_record *http_responder_request(http_responder *r, size_t index);
/* Wait until at least `n` requests arrived or `timeout` seconds passed. */
bool http_responder_wait_count(http_responder *r, size_t n, double timeout);
/* Forget recorded requests and any unused scripted answers. */
void http_responder_clear(http_responder *r);

/* The value of a header (case-insensitive name), or NULL. */
const char *http_request_header(const http_request_record *request, const char *name);

#endif
