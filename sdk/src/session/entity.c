/* SPDX-License-Identifier: Apache-2.0 */
/* Entity handles, their cache keys and merging into the session's cache (protocol §1.4, §9).
 *
 * The cache holds each entity's JSON text ({"__entity_type__": ..., attributes}) under the key
 * the session's key maker makes of Python's identity string, so a persistent cache can be
 * shared with ftrack's Python client's key layout. Handles are per-thread snapshots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "common/internal.h"
#include "session/session_internal.h"

#define ENTITY_TYPE_KEY "__entity_type__"
#define CACHED_PARSE_DEPTH 256

struct ftrack_entity {
    ftrack_session *session;
    char *type;
    char *cache_key;
    json_object *key_names;  /* array of primary key attribute names */
    json_object *key_values; /* array of their values as strings */
    json_object *values;     /* object: attribute → value */
};

/* ---- Small helpers ------------------------------------------------------------------------ */

char *fti_uuid4(void)
{
    char id[37];
    fti_uuid_dashed(id);
    return fti_strdup(id);
}

json_object *fti_session_schema_for(ftrack_session *session, const char *type)
{
    json_object *schemas = NULL;
    if (!type || fti_session_schemas(session, &schemas, NULL) != FTRACK_OK || !schemas)
        return NULL;
    size_t n = json_object_array_length(schemas);
    for (size_t i = 0; i < n; i++) {
        json_object *schema = json_object_array_get_idx(schemas, i);
        json_object *id = NULL;
        if (json_object_object_get_ex(schema, "id", &id) &&
            json_object_is_type(id, json_type_string) &&
            strcmp(json_object_get_string(id), type) == 0)
            return schema;
    }
    return NULL;
}

json_object *fti_schema_primary_key(json_object *schema)
{
    json_object *pk = NULL;
    if (!json_object_object_get_ex(schema, "primary_key", &pk) ||
        !json_object_is_type(pk, json_type_array) || json_object_array_length(pk) == 0)
        return NULL;
    return pk;
}

/* The primary key names of a type as a new array; ["id"] when the schemas do not say. */
static json_object *key_names_for(ftrack_session *session, const char *type)
{
    json_object *pk = fti_schema_primary_key(fti_session_schema_for(session, type));
    json_object *copy = NULL;
    if (pk && json_object_deep_copy(pk, &copy, NULL) == 0)
        return copy;
    copy = json_object_new_array();
    if (copy)
        json_object_array_add(copy, json_object_new_string("id"));
    return copy;
}

/* Python's str() of a value used as a key part: strings as they are, others as JSON. */
static const char *key_text(json_object *value)
{
    if (json_object_is_type(value, json_type_string))
        return json_object_get_string(value);
    return json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
}

/* Python's repr() of a str: single quotes unless the text has ' and no ". */
static void py_repr(struct printbuf *pb, const char *s)
{
    char quote = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    printbuf_memappend(pb, &quote, 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '\\' || *p == (unsigned char)quote) {
            esc[0] = '\\';
            esc[1] = (char)*p;
            printbuf_memappend(pb, esc, 2);
        } else if (*p == '\n') {
            printbuf_memappend(pb, "\\n", 2);
        } else if (*p == '\r') {
            printbuf_memappend(pb, "\\r", 2);
        } else if (*p == '\t') {
            printbuf_memappend(pb, "\\t", 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", *p);
            printbuf_memappend(pb, esc, 4);
        } else {
            printbuf_memappend(pb, (const char *)p, 1);
        }
    }
    printbuf_memappend(pb, &quote, 1);
}

char *fti_entity_identity(const char *type, json_object *key_values)
{
    struct printbuf *pb = printbuf_new();
    if (!pb)
        return NULL;
    printbuf_memappend(pb, "(", 1);
    py_repr(pb, type);
    printbuf_memappend(pb, ", [", 3);
    size_t n = json_object_array_length(key_values);
    for (size_t i = 0; i < n; i++) {
        if (i)
            printbuf_memappend(pb, ", ", 2);
        py_repr(pb, key_text(json_object_array_get_idx(key_values, i)));
    }
    printbuf_memappend(pb, "])", 2);
    char *out = fti_strndup(pb->buf, (size_t)pb->bpos);
    printbuf_free(pb);
    return out;
}

char *fti_entity_cache_key(ftrack_session *session, const char *type, json_object *key_values,
                           ftrack_error *err)
{
    char *identity = fti_entity_identity(type, key_values);
    json_object *item = identity ? json_object_new_string(identity) : NULL;
    free(identity);
    if (!item) {
        fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
        return NULL;
    }
    char *key = NULL;
    ftrack_status status = ftrack_key_maker_key(session->key_maker, &item, 1, &key, err);
    json_object_put(item);
    return status == FTRACK_OK ? key : NULL;
}

static json_object *key_values_for(json_object *names, const char *type, json_object *data,
                                   ftrack_error *err)
{
    json_object *values = json_object_new_array();
    size_t n = json_object_array_length(names);
    for (size_t i = 0; values && i < n; i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(names, i));
        json_object *v = NULL;
        if (!json_object_object_get_ex(data, name, &v) || !v ||
            json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) {
            json_object_put(values);
            fti_error(err, FTRACK_ERR_BAD_RESPONSE, "%s entity without its primary key '%s'.", type,
                      name);
            return NULL;
        }
        json_object_array_add(values, json_object_new_string(key_text(v)));
    }
    if (!values)
        fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    return values;
}

json_object *fti_entity_key_values(ftrack_session *session, const char *type, json_object *data,
                                   ftrack_error *err)
{
    json_object *names = key_names_for(session, type);
    if (!names) {
        fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
        return NULL;
    }
    json_object *values = key_values_for(names, type, data, err);
    json_object_put(names);
    return values;
}

static const char *entity_type_of(json_object *data)
{
    json_object *t = NULL;
    if (!json_object_is_type(data, json_type_object) ||
        !json_object_object_get_ex(data, ENTITY_TYPE_KEY, &t) ||
        !json_object_is_type(t, json_type_string))
        return NULL;
    return json_object_get_string(t);
}

/* ---- The cache ------------------------------------------------------------------------------ */

static json_object *parse_cached(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(CACHED_PARSE_DEPTH);
    if (!tok)
        return NULL;
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        obj = NULL;
    }
    json_tokener_free(tok);
    return obj;
}

/* The cached object for a key, or NULL (missing, unreadable or a failing cache). */
static json_object *cache_read(ftrack_session *session, const char *key)
{
    void *value = NULL;
    size_t size = 0;
    ftrack_error err;
    ftrack_status status = ftrack_cache_get(session->layered_cache, key, &value, &size, &err);
    if (status != FTRACK_OK) {
        if (status != FTRACK_ERR_NOT_FOUND)
            ftrack_log(FTRACK_LOG_WARNING, "session", "Cache read failed: %s", err.message);
        return NULL;
    }
    json_object *obj = parse_cached(value, size);
    free(value);
    return obj;
}

static void cache_write(ftrack_session *session, const char *key, json_object *obj)
{
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    ftrack_error err;
    if (!text || ftrack_cache_set(session->layered_cache, key, text, len, &err) != FTRACK_OK)
        ftrack_log(FTRACK_LOG_WARNING, "session", "Cache write failed: %s",
                   text ? err.message : "out of memory");
}

void fti_session_cache_drop(ftrack_session *session, const char *type, json_object *key_values)
{
    char *key = fti_entity_cache_key(session, type, key_values, NULL);
    if (!key)
        return;
    pthread_mutex_lock(&session->cache_lock);
    ftrack_cache_remove(session->layered_cache, key, NULL);
    pthread_mutex_unlock(&session->cache_lock);
    free(key);
}

static void merge_nested(ftrack_session *session, json_object *value)
{
    if (entity_type_of(value)) {
        fti_session_merge(session, value, NULL, NULL);
        return;
    }
    if (!json_object_is_type(value, json_type_array))
        return;
    size_t n = json_object_array_length(value);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(value, i);
        if (entity_type_of(item))
            fti_session_merge(session, item, NULL, NULL);
    }
}

/* Copy every member of `from` into `into` (replacing), deep-copying values. */
static bool overlay(json_object *into, json_object *from)
{
    json_object_object_foreach(from, name, value)
    {
        json_object *copy = NULL;
        if (value && json_object_deep_copy(value, &copy, NULL) != 0)
            return false;
        json_object_object_add(into, name, copy);
    }
    return true;
}

ftrack_status fti_session_merge(ftrack_session *session, json_object *data, json_object **merged,
                                ftrack_error *err)
{
    if (merged)
        *merged = NULL;
    const char *type = entity_type_of(data);
    if (!type)
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE, "An entity without __entity_type__.");
    json_object *key_values = fti_entity_key_values(session, type, data, err);
    if (!key_values)
        return err ? err->code : FTRACK_ERR_BAD_RESPONSE;
    char *key = fti_entity_cache_key(session, type, key_values, err);
    json_object_put(key_values);
    if (!key)
        return err ? err->code : FTRACK_ERR_NO_MEMORY;

    /* Nested entities first, each under its own key, so a relation read later is a cache hit. */
    json_object_object_foreach(data, name, value)
    {
        (void)name;
        merge_nested(session, value);
    }

    pthread_mutex_lock(&session->cache_lock);
    json_object *cached = cache_read(session, key);
    if (!cached)
        cached = json_object_new_object();
    bool ok = cached && overlay(cached, data);
    if (ok)
        cache_write(session, key, cached);
    pthread_mutex_unlock(&session->cache_lock);
    free(key);
    if (!ok) {
        json_object_put(cached);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory merging an entity.");
    }
    if (merged)
        *merged = cached;
    else
        json_object_put(cached);
    return FTRACK_OK;
}

/* ---- Handles -------------------------------------------------------------------------------- */

void ftrack_entity_free(ftrack_entity *entity)
{
    if (!entity)
        return;
    free(entity->type);
    free(entity->cache_key);
    json_object_put(entity->key_names);
    json_object_put(entity->key_values);
    json_object_put(entity->values);
    free(entity);
}

ftrack_status fti_entity_from_json(ftrack_session *session, json_object *data, ftrack_entity **out,
                                   ftrack_error *err)
{
    *out = NULL;
    const char *type = entity_type_of(data);
    if (!type)
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE, "An entity without __entity_type__.");
    ftrack_entity *e = calloc(1, sizeof(*e));
    if (!e)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    e->session = session;
    e->type = fti_strdup(type);
    e->key_names = key_names_for(session, type);
    e->values = json_object_new_object();
    if (!e->type || !e->key_names || !e->values || !overlay(e->values, data)) {
        ftrack_entity_free(e);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    }
    json_object_object_del(e->values, ENTITY_TYPE_KEY);
    e->key_values = key_values_for(e->key_names, type, data, err);
    if (!e->key_values) {
        ftrack_entity_free(e);
        return err ? err->code : FTRACK_ERR_BAD_RESPONSE;
    }
    e->cache_key = fti_entity_cache_key(session, type, e->key_values, err);
    if (!e->cache_key) {
        ftrack_entity_free(e);
        return err ? err->code : FTRACK_ERR_NO_MEMORY;
    }
    *out = e;
    return FTRACK_OK;
}

const char *ftrack_entity_type(const ftrack_entity *entity)
{
    return entity ? entity->type : NULL;
}

const char *ftrack_entity_id(const ftrack_entity *entity)
{
    if (!entity)
        return NULL;
    size_t n = json_object_array_length(entity->key_names);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(json_object_get_string(json_object_array_get_idx(entity->key_names, i)), "id") ==
            0)
            return json_object_get_string(json_object_array_get_idx(entity->key_values, i));
    }
    return json_object_get_string(json_object_array_get_idx(entity->key_values, 0));
}

const char *ftrack_entity_cache_key(const ftrack_entity *entity)
{
    return entity ? entity->cache_key : NULL;
}

json_object *ftrack_entity_primary_key(const ftrack_entity *entity)
{
    json_object *copy = NULL;
    if (entity && json_object_deep_copy(entity->key_values, &copy, NULL) != 0)
        return NULL;
    return copy;
}

json_object *ftrack_entity_reference(const ftrack_entity *entity)
{
    if (!entity)
        return NULL;
    json_object *ref = json_object_new_object();
    if (!ref)
        return NULL;
    json_object_object_add(ref, ENTITY_TYPE_KEY, json_object_new_string(entity->type));
    size_t n = json_object_array_length(entity->key_names);
    for (size_t i = 0; i < n; i++)
        json_object_object_add(
            ref, json_object_get_string(json_object_array_get_idx(entity->key_names, i)),
            json_object_new_string(
                json_object_get_string(json_object_array_get_idx(entity->key_values, i))));
    return ref;
}

json_object *ftrack_entity_json(const ftrack_entity *entity)
{
    if (!entity)
        return NULL;
    json_object *out = json_object_new_object();
    if (!out)
        return NULL;
    json_object_object_add(out, ENTITY_TYPE_KEY, json_object_new_string(entity->type));
    if (!overlay(out, entity->values)) {
        json_object_put(out);
        return NULL;
    }
    return out;
}

bool ftrack_entity_loaded(const ftrack_entity *entity, const char *attribute)
{
    return entity && attribute && json_object_object_get_ex(entity->values, attribute, NULL);
}

static bool is_key_name(const ftrack_entity *entity, const char *attribute)
{
    size_t n = json_object_array_length(entity->key_names);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(json_object_get_string(json_object_array_get_idx(entity->key_names, i)),
                   attribute) == 0)
            return true;
    }
    return false;
}

/* False when the schemas are known and lack the attribute. */
static bool attribute_known(ftrack_entity *entity, const char *attribute)
{
    json_object *schema = fti_session_schema_for(entity->session, entity->type);
    json_object *properties = NULL;
    if (!schema || !json_object_object_get_ex(schema, "properties", &properties) ||
        !json_object_is_type(properties, json_type_object))
        return true;
    return json_object_object_get_ex(properties, attribute, NULL);
}

/* Add the values of `from` the handle does not hold (its own values win: they may be set
 * locally and not committed yet). */
static void fill_missing(ftrack_entity *entity, json_object *from)
{
    json_object_object_foreach(from, name, value)
    {
        if (strcmp(name, ENTITY_TYPE_KEY) == 0 ||
            json_object_object_get_ex(entity->values, name, NULL))
            continue;
        json_object *copy = NULL;
        if (value && json_object_deep_copy(value, &copy, NULL) != 0)
            continue;
        json_object_object_add(entity->values, name, copy);
    }
}

/* `name is "value"` conditions on the primary key, joined with "and". */
static char *key_condition(const ftrack_entity *entity)
{
    struct printbuf *pb = printbuf_new();
    if (!pb)
        return NULL;
    size_t n = json_object_array_length(entity->key_names);
    for (size_t i = 0; i < n; i++) {
        if (i)
            printbuf_strappend(pb, " and ");
        sprintbuf(pb, "%s is \"",
                  json_object_get_string(json_object_array_get_idx(entity->key_names, i)));
        for (const char *p =
                 json_object_get_string(json_object_array_get_idx(entity->key_values, i));
             *p; p++) {
            if (*p == '"' || *p == '\\')
                printbuf_memappend(pb, "\\", 1);
            printbuf_memappend(pb, p, 1);
        }
        printbuf_strappend(pb, "\"");
    }
    char *out = fti_strndup(pb->buf, (size_t)pb->bpos);
    printbuf_free(pb);
    return out;
}

/* Fetch one attribute from the server and merge it (protocol: Python's populate()). */
static ftrack_status populate(ftrack_entity *entity, const char *attribute, ftrack_error *err)
{
    char *condition = key_condition(entity);
    char *expression =
        condition ? fti_asprintf("select %s from %s where %s", attribute, entity->type, condition)
                  : NULL;
    free(condition);
    if (!expression)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object *results = NULL, *data = NULL;
    ftrack_status status =
        fti_session_raw_query(entity->session, expression, &results, &data, NULL, err);
    free(expression);
    if (status != FTRACK_OK)
        return status;
    size_t n = json_object_array_length(data);
    for (size_t i = 0; i < n && status == FTRACK_OK; i++) {
        json_object *merged = NULL;
        status =
            fti_session_merge(entity->session, json_object_array_get_idx(data, i), &merged, err);
        json_object *values =
            merged ? fti_entity_key_values(entity->session, entity->type, merged, NULL) : NULL;
        if (values && json_object_equal(values, entity->key_values))
            fill_missing(entity, merged);
        json_object_put(values);
        json_object_put(merged);
    }
    json_object_put(results);
    return status;
}

/* Make the attribute loaded: the cache, then the server when this thread auto-populates. */
static ftrack_status load(ftrack_entity *entity, const char *attribute, ftrack_error *err)
{
    if (json_object_object_get_ex(entity->values, attribute, NULL))
        return FTRACK_OK;
    if (!attribute_known(entity, attribute))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "%s has no attribute '%s'.",
                         entity->type, attribute);
    json_object *cached = cache_read(entity->session, entity->cache_key);
    if (cached) {
        fill_missing(entity, cached);
        json_object_put(cached);
        if (json_object_object_get_ex(entity->values, attribute, NULL))
            return FTRACK_OK;
    }
    if (!ftrack_session_auto_populate(entity->session))
        return fti_error(err, FTRACK_ERR_NOT_FOUND,
                         "Attribute '%s' of %s('%s') is not loaded (auto-populate is off on "
                         "this thread).",
                         attribute, entity->type, ftrack_entity_id(entity));
    ftrack_status status = populate(entity, attribute, err);
    if (status != FTRACK_OK)
        return status;
    if (!json_object_object_get_ex(entity->values, attribute, NULL))
        return fti_error(err, FTRACK_ERR_NOT_FOUND,
                         "The server did not return attribute '%s' of %s('%s').", attribute,
                         entity->type, ftrack_entity_id(entity));
    return FTRACK_OK;
}

ftrack_status ftrack_entity_get(ftrack_entity *entity, const char *attribute, json_object **value,
                                ftrack_error *err)
{
    if (value)
        *value = NULL;
    if (!entity || !attribute || !value)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No entity, attribute or result.");
    ftrack_status status = load(entity, attribute, err);
    if (status != FTRACK_OK)
        return status;
    json_object *v = json_object_object_get(entity->values, attribute);
    if (v && json_object_deep_copy(v, value, NULL) != 0)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    return FTRACK_OK;
}

ftrack_status ftrack_entity_get_string(ftrack_entity *entity, const char *attribute, char **value,
                                       ftrack_error *err)
{
    if (value)
        *value = NULL;
    if (!value)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No place for the value.");
    json_object *v = NULL;
    ftrack_status status = ftrack_entity_get(entity, attribute, &v, err);
    if (status != FTRACK_OK || !v)
        return status;
    if (!json_object_is_type(v, json_type_string)) {
        json_object_put(v);
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "Attribute '%s' of %s is not a string.",
                         attribute, entity->type);
    }
    *value = fti_strdup(json_object_get_string(v));
    json_object_put(v);
    return *value ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
}

ftrack_status ftrack_entity_get_entity(ftrack_entity *entity, const char *attribute,
                                       ftrack_entity **related, ftrack_error *err)
{
    if (related)
        *related = NULL;
    if (!related)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No place for the entity.");
    json_object *v = NULL;
    ftrack_status status = ftrack_entity_get(entity, attribute, &v, err);
    if (status != FTRACK_OK || !v)
        return status;
    if (!entity_type_of(v)) {
        json_object_put(v);
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "Attribute '%s' of %s does not hold one entity.", attribute, entity->type);
    }
    status = fti_entity_from_json(entity->session, v, related, err);
    json_object_put(v);
    return status;
}

static json_object *primary_key_map(const ftrack_entity *entity)
{
    json_object *map = json_object_new_object();
    size_t n = json_object_array_length(entity->key_names);
    for (size_t i = 0; map && i < n; i++)
        json_object_object_add(
            map, json_object_get_string(json_object_array_get_idx(entity->key_names, i)),
            json_object_new_string(
                json_object_get_string(json_object_array_get_idx(entity->key_values, i))));
    return map;
}

/* An operation record: {"op", "entity_type", "entity_key" [values], "primary_key" {name:
 * value}}; the caller adds the rest. */
json_object *fti_entity_operation(const ftrack_entity *entity, const char *op)
{
    json_object *record = json_object_new_object();
    json_object *key = NULL;
    if (!record || json_object_deep_copy(entity->key_values, &key, NULL) != 0) {
        json_object_put(record);
        return NULL;
    }
    json_object_object_add(record, "op", json_object_new_string(op));
    json_object_object_add(record, "entity_type", json_object_new_string(entity->type));
    json_object_object_add(record, "entity_key", key);
    json_object_object_add(record, "primary_key", primary_key_map(entity));
    return record;
}

ftrack_status ftrack_entity_set(ftrack_entity *entity, const char *attribute, json_object *value,
                                ftrack_error *err)
{
    if (!entity || !attribute)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No entity or attribute.");
    if (strcmp(attribute, ENTITY_TYPE_KEY) == 0 || is_key_name(entity, attribute))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "'%s' is part of the primary key of %s and cannot be set.", attribute,
                         entity->type);
    if (!attribute_known(entity, attribute))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "%s has no attribute '%s'.",
                         entity->type, attribute);
    json_object *copy = NULL, *recorded = NULL;
    if ((value && json_object_deep_copy(value, &copy, NULL) != 0) ||
        (value && json_object_deep_copy(value, &recorded, NULL) != 0)) {
        json_object_put(copy);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    }
    json_object_object_add(entity->values, attribute, copy);
    if (!ftrack_session_record_operations(entity->session)) {
        json_object_put(recorded);
        return FTRACK_OK;
    }
    json_object *op = fti_entity_operation(entity, "update");
    if (!op) {
        json_object_put(recorded);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    }
    json_object_object_add(op, "attribute", json_object_new_string(attribute));
    json_object_object_add(op, "new_value", recorded);
    return fti_session_record(entity->session, op, err);
}

void ftrack_entity_list_free(ftrack_entity_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        ftrack_entity_free(list->items[i]);
    free(list->items);
    free(list);
}
