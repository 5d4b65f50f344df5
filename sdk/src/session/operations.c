/* SPDX-License-Identifier: Apache-2.0 */
/* Recorded operations, commit and rollback (protocol §1.4, §3.4, Python's Session.commit).
 *
 * Each thread records into its own JSON array (session_internal.h), so one thread's commit
 * never sends another's operations. A record is
 *   {"op": "create"|"update"|"delete", "entity_type", "entity_key": [values],
 *    "primary_key": {name: value}, "entity_data" (create), "attribute" + "new_value" (update)}. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "session/session_internal.h"

#define ENTITY_TYPE_KEY "__entity_type__"

ftrack_status fti_session_record(ftrack_session *session, json_object *op, ftrack_error *err)
{
    json_object *ops = fti_session_recorded_operations(session);
    if (!ops || json_object_array_add(ops, op) != 0) {
        json_object_put(op);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory recording an operation.");
    }
    return FTRACK_OK;
}

size_t ftrack_session_recorded_operation_count(ftrack_session *session)
{
    json_object *ops = session ? fti_session_recorded_operations(session) : NULL;
    return ops ? json_object_array_length(ops) : 0;
}

/* ---- Building the batch -----------------------------------------------------------------------
 */

static const char *str_of(json_object *obj, const char *key)
{
    return json_object_get_string(json_object_object_get(obj, key));
}

static json_object *copy_of(json_object *value)
{
    json_object *copy = NULL;
    if (value && json_object_deep_copy(value, &copy, NULL) != 0)
        return NULL;
    return copy;
}

static void add_members(json_object *into, json_object *from)
{
    json_object_object_foreach(from, name, value)
    {
        json_object_object_add(into, name, copy_of(value));
    }
}

/* One operation record → its payload, keys in the order Python's sort_keys gives them. */
static json_object *payload_of(json_object *op)
{
    const char *kind = str_of(op, "op");
    const char *type = str_of(op, "entity_type");
    json_object *payload = json_object_new_object();
    if (!payload || !kind || !type)
        return payload;
    json_object_object_add(payload, "action", json_object_new_string(kind));
    if (strcmp(kind, "delete") != 0) {
        json_object *data = json_object_new_object();
        json_object_object_add(data, ENTITY_TYPE_KEY, json_object_new_string(type));
        if (strcmp(kind, "create") == 0) {
            add_members(data, json_object_object_get(op, "primary_key"));
            add_members(data, json_object_object_get(op, "entity_data"));
        } else {
            json_object_object_add(data, str_of(op, "attribute"),
                                   copy_of(json_object_object_get(op, "new_value")));
        }
        json_object_object_add(payload, "entity_data", data);
    }
    json_object_object_add(payload, "entity_key",
                           copy_of(json_object_object_get(op, "entity_key")));
    json_object_object_add(payload, "entity_type", json_object_new_string(type));
    return payload;
}

/* (type, str(entity_key)) as one string. */
static char *identity_of(json_object *payload)
{
    return fti_asprintf("%s\x1f%s", str_of(payload, "entity_type"),
                        json_object_to_json_string_ext(
                            json_object_object_get(payload, "entity_key"), JSON_C_TO_STRING_PLAIN));
}

static bool is_action(json_object *payload, const char *action)
{
    const char *a = str_of(payload, "action");
    return a && strcmp(a, action) == 0;
}

/* If an entity was created and deleted in the batch, drop all its payloads. */
static json_object *drop_created_then_deleted(json_object *batch)
{
    json_object *created = json_object_new_object();
    json_object *deleted = json_object_new_object();
    size_t n = json_object_array_length(batch);
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(batch, i);
        char *id = identity_of(p);
        if (id && is_action(p, "create"))
            json_object_object_add(created, id, NULL);
        else if (id && is_action(p, "delete"))
            json_object_object_add(deleted, id, NULL);
        free(id);
    }
    json_object *out = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(batch, i);
        char *id = identity_of(p);
        bool drop = id && json_object_object_get_ex(created, id, NULL) &&
                    json_object_object_get_ex(deleted, id, NULL);
        free(id);
        if (!drop)
            json_object_array_add(out, json_object_get(p));
    }
    json_object_put(created);
    json_object_put(deleted);
    json_object_put(batch);
    return out;
}

/* Only the last update of an attribute survives: walk backwards, remove earlier ones. */
static void keep_last_updates(json_object *batch)
{
    json_object *seen = json_object_new_object();
    for (size_t i = json_object_array_length(batch); i-- > 0;) {
        json_object *p = json_object_array_get_idx(batch, i);
        if (!is_action(p, "update"))
            continue;
        char *id = identity_of(p);
        json_object *data = json_object_object_get(p, "entity_data");
        json_object *names = json_object_new_array();
        json_object_object_foreach(data, name, value)
        {
            (void)value;
            if (strcmp(name, ENTITY_TYPE_KEY) != 0)
                json_object_array_add(names, json_object_new_string(name));
        }
        for (size_t k = 0; id && k < json_object_array_length(names); k++) {
            const char *attr = json_object_get_string(json_object_array_get_idx(names, k));
            char *attr_id = fti_asprintf("%s\x1f%s", id, attr);
            if (attr_id && json_object_object_get_ex(seen, attr_id, NULL))
                json_object_object_del(data, attr);
            else if (attr_id)
                json_object_object_add(seen, attr_id, NULL);
            free(attr_id);
        }
        json_object_put(names);
        free(id);
    }
    json_object_put(seen);
}

/* Drop payloads whose entity_data is empty or holds only __entity_type__. */
static json_object *drop_empty(json_object *batch)
{
    json_object *out = json_object_new_array();
    size_t n = json_object_array_length(batch);
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(batch, i);
        json_object *data = NULL;
        if (json_object_object_get_ex(p, "entity_data", &data)) {
            int len = json_object_object_length(data);
            if (len == 0 || (len == 1 && json_object_object_get_ex(data, ENTITY_TYPE_KEY, NULL)))
                continue;
        }
        json_object_array_add(out, json_object_get(p));
    }
    json_object_put(batch);
    return out;
}

static bool same_entity(json_object *a, json_object *b)
{
    return strcmp(str_of(a, "entity_type"), str_of(b, "entity_type")) == 0 &&
           json_object_equal(json_object_object_get(a, "entity_key"),
                             json_object_object_get(b, "entity_key"));
}

/* Merge consecutive updates of one entity, and an update right after its create. */
static json_object *collapse(json_object *batch)
{
    json_object *out = json_object_new_array();
    json_object *previous = NULL;
    size_t n = json_object_array_length(batch);
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(batch, i);
        if (previous && is_action(p, "update") &&
            (is_action(previous, "create") || is_action(previous, "update")) &&
            same_entity(previous, p)) {
            add_members(json_object_object_get(previous, "entity_data"),
                        json_object_object_get(p, "entity_data"));
            continue;
        }
        json_object_array_add(out, json_object_get(p));
        previous = p;
    }
    json_object_put(batch);
    return out;
}

json_object *fti_operations_build_batch(json_object *operations)
{
    json_object *batch = json_object_new_array();
    size_t n = json_object_array_length(operations);
    for (size_t i = 0; batch && i < n; i++)
        json_object_array_add(batch, payload_of(json_object_array_get_idx(operations, i)));
    if (!batch)
        return NULL;
    batch = drop_created_then_deleted(batch);
    keep_last_updates(batch);
    batch = drop_empty(batch);
    return collapse(batch);
}

json_object *ftrack_session_pending_batch(ftrack_session *session)
{
    json_object *ops = session ? fti_session_recorded_operations(session) : NULL;
    return ops ? fti_operations_build_batch(ops) : NULL;
}

/* ---- Create / delete ---------------------------------------------------------------------------
 */

/* A copy of the caller's data without __entity_type__, with a new id when the type's
 * primary key is "id" and none was given. */
static ftrack_status creation_data(json_object *pk, json_object *data, json_object **out,
                                   ftrack_error *err)
{
    *out = NULL;
    if (data && !json_object_is_type(data, json_type_object))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "Entity data must be a JSON object.");
    json_object *copy = NULL;
    if (data ? json_object_deep_copy(data, &copy, NULL) != 0 : !(copy = json_object_new_object()))
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object_object_del(copy, ENTITY_TYPE_KEY);
    json_object *id = NULL;
    if (json_object_array_length(pk) == 1 &&
        strcmp(json_object_get_string(json_object_array_get_idx(pk, 0)), "id") == 0 &&
        (!json_object_object_get_ex(copy, "id", &id) || !id)) {
        char *uuid = fti_uuid4();
        if (!uuid) {
            json_object_put(copy);
            return fti_error(err, FTRACK_ERR_INTERNAL, "Could not generate an id.");
        }
        json_object_object_add(copy, "id", json_object_new_string(uuid));
        free(uuid);
    }
    *out = copy;
    return FTRACK_OK;
}

ftrack_status ftrack_session_create(ftrack_session *session, const char *type, json_object *data,
                                    ftrack_entity **entity, ftrack_error *err)
{
    if (entity)
        *entity = NULL;
    if (!session || !type)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No session or entity type.");
    ftrack_status status = fti_session_check_open(session, err);
    if (status != FTRACK_OK)
        return status;
    json_object *pk = fti_schema_primary_key(fti_session_schema_for(session, type));
    if (!pk)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "Unknown entity type '%s'.", type);
    json_object *values = NULL;
    status = creation_data(pk, data, &values, err);
    if (status != FTRACK_OK)
        return status;
    json_object_object_add(values, ENTITY_TYPE_KEY, json_object_new_string(type));
    ftrack_entity *e = NULL;
    status = fti_entity_from_json(session, values, &e, err);
    if (status == FTRACK_ERR_BAD_RESPONSE) /* a missing primary key is the caller's */
        status = err ? (err->code = FTRACK_ERR_INVALID_ARGUMENT) : FTRACK_ERR_INVALID_ARGUMENT;
    if (status == FTRACK_OK)
        status = fti_session_merge(session, values, NULL, err);
    if (status == FTRACK_OK && ftrack_session_record_operations(session)) {
        json_object *op = fti_entity_operation(e, "create");
        json_object_object_del(values, ENTITY_TYPE_KEY);
        if (op)
            json_object_object_add(op, "entity_data", json_object_get(values));
        status = op ? fti_session_record(session, op, err)
                    : fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    }
    json_object_put(values);
    if (status != FTRACK_OK || !entity)
        ftrack_entity_free(e);
    else
        *entity = e;
    return status;
}

ftrack_status ftrack_session_delete(ftrack_session *session, ftrack_entity *entity,
                                    ftrack_error *err)
{
    if (!session || !entity)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No session or entity.");
    if (!ftrack_session_record_operations(session))
        return FTRACK_OK;
    json_object *op = fti_entity_operation(entity, "delete");
    if (!op)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    return fti_session_record(session, op, err);
}

/* ---- Commit / rollback -------------------------------------------------------------------------
 */

static void clear_operations(json_object *ops)
{
    size_t n = json_object_array_length(ops);
    if (n)
        json_object_array_del_idx(ops, 0, n);
}

static void merge_results(ftrack_session *session, json_object *batch, json_object *results)
{
    size_t n = json_object_array_length(batch);
    for (size_t i = 0; i < n; i++) {
        json_object *payload = json_object_array_get_idx(batch, i);
        json_object *result = json_object_array_get_idx(results, i);
        if (is_action(payload, "delete")) {
            fti_session_cache_drop(session, str_of(payload, "entity_type"),
                                   json_object_object_get(payload, "entity_key"));
            continue;
        }
        json_object *data = json_object_object_get(result, "data");
        ftrack_error err;
        if (json_object_is_type(data, json_type_object) &&
            fti_session_merge(session, data, NULL, &err) != FTRACK_OK)
            ftrack_log(FTRACK_LOG_WARNING, "session", "Could not merge a commit result: %s",
                       err.message);
    }
}

ftrack_status ftrack_session_commit(ftrack_session *session, ftrack_error *err)
{
    ftrack_status status = fti_session_check_open(session, err);
    if (status != FTRACK_OK)
        return status;
    json_object *ops = fti_session_recorded_operations(session);
    if (!ops)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object *batch = fti_operations_build_batch(ops);
    if (!batch)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory building the batch.");
    if (json_object_array_length(batch) > 0) {
        json_object *results = NULL;
        status = ftrack_session_call(session, batch, &results, err);
        if (status != FTRACK_OK) {
            json_object_put(batch);
            return status;
        }
        merge_results(session, batch, results);
        json_object_put(results);
    }
    json_object_put(batch);
    clear_operations(ops);
    return FTRACK_OK;
}

void ftrack_session_rollback(ftrack_session *session)
{
    json_object *ops = session ? fti_session_recorded_operations(session) : NULL;
    if (!ops)
        return;
    size_t n = json_object_array_length(ops);
    for (size_t i = 0; i < n; i++) {
        json_object *op = json_object_array_get_idx(ops, i);
        const char *kind = str_of(op, "op");
        if (kind && strcmp(kind, "create") == 0)
            fti_session_cache_drop(session, str_of(op, "entity_type"),
                                   json_object_object_get(op, "entity_key"));
    }
    clear_operations(ops);
}
