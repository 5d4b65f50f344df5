/* SPDX-License-Identifier: Apache-2.0 */
/* Custom attributes: a CustomAttributeConfiguration (key, entity_type "task", "show",
 * "assetversion", "asset" or "user", an object type for tasks, an optional project, a default,
 * is_hierarchical) applies to entities the way ftrack's clients match them, and every entity
 * has one value row (ContextCustomAttributeValue / UserCustomAttributeValue, keyed by entity
 * and configuration) per configuration that applies. The rows are made when the entity or the
 * configuration is created, so reading `custom_attributes` needs no special case and setting
 * one is an ordinary update. They are bookkeeping, not news: no ftrack.update is recorded. */
#include <string.h>

#include "common/internal.h"
#include "store_internal.h"

/* What a configuration is matched against: the kind of entity ("task", "show"...), its
 * object type (tasks) and its project. */
typedef struct target {
    const char *kind;
    const char *object_type_id;
    char *project_id; /* malloc'ed or NULL */
} target;

static char *project_of_asset(fhub_store *store, const char *asset_id)
{
    json_object *asset = asset_id ? fhub_store_row_by_id(store, fhub_schema_type(store->schema,
                                                                               "Asset"),
                                                        asset_id, NULL)
                                  : NULL;
    const char *context_id = fti_json_string(asset, "context_id");
    const fhub_stype *ct = NULL;
    json_object *context = context_id ? fhub_store_row_by_id(store, NULL, context_id, &ct) : NULL;
    const char *project = !context            ? NULL
                          : strcmp(ct->name, "Project") == 0 ? context_id
                                                             : fti_json_string(context, "project_id");
    char *out = project ? fti_strdup(project) : NULL;
    json_object_put(context);
    json_object_put(asset);
    return out;
}

static bool target_of(fhub_store *store, const fhub_stype *type, json_object *data, target *t)
{
    memset(t, 0, sizeof(*t));
    const char *id = fti_json_string(data, "id");
    if (strcmp(type->name, "Project") == 0) {
        t->kind = "show";
        t->project_id = id ? fti_strdup(id) : NULL;
    } else if (strcmp(type->family, "Context") == 0 && !type->abstract) {
        t->kind = "task";
        t->object_type_id = fti_json_string(data, "object_type_id");
        const char *p = fti_json_string(data, "project_id");
        t->project_id = p ? fti_strdup(p) : NULL;
    } else if (strcmp(type->name, "AssetVersion") == 0) {
        t->kind = "assetversion";
        t->project_id = project_of_asset(store, fti_json_string(data, "asset_id"));
    } else if (strcmp(type->name, "Asset") == 0) {
        t->kind = "asset";
        t->project_id = project_of_asset(store, id);
    } else if (strcmp(type->name, "User") == 0) {
        t->kind = "user";
    }
    return t->kind != NULL;
}

static bool same_or_null(const char *want, const char *have)
{
    return !want || (have && strcmp(want, have) == 0);
}

static bool applies(json_object *config, const target *t)
{
    const char *kind = fti_json_string(config, "entity_type");
    const char *object_type = fti_json_string(config, "object_type_id");
    if (!same_or_null(fti_json_string(config, "project_id"), t->project_id))
        return false;
    bool same_object_type =
        (!object_type && !t->object_type_id) ||
        (object_type && t->object_type_id && strcmp(object_type, t->object_type_id) == 0);
    if (kind && strcmp(kind, t->kind) == 0 && same_object_type)
        return true;
    return json_object_get_boolean(json_object_object_get(config, "is_hierarchical")) &&
           strcmp(t->kind, "user") != 0;
}

/* Add the value row of (entity, configuration) unless it exists. */
static void add_value(fhub_store *store, const fhub_stype *value_type, const char *entity_id,
                      json_object *config)
{
    json_object *row = json_object_new_object();
    json_object_object_add(row, "entity_id", json_object_new_string(entity_id));
    json_object_object_add(row, "configuration_id",
                           json_object_get(json_object_object_get(config, "id")));
    json_object_object_add(row, "key", json_object_get(json_object_object_get(config, "key")));
    json_object_object_add(row, "value",
                           json_object_get(json_object_object_get(config, "default")));
    fhub_store_insert_row(store, value_type, row); /* a taken key: the value is already there */
    json_object_put(row);
}

/* The value type behind `type`'s custom_attributes, or NULL when it has none. */
static const fhub_stype *value_type_of(fhub_store *store, const fhub_stype *type)
{
    const fhub_sprop *p = fhub_stype_prop(type, "custom_attributes");
    return p && p->ref ? fhub_schema_type(store->schema, p->ref) : NULL;
}

/* Every stored row of `type_name` (or of the types with custom attributes when NULL), each as
 * {"type", "data"}. */
static json_object *rows(fhub_store *store, const char *type_name)
{
    json_object *out = json_object_new_array();
    sqlite3_stmt *stmt = NULL;
    const char *sql = type_name ? "SELECT type, data FROM entity WHERE type = ?"
                                : "SELECT type, data FROM entity";
    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return out;
    if (type_name)
        sqlite3_bind_text(stmt, 1, type_name, -1, SQLITE_STATIC);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const fhub_stype *t =
            fhub_schema_type(store->schema, (const char *)sqlite3_column_text(stmt, 0));
        if (!t || (!type_name && !value_type_of(store, t)))
            continue;
        json_object *r = json_object_new_object();
        json_object_object_add(r, "type", json_object_new_string(t->name));
        json_object_object_add(
            r, "data", json_tokener_parse((const char *)sqlite3_column_text(stmt, 1)));
        json_object_array_add(out, r);
    }
    sqlite3_finalize(stmt);
    return out;
}

static void values_for_entity(fhub_store *store, const fhub_stype *type, json_object *data,
                              json_object *configs)
{
    const fhub_stype *vt = value_type_of(store, type);
    const char *id = fti_json_string(data, "id");
    target t;
    if (!vt || !id || !target_of(store, type, data, &t))
        return;
    for (size_t i = 0; i < json_object_array_length(configs); i++) {
        json_object *config = json_object_object_get(json_object_array_get_idx(configs, i), "data");
        if (applies(config, &t))
            add_value(store, vt, id, config);
    }
    free(t.project_id);
}

void fhub_store_custom_values_for(fhub_store *store, const fhub_stype *type, json_object *data)
{
    if (strcmp(type->name, "CustomAttributeConfiguration") == 0) {
        json_object *one = json_object_new_array();
        json_object *wrapped = json_object_new_object();
        json_object_object_add(wrapped, "data", json_object_get(data));
        json_object_array_add(one, wrapped);
        json_object *all = rows(store, NULL);
        for (size_t i = 0; i < json_object_array_length(all); i++) {
            json_object *r = json_object_array_get_idx(all, i);
            values_for_entity(store, fhub_schema_type(store->schema, fti_json_string(r, "type")),
                              json_object_object_get(r, "data"), one);
        }
        json_object_put(all);
        json_object_put(one);
        return;
    }
    if (!value_type_of(store, type))
        return;
    json_object *configs = rows(store, "CustomAttributeConfiguration");
    if (json_object_array_length(configs) > 0)
        values_for_entity(store, type, data, configs);
    json_object_put(configs);
}
