/* SPDX-License-Identifier: Apache-2.0 */
/* Component files of the server location: get_upload_metadata's signed upload URL, the PUT
 * that stores a file, and GET /component/get with credentials as query parameters
 * (protocol §2). Uploads are written to a temporary file and renamed into place only when
 * complete (and, with Content-MD5, verified), so a reader never sees half a file. An upload
 * URL names one component and one size, and is spent by the upload that stores its file: the
 * spent ones are remembered until they expire. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api_internal.h"
#include "common/internal.h"

#define LOG_COMPONENT "hub"
#define UPLOAD_TTL 3600

#define NONCE_HEX 32

struct fhub_upload {
    fhub_api *api;
    FILE *f;
    char *tmp, *dest;
    EVP_MD_CTX *md5;
    char *want_md5;
    char nonce[NONCE_HEX + 1];
    long long expires;
    unsigned long long size, received; /* signed for, and arrived */
    bool failed;
};

typedef struct fhub_spent_url {
    char nonce[NONCE_HEX + 1];
    long long expires;
    struct fhub_spent_url *next;
} spent_url;

/* True when the URL with this nonce stored a file already; drops expired entries on the way. */
static bool url_spent(fhub_api *api, const char *nonce)
{
    long long now = (long long)time(NULL);
    bool found = false;
    for (spent_url **pp = &api->spent; *pp;) {
        spent_url *s = *pp;
        if (s->expires < now) {
            *pp = s->next;
            free(s);
            continue;
        }
        found = found || strcmp(s->nonce, nonce) == 0;
        pp = &s->next;
    }
    return found;
}

static bool url_spend(fhub_api *api, const char *nonce, long long expires)
{
    spent_url *s = calloc(1, sizeof(*s));
    if (!s)
        return false;
    fti_strlcpy(s->nonce, nonce, sizeof(s->nonce));
    s->expires = expires;
    s->next = api->spent;
    api->spent = s;
    return true;
}

void fhub_api_spent_free(fhub_api *api)
{
    while (api->spent) {
        spent_url *s = api->spent;
        api->spent = s->next;
        free(s);
    }
}

void fhub_http_answer_clear(fhub_http_answer *a)
{
    free(a->body);
    free(a->file);
    free(a->mime_type);
    memset(a, 0, sizeof(*a));
}

static void answer_error(fhub_http_answer *a, unsigned status, const char *exception,
                         const char *content)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "exception", json_object_new_string(exception));
    json_object_object_add(e, "content", json_object_new_string(content));
    json_object_object_add(e, "error_code", NULL);
    a->status = status;
    a->body = fti_strdup(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
    json_object_put(e);
}

/* hex HMAC-SHA256 of "put\n<id>\n<size>\n<expires>\n<nonce>" under the hub's key. */
static void sign(const fhub_api *api, const char *id, const char *size, const char *expires,
                 const char *nonce, char out[65])
{
    char msg[300];
    int n = snprintf(msg, sizeof(msg), "put\n%s\n%s\n%s\n%s", id, size, expires, nonce);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    out[0] = '\0';
    if (n < 0 || (size_t)n >= sizeof(msg) ||
        !HMAC(EVP_sha256(), api->key, (int)strlen(api->key), (const unsigned char *)msg, (size_t)n,
              mac, &len))
        return;
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* A whole non-negative decimal number (a size or a time in the URL). */
static bool whole_number(const char *s, long long *out)
{
    char *end = NULL;
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return !*end && errno == 0;
}

json_object *fhub_api_upload_metadata(fhub_api *api, json_object *op, fhub_store_error *e);
json_object *fhub_api_upload_metadata(fhub_api *api, json_object *op, fhub_store_error *e)
{
    json_object *idv = json_object_object_get(op, "component_id");
    const char *id =
        json_object_is_type(idv, json_type_string) ? json_object_get_string(idv) : NULL;
    char *path = api->files_dir ? fhub_media_component_path(api->files_dir, id) : NULL;
    if (!api->files_dir || !api->server_url) {
        fhub_store_fail(e, "ServerError", "This hub has no data folder to store files in.");
        return NULL;
    }
    if (!path) {
        fhub_store_fail(e, "ValidationError",
                       "get_upload_metadata needs a component_id (letters, digits, '-', '_').");
        return NULL;
    }
    free(path);
    json_object *sizev = json_object_object_get(op, "file_size");
    int64_t size = json_object_is_type(sizev, json_type_int) ? json_object_get_int64(sizev) : -1;
    if (size < 0) {
        fhub_store_fail(e, "ValidationError",
                       "get_upload_metadata needs file_size: the file's size in bytes.");
        return NULL;
    }
    if ((uint64_t)size > api->max_upload) {
        fhub_store_fail(e, "ValidationError", "The file is larger than this hub accepts (%zu bytes).",
                       api->max_upload);
        return NULL;
    }
    char expires[32], sizes[32], nonce[NONCE_HEX + 1], sig[65];
    snprintf(expires, sizeof(expires), "%lld", (long long)time(NULL) + UPLOAD_TTL);
    snprintf(sizes, sizeof(sizes), "%lld", (long long)size);
    fti_random_hex(nonce, NONCE_HEX);
    sign(api, id, sizes, expires, nonce, sig);
    json_object *r = json_object_new_object();
    const char *base = api->request_url ? api->request_url : api->server_url;
    char *url = fti_asprintf("%s/component/put?id=%s&size=%s&expires=%s&nonce=%s&signature=%s",
                             base, id, sizes, expires, nonce, sig);
    json_object_object_add(r, "url", json_object_new_string(url ? url : ""));
    free(url);
    json_object *headers = json_object_new_object();
    json_object_object_add(headers, "Content-Type",
                           json_object_new_string("application/octet-stream"));
    json_object *checksum = json_object_object_get(op, "checksum");
    if (json_object_is_type(checksum, json_type_string) && *json_object_get_string(checksum))
        json_object_object_add(headers, "Content-MD5", json_object_get(checksum));
    json_object_object_add(r, "headers", headers);
    json_object_object_add(r, "component_id", json_object_new_string(id));
    return r;
}

/* The refusal of an upload request, or NULL when it may go ahead. */
static const char *upload_refusal(fhub_api *api, const fhub_upload_request *req, long long exp,
                                  unsigned *status)
{
    char want[65];
    sign(api, req->id, req->size ? req->size : "", req->expires ? req->expires : "",
         req->nonce ? req->nonce : "", want);
    bool sig_ok = req->signature && strlen(req->signature) == 64 && want[0] &&
                  CRYPTO_memcmp(want, req->signature, 64) == 0;
    *status = 403;
    if (!sig_ok)
        return "The upload URL is not valid.";
    if (exp < (long long)time(NULL))
        return "The upload URL has expired.";
    if (url_spent(api, req->nonce))
        return "The upload URL has been used already; ask for a new one.";
    *status = 411;
    if (req->content_length < 0)
        return "The upload needs a Content-Length header; chunked uploads are not accepted.";
    *status = 413;
    if ((unsigned long long)req->content_length > api->max_upload)
        return "The file is larger than this hub accepts.";
    return NULL;
}

fhub_upload *fhub_api_upload_begin(fhub_api *api, const fhub_upload_request *req,
                                 fhub_http_answer *out)
{
    memset(out, 0, sizeof(*out));
    char *dest = api->files_dir ? fhub_media_component_path(api->files_dir, req->id) : NULL;
    if (!dest) {
        answer_error(out, 400, "ValidationError", "Unknown or invalid component id.");
        return NULL;
    }
    long long size = -1, exp = -1;
    unsigned status = 403;
    const char *refusal = !whole_number(req->size, &size) || !whole_number(req->expires, &exp)
                              ? "The upload URL is not valid."
                              : upload_refusal(api, req, exp, &status);
    if (refusal) {
        free(dest);
        answer_error(out, status, status == 403 ? "PermissionError" : "ValidationError", refusal);
        return NULL;
    }
    fhub_upload *up = calloc(1, sizeof(*up));
    char rnd[17];
    fti_random_hex(rnd, 16);
    if (up) {
        up->api = api;
        up->dest = dest;
        up->size = (unsigned long long)size;
        up->expires = exp;
        fti_strlcpy(up->nonce, req->nonce, sizeof(up->nonce));
        up->tmp = fti_asprintf("%s.upload-%s", dest, rnd);
        up->want_md5 = fti_strdup(req->content_md5 && *req->content_md5 ? req->content_md5 : NULL);
        up->md5 = EVP_MD_CTX_new();
        up->f = up->tmp ? fopen(up->tmp, "wb") : NULL;
    }
    if (!up || !up->f || !up->md5 || EVP_DigestInit_ex(up->md5, EVP_md5(), NULL) != 1) {
        ftrack_log(FTRACK_LOG_ERROR, LOG_COMPONENT, "cannot store an upload in %s: %s",
                   api->files_dir, strerror(errno));
        fhub_upload_abort(up);
        if (!up)
            free(dest);
        answer_error(out, 500, "ServerError", "The hub cannot store the file.");
        return NULL;
    }
    return up;
}

bool fhub_upload_write(fhub_upload *up, const void *data, size_t len)
{
    if (up->failed)
        return false;
    /* Past the signed size nothing more is stored; the digest still covers what came, so a
     * wrong Content-MD5 is reported as such. */
    unsigned long long room = up->received < up->size ? up->size - up->received : 0;
    size_t keep = len < room ? len : (size_t)room;
    up->received += len;
    if ((keep && fwrite(data, 1, keep, up->f) != keep) ||
        EVP_DigestUpdate(up->md5, data, len) != 1)
        up->failed = true;
    return !up->failed;
}

void fhub_upload_abort(fhub_upload *up)
{
    if (!up)
        return;
    if (up->f)
        fclose(up->f);
    if (up->tmp)
        unlink(up->tmp);
    EVP_MD_CTX_free(up->md5);
    free(up->tmp);
    free(up->dest);
    free(up->want_md5);
    free(up);
}

void fhub_upload_finish(fhub_upload *up, fhub_http_answer *out)
{
    memset(out, 0, sizeof(*out));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    unsigned char b64[64];
    bool closed = fclose(up->f) == 0;
    up->f = NULL;
    if (up->failed || !closed || EVP_DigestFinal_ex(up->md5, digest, &dlen) != 1) {
        fhub_upload_abort(up);
        answer_error(out, 500, "ServerError", "The hub could not write the file.");
        return;
    }
    EVP_EncodeBlock(b64, digest, (int)dlen);
    if (up->want_md5 && strcmp((const char *)b64, up->want_md5) != 0) {
        fhub_upload_abort(up);
        answer_error(out, 400, "ValidationError",
                     "The file does not match its Content-MD5 checksum.");
        return;
    }
    if (up->received != up->size) {
        char msg[160];
        snprintf(msg, sizeof(msg), "The file is %llu bytes; its upload URL was signed for %llu.",
                 up->received, up->size);
        fhub_upload_abort(up);
        answer_error(out, 400, "ValidationError", msg);
        return;
    }
    if (url_spent(up->api, up->nonce)) {
        fhub_upload_abort(up);
        answer_error(out, 403, "PermissionError",
                     "The upload URL has been used already; ask for a new one.");
        return;
    }
    if (rename(up->tmp, up->dest) != 0) {
        fhub_upload_abort(up);
        answer_error(out, 500, "ServerError", "The hub could not store the file.");
        return;
    }
    if (!url_spend(up->api, up->nonce, up->expires))
        ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT,
                   "out of memory: an upload URL stays usable until it expires");
    free(up->tmp);
    up->tmp = NULL;
    fhub_upload_abort(up);
    out->status = 200;
    out->body = strdup("{\"success\": true}");
}

static const char *mime_of(const char *file_type)
{
    static const struct {
        const char *ext, *mime;
    } types[] = {
        {".mp4", "video/mp4"}, {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
        {".png", "image/png"}, {".mov", "video/quicktime"}, {".webm", "video/webm"},
        {".gif", "image/gif"}, {".txt", "text/plain"},      {".json", "application/json"},
    };
    for (size_t i = 0; file_type && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(types[i].ext, file_type) == 0)
            return types[i].mime;
    return "application/octet-stream";
}

void fhub_api_download(fhub_api *api, const char *id, const char *username, const char *api_key,
                      fhub_http_answer *out)
{
    memset(out, 0, sizeof(*out));
    if (!fhub_auth_check(api->user, api->key, username, api_key)) {
        answer_error(out, 401, "InvalidCredentialsError", "The supplied API key is not valid.");
        return;
    }
    char *path = api->files_dir ? fhub_media_component_path(api->files_dir, id) : NULL;
    if (!path || access(path, R_OK) != 0) {
        free(path);
        answer_error(out, 404, "NotFoundError", "The component has no file on this server.");
        return;
    }
    const char *file_type = NULL;
    json_object *c = NULL;
    if (api->store) {
        fhub_store_begin(api->store);
        c = fhub_store_get(api->store, "Component", id);
        json_object_put(fhub_store_end(api->store, false, NULL));
        json_object *ft = json_object_object_get(c, "file_type");
        file_type = json_object_is_type(ft, json_type_string) ? json_object_get_string(ft) : NULL;
    }
    out->status = 200;
    out->file = path;
    out->mime_type = strdup(mime_of(file_type));
    json_object_put(c);
}
