/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_NETENV_H
#define FTI_NETENV_H
/*
 * How the SDK reaches a server, from settings studios already have for ftrack's Python
 * client: which certificate authorities verify it and which HTTP proxy carries the traffic.
 * Shared by /api (session/http.c), the socket.io handshake and the websocket (hub/), so
 * that every connection to one server makes the same choice.
 *
 * Stateless: reads the environment on each call (no caching, so a test or an operator can
 * change it between connections).
 */
#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

/* The CA file that verifies servers: `given` when set (an option such as --ca-file), else
 * REQUESTS_CA_BUNDLE, then CURL_CA_BUNDLE, then SSL_CERT_FILE; NULL means the system's
 * store. Borrowed from `given` or the environment. */
const char *fti_ca_file(const char *given);

/* The proxy URL for a connection to `host` over https (`secure`) or http, as given in
 * https_proxy/HTTPS_PROXY or http_proxy/HTTP_PROXY (lower case first, like ftrack's Python
 * client), unless no_proxy/NO_PROXY lists the host ("*", names, ".domain" suffixes).
 * Returns a new string (it may hold credentials: wipe before freeing, never log it) or
 * NULL for a direct connection. */
char *fti_proxy_for_host(bool secure, const char *host);

/* Point a curl handle at the proxy for `url` (or none, overriding curl's own reading of the
 * environment, which skips HTTP_PROXY). */
void fti_curl_use_proxy(CURL *curl, const char *url);

/* Free a string that may hold credentials. NULL is accepted. */
void fti_free_secret(char *text);
#endif
