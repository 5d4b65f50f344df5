/* SPDX-License-Identifier: Apache-2.0 */
/* encode_media, uploads to the server location and following a Job (protocol §2, §4). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "common/internal.h"
#include "session/session_internal.h"

#define UPLOAD_CHUNK 65536
#define JOB_POLL_FIRST 0.1
#define JOB_POLL_MAX 2.0
#define JOB_POLL_GROWTH 1.5

/* ---- encode_media --------------------------------------------------------------------------- */

static bool mentions_invalid_action(const ftrack_error *err, const char *action)
{
    char needle[96];
    snprintf(needle, sizeof(needle), "Invalid action u'%s'", action);
    return strstr(err->server_content, needle) || strstr(err->message, needle);
}

ftrack_status ftrack_session_encode_media(ftrack_session *session, const char *component_id,
                                          const char *version_id, bool keep_original,
                                          ftrack_entity **job, ftrack_error *err)
{
    if (job)
        *job = NULL;
    if (!session || !component_id || !*component_id)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No session or component id.");
    json_object *op = fti_operation_new("encode_media");
    if (!op)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object_object_add(op, "component_id", json_object_new_string(component_id));
    json_object_object_add(op, "keep_original", json_object_new_boolean(keep_original));
    json_object_object_add(op, "version_id",
                           version_id ? json_object_new_string(version_id) : NULL);
    json_object *results = NULL;
    ftrack_error local;
    ftrack_error *e = err ? err : &local;
    ftrack_status status = fti_session_call_one(session, op, &results, e);
    if (status == FTRACK_ERR_SERVER && mentions_invalid_action(e, "encode_media")) {
        json_object *info = ftrack_session_server_information(session);
        const char *version = json_object_get_string(json_object_object_get(info, "version"));
        status = fti_error(err, FTRACK_ERR_COMPATIBILITY,
                           "Server version '%s' does not support \"encode_media\", please update "
                           "the server and try again.",
                           version ? version : "unknown");
        json_object_put(info);
    }
    if (status != FTRACK_OK)
        return status;
    json_object *job_id = json_object_object_get(json_object_array_get_idx(results, 0), "job_id");
    if (!json_object_is_type(job_id, json_type_string) || json_object_get_string_len(job_id) == 0) {
        json_object_put(results);
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE, "encode_media answered without a job_id.");
    }
    ftrack_log(FTRACK_LOG_DEBUG, "session", "encode_media of %s: job %s", component_id,
               json_object_get_string(job_id));
    if (job)
        status = ftrack_session_get(session, "Job", json_object_get_string(job_id), job, err);
    json_object_put(results);
    return status;
}

/* ---- Uploads ----------------------------------------------------------------------------------
 */

/* Base64 (no newline) MD5 of a file: the Content-MD5 the upload is checked against. */
static ftrack_status file_md5_base64(const char *path, char out[32], ftrack_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fti_error(err, FTRACK_ERR_IO, "Cannot read %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;
    unsigned char buf[UPLOAD_CHUNK];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n) == 1;
    ok = ok && !ferror(f);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &dlen) == 1;
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (!ok)
        return fti_error(err, FTRACK_ERR_IO, "Cannot checksum %s.", path);
    EVP_EncodeBlock((unsigned char *)out, digest, (int)dlen); /* 16 bytes → 24 chars + NUL */
    return FTRACK_OK;
}

/* The file's name without folders and extension, and its extension with the dot (Python's
 * os.path.splitext: a leading dot is not an extension). New strings. */
static void split_name(const char *path, char **stem, char **ext)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    if (dot == base || !dot) {
        *stem = fti_strdup(base);
        *ext = fti_strdup("");
        return;
    }
    *stem = fti_strndup(base, (size_t)(dot - base));
    *ext = fti_strdup(dot);
}

static ftrack_status upload_metadata(ftrack_session *session, const char *component_id,
                                     const char *file_name, long long size, const char *checksum,
                                     json_object **results, json_object **metadata,
                                     ftrack_error *err)
{
    json_object *op = fti_operation_new("get_upload_metadata");
    if (!op)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object_object_add(op, "checksum", json_object_new_string(checksum));
    json_object_object_add(op, "component_id", json_object_new_string(component_id));
    json_object_object_add(op, "file_name", json_object_new_string(file_name));
    json_object_object_add(op, "file_size", json_object_new_int64(size));
    ftrack_status status = fti_session_call_one(session, op, results, err);
    if (status != FTRACK_OK)
        return status;
    *metadata = json_object_array_get_idx(*results, 0);
    json_object *url = json_object_object_get(*metadata, "url");
    json_object *headers = json_object_object_get(*metadata, "headers");
    if (!json_object_is_type(url, json_type_string) ||
        (headers && !json_object_is_type(headers, json_type_object))) {
        json_object_put(*results);
        *results = NULL;
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "get_upload_metadata answered without a url and headers.");
    }
    return FTRACK_OK;
}

static bool has_header(json_object *headers, const char *name)
{
    json_object_object_foreach(headers, key, value)
    {
        (void)value;
        if (strcasecmp(key, name) == 0)
            return true;
    }
    return false;
}

/* Exactly the headers the server returned: curl's own Accept and Expect are suppressed. */
static ftrack_status upload_headers(json_object *headers, struct curl_slist **out,
                                    ftrack_error *err)
{
    struct curl_slist *list = NULL;
    json_object_object_foreach(headers, name, value)
    {
        char *line = fti_asprintf("%s: %s", name, value ? json_object_get_string(value) : "");
        struct curl_slist *next =
            line && fti_http_header_valid(line) ? curl_slist_append(list, line) : NULL;
        free(line);
        if (!next) {
            curl_slist_free_all(list);
            return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                             "get_upload_metadata returned an unusable header '%s'.", name);
        }
        list = next;
    }
    const char *suppressed[] = {"Accept", "Expect"};
    for (size_t i = 0; i < 2; i++) {
        if (has_header(headers, suppressed[i]))
            continue;
        char line[16];
        snprintf(line, sizeof(line), "%s:", suppressed[i]);
        struct curl_slist *next = curl_slist_append(list, line);
        if (!next) {
            curl_slist_free_all(list);
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
        }
        list = next;
    }
    *out = list;
    return FTRACK_OK;
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *user)
{
    (void)data;
    (void)user;
    return size * nmemb;
}

/* PUT the file to the upload URL. The URL may be another host (a signed storage URL), so no
 * credentials of ours go with it. */
static ftrack_status put_file(ftrack_session *session, const char *path, long long size,
                              const char *url, json_object *headers, ftrack_error *err)
{
    struct curl_slist *list = NULL;
    ftrack_status status = upload_headers(headers, &list, err);
    if (status != FTRACK_OK)
        return status;
    FILE *f = fopen(path, "rb");
    CURL *curl = f ? curl_easy_init() : NULL;
    if (!curl) {
        if (f)
            fclose(f);
        curl_slist_free_all(list);
        return f ? fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.")
                 : fti_error(err, FTRACK_ERR_IO, "Cannot read %s: %s", path, strerror(errno));
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    fti_http_setup_transfer(session->http, curl, url);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READDATA, f);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode code = curl_easy_perform(curl);
    long http_status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(list);
    fclose(f);
    char *shown = fti_url_redact(url);
    /* Only the origin and path: a signed URL's query is a credential. */
    if (shown && strchr(shown, '?'))
        *strchr(shown, '?') = '\0';
    if (code != CURLE_OK)
        status = fti_error(
            err, code == CURLE_OPERATION_TIMEDOUT ? FTRACK_ERR_TIMEOUT : FTRACK_ERR_NETWORK,
            "Upload to %s failed: %s", shown ? shown : "?",
            errbuf[0] ? errbuf : curl_easy_strerror(code));
    else if (http_status < 200 || http_status >= 300)
        status = fti_error(err, FTRACK_ERR_SERVER, "Upload to %s answered HTTP %ld.",
                           shown ? shown : "?", http_status);
    if (status != FTRACK_OK && err)
        err->http_status = (int)http_status;
    free(shown);
    return status;
}

static void announce_component_added(ftrack_session *session, const char *component_id)
{
    ftrack_hub *hub = ftrack_session_hub(session);
    if (!hub || !ftrack_hub_connected(hub))
        return;
    json_object *data = json_object_new_object();
    json_object_object_add(data, "component_id", json_object_new_string(component_id));
    json_object_object_add(data, "location_id", json_object_new_string(FTRACK_SERVER_LOCATION_ID));
    ftrack_event *event = ftrack_event_new("ftrack.location.component-added", data);
    if (event && ftrack_hub_publish(hub, event, NULL, NULL) != FTRACK_OK)
        ftrack_log(FTRACK_LOG_DEBUG, "session", "Could not announce component %s", component_id);
    ftrack_event_free(event);
}

static ftrack_status create_file_component(ftrack_session *session, const char *path,
                                           json_object *data, long long size, ftrack_entity **out,
                                           char **file_name, ftrack_error *err)
{
    char *stem = NULL, *ext = NULL;
    split_name(path, &stem, &ext);
    json_object *values = NULL;
    if (!stem || !ext ||
        (data ? json_object_deep_copy(data, &values, NULL) != 0
              : !(values = json_object_new_object()))) {
        free(stem);
        free(ext);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    }
    if (!json_object_object_get_ex(values, "name", NULL))
        json_object_object_add(values, "name", json_object_new_string(stem));
    if (!json_object_object_get_ex(values, "file_type", NULL))
        json_object_object_add(values, "file_type", json_object_new_string(ext));
    json_object_object_add(values, "size", json_object_new_int64(size));
    const char *name = json_object_get_string(json_object_object_get(values, "name"));
    const char *type = json_object_get_string(json_object_object_get(values, "file_type"));
    /* "<component name>.<file type without its dot>" as the Python client names uploads. */
    *file_name = fti_asprintf("%s%s%s", name, type && *type ? "." : "",
                              type ? (type[0] == '.' ? type + 1 : type) : "");
    free(stem);
    free(ext);
    ftrack_status status = ftrack_session_create(session, "FileComponent", values, out, err);
    json_object_put(values);
    if (status == FTRACK_OK && !*file_name)
        status = fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    return status;
}

static ftrack_status register_in_server_location(ftrack_session *session, const char *component_id,
                                                 ftrack_error *err)
{
    json_object *data = json_object_new_object();
    if (!data)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object_object_add(data, "component_id", json_object_new_string(component_id));
    json_object_object_add(data, "location_id", json_object_new_string(FTRACK_SERVER_LOCATION_ID));
    json_object_object_add(data, "resource_identifier", json_object_new_string(component_id));
    ftrack_status status = ftrack_session_create(session, "ComponentLocation", data, NULL, err);
    json_object_put(data);
    return status;
}

ftrack_status ftrack_session_create_component(ftrack_session *session, const char *path,
                                              json_object *data, ftrack_entity **component,
                                              ftrack_error *err)
{
    if (component)
        *component = NULL;
    if (!session || !path || !*path)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No session or file path.");
    if (data && !json_object_is_type(data, json_type_object))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "Component data must be an object.");
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return fti_error(err, FTRACK_ERR_IO, "Cannot upload %s: %s", path,
                         errno ? strerror(errno) : "not a regular file");
    char checksum[32];
    ftrack_status status = file_md5_base64(path, checksum, err);
    if (status != FTRACK_OK)
        return status;

    /* The uploads are ours to record even if the caller turned recording off. */
    bool recording = ftrack_session_record_operations(session);
    ftrack_session_set_record_operations(session, true);
    ftrack_entity *e = NULL;
    char *file_name = NULL;
    status = create_file_component(session, path, data, (long long)st.st_size, &e, &file_name, err);
    if (status == FTRACK_OK)
        status = ftrack_session_commit(session, err);
    json_object *results = NULL, *metadata = NULL;
    if (status == FTRACK_OK)
        status = upload_metadata(session, ftrack_entity_id(e), file_name, (long long)st.st_size,
                                 checksum, &results, &metadata, err);
    if (status == FTRACK_OK)
        status = put_file(session, path, (long long)st.st_size,
                          json_object_get_string(json_object_object_get(metadata, "url")),
                          json_object_object_get(metadata, "headers"), err);
    json_object_put(results);
    if (status == FTRACK_OK)
        status = register_in_server_location(session, ftrack_entity_id(e), err);
    if (status == FTRACK_OK)
        status = ftrack_session_commit(session, err);
    ftrack_session_set_record_operations(session, recording);
    free(file_name);
    if (status != FTRACK_OK) {
        fti_error_prefix(err, "Adding %s to the server location failed", path);
        ftrack_entity_free(e);
        return status;
    }
    announce_component_added(session, ftrack_entity_id(e));
    if (component)
        *component = e;
    else
        ftrack_entity_free(e);
    return FTRACK_OK;
}

ftrack_status ftrack_session_encode_media_file(ftrack_session *session, const char *path,
                                               const char *version_id, bool keep_original,
                                               ftrack_entity **job, ftrack_error *err)
{
    if (job)
        *job = NULL;
    json_object *data = json_object_new_object();
    if (!data)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    /* As the Python client: the upload joins the version only when it is to be kept. */
    if (keep_original && version_id)
        json_object_object_add(data, "version_id", json_object_new_string(version_id));
    ftrack_entity *component = NULL;
    ftrack_status status = ftrack_session_create_component(session, path, data, &component, err);
    json_object_put(data);
    if (status != FTRACK_OK)
        return status;
    status = ftrack_session_encode_media(session, ftrack_entity_id(component), version_id,
                                         keep_original, job, err);
    ftrack_entity_free(component);
    return status;
}

/* ---- Following a Job ----------------------------------------------------------------------- */

static void sleep_seconds(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The job's failure text: data's "message"/"error"/"description" when data is JSON text. */
static char *failure_message(ftrack_entity *job)
{
    json_object *data = NULL;
    ftrack_error ignored;
    if (ftrack_entity_get(job, "data", &data, &ignored) != FTRACK_OK || !data)
        return NULL;
    json_object *parsed = json_object_is_type(data, json_type_string)
                              ? json_tokener_parse(json_object_get_string(data))
                              : json_object_get(data);
    json_object_put(data);
    const char *keys[] = {"message", "error", "description"};
    char *out = NULL;
    for (size_t i = 0; !out && i < 3; i++) {
        json_object *v = NULL;
        if (json_object_object_get_ex(parsed, keys[i], &v) &&
            json_object_is_type(v, json_type_string))
            out = fti_strdup(json_object_get_string(v));
    }
    json_object_put(parsed);
    return out;
}

static ftrack_status read_job(ftrack_session *session, const char *expression, ftrack_entity **job,
                              char **status_text, ftrack_error *err)
{
    *status_text = NULL;
    ftrack_entity_free(*job);
    *job = NULL;
    ftrack_status status = ftrack_session_query_first(session, expression, job, err);
    if (status != FTRACK_OK)
        return status;
    if (!*job)
        return fti_error(err, FTRACK_ERR_NOT_FOUND, "No such Job.");
    return ftrack_entity_get_string(*job, "status", status_text, err);
}

ftrack_status ftrack_session_wait_for_job(ftrack_session *session, const char *job_id,
                                          double timeout, ftrack_entity **job, ftrack_error *err)
{
    if (job)
        *job = NULL;
    if (!session || !job_id || !*job_id || strchr(job_id, '"'))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No session or job id.");
    char *expression = fti_asprintf("select id, status, data from Job where id is \"%s\"", job_id);
    if (!expression)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    double deadline = fti_now() + (timeout > 0 ? timeout : 0);
    double delay = JOB_POLL_FIRST;
    ftrack_entity *current = NULL;
    ftrack_status status;
    for (;;) {
        char *state = NULL;
        status = read_job(session, expression, &current, &state, err);
        if (status != FTRACK_OK) {
            free(state);
            break;
        }
        if (state && strcmp(state, "done") == 0) {
            free(state);
            break;
        }
        if (state && strcmp(state, "failed") == 0) {
            char *why = failure_message(current);
            status = fti_error(err, FTRACK_ERR_SERVER, "Job %s failed%s%s", job_id,
                               why ? ": " : ".", why ? why : "");
            free(why);
            free(state);
            break;
        }
        double left = deadline - fti_now();
        if (left <= 0) {
            status = fti_error(err, FTRACK_ERR_TIMEOUT, "Job %s still '%s' after %.1f s.", job_id,
                               state ? state : "?", timeout);
            free(state);
            break;
        }
        free(state);
        sleep_seconds(delay < left ? delay : left);
        delay = delay * JOB_POLL_GROWTH < JOB_POLL_MAX ? delay * JOB_POLL_GROWTH : JOB_POLL_MAX;
    }
    free(expression);
    if (job)
        *job = current;
    else
        ftrack_entity_free(current);
    return status;
}
