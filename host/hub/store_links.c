/* SPDX-License-Identifier: Apache-2.0 */
/* Writes that reach past one row. A collection set from its owner's side (what
 * `shot['notes'].append(note)` and `shot['metadata'][k] = v` send: the owner's update listing
 * the items) moves each listed item's foreign key onto the owner. */
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

bool fhub_store_link_collections(fhub_store *store, const fhub_stype *type, json_object *data,
                                json_object *input, fhub_store_error *e)
{
    if (!json_object_is_type(input, json_type_object) || !fti_json_string(data, "id"))
        return true;
    json_object_object_foreach(input, key, value)
    {
        const fhub_sprop *p = fhub_stype_prop(type, key);
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
        if (p && p->kind == FHUB_PROP_COLLECTION && p->fk &&
            json_object_is_type(value, json_type_array))
            json_object_object_add(out, key, json_object_get(value));
    }
}
