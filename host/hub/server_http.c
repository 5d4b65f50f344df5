/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded hub's HTTP requests, besides the socket.io handshake and the websocket upgrade
 * (server.c): routing by path, POST /api (its body gathered up to max_api_body, answered by
 * api.c), GET /component/get and PUT /component/put (files.c via api.h), the credentials of a
 * request (headers or query), and responses written from LWS_CALLBACK_HTTP_WRITEABLE in
 * chunks. Runs on the service thread, called from server.c's lws callback. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>

#include "common/internal.h"
#include "server_lws.h"

#define HTTP_CHUNK 16384
#define CRED_MAX 1024
#define SOCKETIO_PREFIX "/socket.io/1"
/* A refused request's body up to this size is read and dropped before the answer, so a client
 * still sending it hears the answer instead of a reset connection. */
#define DRAIN_MAX (1024 * 1024)

static bool custom_header(struct lws *wsi, const char *name, char *buf, int len)
{
    int nlen = (int)strlen(name);
    int n = lws_hdr_custom_length(wsi, name, nlen);
    if (n < 0 || n >= len)
        return false;
    return lws_hdr_custom_copy(wsi, buf, len, name, nlen) >= 0;
}

static bool url_arg(struct lws *wsi, const char *name, char *buf, int len, char *out, size_t outlen)
{
    const char *v = lws_get_urlarg_by_name(wsi, name, buf, len);
    if (!v)
        return false;
    fti_strlcpy(out, v, outlen);
    return true;
}

/* Credentials from the ftrack-user/ftrack-api-key headers or, when `query` allows it (the
 * handshake and the websocket upgrade, whose clients can set no headers in browsers), the
 * api_user/api_key query. *present says whether any were given. */
bool fhub_request_credentials_ok(fhub_server *srv, struct lws *wsi, bool query, char *user,
                                    size_t ulen, bool *present)
{
    char key[CRED_MAX], scratch[CRED_MAX + 32];
    user[0] = key[0] = '\0';
    bool have_user = custom_header(wsi, "ftrack-user:", user, (int)ulen) ||
                     (query && url_arg(wsi, "api_user=", scratch, sizeof(scratch), user, ulen));
    bool have_key = custom_header(wsi, "ftrack-api-key:", key, sizeof(key)) ||
                    (query && url_arg(wsi, "api_key=", scratch, sizeof(scratch), key, sizeof(key)));
    if (present)
        *present = have_user || have_key;
    bool ok = have_user && have_key && fhub_auth_check(srv->user, srv->key, user, key);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(scratch, sizeof(scratch));
    return ok;
}

/* The request has arrived (or is refused): its deadline no longer runs. */
static void request_answered(struct lws *wsi, pss *ps)
{
    if (!ps->in_request)
        return;
    ps->in_request = false;
    lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
}

int fhub_request_timed_out(fhub_server *srv, struct lws *wsi)
{
    char peer[64] = "";
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    ftrack_log(FTRACK_LOG_WARNING, "hub",
               "closed a connection from %s: its request did not arrive within %.0f s", peer,
               srv->client_timeout);
    return -1;
}

/* Start a response whose body (malloc'ed, text at body + LWS_PRE) is sent from
 * LWS_CALLBACK_HTTP_WRITEABLE. Takes body. */
static int http_respond(struct lws *wsi, pss *ps, unsigned status, const char *ctype, char *body,
                        size_t len)
{
    unsigned char buf[LWS_PRE + 512];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    free(ps->resp);
    ps->resp = body;
    ps->resp_len = len;
    ps->resp_off = 0;
    request_answered(wsi, ps);
    if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
        (ps->close_after &&
         lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close",
                                      5, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

int fhub_http_respond_text(struct lws *wsi, pss *ps, unsigned status, const char *ctype,
                              const char *text)
{
    size_t len = strlen(text);
    char *body = malloc(LWS_PRE + len + 1);
    if (!body)
        return -1;
    memcpy(body + LWS_PRE, text, len + 1);
    return http_respond(wsi, ps, status, ctype, body, len);
}

int fhub_http_writeable(struct lws *wsi, pss *ps)
{
    if (!ps->resp)
        return 0;
    size_t left = ps->resp_len - ps->resp_off;
    size_t n = left < HTTP_CHUNK ? left : HTTP_CHUNK;
    bool last = n == left;
    if (n > 0 && lws_write(wsi, (unsigned char *)ps->resp + LWS_PRE + ps->resp_off, n,
                           last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    ps->resp_off += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(ps->resp);
    ps->resp = NULL;
    if (ps->close_after)
        return -1; /* the body was never read: the connection cannot carry another request */
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static long long declared_length(struct lws *wsi)
{
    char clen[32] = "";
    if (lws_hdr_copy(wsi, clen, sizeof(clen), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -1;
    char *end = NULL;
    long long n = strtoll(clen, &end, 10);
    return *clen && !*end && n >= 0 ? n : -1;
}

/* Refuse a request from its head: nothing of its body is kept. A small declared body is
 * dropped as it arrives and then answered; any other is answered at once and the connection
 * closed without reading it. */
static int refuse(struct lws *wsi, pss *ps, unsigned status, const char *text)
{
    long long len = declared_length(wsi);
    if (len > 0 && len <= DRAIN_MAX) {
        ps->refusal = strdup(text);
        ps->refusal_status = status;
        return ps->refusal ? 0 : -1;
    }
    ps->close_after = len != 0;
    return fhub_http_respond_text(wsi, ps, status, "application/json", text);
}

int fhub_refusal_complete(struct lws *wsi, pss *ps)
{
    char *text = ps->refusal;
    ps->refusal = NULL;
    int rc = fhub_http_respond_text(wsi, ps, ps->refusal_status, "application/json", text);
    free(text);
    return rc;
}

/* ---- component files (api.h) ------------------------------------------------------------ */

static int answer_component(struct lws *wsi, pss *ps, fhub_http_answer *a)
{
    int rc = 0;
    request_answered(wsi, ps);
    if (a->file) {
        int n = lws_serve_http_file(wsi, a->file, a->mime_type, NULL, 0);
        rc = (n < 0 || (n > 0 && lws_http_transaction_completed(wsi))) ? -1 : 0;
    } else {
        rc = fhub_http_respond_text(wsi, ps, a->status ? a->status : 500, "application/json",
                                       a->body ? a->body : "{}");
    }
    fhub_http_answer_clear(a);
    return rc;
}

int fhub_upload_body(fhub_server *srv, struct lws *wsi, pss *ps, const char *in, size_t len)
{
    if (!ps->upload || !in || !len)
        return 0;
    fhub_upload_write(ps->upload, in, len);
    /* A large file may take long: the deadline is for the next piece of it. */
    lws_set_timer_usecs(wsi, (lws_usec_t)(srv->client_timeout * 1e6));
    return 0;
}

int fhub_upload_complete(pss *ps, struct lws *wsi)
{
    fhub_http_answer ans = {0};
    if (ps->upload) {
        fhub_upload_finish(ps->upload, &ans);
        ps->upload = NULL;
    }
    ps->is_upload = false;
    return answer_component(wsi, ps, &ans);
}

void fhub_upload_drop(pss *ps)
{
    fhub_upload_abort(ps->upload);
    ps->upload = NULL;
}

/* GET /component/get and /component/thumbnail (credentials as query parameters, protocol §2)
 * and PUT /component/put (a signed URL from get_upload_metadata, with a Content-Length). */
static int handle_component(fhub_server *srv, struct lws *wsi, pss *ps, const char *path,
                            bool get, bool put)
{
    char scratch[CRED_MAX + 32], id[128] = "";
    fhub_http_answer ans = {0};
    url_arg(wsi, "id=", scratch, sizeof(scratch), id, sizeof(id));
    /* A thumbnail is served as the component's file (no resizing). */
    if (get && (strcmp(path, "/component/get") == 0 || strcmp(path, "/component/thumbnail") == 0)) {
        char user[128] = "", key[CRED_MAX] = "";
        if (!url_arg(wsi, "username=", scratch, sizeof(scratch), user, sizeof(user)))
            custom_header(wsi, "ftrack-user:", user, sizeof(user));
        if (!url_arg(wsi, "apiKey=", scratch, sizeof(scratch), key, sizeof(key)))
            custom_header(wsi, "ftrack-api-key:", key, sizeof(key));
        fhub_api_download(srv->api, id, user, key, &ans);
        OPENSSL_cleanse(key, sizeof(key));
        OPENSSL_cleanse(scratch, sizeof(scratch));
        return answer_component(wsi, ps, &ans);
    }
    if (!put || strcmp(path, "/component/put") != 0)
        return fhub_http_respond_text(
            wsi, ps, 404, "application/json",
            "{\"exception\":\"NotFound\",\"content\":\"Not found.\",\"error_code\":null}");
    char size[32] = "", expires[32] = "", nonce[80] = "", sig[80] = "", md5[64] = "";
    url_arg(wsi, "size=", scratch, sizeof(scratch), size, sizeof(size));
    url_arg(wsi, "expires=", scratch, sizeof(scratch), expires, sizeof(expires));
    url_arg(wsi, "nonce=", scratch, sizeof(scratch), nonce, sizeof(nonce));
    url_arg(wsi, "signature=", scratch, sizeof(scratch), sig, sizeof(sig));
    custom_header(wsi, "content-md5:", md5, sizeof(md5));
    fhub_upload_request req = {.id = id,
                              .size = size,
                              .expires = expires,
                              .nonce = nonce,
                              .signature = sig,
                              .content_md5 = md5,
                              .content_length = -1};
    req.content_length = declared_length(wsi);
    ps->is_upload = true;
    ps->upload = fhub_api_upload_begin(srv->api, &req, &ans);
    if (!ps->upload) {
        int rc = refuse(wsi, ps, ans.status, ans.body ? ans.body : "{}");
        fhub_http_answer_clear(&ans);
        return rc;
    }
    /* Without a body there is no body completion to wait for. */
    if (req.content_length == 0)
        return fhub_upload_complete(ps, wsi);
    return 0;
}

/* 413 for a body over max_api_body: from its head when its length is declared, else once it
 * has arrived (and been dropped). */
static int answer_too_big(fhub_server *srv, struct lws *wsi, pss *ps)
{
    char msg[200];
    snprintf(msg, sizeof(msg),
             "{\"exception\":\"ValidationError\",\"content\":\"The request body is larger than "
             "%zu bytes.\",\"error_code\":null}",
             srv->max_api_body);
    if (ps->too_big)
        return fhub_http_respond_text(wsi, ps, 413, "application/json", msg);
    return refuse(wsi, ps, 413, msg);
}

/* POST /api without right credentials is answered from its head alone: its body is never
 * kept, so a caller without the key costs no memory. The answer is the one api.c gives any
 * unauthenticated body. */
static int refuse_unauthenticated(fhub_server *srv, struct lws *wsi, pss *ps)
{
    int status = 200;
    size_t len = 0;
    char *out = fhub_api_handle_as(srv->api, ps->user, "", 0, false, ps->strict, srv->max_depth,
                                 &status, &len);
    if (!out)
        return -1;
    int rc = refuse(wsi, ps, (unsigned)status, out);
    free(out);
    return rc;
}

int fhub_handle_http(fhub_server *srv, struct lws *wsi, pss *ps, const char *path)
{
    memset(ps, 0, sizeof(*ps));
    /* The head has arrived; the body (if any) has client_timeout to follow. */
    ps->in_request = true;
    lws_set_timer_usecs(wsi, (lws_usec_t)(srv->client_timeout * 1e6));
    bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    if (get && (strcmp(path, SOCKETIO_PREFIX "/") == 0 || strcmp(path, SOCKETIO_PREFIX) == 0))
        return fhub_handle_handshake(srv, wsi, ps);
    if (strncmp(path, "/component/", 11) == 0)
        return handle_component(srv, wsi, ps, path, get,
                                lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0);
    if (strcmp(path, "/api") != 0 && strcmp(path, "/api/") != 0)
        return fhub_http_respond_text(
            wsi, ps, 404, "application/json",
            "{\"exception\":\"NotFound\",\"content\":\"Not found.\",\"error_code\":null}");
    if (!post)
        return fhub_http_respond_text(
            wsi, ps, 405, "application/json",
            "{\"exception\":\"MethodNotAllowed\",\"content\":\"POST /api "
            "only.\",\"error_code\":null}");
    char strict[16] = "";
    ps->is_api = true;
    /* Only headers: a key in a URL ends up in proxy and server logs. */
    ps->authed = fhub_request_credentials_ok(srv, wsi, false, ps->user, sizeof(ps->user), NULL);
    ps->strict = custom_header(wsi, "ftrack-strict-api:", strict, sizeof(strict)) &&
                 (strcasecmp(strict, "true") == 0 || strcmp(strict, "1") == 0);
    if (!ps->authed)
        return refuse_unauthenticated(srv, wsi, ps);
    if (declared_length(wsi) > (long long)srv->max_api_body)
        return answer_too_big(srv, wsi, ps);
    return 0;
}

int fhub_api_body(fhub_server *srv, pss *ps, const char *in, size_t len)
{
    if (!in || len == 0)
        return 0;
    if (ps->too_big || ps->body_len + len > srv->max_api_body) {
        ps->too_big = true;
        return 0;
    }
    if (!fti_array_reserve(&ps->body, &ps->body_cap, ps->body_len + len + 1, 1))
        return -1;
    memcpy(ps->body + ps->body_len, in, len);
    ps->body_len += len;
    return 0;
}

static bool forwarded_host_ok(const char *h)
{
    if (!*h)
        return false;
    for (; *h; h++)
        if (!isalnum((unsigned char)*h) && !strchr(".-:[]", *h))
            return false;
    return true;
}

/* The base URL a reverse proxy says the client used. Only a proxy on this machine (a loopback
 * peer) is believed: anyone else could send the headers to make the hub hand out URLs that
 * point elsewhere. --public-url wins over the headers. */
static bool forwarded_base(fhub_server *srv, struct lws *wsi, char *out, size_t size)
{
    char peer[64] = "", proto[16] = "", host[256] = "";
    if (srv->public_url)
        return false;
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    if (strncmp(peer, "127.", 4) != 0 && strcmp(peer, "::1") != 0 &&
        strncmp(peer, "::ffff:127.", 11) != 0)
        return false;
    bool have_proto = custom_header(wsi, "x-forwarded-proto:", proto, sizeof(proto));
    bool have_host = custom_header(wsi, "x-forwarded-host:", host, sizeof(host));
    if (!have_proto && !have_host)
        return false;
    if (!have_proto)
        fti_strlcpy(proto, srv->tls ? "https" : "http", sizeof(proto));
    if (!have_host && lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
        return false;
    if ((strcmp(proto, "http") != 0 && strcmp(proto, "https") != 0) || !forwarded_host_ok(host))
        return false;
    snprintf(out, size, "%s://%s", proto, host);
    return true;
}

int fhub_api_complete(fhub_server *srv, struct lws *wsi, pss *ps)
{
    if (ps->too_big)
        return answer_too_big(srv, wsi, ps);
    int status = 200;
    size_t len = 0;
    char base[300];
    if (forwarded_base(srv, wsi, base, sizeof(base)))
        fhub_api_set_request_url(srv->api, base);
    char *out = fhub_api_handle_as(srv->api, ps->user, ps->body ? ps->body : "", ps->body_len,
                                  ps->authed, ps->strict, srv->max_depth, &status, &len);
    fhub_api_set_request_url(srv->api, NULL);
    free(ps->body);
    ps->body = NULL;
    ps->body_len = ps->body_cap = 0;
    if (!out)
        return -1;
    int rc = fhub_http_respond_text(wsi, ps, (unsigned)status, "application/json", out);
    free(out);
    return rc;
}
