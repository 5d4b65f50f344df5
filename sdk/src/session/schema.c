/* SPDX-License-Identifier: Apache-2.0 */
/* Schemas and their on-disk cache (protocol §1.3).
 *
 * The cache file is shared with ftrack's Python client, so freshness is decided exactly as it
 * decides it: the MD5 of Python's json.dumps(schemas, sort_keys=True) against the server's
 * schema_hash (common/pyjson.c reproduces Python's encoder byte for byte). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/printbuf.h>

#include "common/internal.h"
#include "common/pyjson.h"
#include "session/session_internal.h"

#define CACHE_FILE_NAME "ftrack_api_schema_cache.json"
#define CACHE_PARSE_DEPTH 512

char *fti_schema_hash(json_object *schemas)
{
    size_t len = 0;
    char *text = fti_json_python_dumps(schemas, true, &len);
    if (!text)
        return NULL;
    char *hex = malloc(33);
    if (hex)
        fti_md5_hex(text, len, hex);
    free(text);
    return hex;
}

/* ---- The cache file ------------------------------------------------------------------------ */

static char *cache_file(const ftrack_session *session)
{
    if (!session->schema_cache_path)
        return NULL;
    return fti_asprintf("%s/%s", session->schema_cache_path, CACHE_FILE_NAME);
}

static char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct printbuf *pb = printbuf_new();
    char chunk[16384];
    size_t n;
    while (pb && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (printbuf_memappend(pb, chunk, (int)n) < 0) {
            printbuf_free(pb);
            pb = NULL;
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (!pb || failed) {
        printbuf_free(pb);
        return NULL;
    }
    *len = (size_t)pb->bpos;
    char *text = fti_strndup(pb->buf, *len);
    printbuf_free(pb);
    return text;
}

/* The cached schemas when their hash equals `server_hash`, else NULL. */
static json_object *read_cache(const char *path, const char *server_hash)
{
    size_t len = 0;
    char *text = read_whole_file(path, &len);
    if (!text)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(CACHE_PARSE_DEPTH);
    json_object *schemas = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    bool parsed = tok && json_tokener_get_error(tok) == json_tokener_success;
    if (tok)
        json_tokener_free(tok);
    free(text);
    if (!parsed || !json_object_is_type(schemas, json_type_array)) {
        ftrack_log(FTRACK_LOG_WARNING, "session", "Ignoring unreadable schema cache %s", path);
        json_object_put(schemas);
        return NULL;
    }
    char *hash = fti_schema_hash(schemas);
    bool fresh = hash && strcmp(hash, server_hash) == 0;
    free(hash);
    if (!fresh) {
        json_object_put(schemas);
        return NULL;
    }
    return schemas;
}

/* Write through a temporary file and rename, so a reader never sees half a cache. */
static void write_cache(const char *folder, const char *path, json_object *schemas)
{
    mkdir(folder, 0700);
    char *tmp = fti_asprintf("%s.%ld.tmp", path, (long)getpid());
    if (!tmp)
        return;
    int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE;
    if (json_object_to_file_ext(tmp, schemas, flags) != 0 || rename(tmp, path) != 0) {
        ftrack_log(FTRACK_LOG_WARNING, "session", "Could not write schema cache %s: %s", path,
                   strerror(errno));
        unlink(tmp);
    }
    free(tmp);
}

static ftrack_status query_schemas(ftrack_session *session, json_object **schemas,
                                   ftrack_error *err)
{
    json_object *op = fti_operation_new("query_schemas");
    if (!op)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object *results = NULL;
    ftrack_status status = fti_session_call_one(session, op, &results, err);
    if (status != FTRACK_OK)
        return status;
    json_object *list = json_object_array_get_idx(results, 0);
    if (!json_object_is_type(list, json_type_array)) {
        json_object_put(results);
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "query_schemas did not answer a list of schemas.");
    }
    *schemas = json_object_get(list);
    json_object_put(results);
    return FTRACK_OK;
}

static char *server_schema_hash(ftrack_session *session)
{
    char *hash = NULL;
    pthread_mutex_lock(&session->info_lock);
    json_object *value = NULL;
    if (json_object_object_get_ex(session->server_information, "schema_hash", &value) &&
        json_object_is_type(value, json_type_string))
        hash = fti_strdup(json_object_get_string(value));
    pthread_mutex_unlock(&session->info_lock);
    return hash;
}

static ftrack_status load_locked(ftrack_session *session, ftrack_error *err)
{
    char *path = cache_file(session);
    char *server_hash = server_schema_hash(session);
    json_object *schemas = path && server_hash ? read_cache(path, server_hash) : NULL;
    ftrack_status status = FTRACK_OK;
    if (!schemas) {
        status = query_schemas(session, &schemas, err);
        if (status == FTRACK_OK && path)
            write_cache(session->schema_cache_path, path, schemas);
    }
    free(path);
    free(server_hash);
    if (status == FTRACK_OK)
        session->schemas = schemas;
    return status;
}

ftrack_status fti_session_load_schemas(ftrack_session *session, ftrack_error *err)
{
    pthread_mutex_lock(&session->schema_lock);
    ftrack_status status = session->schemas ? FTRACK_OK : load_locked(session, err);
    pthread_mutex_unlock(&session->schema_lock);
    return status;
}

ftrack_status fti_session_schemas(ftrack_session *session, json_object **schemas, ftrack_error *err)
{
    *schemas = NULL;
    ftrack_status status = fti_session_load_schemas(session, err);
    if (status != FTRACK_OK)
        return status;
    pthread_mutex_lock(&session->schema_lock);
    *schemas = session->schemas;
    pthread_mutex_unlock(&session->schema_lock);
    return FTRACK_OK;
}
