/* SPDX-License-Identifier: Apache-2.0 */
/* What ftrack's server derives and enforces around a write, beyond checking each value:
 * a new typed context gets its project, bid, sort and default priority, a component its
 * system type; names are unique among siblings; deleting an entity deletes what belongs to it (children, assets, versions, notes,
 * metadata...); and at the end of a batch every entity written has its required attributes
 * (checked then, not per operation, because ftrack's clients create a Note and only later in
 * the same batch attach it to its parent). */
#include <string.h>

#include "common/internal.h"
#include "store_internal.h"

#define MAX_CASCADE_DEPTH 32

static bool is_typed_context(const fhub_stype *type)
{
    return strcmp(type->family, "Context") == 0 && strcmp(type->name, "Project") != 0;
}

/* The id of the lowest-sorted entity of `type_name` (Status, Priority), or NULL; malloc'ed. */
static char *first_by_sort(fhub_store *store, const char *type_name)
{
    json_object *id = fhub_store_scalar(store,
                                       "SELECT id FROM entity WHERE type = ? ORDER BY "
                                       "json_extract(data, '$.sort'), seq LIMIT 1",
                                       type_name);
    char *out = json_object_is_type(id, json_type_string) ? fti_strdup(json_object_get_string(id))
                                                           : NULL;
    json_object_put(id);
    return out;
}

static void default_reference(fhub_store *store, const fhub_stype *type, json_object *data,
                              const char *attr, const char *target)
{
    const fhub_sprop *p = fhub_stype_prop(type, attr);
    if (!p || p->kind != FHUB_PROP_VALUE || json_object_object_get(data, attr))
        return;
    char *id = first_by_sort(store, target);
    if (id)
        json_object_object_add(data, attr, json_object_new_string(id));
    free(id);
}

/* The project of a typed context: its parent when that is the project, else the parent's.
 * Returns whether that project has a workflow schema. */
static bool derive_project(fhub_store *store, const fhub_stype *type, json_object *data)
{
    const char *parent_id = fti_json_string(data, "parent_id");
    if (!fhub_stype_prop(type, "project_id") || !parent_id)
        return false;
    const fhub_stype *pt = NULL;
    json_object *parent = fhub_store_row_by_id(store, NULL, parent_id, &pt);
    if (!parent)
        return false;
    const char *from = strcmp(pt->name, "Project") == 0 ? parent_id
                                                        : fti_json_string(parent, "project_id");
    char *project = from ? fti_strdup(from) : NULL;
    json_object_put(parent);
    if (!project)
        return false;
    if (!json_object_object_get(data, "project_id"))
        json_object_object_add(data, "project_id", json_object_new_string(project));
    json_object *row = fhub_store_row_by_id(store, fhub_schema_type(store->schema, "Project"),
                                           project, NULL);
    bool has_schema = fti_json_string(row, "project_schema_id") != NULL;
    json_object_put(row);
    free(project);
    return has_schema;
}

static void default_number(const fhub_stype *type, json_object *data, const char *attr)
{
    const fhub_sprop *p = fhub_stype_prop(type, attr);
    if (p && p->kind == FHUB_PROP_VALUE && !json_object_object_get(data, attr))
        json_object_object_add(data, attr, json_object_new_int(0));
}

/* A component's system_type follows from its kind. */
static void derive_system_type(const fhub_stype *type, json_object *data)
{
    static const struct {
        const char *type, *system_type;
    } kinds[] = {{"FileComponent", "file"},
                 {"ContainerComponent", "container"},
                 {"SequenceComponent", "sequence"}};
    if (json_object_object_get(data, "system_type"))
        return;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].type, type->name) == 0)
            json_object_object_add(data, "system_type",
                                   json_object_new_string(kinds[i].system_type));
}

void fhub_store_derive(fhub_store *store, const fhub_stype *type, json_object *data)
{
    if (strcmp(type->name, "Timer") == 0 && !json_object_object_get(data, "start")) {
        char now[32];
        fhub_store_now(now);
        json_object_object_add(data, "start", json_object_new_string(now));
    }
    if (strcmp(type->family, "Component") == 0)
        derive_system_type(type, data);
    if (strcmp(type->name, "Project") == 0) {
        default_reference(store, type, data, "project_schema_id", "ProjectSchema");
        json_object *name = json_object_object_get(data, "name");
        if (name && !json_object_object_get(data, "full_name"))
            json_object_object_add(data, "full_name", json_object_get(name));
    }
    if (!is_typed_context(type))
        return;
    default_number(type, data, "bid");
    default_number(type, data, "sort");
    /* A project with a workflow schema gives its default priority. Statuses are not derived:
     * ftrack takes them from the schema's workflows, which this hub stores but does not apply. */
    if (derive_project(store, type, data))
        default_reference(store, type, data, "priority_id", "Priority");
}

/* ---- unique names --------------------------------------------------------------------------- */

/* The attributes that scope a name: siblings share them. NULL when names need not be unique. */
static const char *const *name_scope(const fhub_stype *type)
{
    static const char *const context[] = {"parent_id", NULL};
    static const char *const project[] = {NULL};
    static const char *const asset[] = {"context_id", "type_id", NULL};
    if (strcmp(type->name, "Project") == 0)
        return project;
    if (is_typed_context(type))
        return context;
    if (strcmp(type->name, "Asset") == 0)
        return asset;
    return NULL;
}

bool fhub_store_check_unique_name(fhub_store *store, const fhub_stype *type, json_object *data,
                                 fhub_store_error *e)
{
    const char *const *scope = name_scope(type);
    const char *name = fti_json_string(data, "name");
    if (!scope || !name)
        return true;
    fti_buf sql = {0};
    fhub_binds binds = {json_object_new_array()};
    fti_buf_adds(&sql, "SELECT count(*) FROM entity WHERE family = ? AND lower(json_extract(data, "
                       "'$.name')) = lower(?) AND id IS NOT ?");
    json_object_array_add(binds.list, json_object_new_string(type->family));
    json_object_array_add(binds.list, json_object_new_string(name));
    json_object_array_add(binds.list, json_object_get(json_object_object_get(data, "id")));
    if (is_typed_context(type)) {
        fti_buf_adds(&sql, " AND type != 'Project'");
    } else {
        fti_buf_adds(&sql, " AND type = ?");
        json_object_array_add(binds.list, json_object_new_string(type->name));
    }
    for (size_t i = 0; scope[i]; i++) {
        fti_buf_addf(&sql, " AND json_extract(data, '$.%s') IS ?", scope[i]);
        json_object_array_add(binds.list, json_object_get(json_object_object_get(data, scope[i])));
    }
    sqlite3_stmt *stmt = NULL;
    long long n = 0;
    if (!sql.failed && sqlite3_prepare_v2(store->db, sql.data, -1, &stmt, NULL) == SQLITE_OK &&
        fhub_binds_apply(&binds, stmt) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    fti_buf_free(&sql);
    json_object_put(binds.list);
    if (n == 0)
        return true;
    fhub_store_fail(e, "ValidationError",
                   scope[0] ? "The name \"%s\" is already used by another %s with the same parent."
                            : "The name \"%s\" is already used by another %s.",
                   name, type->name);
    return false;
}

/* A user runs one timer at a time; ftrack's client recognises the refusal by its name. */
bool fhub_store_check_one_timer(fhub_store *store, const fhub_stype *type, json_object *data,
                               fhub_store_error *e)
{
    const char *user = fti_json_string(data, "user_id");
    if (strcmp(type->name, "Timer") != 0 || !user)
        return true;
    json_object *count = fhub_store_scalar(store,
                                          "SELECT count(*) FROM entity WHERE type = 'Timer' AND "
                                          "json_extract(data, '$.user_id') = ?",
                                          user);
    long long n = json_object_get_int64(count);
    json_object_put(count);
    if (n == 0)
        return true;
    fhub_store_fail(e, "DuplicateEntryError", "The user already has a timer running.");
    return false;
}

/* ---- cascading deletes ---------------------------------------------------------------------- */

/* Collections whose items go when their owner goes. */
static bool owns_items(const fhub_sprop *p)
{
    static const char *const owned[] = {
        "children",       "assets",         "versions",        "components",
        "notes",          "replies",        "metadata",        "custom_attributes",
        "component_locations", "appointments", "assignments",  "incoming_links",
        "outgoing_links", "note_components", "recipients",     "memberships",
        "list_objects",   "review_sessions", "review_session_objects", "note_label_links",
        "items",          "task_templates", "_schemas",        "statuses",
        "types",          "_overrides",     NULL};
    for (size_t i = 0; owned[i]; i++)
        if (strcmp(owned[i], p->name) == 0)
            return true;
    return false;
}

/* Rows (type, key, seq) of `item` types whose `fk` holds `id`. */
static json_object *rows_pointing_at(fhub_store *store, const fhub_stype *item, const char *fk,
                                     const char *id)
{
    fti_buf sql = {0};
    fhub_binds binds = {json_object_new_array()};
    fti_buf_adds(&sql, "SELECT seq FROM entity WHERE type IN (");
    fhub_sql_type_list(&sql, &binds, item);
    fti_buf_addf(&sql, ") AND json_extract(data, '$.%s') = ?", fk);
    json_object_array_add(binds.list, json_object_new_string(id));
    json_object *seqs = json_object_new_array();
    sqlite3_stmt *stmt = NULL;
    if (!sql.failed && sqlite3_prepare_v2(store->db, sql.data, -1, &stmt, NULL) == SQLITE_OK &&
        fhub_binds_apply(&binds, stmt) == SQLITE_OK)
        while (sqlite3_step(stmt) == SQLITE_ROW)
            json_object_array_add(seqs, json_object_new_int64(sqlite3_column_int64(stmt, 0)));
    sqlite3_finalize(stmt);
    fti_buf_free(&sql);
    json_object_put(binds.list);
    return seqs;
}

static bool delete_row(fhub_store *store, sqlite3_int64 seq, int depth, fhub_store_error *e);

static bool delete_owned(fhub_store *store, const fhub_stype *type, json_object *data, int depth,
                         fhub_store_error *e)
{
    const char *id = fti_json_string(data, "id");
    if (!id)
        return true;
    if (depth > MAX_CASCADE_DEPTH) {
        fhub_store_fail(e, "ValidationError", "The %s is nested too deep to delete.", type->name);
        return false;
    }
    for (size_t i = 0; i < type->nprops; i++) {
        const fhub_sprop *p = &type->props[i];
        /* A many-to-many collection owns its link rows, not the items they link. */
        const char *item_name = p->through ? p->through : p->ref;
        const char *fk = p->through ? p->through_near : p->fk;
        const fhub_stype *item = item_name ? fhub_schema_type(store->schema, item_name) : NULL;
        if (p->kind != FHUB_PROP_COLLECTION || !fk || !item || !owns_items(p))
            continue;
        json_object *seqs = rows_pointing_at(store, item, fk, id);
        bool ok = true;
        for (size_t j = 0; ok && j < json_object_array_length(seqs); j++)
            ok = delete_row(store, json_object_get_int64(json_object_array_get_idx(seqs, j)),
                            depth + 1, e);
        json_object_put(seqs);
        if (!ok)
            return false;
    }
    return true;
}

/* Delete one row (already gone: nothing to do) and what it owns. */
static bool delete_row(fhub_store *store, sqlite3_int64 seq, int depth, fhub_store_error *e)
{
    sqlite3_stmt *stmt = NULL;
    json_object *data = NULL;
    const fhub_stype *type = NULL;
    if (sqlite3_prepare_v2(store->db, "SELECT type, data FROM entity WHERE seq = ?", -1, &stmt,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, seq);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            type = fhub_schema_type(store->schema, (const char *)sqlite3_column_text(stmt, 0));
            data = json_tokener_parse((const char *)sqlite3_column_text(stmt, 1));
        }
    }
    sqlite3_finalize(stmt);
    if (!data || !type) {
        json_object_put(data);
        return true;
    }
    bool ok = fhub_store_write_row(store, seq, NULL, true) == SQLITE_OK;
    if (ok) {
        fhub_store_record_change(store, "remove", type, data, NULL);
        ok = delete_owned(store, type, data, depth, e);
    } else {
        fhub_store_fail(e, "ServerError", "Could not delete the %s.", type->name);
    }
    json_object_put(data);
    return ok;
}

bool fhub_store_delete_owned(fhub_store *store, const fhub_stype *type, json_object *data,
                            fhub_store_error *e)
{
    return delete_owned(store, type, data, 0, e);
}

/* ---- required attributes, at the end of a batch ---------------------------------------------- */

/* Required attributes left to the server's workflow (a status, a priority, a type, a workflow
 * schema): the hub fills in what it can and accepts them empty, so a hub without a seeded
 * workflow still takes new projects, tasks and assets. */
static bool left_to_workflow(const char *name)
{
    static const char *const names[] = {"status_id", "priority_id", "project_schema_id", "type_id",
                                        NULL};
    for (size_t i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static bool has_required(const fhub_stype *type, json_object *data, fhub_store_error *e)
{
    json_object *required = json_object_object_get(type->schema, "required");
    if (!json_object_is_type(required, json_type_array))
        return true;
    for (size_t i = 0; i < json_object_array_length(required); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(required, i));
        const fhub_sprop *p = name ? fhub_stype_prop(type, name) : NULL;
        if (!p || p->kind != FHUB_PROP_VALUE || left_to_workflow(name))
            continue;
        json_object *v = json_object_object_get(data, name);
        if (!v || (json_object_is_type(v, json_type_string) && !*json_object_get_string(v) &&
                   p->fk_target)) {
            fhub_store_fail(e, "ValidationError", "%s.%s is required but was not set.", type->name,
                           name);
            return false;
        }
    }
    return true;
}

bool fhub_store_check_batch(fhub_store *store, fhub_store_error *e)
{
    if (!store->in_batch || !store->changes)
        return true;
    for (size_t i = 0; i < json_object_array_length(store->changes); i++) {
        json_object *c = json_object_array_get_idx(store->changes, i);
        const char *action = fti_json_string(c, "action");
        const fhub_stype *type = fhub_schema_type(store->schema, fti_json_string(c, "type"));
        json_object *data = json_object_object_get(c, "new");
        if (!type || !data || strcmp(action, "remove") == 0)
            continue;
        /* The latest state of the row: a later write of the batch may have completed it. */
        const fhub_stype *found = NULL;
        sqlite3_int64 seq = 0;
        json_object *key = json_object_new_array();
        for (size_t k = 0; k < type->npk; k++)
            json_object_array_add(key, json_object_get(json_object_object_get(data, type->pk[k])));
        json_object *now = fhub_store_row_by_key(store, type, key, &found, &seq);
        json_object_put(key);
        bool ok = !now || has_required(found, now, e);
        json_object_put(now);
        if (!ok)
            return false;
    }
    return true;
}
