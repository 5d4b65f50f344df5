/* SPDX-License-Identifier: Apache-2.0 */
/* The socket.io 0.9 handshake (protocol §5.1-§5.2): the server URL, then one HTTP GET that
 * returns the session id the websocket path needs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/internal.h"
#include "common/netenv.h"
#include "hub/hub_internal.h"

/* A handshake answer is one short line; anything longer is not a socket.io server. */
#define HANDSHAKE_BODY_MAX 4096

void fti_hub_endpoint_clear(fti_hub_endpoint *ep)
{
    if (!ep)
        return;
    free(ep->base_url);
    free(ep->address);
    free(ep->host);
    memset(ep, 0, sizeof(*ep));
}

static ftrack_status endpoint_from_curlu(CURLU *u, const char *url, fti_hub_endpoint *out,
                                         ftrack_error *err)
{
    char *scheme = NULL, *host = NULL, *port = NULL;
    ftrack_status st = FTRACK_OK;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || !scheme) {
        st = fti_error(err, FTRACK_ERR_CONFIG, "Could not determine scheme from server url '%s'.",
                       url);
        goto done;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        st = fti_error(err, FTRACK_ERR_CONFIG,
                       "Unsupported scheme '%s' in server url '%s' (use http or https).", scheme,
                       url);
        goto done;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        st = fti_error(err, FTRACK_ERR_CONFIG, "Could not determine hostname from server url '%s'.",
                       url);
        goto done;
    }
    out->secure = strcmp(scheme, "https") == 0;
    CURLUcode prc = curl_url_get(u, CURLUPART_PORT, &port, 0);
    if (prc == CURLUE_OK && port) {
        out->port = (int)strtol(port, NULL, 10);
        out->host = fti_asprintf("%s:%s", host, port);
        out->base_url = fti_asprintf("%s://%s:%s", scheme, host, port);
    } else {
        out->port = out->secure ? 443 : 80;
        out->host = fti_strdup(host);
        out->base_url = fti_asprintf("%s://%s", scheme, host);
    }
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']')
        out->address = fti_strndup(host + 1, hl - 2);
    else
        out->address = fti_strdup(host);
    if (!out->host || !out->base_url || !out->address)
        st = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    return st;
}

ftrack_status fti_hub_parse_url(const char *url, fti_hub_endpoint *out, ftrack_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!url || !*url)
        return fti_error(err, FTRACK_ERR_CONFIG, "The event hub needs a server url.");
    if (!strstr(url, "://"))
        return fti_error(err, FTRACK_ERR_CONFIG, "Could not determine scheme from server url '%s'.",
                         url);
    CURLU *u = curl_url();
    if (!u)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    ftrack_status st;
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (rc != CURLUE_OK)
        st = fti_error(err, FTRACK_ERR_CONFIG,
                       "Could not determine hostname from server url '%s' (%s).", url,
                       curl_url_strerror(rc));
    else
        st = endpoint_from_curlu(u, url, out, err);
    curl_url_cleanup(u);
    if (st != FTRACK_OK)
        fti_hub_endpoint_clear(out);
    return st;
}

static bool field_is_number(const char *s, size_t n)
{
    if (n == 0)
        return true; /* socket.io servers may leave the timeouts empty */
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool has_websocket(const char *s, size_t n)
{
    while (n > 0) {
        const char *comma = memchr(s, ',', n);
        size_t tl = comma ? (size_t)(comma - s) : n;
        /* tolerate a trailing newline or spaces around names */
        size_t a = 0, b = tl;
        while (a < b && isspace((unsigned char)s[a]))
            a++;
        while (b > a && isspace((unsigned char)s[b - 1]))
            b--;
        if (b - a == 9 && memcmp(s + a, "websocket", 9) == 0)
            return true;
        if (!comma)
            break;
        n -= tl + 1;
        s = comma + 1;
    }
    return false;
}

static bool sid_char_ok(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '~';
}

ftrack_status fti_hub_parse_handshake(const char *body, size_t len, fti_handshake *out,
                                      ftrack_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *f[4];
    size_t fl[4];
    const char *p = body, *end = body + len;
    for (int i = 0; i < 4; i++) {
        const char *c = i < 3 ? memchr(p, ':', (size_t)(end - p)) : NULL;
        if (i < 3 && !c)
            return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                             "The event server's handshake answer is not "
                             "<session id>:<heartbeat>:<close timeout>:<transports>.");
        f[i] = p;
        fl[i] = (size_t)((c ? c : end) - p);
        p = c ? c + 1 : end;
    }
    if (fl[0] == 0 || fl[0] >= sizeof(out->sid))
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "The event server's handshake answer has no usable session id.");
    for (size_t i = 0; i < fl[0]; i++)
        if (!sid_char_ok(f[0][i]))
            return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                             "The event server's session id has unexpected characters.");
    if (!field_is_number(f[1], fl[1]) || !field_is_number(f[2], fl[2]) || fl[1] > 6 || fl[2] > 6)
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "The event server's handshake answer has malformed timeouts.");
    if (!has_websocket(f[3], fl[3]))
        return fti_error(err, FTRACK_ERR_COMPATIBILITY,
                         "Server does not support websocket sessions.");
    memcpy(out->sid, f[0], fl[0]);
    out->sid[fl[0]] = '\0';
    out->heartbeat = fl[1] ? (int)strtol(f[1], NULL, 10) : 0;
    out->close_timeout = fl[2] ? (int)strtol(f[2], NULL, 10) : 0;
    return FTRACK_OK;
}

typedef struct body_buf {
    char data[HANDSHAKE_BODY_MAX];
    size_t len;
} body_buf;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body_buf *b = userdata;
    size_t n = size * nmemb;
    if (n > sizeof(b->data) - 1 - b->len)
        return 0; /* too long: makes curl fail with a write error */
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    atomic_bool *abort = clientp;
    return abort && atomic_load(abort) ? 1 : 0;
}

static struct curl_slist *request_headers(const fti_handshake_request *req)
{
    struct curl_slist *h = NULL, *t;
    char *line = fti_asprintf("ftrack-user: %s", req->api_user);
    t = line ? curl_slist_append(h, line) : NULL;
    free(line);
    if (!t)
        goto fail;
    h = t;
    line = fti_asprintf("ftrack-api-key: %s", req->api_key);
    t = line ? curl_slist_append(h, line) : NULL;
    free(line);
    if (!t)
        goto fail;
    h = t;
    for (const char *const *p = req->headers; p && *p; p++) {
        t = curl_slist_append(h, *p);
        if (!t)
            goto fail;
        h = t;
    }
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

static ftrack_status map_curl_error(const fti_handshake_request *req, CURLcode rc,
                                    const char *detail, ftrack_error *err)
{
    const char *url = req->endpoint->base_url;
    const char *why = detail && *detail ? detail : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return fti_error(err, FTRACK_ERR_TIMEOUT,
                         "Timed out connecting to the event server at %s: %s", url, why);
    case CURLE_ABORTED_BY_CALLBACK:
        return fti_error(err, FTRACK_ERR_CLOSED,
                         "Connecting to the event server at %s was cancelled.", url);
    case CURLE_WRITE_ERROR:
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "The event server at %s answered the handshake with an oversized body.",
                         url);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        return fti_error(err, FTRACK_ERR_NETWORK,
                         "TLS with the event server at %s failed: %s (the certificate must be "
                         "valid, for this name, and signed by a CA in --ca-file, "
                         "REQUESTS_CA_BUNDLE or the system's store)",
                         url, why);
    default:
        return fti_error(err, FTRACK_ERR_NETWORK, "Failed to connect to the event server at %s: %s",
                         url, why);
    }
}

static void set_options(CURL *c, const fti_handshake_request *req, const char *url,
                        struct curl_slist *headers, body_buf *body, char *errbuf)
{
    long ms = (long)((req->timeout > 0 ? req->timeout : 30.0) * 1000.0);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, req->abort);
    if (req->ca_bundle)
        curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_bundle);
    fti_curl_use_proxy(c, url);
    if (req->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

ftrack_status fti_hub_handshake(const fti_handshake_request *req, fti_handshake *out,
                                ftrack_error *err)
{
    char *url = fti_asprintf("%s/socket.io/1/", req->endpoint->base_url);
    struct curl_slist *headers = request_headers(req);
    CURL *c = curl_easy_init();
    body_buf *body = calloc(1, sizeof(*body));
    char errbuf[CURL_ERROR_SIZE] = "";
    ftrack_status st;
    if (!url || !headers || !c || !body) {
        st = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    set_options(c, req, url, headers, body, errbuf);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        st = map_curl_error(req, rc, errbuf, err);
        goto done;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status == 401 || status == 403) {
        st =
            fti_error(err, FTRACK_ERR_AUTH,
                      "The event server at %s refused the credentials of API user '%s' (HTTP %ld): "
                      "check the API user and key.",
                      req->endpoint->base_url, req->api_user, status);
    } else if (status != 200) {
        st = fti_error(
            err, FTRACK_ERR_BAD_RESPONSE,
            "The event server at %s answered the handshake with unexpected status code %ld.",
            req->endpoint->base_url, status);
    } else {
        st = fti_hub_parse_handshake(body->data, body->len, out, err);
    }
    if (err && st != FTRACK_OK)
        err->http_status = (int)status;
done:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    free(body);
    free(url);
    return st;
}

/* ---- proxy from the environment --------------------------------------------------------- */

bool fti_hub_proxy_for(const fti_hub_endpoint *ep, char *host, size_t host_size, unsigned *port)
{
    char *v = fti_proxy_for_host(ep->secure, ep->address);
    if (!v)
        return false;
    const char *s = strstr(v, "://");
    s = s ? s + 3 : v;
    fti_strlcpy(host, s, host_size);
    fti_free_secret(v);
    size_t n = strlen(host);
    while (n > 0 && host[n - 1] == '/')
        host[--n] = '\0';
    /* lws parses "[user:pass@]host:port"; give it a port when the variable has none */
    const char *at = strrchr(host, '@');
    const char *hp = at ? at + 1 : host;
    const char *colon = strrchr(hp, ':');
    *port = (colon && !strchr(colon, ']')) ? 0 : 80;
    return n > 0;
}
