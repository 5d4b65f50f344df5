/* SPDX-License-Identifier: Apache-2.0 */
/* The socket.io 0.9 handshake (protocol §5.2-§5.3): GET /socket.io/1/ with right credentials
 * hands out a session id, and the websocket upgrade to /socket.io/1/websocket/<sid> must name one
 * that is still pending. The pending sids live on the server (srv->sids), expire after
 * SID_TTL and are capped, so handshakes that never upgrade cannot pile up. Split from
 * server.c; runs on the service thread like the rest of the server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>

#include "common/internal.h"
#include "server_lws.h"

#define LOG_COMPONENT "hub"
#define SID_HEX 20
#define SID_TTL 60.0
#define SID_MAX_PENDING 4096
#define WS_PREFIX "/socket.io/1/websocket/"
#define BAD_CREDENTIALS                                                                            \
    "{\"exception\":\"InvalidCredentialsError\",\"content\":\"The supplied API key is not "        \
    "valid.\","                                                                                    \
    "\"error_code\":null}"

struct pending_sid {
    char sid[SID_HEX + 1];
    char user[128];
    double expires;
    struct pending_sid *next;
};

/* Drop expired sids, then the oldest (the end of the newest-first list) beyond the cap, so a
 * flood of handshakes pushes out its own first sids, not a real client's newer one. */
static void sids_expire(fhub_server *srv, double now)
{
    size_t kept = 0;
    pending_sid **pp = &srv->sids;
    while (*pp) {
        pending_sid *p = *pp;
        if (p->expires < now || kept >= SID_MAX_PENDING) {
            *pp = p->next;
            free(p);
            srv->nsids--;
        } else {
            kept++;
            pp = &p->next;
        }
    }
}

static pending_sid *sid_find(fhub_server *srv, const char *sid, bool take)
{
    double now = fti_now();
    for (pending_sid **pp = &srv->sids; *pp; pp = &(*pp)->next) {
        pending_sid *p = *pp;
        if (strcmp(p->sid, sid) != 0 || p->expires < now)
            continue;
        if (take) {
            *pp = p->next;
            srv->nsids--;
        }
        return p;
    }
    return NULL;
}

static pending_sid *sid_new(fhub_server *srv, const char *user)
{
    double now = fti_now();
    sids_expire(srv, now);
    pending_sid *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    fti_random_hex(p->sid, SID_HEX);
    fti_strlcpy(p->user, user, sizeof(p->user));
    p->expires = now + SID_TTL;
    /* Newest first: the oldest fall off the end when too many are pending. */
    p->next = srv->sids;
    srv->sids = p;
    srv->nsids++;
    return p;
}

/* Write a whole small response now (headers and body). Returns non-zero on failure. */
static int http_write_now(struct lws *wsi, unsigned status, const char *ctype, const char *body)
{
    size_t blen = strlen(body);
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, status, ctype, blen, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    if (blen + LWS_PRE > sizeof(buf))
        return 1;
    memcpy(buf + LWS_PRE, body, blen);
    if (lws_write(wsi, buf + LWS_PRE, blen, LWS_WRITE_HTTP_FINAL) != (int)blen)
        return 1;
    return 0;
}

int fhub_handle_handshake(fhub_server *srv, struct lws *wsi, pss *ps)
{
    char user[128];
    if (!fhub_request_credentials_ok(srv, wsi, true, user, sizeof(user), NULL)) {
        ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT,
                   "refused a handshake: wrong or missing credentials");
        return fhub_http_respond_text(wsi, ps, 401, "application/json", BAD_CREDENTIALS);
    }
    pending_sid *p = sid_new(srv, user);
    if (!p)
        return -1;
    char body[96];
    snprintf(body, sizeof(body), "%s:%.0f:%.0f:websocket", p->sid, srv->hb_timeout,
             srv->hb_timeout);
    return fhub_http_respond_text(wsi, ps, 200, "text/plain", body);
}

/* The sid of a websocket request path, or NULL. */
static const char *ws_sid(struct lws *wsi, char *uri, int len)
{
    if (lws_hdr_copy(wsi, uri, len, WSI_TOKEN_GET_URI) <= 0)
        return NULL;
    size_t pl = strlen(WS_PREFIX);
    if (strncmp(uri, WS_PREFIX, pl) != 0)
        return NULL;
    char *sid = uri + pl;
    char *q = strchr(sid, '?');
    if (q)
        *q = '\0';
    size_t n = strlen(sid);
    if (n > 0 && sid[n - 1] == '/')
        sid[n - 1] = '\0';
    return *sid ? sid : NULL;
}

/* Refuse a websocket upgrade before it happens: unknown sid or wrong credentials. */
int fhub_confirm_upgrade(fhub_server *srv, struct lws *wsi)
{
    char uri[256], user[128];
    const char *sid = ws_sid(wsi, uri, sizeof(uri));
    bool present = false;
    bool creds_ok = fhub_request_credentials_ok(srv, wsi, true, user, sizeof(user), &present);
    const char *why = NULL;
    if (!sid || !sid_find(srv, sid, false))
        why = "unknown or expired session id";
    else if (present && !creds_ok)
        why = "wrong credentials";
    if (!why)
        return 0;
    ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT, "refused a websocket upgrade: %s", why);
    return http_write_now(wsi, 401, "application/json", BAD_CREDENTIALS) ? -1 : 1;
}

bool fhub_claim_sid(fhub_server *srv, struct lws *wsi, char *user, size_t ulen)
{
    char uri[256];
    const char *sid = ws_sid(wsi, uri, sizeof(uri));
    pending_sid *p = sid ? sid_find(srv, sid, true) : NULL;
    if (!p)
        return false;
    fti_strlcpy(user, p->user, ulen);
    free(p);
    return true;
}

void fhub_sids_free(fhub_server *srv)
{
    while (srv->sids) {
        pending_sid *p = srv->sids;
        srv->sids = p->next;
        free(p);
    }
}
