/* Component files of the server location: get_upload_metadata's signed upload URL, the PUT
 * that stores a file, and GET /component/get with credentials as query parameters
 * (protocol §2). Uploads are written to a temporary file and renamed into place only when
 * complete (and, with Content-MD5, verified), so a reader never sees half a file. */
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

struct fth_upload {
    FILE *f;
    char *tmp, *dest;
    EVP_MD_CTX *md5;
    char *want_md5;
    bool failed;
};

void fth_http_answer_clear(fth_http_answer *a)
{
    free(a->body);
    free(a->file);
    free(a->mime_type);
    memset(a, 0, sizeof(*a));
}

static void answer_error(fth_http_answer *a, unsigned status, const char *exception,
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

/* hex HMAC-SHA256 of "put\n<id>\n<expires>" under the hub's key. */
static void sign(const fth_api *api, const char *id, const char *expires, char out[65])
{
    char msg[200];
    int n = snprintf(msg, sizeof(msg), "put\n%s\n%s", id, expires);
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

json_object *fth_api_upload_metadata(fth_api *api, json_object *op, fth_store_error *e);
json_object *fth_api_upload_metadata(fth_api *api, json_object *op, fth_store_error *e)
{
    json_object *idv = json_object_object_get(op, "component_id");
    const char *id =
        json_object_is_type(idv, json_type_string) ? json_object_get_string(idv) : NULL;
    char *path = api->files_dir ? fth_media_component_path(api->files_dir, id) : NULL;
    if (!api->files_dir || !api->server_url) {
        fth_store_fail(e, "ServerError", "This hub has no data folder to store files in.");
        return NULL;
    }
    if (!path) {
        fth_store_fail(e, "ValidationError",
                       "get_upload_metadata needs a component_id (letters, digits, '-', '_').");
        return NULL;
    }
    free(path);
    char expires[32], sig[65];
    snprintf(expires, sizeof(expires), "%lld", (long long)time(NULL) + UPLOAD_TTL);
    sign(api, id, expires, sig);
    json_object *r = json_object_new_object();
    const char *base = api->request_url ? api->request_url : api->server_url;
    char *url =
        fti_asprintf("%s/component/put?id=%s&expires=%s&signature=%s", base, id, expires, sig);
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

fth_upload *fth_api_upload_begin(fth_api *api, const char *id, const char *expires,
                                 const char *signature, const char *content_md5,
                                 fth_http_answer *out)
{
    memset(out, 0, sizeof(*out));
    char *dest = api->files_dir ? fth_media_component_path(api->files_dir, id) : NULL;
    if (!dest) {
        answer_error(out, 400, "ValidationError", "Unknown or invalid component id.");
        return NULL;
    }
    char want[65];
    sign(api, id, expires ? expires : "", want);
    char *end = NULL;
    long long exp = expires ? strtoll(expires, &end, 10) : 0;
    bool sig_ok =
        signature && strlen(signature) == 64 && want[0] && CRYPTO_memcmp(want, signature, 64) == 0;
    if (!sig_ok || !end || *end || exp < (long long)time(NULL)) {
        free(dest);
        answer_error(out, 403, "PermissionError",
                     sig_ok ? "The upload URL has expired." : "The upload URL is not valid.");
        return NULL;
    }
    fth_upload *up = calloc(1, sizeof(*up));
    char rnd[17];
    fti_random_hex(rnd, 16);
    if (up) {
        up->dest = dest;
        up->tmp = fti_asprintf("%s.upload-%s", dest, rnd);
        up->want_md5 = fti_strdup(content_md5 && *content_md5 ? content_md5 : NULL);
        up->md5 = EVP_MD_CTX_new();
        up->f = up->tmp ? fopen(up->tmp, "wb") : NULL;
    }
    if (!up || !up->f || !up->md5 || EVP_DigestInit_ex(up->md5, EVP_md5(), NULL) != 1) {
        ftrack_log(FTRACK_LOG_ERROR, LOG_COMPONENT, "cannot store an upload in %s: %s",
                   api->files_dir, strerror(errno));
        fth_upload_abort(up);
        if (!up)
            free(dest);
        answer_error(out, 500, "ServerError", "The hub cannot store the file.");
        return NULL;
    }
    return up;
}

bool fth_upload_write(fth_upload *up, const void *data, size_t len)
{
    if (up->failed)
        return false;
    if (fwrite(data, 1, len, up->f) != len || EVP_DigestUpdate(up->md5, data, len) != 1)
        up->failed = true;
    return !up->failed;
}

void fth_upload_abort(fth_upload *up)
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

void fth_upload_finish(fth_upload *up, fth_http_answer *out)
{
    memset(out, 0, sizeof(*out));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    unsigned char b64[64];
    bool closed = fclose(up->f) == 0;
    up->f = NULL;
    if (up->failed || !closed || EVP_DigestFinal_ex(up->md5, digest, &dlen) != 1) {
        fth_upload_abort(up);
        answer_error(out, 500, "ServerError", "The hub could not write the file.");
        return;
    }
    EVP_EncodeBlock(b64, digest, (int)dlen);
    if (up->want_md5 && strcmp((const char *)b64, up->want_md5) != 0) {
        fth_upload_abort(up);
        answer_error(out, 400, "ValidationError",
                     "The file does not match its Content-MD5 checksum.");
        return;
    }
    if (rename(up->tmp, up->dest) != 0) {
        fth_upload_abort(up);
        answer_error(out, 500, "ServerError", "The hub could not store the file.");
        return;
    }
    free(up->tmp);
    up->tmp = NULL;
    fth_upload_abort(up);
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

void fth_api_download(fth_api *api, const char *id, const char *username, const char *api_key,
                      fth_http_answer *out)
{
    memset(out, 0, sizeof(*out));
    if (!fth_auth_check(api->user, api->key, username, api_key)) {
        answer_error(out, 401, "InvalidCredentialsError", "The supplied API key is not valid.");
        return;
    }
    char *path = api->files_dir ? fth_media_component_path(api->files_dir, id) : NULL;
    if (!path || access(path, R_OK) != 0) {
        free(path);
        answer_error(out, 404, "NotFoundError", "The component has no file on this server.");
        return;
    }
    const char *file_type = NULL;
    json_object *c = NULL;
    if (api->store) {
        fth_store_begin(api->store);
        c = fth_store_get(api->store, "Component", id);
        json_object_put(fth_store_end(api->store, false, NULL));
        json_object *ft = json_object_object_get(c, "file_type");
        file_type = json_object_is_type(ft, json_type_string) ? json_object_get_string(ft) : NULL;
    }
    out->status = 200;
    out->file = path;
    out->mime_type = strdup(mime_of(file_type));
    json_object_put(c);
}
