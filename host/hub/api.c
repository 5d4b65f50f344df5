/* SPDX-License-Identifier: Apache-2.0 */
/* POST /api (protocol §3): a JSON array of operations in, one result per operation out, or
 * one error object for the whole batch. The whole batch runs in one store transaction: an
 * error anywhere rolls every operation back, and a committed batch publishes one ftrack.update.
 * Actions this hub cannot serve get the error the Python client reads as "unsupported". */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <openssl/crypto.h>

#include "api_internal.h"
#include "common/internal.h"
#include "common/json_compat.h"
#include "common/json_text.h"
#include "common/pyjson.h"

#define LOG_COMPONENT "hub"

/* files.c */
json_object *fhub_api_upload_metadata(fhub_api *api, json_object *op, fhub_store_error *e);

/* The shipped schema set, embedded at build time (schemas_blob.S) so an installed binary
 * needs no data file. */
extern const char fhub_shipped_schemas[];

static json_object *load_schemas(const char *schema_file)
{
    if (schema_file)
        return json_object_from_file(schema_file);
    return json_tokener_parse(fhub_shipped_schemas);
}

ftrack_status fhub_api_new(const char *schema_file, fhub_api **out, ftrack_error *err)
{
    *out = NULL;
    fhub_api *api = calloc(1, sizeof(*api));
    if (!api)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    api->schemas = load_schemas(schema_file);
    if (!json_object_is_type(api->schemas, json_type_array)) {
        fhub_api_free(api);
        return fti_error(err, FTRACK_ERR_CONFIG, "cannot read the schema set %s (a JSON array)",
                         schema_file ? schema_file : "shipped with the hub");
    }
    /* ftrack's clients compare this with the MD5 of json.dumps(schemas, sort_keys=True) of
     * what they cached, so it must be those very bytes. */
    size_t n = 0;
    char *text = fti_json_python_dumps(api->schemas, true, &n);
    if (!text) {
        fhub_api_free(api);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    fti_md5_hex(text, n, api->schema_hash);
    free(text);
    ftrack_status st = fhub_schema_new(api->schemas, &api->schema, err);
    if (st != FTRACK_OK) {
        fhub_api_free(api);
        return st;
    }
    *out = api;
    return FTRACK_OK;
}

void fhub_api_shutdown(fhub_api *api)
{
    if (!api)
        return;
    fhub_media_free(api->media);
    api->media = NULL;
}

void fhub_api_free(fhub_api *api)
{
    if (!api)
        return;
    fhub_api_shutdown(api);
    fhub_store_close(api->store);
    fhub_schema_free(api->schema);
    json_object_put(api->schemas);
    fhub_api_spent_free(api);
    free(api->files_dir);
    free(api->server_url);
    free(api->user);
    if (api->key)
        OPENSSL_cleanse(api->key, strlen(api->key));
    free(api->key);
    free(api);
}

void fhub_api_set_request_url(fhub_api *api, const char *url)
{
    api->request_url = url;
}

ftrack_status fhub_api_attach(fhub_api *api, const fhub_api_options *opt, ftrack_error *err)
{
    api->user = fti_strdup(opt->api_user);
    api->key = fti_strdup(opt->api_key);
    api->server_url = fti_strdup(opt->server_url);
    api->publish = opt->publish;
    api->publish_data = opt->publish_data;
    api->max_upload = opt->max_upload ? opt->max_upload : (size_t)4 * 1024 * 1024 * 1024;
    char *db = NULL;
    if (opt->data_dir) {
        ftrack_status st = fti_make_dirs(opt->data_dir, err);
        if (st != FTRACK_OK)
            return st;
        api->files_dir = fti_asprintf("%s/components", opt->data_dir);
        if (!api->files_dir)
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
        if ((st = fti_make_dirs(api->files_dir, err)) != FTRACK_OK)
            return st;
        if (!opt->memory_store && !(db = fti_asprintf("%s/hub.sqlite", opt->data_dir)))
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    ftrack_status st =
        fhub_store_open(api->schema, db, opt->api_user, opt->seed_file, &api->store, err);
    free(db);
    if (st != FTRACK_OK)
        return st;
    fhub_store_set_server_url(api->store, opt->server_url);
    fhub_media_config mc = {
        .store = api->store,
        .files_dir = api->files_dir,
        .ffmpeg = opt->ffmpeg,
        .workers = opt->encode_workers,
        .timeout = opt->encode_timeout,
        .publish = opt->publish,
        .publish_data = opt->publish_data,
    };
    if (api->files_dir && !(api->media = fhub_media_new(&mc)))
        return fti_error(err, FTRACK_ERR_INTERNAL, "cannot start the encode workers");
    if (opt->user_keys_file)
        return fhub_api_write_user_keys(api, opt->user_keys_file, err);
    return FTRACK_OK;
}

const char *fhub_api_schema_hash(const fhub_api *api)
{
    return api->schema_hash;
}

static void add(json_object *obj, const char *key, json_object *value)
{
    json_object_object_add_ex(obj, key, value, JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static json_object *error_object(const char *exception, const char *content)
{
    json_object *e = json_object_new_object();
    add(e, "exception", json_object_new_string(exception));
    add(e, "content", json_object_new_string(content));
    add(e, "error_code", NULL);
    return e;
}

static json_object *server_information(const fhub_api *api)
{
    json_object *info = json_object_new_object();
    json_object *scenario = json_object_new_object();
    add(scenario, "scenario", json_object_new_string("ftrack.automatic"));
    add(scenario, "data", json_object_new_object());
    add(info, "version", json_object_new_string("dev"));
    add(info, "schema_hash", json_object_new_string(api->schema_hash));
    add(info, "storage_scenario", scenario);
    add(info, "is_timezone_support_enabled", json_object_new_boolean(1));
    return info;
}

/* A batch in progress: the store transaction and what to do once it commits. */
typedef struct batch {
    bool open;
    const char *user; /* who the request is from (NULL: the hub user) */
    json_object
        *jobs; /* encode jobs to queue after the commit: [{job, component, version, keep}] */
} batch;

static bool need_store(fhub_api *api, batch *b, fhub_store_error *e)
{
    if (!api->store) {
        fhub_store_fail(e, "ServerError", "This hub has no entity store.");
        return false;
    }
    if (!b->open) {
        fhub_store_begin_as(api->store, b->user);
        b->open = true;
    }
    return true;
}

static json_object *encode_media(fhub_api *api, batch *b, json_object *op, fhub_store_error *e)
{
    const char *component_id = fti_json_string(op, "component_id");
    const char *version_id = fti_json_string(op, "version_id");
    json_object *keep = json_object_object_get(op, "keep_original");
    if (!api->media) {
        fhub_store_fail(e, "ServerError",
                       "Invalid action u'encode_media': this hub has no data "
                       "folder to encode in.");
        return NULL;
    }
    if (!component_id) {
        fhub_store_fail(e, "ValidationError", "encode_media needs a component_id.");
        return NULL;
    }
    json_object *comp = fhub_store_get(api->store, "Component", component_id);
    json_object_put(comp);
    if (!comp) {
        fhub_store_fail(e, "NotFoundError", "No Component with the id \"%s\".", component_id);
        return NULL;
    }
    json_object *data = json_object_new_object();
    json_object_object_add(data, "output", json_object_new_array());
    json_object_object_add(data, "source_component_id", json_object_new_string(component_id));
    json_object_object_add(data, "keep_original",
                           json_object_new_boolean(json_object_get_boolean(keep)));
    json_object *job = json_object_new_object();
    json_object_object_add(job, "type", json_object_new_string("api_job"));
    json_object_object_add(job, "status", json_object_new_string("queued"));
    json_object_object_add(
        job, "data",
        json_object_new_string(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN)));
    json_object_put(data);
    json_object *r = fhub_store_create(api->store, "Job", NULL, job, e);
    json_object_put(job);
    const char *job_id = fti_json_string(json_object_object_get(r, "data"), "id");
    if (!job_id) {
        json_object_put(r);
        return NULL;
    }
    json_object *pending = json_object_new_object();
    json_object_object_add(pending, "job", json_object_new_string(job_id));
    json_object_object_add(pending, "component", json_object_new_string(component_id));
    json_object_object_add(pending, "version",
                           version_id ? json_object_new_string(version_id) : NULL);
    json_object_object_add(pending, "keep", json_object_new_boolean(json_object_get_boolean(keep)));
    if (!b->jobs)
        b->jobs = json_object_new_array();
    json_object_array_add(b->jobs, pending);
    json_object *answer = json_object_new_object();
    add(answer, "job_id", json_object_new_string(job_id));
    json_object_put(r);
    return answer;
}

/* The result of one operation, or NULL with *e set. */
static json_object *run_operation(fhub_api *api, batch *b, json_object *op, fhub_store_error *e)
{
    json_object *action = NULL;
    if (!json_object_is_type(op, json_type_object) ||
        !json_object_object_get_ex(op, "action", &action) ||
        !json_object_is_type(action, json_type_string)) {
        fhub_store_fail(e, "ValidationError", "Each operation must be an object with an action.");
        return NULL;
    }
    const char *name = json_object_get_string(action);
    if (strcmp(name, "query_server_information") == 0)
        return server_information(api);
    if (strcmp(name, "query_schemas") == 0)
        return json_object_get(api->schemas);
    bool store_action = strcmp(name, "query") == 0 || strcmp(name, "create") == 0 ||
                        strcmp(name, "update") == 0 || strcmp(name, "delete") == 0 ||
                        strcmp(name, "encode_media") == 0;
    if (store_action && !need_store(api, b, e))
        return NULL;
    json_object *key = json_object_object_get(op, "entity_key");
    json_object *data = json_object_object_get(op, "entity_data");
    const char *type = fti_json_string(op, "entity_type");
    if (!type && json_object_is_type(data, json_type_object))
        type = fti_json_string(data, "__entity_type__");
    if (strcmp(name, "query") == 0) {
        const char *expr = fti_json_string(op, "expression");
        if (!expr) {
            fhub_store_fail(e, "ValidationError", "query needs an expression.");
            return NULL;
        }
        return fhub_store_query(api->store, expr, e);
    }
    if (strcmp(name, "create") == 0)
        return fhub_store_create(api->store, type, key, data, e);
    if (strcmp(name, "update") == 0)
        return fhub_store_update(api->store, type, key, data, e);
    if (strcmp(name, "delete") == 0)
        return fhub_store_delete(api->store, type, key, e);
    if (strcmp(name, "encode_media") == 0)
        return encode_media(api, b, op, e);
    if (strcmp(name, "get_upload_metadata") == 0)
        return fhub_api_upload_metadata(api, op, e);
    /* The Python client recognises an unsupported action by this wording. */
    fhub_store_fail(e, "ServerError", "Invalid action u'%.120s'. This server does not support it.",
                   name);
    return NULL;
}

static void publish_event(fhub_api *api, json_object *ev)
{
    if (!ev)
        return;
    size_t n = 0;
    const char *text = json_object_to_json_string_length(
        ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (text && api->publish)
        api->publish(text, n, api->publish_data);
    json_object_put(ev);
}

/* Commit (or roll back) the batch; publish its changes and queue its encode jobs. */
static void end_batch(fhub_api *api, batch *b, bool ok)
{
    if (b->open) {
        bool committed = false;
        json_object *ev = fhub_store_end(api->store, ok, &committed);
        publish_event(api, ev);
        for (size_t i = 0; committed && b->jobs && i < json_object_array_length(b->jobs); i++) {
            json_object *j = json_object_array_get_idx(b->jobs, i);
            fhub_media_enqueue(api->media, fti_json_string(j, "job"), fti_json_string(j, "component"),
                              fti_json_string(j, "version"),
                              json_object_get_boolean(json_object_object_get(j, "keep")));
        }
    }
    json_object_put(b->jobs);
    b->jobs = NULL;
    b->open = false;
}

static char *serialise(json_object *obj, size_t *len)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    char *out = s ? strndup(s, n) : NULL;
    *len = out ? n : 0;
    json_object_put(obj);
    return out;
}

static json_object *parse_request(const char *request, size_t len, int max_depth,
                                  json_object **error)
{
    if (fti_utf8_invalid_at(request, len) != SIZE_MAX) {
        *error = error_object("ValidationError", "The request body is not valid UTF-8.");
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(max_depth);
    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    size_t fixed_len = 0;
    char *fixed = fti_json_fix_astral_escapes(request, len, &fixed_len); /* see json_compat.h */
    json_object *body = json_tokener_parse_ex(tok, fixed ? fixed : request,
                                              (int)(fixed ? fixed_len : len));
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    free(fixed);
    if (jerr != json_tokener_success || !json_object_is_type(body, json_type_array)) {
        char content[200];
        snprintf(content, sizeof(content),
                 "The request body must be a JSON array of operations (%s).",
                 jerr == json_tokener_success ? "not an array" : json_tokener_error_desc(jerr));
        *error = error_object("ValidationError", content);
        json_object_put(body);
        return NULL;
    }
    return body;
}

/* "create Asset" for the log line of a failed operation. */
static void describe_operation(json_object *op, char *out, size_t len)
{
    const char *action = fti_json_string(op, "action");
    const char *type = fti_json_string(op, "entity_type");
    snprintf(out, len, "%.40s%s%.80s", action ? action : "(no action)", type ? " " : "",
             type ? type : "");
}

/* One line per failed request: who, what, and the error sent back. */
static void log_failure(const char *user, const char *what, json_object *error)
{
    ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT, "api: request by %s failed: %s: %s: %s",
               user && *user ? user : "(no user)", what, fti_json_string(error, "exception"),
               fti_json_string(error, "content"));
}

char *fhub_api_handle_as(fhub_api *api, const char *user, const char *request, size_t len,
                        bool authenticated, bool strict, int max_depth, int *status,
                        size_t *body_len)
{
    json_object *error = NULL;
    *status = 200;
    if (!authenticated) {
        *status = strict ? 401 : 200;
        error = error_object("InvalidCredentialsError", "The supplied API key is not valid.");
        log_failure(user, "authentication", error);
        return serialise(error, body_len);
    }
    json_object *ops = parse_request(request, len > 0x7fffffff ? 0 : len, max_depth, &error);
    json_object *results = ops ? json_object_new_array() : NULL;
    batch b = {.user = user && *user ? user : NULL};
    fhub_store_error e = {{0}, {0}};
    char what[160] = "reading the request";
    for (size_t i = 0; results && i < json_object_array_length(ops); i++) {
        json_object *op = json_object_array_get_idx(ops, i);
        json_object *r = run_operation(api, &b, op, &e);
        if (!r) {
            describe_operation(op, what, sizeof(what));
            error = error_object(e.exception[0] ? e.exception : "ServerError",
                                 e.content[0] ? e.content : "The operation failed.");
            break;
        }
        json_object_array_add(results, r);
    }
    if (!error && b.open && !fhub_store_check_batch(api->store, &e)) {
        snprintf(what, sizeof(what), "commit");
        error = error_object(e.exception, e.content);
    }
    end_batch(api, &b, error == NULL);
    json_object_put(ops);
    if (error) {
        log_failure(user, what, error);
        json_object_put(results);
        *status = strict ? 400 : 200;
        return serialise(error, body_len);
    }
    if (!results)
        return NULL;
    return serialise(results, body_len);
}

char *fhub_api_handle(fhub_api *api, const char *request, size_t len, bool authenticated, bool strict,
                     int max_depth, int *status, size_t *body_len)
{
    return fhub_api_handle_as(api, NULL, request, len, authenticated, strict, max_depth, status,
                             body_len);
}
