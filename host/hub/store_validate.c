/* SPDX-License-Identifier: Apache-2.0 */
/* The validation of written values: what fhub_store_create/update accept in entity_data and
 * entity_key (checked against the schema, ftrack's ValidationError messages), the server-side
 * defaults of a new entity, and that every foreign key set points at an existing entity. Split
 * from store.c, which runs these inside its batches. */
#include <string.h>

#include "common/internal.h"
#include "datetime.h"
#include "store_internal.h"

static const char *vtype_name(fhub_value_type vt)
{
    static const char *const names[] = {"a string",    "an integer", "a number", "a boolean",
                                        "a date-time", "an object",  "any value"};
    return names[vt];
}

/* A date-time (text) as the UTC instant it is stored as, or NULL with *e set. */
static json_object *utc_value(const fhub_stype *type, const fhub_sprop *p, const char *text,
                              fhub_store_error *e)
{
    char utc[FHUB_DATETIME_LEN];
    if (fhub_datetime_utc(text, utc))
        return json_object_new_string(utc);
    fhub_store_fail(e, "ValidationError", "%s.%s must be a date-time (ISO 8601), not \"%.60s\".",
                   type->name, p->name, text);
    return NULL;
}

/* The stored form of `value` for a value attribute, or NULL with *e set. Dates arrive as
 * {"__type__": "datetime", "value": "..."} or as strings and are stored as UTC instants. */
static bool convert_value(const fhub_stype *type, const fhub_sprop *p, json_object *value,
                          json_object **out, fhub_store_error *e)
{
    *out = NULL;
    if (!value)
        return true;
    json_type jt = json_object_get_type(value);
    bool ok = false;
    switch (p->vtype) {
    case FHUB_VT_STRING:
        ok = jt == json_type_string;
        break;
    case FHUB_VT_INTEGER:
        ok = jt == json_type_int;
        break;
    case FHUB_VT_NUMBER:
        ok = jt == json_type_int || jt == json_type_double;
        break;
    case FHUB_VT_BOOLEAN:
        ok = jt == json_type_boolean;
        break;
    case FHUB_VT_DATETIME:
        if (jt == json_type_object) {
            const char *kind = fti_json_string(value, "__type__");
            const char *v = fti_json_string(value, "value");
            if (kind && v && (strcmp(kind, "datetime") == 0 || strcmp(kind, "date") == 0))
                return (*out = utc_value(type, p, v, e)) != NULL;
        }
        if (jt == json_type_string)
            return (*out = utc_value(type, p, json_object_get_string(value), e)) != NULL;
        break;
    case FHUB_VT_OBJECT:
    case FHUB_VT_ANY:
        ok = true;
        break;
    }
    if (!ok) {
        fhub_store_fail(e, "ValidationError", "%s.%s must be %s.", type->name, p->name,
                       vtype_name(p->vtype));
        return false;
    }
    *out = json_object_get(value);
    return true;
}

/* An entity reference or an id → the id string (new reference), else NULL. */
static json_object *reference_id(json_object *value)
{
    if (json_object_is_type(value, json_type_string))
        return json_object_get(value);
    json_object *id = json_object_object_get(value, "id");
    return json_object_is_type(id, json_type_string) ? json_object_get(id) : NULL;
}

/* Apply `input` (entity_data) to `data`: every key checked against the schema. */
bool fhub_store_apply_input(const fhub_stype *type, json_object *input, json_object *data,
                           bool update, fhub_store_error *e)
{
    json_object_object_foreach(input, key, value)
    {
        if (strcmp(key, "__entity_type__") == 0)
            continue;
        const fhub_sprop *p = fhub_stype_prop(type, key);
        if (!p) {
            fhub_store_fail(e, "ValidationError", "\"%s\" is not an attribute of %s.", key,
                           type->name);
            return false;
        }
        if (p->kind == FHUB_PROP_COLLECTION) {
            /* A list is linked item by item once the entity is written (store_links.c). */
            if (!value || (json_object_is_type(value, json_type_array) &&
                           (p->fk || p->through || json_object_array_length(value) == 0)))
                continue;
            fhub_store_fail(e, "ValidationError",
                           "%s.%s is a collection; set the relation from the other side.",
                           type->name, key);
            return false;
        }
        if (p->computed)
            continue; /* the server computes it; what the client sent is ignored */
        const char *attr = p->kind == FHUB_PROP_RELATION ? p->fk : p->name;
        if (!attr) {
            fhub_store_fail(e, "ValidationError", "%s.%s cannot be set on this server.", type->name,
                           key);
            return false;
        }
        const fhub_sprop *stored = fhub_stype_prop(type, attr);
        json_object *v = NULL;
        if (p->kind == FHUB_PROP_RELATION) {
            v = value ? reference_id(value) : NULL;
            if (value && !v) {
                fhub_store_fail(e, "ValidationError",
                               "%s.%s must be an entity reference with an id, or null.", type->name,
                               key);
                return false;
            }
        } else if (!convert_value(type, p, value, &v, e)) {
            return false;
        }
        json_object *old = json_object_object_get(data, attr);
        bool same = json_object_equal(old, v) && json_object_object_get_ex(data, attr, NULL);
        if (update && !same && stored && (stored->immutable || p->immutable)) {
            json_object_put(v);
            fhub_store_fail(e, "ValidationError", "%s.%s is immutable and cannot be changed.",
                           type->name, key);
            return false;
        }
        json_object_object_add(data, attr, v);
    }
    return true;
}

/* Every foreign key that is set must point at an existing entity of the right type. */
bool fhub_store_check_references(fhub_store *store, const fhub_stype *type, json_object *data,
                                json_object *before, fhub_store_error *e)
{
    for (size_t i = 0; i < type->nprops; i++) {
        const fhub_sprop *p = &type->props[i];
        if (p->kind != FHUB_PROP_VALUE || !p->fk_target)
            continue;
        json_object *v = json_object_object_get(data, p->name);
        if (!json_object_is_type(v, json_type_string))
            continue;
        if (before && json_object_equal(v, json_object_object_get(before, p->name)))
            continue;
        const fhub_stype *target = fhub_schema_type(store->schema, p->fk_target);
        if (!target)
            continue;
        json_object *row = fhub_store_row_by_id(store, target, json_object_get_string(v), NULL);
        if (!row) {
            fhub_store_fail(e, "ValidationError", "%s.%s: no %s with id \"%s\".", type->name,
                           p->name, target->name, json_object_get_string(v));
            return false;
        }
        json_object_put(row);
    }
    return true;
}

static void set_if_missing(json_object *data, const fhub_stype *type, const char *attr,
                           json_object *value)
{
    const fhub_sprop *p = fhub_stype_prop(type, attr);
    if (p && p->kind == FHUB_PROP_VALUE && !json_object_object_get_ex(data, attr, NULL))
        json_object_object_add(data, attr, value);
    else
        json_object_put(value);
}

/* The next version number of an asset, as ftrack numbers new AssetVersions. */
static long long next_version(fhub_store *store, const char *asset_id)
{
    json_object *max = fhub_store_scalar(store,
                                        "SELECT max(json_extract(data, '$.version')) FROM entity "
                                        "WHERE type = 'AssetVersion' AND "
                                        "json_extract(data, '$.asset_id') = ?",
                                        asset_id);
    long long v = max ? json_object_get_int64(max) + 1 : 1;
    json_object_put(max);
    return v;
}

/* Server-side defaults: schema defaults, ids, creation times, the creating user. */
void fhub_store_apply_defaults(fhub_store *store, const fhub_stype *type, json_object *data)
{
    char now[32];
    fhub_store_now(now);
    if (strcmp(type->family, "Context") == 0)
        set_if_missing(
            data, type, "context_type",
            json_object_new_string(strcmp(type->name, "Project") == 0 ? "show" : "task"));
    if (strcmp(type->name, "AssetVersion") == 0 && fti_json_string(data, "asset_id") &&
        !json_object_object_get_ex(data, "version", NULL))
        set_if_missing(data, type, "version",
                       json_object_new_int64(next_version(store, fti_json_string(data, "asset_id"))));
    for (size_t i = 0; i < type->nprops; i++) {
        const fhub_sprop *p = &type->props[i];
        if (p->kind != FHUB_PROP_VALUE || json_object_object_get_ex(data, p->name, NULL))
            continue;
        if (json_object_is_type(p->def, json_type_string) &&
            strcmp(json_object_get_string(p->def), "{uid}") == 0) {
            char uuid[37];
            fti_uuid_dashed(uuid);
            json_object_object_add(data, p->name, json_object_new_string(uuid));
        } else if (p->def) {
            json_object *copy = NULL;
            json_object_deep_copy(p->def, &copy, NULL);
            json_object_object_add(data, p->name, copy);
        } else if (p->vtype == FHUB_VT_DATETIME &&
                   (strcmp(p->name, "created_at") == 0 || strcmp(p->name, "date") == 0)) {
            json_object_object_add(data, p->name, json_object_new_string(now));
        } else if (store->act_id[0] &&
                   (strcmp(p->name, "created_by_id") == 0 ||
                    (strcmp(p->name, "user_id") == 0 && strcmp(type->name, "Appointment") != 0))) {
            json_object_object_add(data, p->name, json_object_new_string(store->act_id));
        }
    }
}

/* The primary key: from entity_key (a list of values), else from the data. */
bool fhub_store_apply_key(const fhub_stype *type, json_object *key, json_object *data,
                         fhub_store_error *e)
{
    if (!key)
        return true;
    if (!json_object_is_type(key, json_type_array) || json_object_array_length(key) != type->npk) {
        fhub_store_fail(e, "ValidationError", "entity_key of %s must list %zu value(s).", type->name,
                       type->npk);
        return false;
    }
    for (size_t i = 0; i < type->npk; i++) {
        json_object *v = json_object_array_get_idx(key, i);
        json_object *have = json_object_object_get(data, type->pk[i]);
        if (have && !json_object_equal(have, v)) {
            fhub_store_fail(e, "ValidationError", "entity_key and %s.%s disagree.", type->name,
                           type->pk[i]);
            return false;
        }
        json_object_object_add(data, type->pk[i], json_object_get(v));
    }
    return true;
}

const fhub_stype *fhub_store_writable_type(fhub_store *store, const char *name, fhub_store_error *e)
{
    const fhub_stype *type = name ? fhub_schema_type(store->schema, name) : NULL;
    if (!type)
        fhub_store_fail(e, "ValidationError", "\"%s\" is not an entity type.", name ? name : "");
    return type;
}
