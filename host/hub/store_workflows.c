/* SPDX-License-Identifier: Apache-2.0 */
/* The workflows a new ProjectSchema is given when its creator names none: a task workflow and
 * a version workflow (WorkflowSchema, with every Status in the store as its statuses, by sort)
 * and a task type schema (TaskTypeSchema, with every Type, by sort). ftrack's server makes a
 * schema from workflows picked in its web interface; a seeded or scripted schema here would
 * otherwise have none, and ftrack's clients read them for get_statuses('Task'),
 * get_statuses('AssetVersion') and get_types('Task'). The rows are made like custom attribute
 * values: stored directly, part of the write that made the schema, not reported as news. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/internal.h"
#include "store_internal.h"

/* The ids of every `type_name` row, lowest sort first: a new array of strings. */
static json_object *ids_by_sort(fhub_store *store, const char *type_name)
{
    json_object *out = json_object_new_array();
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store->db,
                           "SELECT id FROM entity WHERE type = ? AND id IS NOT NULL ORDER BY "
                           "json_extract(data, '$.sort'), seq",
                           -1, &stmt, NULL) != SQLITE_OK)
        return out;
    sqlite3_bind_text(stmt, 1, type_name, -1, SQLITE_STATIC);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(stmt, 0);
        json_object_array_add(out, json_object_new_string(id));
    }
    sqlite3_finalize(stmt);
    return out;
}

/* Store a new row of `type_name` from `row` (taken) with its schema defaults (its id), copying
 * its id into `id` when given; false when it could not be stored. */
static bool insert_new(fhub_store *store, const char *type_name, json_object *row, char *id,
                       size_t id_size)
{
    const fhub_stype *type = fhub_schema_type(store->schema, type_name);
    bool ok = false;
    if (type) {
        fhub_store_apply_defaults(store, type, row);
        const char *new_id = fti_json_string(row, "id");
        ok = new_id && fhub_store_insert_row(store, type, row) == SQLITE_OK;
        if (ok && id)
            fti_strlcpy(id, new_id, id_size);
    }
    json_object_put(row);
    return ok;
}

/* A `owner_type` named `name` whose `collection` (a many-to-many one) holds every `item_type`
 * row; its id goes to data[attr]. */
static void derive_one(fhub_store *store, json_object *data, const char *attr,
                       const char *owner_type, const char *name, const char *collection,
                       const char *item_type)
{
    const fhub_stype *owner = fhub_schema_type(store->schema, owner_type);
    const fhub_sprop *p = owner ? fhub_stype_prop(owner, collection) : NULL;
    if (!p || !p->through)
        return;
    json_object *row = json_object_new_object();
    json_object_object_add(row, "name", json_object_new_string(name));
    char id[128];
    if (!insert_new(store, owner_type, row, id, sizeof(id)))
        return;
    json_object *items = ids_by_sort(store, item_type);
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *link = json_object_new_object();
        json_object_object_add(link, p->through_near, json_object_new_string(id));
        json_object_object_add(link, p->through_far,
                               json_object_get(json_object_array_get_idx(items, i)));
        insert_new(store, p->through, link, NULL, 0);
    }
    json_object_put(items);
    json_object_object_add(data, attr, json_object_new_string(id));
}

void fhub_store_derive_workflows(fhub_store *store, const fhub_stype *type, json_object *data)
{
    if (strcmp(type->name, "ProjectSchema") != 0)
        return;
    const char *name = fti_json_string(data, "name");
    char label[256];
    static const struct {
        const char *attr, *owner, *suffix, *collection, *item;
    } WORKFLOWS[] = {
        {"task_workflow_schema_id", "WorkflowSchema", "tasks", "statuses", "Status"},
        {"version_workflow_schema_id", "WorkflowSchema", "versions", "statuses", "Status"},
        {"task_type_schema_id", "TaskTypeSchema", "task types", "types", "Type"},
    };
    for (size_t i = 0; i < sizeof(WORKFLOWS) / sizeof(WORKFLOWS[0]); i++) {
        if (!fhub_stype_prop(type, WORKFLOWS[i].attr) ||
            json_object_object_get(data, WORKFLOWS[i].attr))
            continue;
        snprintf(label, sizeof(label), "%s (%s)", name ? name : "Schema", WORKFLOWS[i].suffix);
        derive_one(store, data, WORKFLOWS[i].attr, WORKFLOWS[i].owner, label,
                   WORKFLOWS[i].collection, WORKFLOWS[i].item);
    }
}
