/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_SERVER_LWS_H
#define FHUB_SERVER_LWS_H
/*
 * The embedded hub's lws server, shared by its files (private to them; hub_server.h is the
 * API):
 *   server.c            the context and its service thread, the websocket (frames,
 *                       per-connection queues, routing), the lws callback, work handed over
 *                       from other threads
 *   server_handshake.c  the socket.io handshake and its session ids, the upgrade check
 *   server_http.c       the HTTP requests: routing by path, POST /api, the component files,
 *                       the credentials of a request, chunked responses
 * All of it runs on the service thread; only the public calls in server.c touch the server
 * from other threads (the fields under `lock`, the atomics).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <libwebsockets.h>

#include "wire/socketio.h"
#include "wire/wsframe.h"
#include "server_internal.h"
#include "api.h"
#include "hub_server.h"

/* Defined in server.c (pending_sid in server_handshake.c). */
typedef struct frame frame;
typedef struct conn conn;
typedef struct pending_sid pending_sid;
typedef struct injected injected;

/* An event another thread handed over (fhub_server_inject), waiting for the service thread. */
struct injected {
    char *text;
    size_t len;
    struct injected *next;
};

/* server.c: the websocket protocol the vhost serves (its callback), and the frames the server
 * builds once at start (heartbeat, connect, disconnect): made and released here. */
extern const struct lws_protocols fhub_server_protocols[];
frame *fhub_frame_simple(fti_sio_type type);
void fhub_frame_unref(frame *f);

/* Per-connection user space: HTTP request state, or the websocket connection. */
typedef struct pss {
    conn *c;
    bool is_api;
    bool authed, strict, too_big;
    char user[128]; /* /api: the user the request names */
    bool in_request;  /* a request is arriving: its client_timeout deadline runs */
    bool close_after; /* the connection closes once the response is written */
    char *refusal;    /* the answer to a refused request, given once its body is dropped */
    unsigned refusal_status;
    char *body;
    size_t body_len, body_cap;
    char *resp; /* text at resp + LWS_PRE */
    size_t resp_len, resp_off;
    fhub_upload *upload; /* PUT /component/put in progress */
    bool is_upload;
} pss;

struct fhub_server {
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    char *user, *key, *host, *data_dir;
    char url[128];
    char *public_url; /* --public-url, or NULL */
    bool tls;
    /* An empty client SSL_CTX handed to the TLS vhost: without one lws builds its own and
     * loads the whole system CA store into it for connections the hub never makes. */
    SSL_CTX *unused_client_ctx;
    int port;
    double hb_interval, hb_timeout;
    size_t max_frame, max_api_body, max_queued, max_upload, max_header;
    int max_connections;
    double client_timeout;
    int max_depth;
    fhub_router *router;
    fhub_api *api;
    conn *conns;
    unsigned long next_serial;
    atomic_size_t nconns;
    pending_sid *sids;
    size_t nsids;
    frame *hb_frame, *connect_frame, *disconnect_frame;
    fti_wsbatch out;      /* one connection's frames of one write; any connection's, in turn */
    pthread_mutex_t lock; /* guards the hand-over fields below */
    injected *inject_head, *inject_tail;
    bool drop_all;
};

/* ---- server_handshake.c ------------------------------------------------------------------ */

/* GET /socket.io/1/: a new session id for right credentials. */
int fhub_handle_handshake(fhub_server *srv, struct lws *wsi, pss *ps);
/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 lets the upgrade happen; an unknown sid or wrong
 * credentials are answered 401 (1), or -1 when even that fails. */
int fhub_confirm_upgrade(fhub_server *srv, struct lws *wsi);
/* LWS_CALLBACK_ESTABLISHED: take the upgrade's pending sid (each is used once) and copy its
 * user; false when it is gone (a concurrent upgrade used it). */
bool fhub_claim_sid(fhub_server *srv, struct lws *wsi, char *user, size_t ulen);
/* Drop every pending sid (the server is freed). */
void fhub_sids_free(fhub_server *srv);

/* ---- server_http.c ----------------------------------------------------------------------- */

/* LWS_CALLBACK_HTTP: route the request by `path`. */
int fhub_handle_http(fhub_server *srv, struct lws *wsi, pss *ps, const char *path);
/* LWS_CALLBACK_HTTP_BODY and _BODY_COMPLETION of POST /api. */
int fhub_api_body(fhub_server *srv, pss *ps, const char *in, size_t len);
int fhub_api_complete(fhub_server *srv, struct lws *wsi, pss *ps);
/* LWS_CALLBACK_HTTP_BODY_COMPLETION of a refused request: its answer. */
int fhub_refusal_complete(struct lws *wsi, pss *ps);
/* LWS_CALLBACK_HTTP_BODY of PUT /component/put. */
int fhub_upload_body(fhub_server *srv, struct lws *wsi, pss *ps, const char *in, size_t len);
/* The end of PUT /component/put's body, and a request closed before it. */
int fhub_upload_complete(pss *ps, struct lws *wsi);
void fhub_upload_drop(pss *ps);
/* LWS_CALLBACK_TIMER of a request whose head or body is late: logged; -1 closes it. */
int fhub_request_timed_out(fhub_server *srv, struct lws *wsi);
/* LWS_CALLBACK_HTTP_WRITEABLE: the next chunk of the response. */
int fhub_http_writeable(struct lws *wsi, pss *ps);
/* Answer with a copy of `text`. */
int fhub_http_respond_text(struct lws *wsi, pss *ps, unsigned status, const char *ctype,
                              const char *text);
/* Credentials from the ftrack-user/ftrack-api-key headers or, when `query` is set, the
 * api_user/api_key query; *present (may be NULL) says whether any were given. */
bool fhub_request_credentials_ok(fhub_server *srv, struct lws *wsi, bool query, char *user,
                                    size_t ulen, bool *present);

#endif
