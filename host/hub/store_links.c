/* SPDX-License-Identifier: Apache-2.0 */
/* Writes that reach past one row. A collection set from its owner's side (what
 * `shot['notes'].append(note)` and `shot['metadata'][k] = v` send: the owner's update listing
 * the items) moves each listed item's foreign key onto the owner; a many-to-many collection
 * (`lst['items'].append(version)`) gets one link row per listed item and loses the links to
 * items no longer listed. */
#include <string.h>

#include "common/internal.h"
#include "store_internal.h"

/* The primary key of the item `ref` (a reference {"__entity_type__", pk...}) as a JSON array. */
static json_object *reference_key(const fhub_stype *type, json_object *ref)
{
    json_object *key = json_object_new_array();
    for (size_t i = 0; i < type->npk; i++) {
        json_object *v = json_object_object_get(ref, type->pk[i]);
        if (!v) {
            json_object_put(key);
            return NULL;
        }
        json_object_array_add(key, json_object_get(v));
    }
    return key;
}

/* Point one listed item at the owner. */
static bool link_item(fhub_store *store, const fhub_stype *owner, json_object *owner_data,
                      const fhub_sprop *p, json_object *ref, fhub_store_error *e)
{
    const fhub_stype *of = fhub_schema_type(store->schema, fti_json_string(ref, "__entity_type__"));
    if (!of)
        of = fhub_schema_type(store->schema, p->ref);
    json_object *key = of && json_object_is_type(ref, json_type_object) ? reference_key(of, ref)
                                                                         : NULL;
    if (!key) {
        fhub_store_fail(e, "ValidationError", "%s.%s lists something that is not a %s reference.",
                       owner->name, p->name, p->ref);
        return false;
    }
    const fhub_stype *type = NULL;
    sqlite3_int64 seq = 0;
    json_object *old = fhub_store_row_by_key(store, of, key, &type, &seq);
    if (!old) {
        fhub_store_fail(e, "ValidationError", "%s.%s: no %s with the key %s.", owner->name, p->name,
                       of->name, json_object_to_json_string_ext(key, JSON_C_TO_STRING_PLAIN));
        json_object_put(key);
        return false;
    }
    json_object_put(key);
    json_object *data = NULL;
    json_object_deep_copy(old, &data, NULL);
    json_object_object_add(data, p->fk, json_object_get(json_object_object_get(owner_data, "id")));
    if (strcmp(p->fk, "parent_id") == 0 && fhub_stype_prop(type, "parent_type") &&
        !fti_json_string(data, "parent_type"))
        json_object_object_add(data, "parent_type", json_object_new_string(owner->name));
    bool ok = true;
    if (!json_object_equal(old, data)) {
        ok = fhub_store_write_row(store, seq, data, false) == SQLITE_OK;
        if (ok)
            fhub_store_record_change(store, "update", type, old, data);
        else
            fhub_store_fail(e, "ServerError", "Could not update the %s.", type->name);
    }
    json_object_put(old);
    json_object_put(data);
    return ok;
}

/* The ids a many-to-many list names (a new array), each an existing item; NULL with *e set. */
static json_object *listed_ids(fhub_store *store, const fhub_stype *owner, const fhub_sprop *p,
                               json_object *value, fhub_store_error *e)
{
    const fhub_stype *item = fhub_schema_type(store->schema, p->ref);
    json_object *ids = json_object_new_array();
    for (size_t i = 0; item && i < json_object_array_length(value); i++) {
        const char *id = fti_json_string(json_object_array_get_idx(value, i), "id");
        json_object *row = id ? fhub_store_row_by_id(store, item, id, NULL) : NULL;
        if (!row) {
            fhub_store_fail(e, "ValidationError", "%s.%s: %s is not a %s.", owner->name, p->name,
                           id ? id : "an entry", p->ref);
            json_object_put(ids);
            return NULL;
        }
        json_object_put(row);
        json_object_array_add(ids, json_object_new_string(id));
    }
    return ids;
}

static bool in_ids(json_object *ids, const char *id)
{
    for (size_t i = 0; id && i < json_object_array_length(ids); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(ids, i)), id) == 0)
            return true;
    return false;
}

json_object *fhub_store_through_rows(fhub_store *store, const fhub_sprop *p, const char *owner_id)
{
    json_object *out = json_object_new_array();
    const fhub_stype *link = fhub_schema_type(store->schema, p->through);
    if (!link || !owner_id)
        return out;
    fti_buf sql = {0};
    fhub_binds binds = {json_object_new_array()};
    fti_buf_addf(&sql,
                  "SELECT json_extract(data, '$.id'), json_extract(data, '$.\"%s\"') FROM entity "
                  "WHERE json_extract(data, '$.\"%s\"') = ? AND type IN (",
                  p->through_far, p->through_near);
    json_object_array_add(binds.list, json_object_new_string(owner_id));
    fhub_sql_type_list(&sql, &binds, link);
    fti_buf_adds(&sql, ") ORDER BY seq");
    sqlite3_stmt *stmt = NULL;
    if (!sql.failed && sqlite3_prepare_v2(store->db, sql.data, -1, &stmt, NULL) == SQLITE_OK &&
        fhub_binds_apply(&binds, stmt) == SQLITE_OK) {
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(stmt, 0);
            const char *far = (const char *)sqlite3_column_text(stmt, 1);
            if (!id || !far)
                continue;
            json_object *row = json_object_new_object();
            json_object_object_add(row, "id", json_object_new_string(id));
            json_object_object_add(row, "far", json_object_new_string(far));
            json_object_array_add(out, row);
        }
    }
    sqlite3_finalize(stmt);
    fti_buf_free(&sql);
    json_object_put(binds.list);
    return out;
}

/* Make the owner's link rows name exactly the listed items. */
static bool link_through(fhub_store *store, const fhub_stype *owner, const char *owner_id,
                         const fhub_sprop *p, json_object *value, fhub_store_error *e)
{
    const fhub_stype *link = fhub_schema_type(store->schema, p->through);
    json_object *wanted = link ? listed_ids(store, owner, p, value, e) : NULL;
    if (!wanted)
        return false;
    json_object *have = fhub_store_through_rows(store, p, owner_id);
    json_object *kept = json_object_new_array();
    bool ok = true;
    for (size_t i = 0; ok && i < json_object_array_length(have); i++) {
        json_object *row = json_object_array_get_idx(have, i);
        const char *far = fti_json_string(row, "far");
        if (in_ids(wanted, far) && !in_ids(kept, far)) {
            json_object_array_add(kept, json_object_new_string(far));
            continue;
        }
        json_object *key = json_object_new_array();
        json_object_array_add(key, json_object_get(json_object_object_get(row, "id")));
        json_object *r = fhub_store_delete(store, link->name, key, e);
        ok = r != NULL;
        json_object_put(r);
        json_object_put(key);
    }
    for (size_t i = 0; ok && i < json_object_array_length(wanted); i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(wanted, i));
        if (in_ids(kept, id))
            continue;
        json_object *data = json_object_new_object();
        json_object_object_add(data, p->through_near, json_object_new_string(owner_id));
        json_object_object_add(data, p->through_far, json_object_new_string(id));
        json_object *r = fhub_store_create(store, link->name, NULL, data, e);
        ok = r != NULL;
        json_object_put(r);
        json_object_put(data);
        if (ok)
            json_object_array_add(kept, json_object_new_string(id));
    }
    json_object_put(kept);
    json_object_put(have);
    json_object_put(wanted);
    return ok;
}

bool fhub_store_link_collections(fhub_store *store, const fhub_stype *type, json_object *data,
                                json_object *input, fhub_store_error *e)
{
    if (!json_object_is_type(input, json_type_object) || !fti_json_string(data, "id"))
        return true;
    json_object_object_foreach(input, key, value)
    {
        const fhub_sprop *p = fhub_stype_prop(type, key);
        if (p && p->kind == FHUB_PROP_COLLECTION && p->through &&
            json_object_is_type(value, json_type_array)) {
            if (!link_through(store, type, fti_json_string(data, "id"), p, value, e))
                return false;
            continue;
        }
        if (!p || p->kind != FHUB_PROP_COLLECTION || !p->fk ||
            !json_object_is_type(value, json_type_array))
            continue;
        for (size_t i = 0; i < json_object_array_length(value); i++)
            if (!link_item(store, type, data, p, json_object_array_get_idx(value, i), e))
                return false;
    }
    return true;
}

void fhub_store_echo_collections(const fhub_stype *type, json_object *input, json_object *out)
{
    if (!json_object_is_type(input, json_type_object))
        return;
    json_object_object_foreach(input, key, value)
    {
        const fhub_sprop *p = fhub_stype_prop(type, key);
        if (p && p->kind == FHUB_PROP_COLLECTION && (p->fk || p->through) &&
            json_object_is_type(value, json_type_array))
            json_object_object_add(out, key, json_object_get(value));
    }
}
