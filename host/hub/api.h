/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_API_H
#define FHUB_API_H
/*
 * The /api side of the embedded hub beyond what server_internal.h declares: the entity store,
 * encode_media workers and the component file endpoints (protocol §2-§4).
 *
 *   fhub_api_new()      (server_internal.h) schemas only: server information and schemas
 *   fhub_api_attach()   opens the store (file or memory), loads a seed, starts the workers;
 *                      from then on query/create/update/delete/encode_media/
 *                      get_upload_metadata work and committed changes are published
 *   fhub_api_shutdown() stops the workers (before the server that publishes goes away)
 *
 * Files of components live in <data_dir>/components/<component id>.
 *
 * Threads: fhub_api_handle() and the file functions run on the hub's service thread; workers
 * publish from their own threads through the publish callback (which must be thread-safe:
 * fhub_server_inject is).
 */
#include <stdbool.h>
#include <stddef.h>
#include <ftrack/common.h>

#include "server_internal.h"

typedef void (*fhub_api_publish_fn)(const char *event_json, size_t len, void *user_data);

typedef struct fhub_api_options {
    const char *data_dir;   /* hub.sqlite and components/ live here; NULL: memory store and
                               no file storage */
    bool memory_store;      /* keep entities in memory even with a data_dir (tests) */
    const char *seed_file;  /* NULL: none */
    const char *user_keys_file; /* NULL: none; else the other users' keys are written there */
    const char *server_url; /* for upload URLs: "http://HOST:PORT" */
    const char *api_user;   /* the hub's credentials (copied; the key is never logged) */
    const char *api_key;
    const char *ffmpeg;    /* NULL: "ffmpeg" on PATH */
    int encode_workers;    /* 0 → 2 */
    double encode_timeout; /* seconds; 0 → 600 */
    size_t max_upload;     /* largest file get_upload_metadata signs for; 0 → 4 GiB */
    fhub_api_publish_fn publish;
    void *publish_data;
} fhub_api_options;

ftrack_status fhub_api_attach(fhub_api *api, const fhub_api_options *opt, ftrack_error *err);
/* The base URL the current request came in by ("https://ftrack.example.com", from a trusted
 * proxy's X-Forwarded-* headers), used instead of server_url for the URLs handed out until
 * set back to NULL. Borrowed: the caller keeps it alive for the request. */
void fhub_api_set_request_url(fhub_api *api, const char *url);
/* Idempotent; NULL is accepted. */
void fhub_api_shutdown(fhub_api *api);

/* An HTTP answer for the component endpoints: either a JSON error body (status >= 400) or a
 * file to serve (status 200). Free with fhub_http_answer_clear(). */
typedef struct fhub_http_answer {
    unsigned status;
    char *body;      /* JSON text, or NULL */
    char *file;      /* path of the file to serve, or NULL */
    char *mime_type; /* of the file */
} fhub_http_answer;
void fhub_http_answer_clear(fhub_http_answer *a);

/* GET /component/get?id=..&username=..&apiKey=.. (protocol §2). */
void fhub_api_download(fhub_api *api, const char *id, const char *username, const char *api_key,
                      fhub_http_answer *out);

/* PUT /component/put?id=..&size=..&expires=..&nonce=..&signature=.. with the body streamed
 * through fhub_upload_write(). The URL is signed for one component and one size, and is spent
 * by the upload that stores a file. content_length is the request's Content-Length, -1 when
 * it has none (a chunked body: refused, 411). content_md5 (base64) is checked when given.
 * begin returns NULL and fills *out when refused. */
typedef struct fhub_upload_request {
    const char *id, *size, *expires, *nonce, *signature; /* from the URL's query */
    const char *content_md5;
    long long content_length;
} fhub_upload_request;
typedef struct fhub_upload fhub_upload;
fhub_upload *fhub_api_upload_begin(fhub_api *api, const fhub_upload_request *req,
                                 fhub_http_answer *out);
/* false when the file cannot be written (the upload then fails at finish). */
bool fhub_upload_write(fhub_upload *up, const void *data, size_t len);
/* Completes (or refuses) the upload and frees it. */
void fhub_upload_finish(fhub_upload *up, fhub_http_answer *out);
/* Drops a partial upload (connection closed) and frees it. NULL is accepted. */
void fhub_upload_abort(fhub_upload *up);

#endif
