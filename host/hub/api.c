/* POST /api (protocol §3): a JSON array of operations in, one result per operation out, or
 * one error object for the whole batch. This issue answers query_server_information and
 * query_schemas; other actions get the error the Python client reads as "unsupported". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "common/pyjson.h"
#include "server_internal.h"

struct fth_api {
    json_object *schemas; /* the shipped schema list */
    char schema_hash[33];
};

/* The shipped schema set, embedded at build time (schemas_blob.S) so an installed binary
 * needs no data file. */
extern const char fth_shipped_schemas[];

static json_object *load_schemas(const char *schema_file)
{
    if (schema_file)
        return json_object_from_file(schema_file);
    return json_tokener_parse(fth_shipped_schemas);
}

ftrack_status fth_api_new(const char *schema_file, fth_api **out, ftrack_error *err)
{
    *out = NULL;
    fth_api *api = calloc(1, sizeof(*api));
    if (!api)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    api->schemas = load_schemas(schema_file);
    if (!json_object_is_type(api->schemas, json_type_array)) {
        fth_api_free(api);
        return fti_error(err, FTRACK_ERR_CONFIG, "cannot read the schema set %s (a JSON array)",
                         schema_file ? schema_file : "shipped with the hub");
    }
    /* ftrack's clients compare this with the MD5 of json.dumps(schemas, sort_keys=True) of
     * what they cached, so it must be those very bytes. */
    size_t n = 0;
    char *text = fti_json_python_dumps(api->schemas, true, &n);
    if (!text) {
        fth_api_free(api);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    fti_md5_hex(text, n, api->schema_hash);
    free(text);
    *out = api;
    return FTRACK_OK;
}

void fth_api_free(fth_api *api)
{
    if (!api)
        return;
    json_object_put(api->schemas);
    free(api);
}

const char *fth_api_schema_hash(const fth_api *api)
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

static json_object *server_information(const fth_api *api)
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

/* The result of one operation, or NULL with *error set. */
static json_object *run_operation(fth_api *api, json_object *op, json_object **error)
{
    json_object *action = NULL;
    if (!json_object_is_type(op, json_type_object) ||
        !json_object_object_get_ex(op, "action", &action) ||
        !json_object_is_type(action, json_type_string)) {
        *error =
            error_object("ValidationError", "Each operation must be an object with an action.");
        return NULL;
    }
    const char *name = json_object_get_string(action);
    if (strcmp(name, "query_server_information") == 0)
        return server_information(api);
    if (strcmp(name, "query_schemas") == 0)
        return json_object_get(api->schemas);
    /* The Python client recognises an unsupported action by this wording. */
    char content[256];
    snprintf(content, sizeof(content), "Invalid action u'%.120s'. This server does not support it.",
             name);
    *error = error_object("ServerError", content);
    return NULL;
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
    if (!fth_utf8_valid(request, len)) {
        *error = error_object("ValidationError", "The request body is not valid UTF-8.");
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(max_depth);
    if (!tok)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *body = json_tokener_parse_ex(tok, request, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
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

char *fth_api_handle(fth_api *api, const char *request, size_t len, bool authenticated, bool strict,
                     int max_depth, int *status, size_t *body_len)
{
    json_object *error = NULL;
    *status = 200;
    if (!authenticated) {
        *status = strict ? 401 : 200;
        return serialise(
            error_object("InvalidCredentialsError", "The supplied API key is not valid."),
            body_len);
    }
    json_object *ops = parse_request(request, len > 0x7fffffff ? 0 : len, max_depth, &error);
    json_object *results = ops ? json_object_new_array() : NULL;
    for (size_t i = 0; results && i < json_object_array_length(ops); i++) {
        json_object *r = run_operation(api, json_object_array_get_idx(ops, i), &error);
        if (!r)
            break;
        json_object_array_add(results, r);
    }
    json_object_put(ops);
    if (error) {
        json_object_put(results);
        *status = strict ? 400 : 200;
        return serialise(error, body_len);
    }
    if (!results)
        return NULL;
    return serialise(results, body_len);
}
