/* SPDX-License-Identifier: Apache-2.0 */
/* Changes and events: each write of a batch records a change, and fhub_store_end turns the
 * changes of a committed batch into one ftrack.update event (protocol §11.1), with the
 * `parents` chain of every changed entity. Split from store.c, which records the changes. */
#include <string.h>

#include "common/internal.h"
#include "store_internal.h"

#define MAX_PARENTS 32

void fhub_store_record_change(fhub_store *store, const char *action, const fhub_stype *type,
                             json_object *old, json_object *new_data)
{
    if (!store->changes)
        store->changes = json_object_new_array();
    json_object *c = json_object_new_object();
    json_object_object_add(c, "action", json_object_new_string(action));
    json_object_object_add(c, "type", json_object_new_string(type->name));
    json_object_object_add(c, "old", json_object_get(old));
    json_object_object_add(c, "new", json_object_get(new_data));
    json_object_array_add(store->changes, c);
}

/* The attribute that leads to an entity's parent in ftrack.update `parents`. */
static const char *parent_attr(const fhub_stype *type)
{
    if (strcmp(type->family, "Context") == 0 || strcmp(type->name, "Note") == 0)
        return "parent_id";
    if (strcmp(type->name, "Asset") == 0)
        return "context_id";
    if (strcmp(type->name, "AssetVersion") == 0)
        return "asset_id";
    if (strcmp(type->family, "Component") == 0)
        return "version_id";
    return NULL;
}

static json_object *parent_entry(const fhub_stype *type, const char *id, const char *parent_id)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "entityId", json_object_new_string(id));
    json_object_object_add(p, "entityType", json_object_new_string(type->legacy));
    json_object_object_add(p, "entity_type", json_object_new_string(type->name));
    json_object_object_add(p, "parentId", parent_id ? json_object_new_string(parent_id) : NULL);
    return p;
}

/* Self first, then each ancestor up to the project. */
static json_object *parents_of(fhub_store *store, const fhub_stype *type, json_object *data,
                               json_object *flat)
{
    json_object *list = json_object_new_array();
    json_object *cur = json_object_get(data);
    const fhub_stype *ct = type;
    for (int depth = 0; cur && depth < MAX_PARENTS; depth++) {
        const char *id = fti_json_string(cur, "id");
        const char *attr = parent_attr(ct);
        const char *pid = attr ? fti_json_string(cur, attr) : NULL;
        if (!id)
            break;
        json_object_array_add(list, parent_entry(ct, id, pid));
        json_object_array_add(flat, json_object_new_string(id));
        json_object *next = pid ? fhub_store_row_by_id(store, NULL, pid, &ct) : NULL;
        json_object_put(cur);
        cur = next;
    }
    json_object_put(cur);
    return list;
}

static json_object *change_value(const fhub_stype *type, json_object *data, const char *attr)
{
    (void)type;
    return json_object_get(json_object_object_get(data, attr));
}

/* One data.entities[] item of ftrack.update (protocol §11.1). */
static json_object *event_entity(fhub_store *store, json_object *change, json_object *flat)
{
    const char *action = fti_json_string(change, "action");
    const fhub_stype *type = fhub_schema_type(store->schema, fti_json_string(change, "type"));
    json_object *old = json_object_object_get(change, "old");
    json_object *new_data = json_object_object_get(change, "new");
    json_object *cur = new_data ? new_data : old;
    if (!type || !cur)
        return NULL;
    json_object *ent = json_object_new_object();
    /* Link types (JobComponent, ...) have no id: their key values joined, so the id of one
     * of the linked entities is not mistaken for the link. */
    json_object *idv = json_object_object_get(cur, "id");
    if (idv && type->npk == 1) {
        json_object_object_add(ent, "entityId", json_object_get(idv));
    } else {
        fti_buf joined = {0};
        for (size_t i = 0; i < type->npk; i++) {
            fti_buf_adds(&joined, i ? "," : "");
            const char *v = json_object_get_string(json_object_object_get(cur, type->pk[i]));
            fti_buf_adds(&joined, v ? v : "");
        }
        json_object_object_add(ent, "entityId", json_object_new_string(joined.data ? joined.data : ""));
        fti_buf_free(&joined);
    }
    json_object_object_add(ent, "entityType", json_object_new_string(type->legacy));
    json_object_object_add(ent, "entity_type", json_object_new_string(type->name));
    const char *otype = fti_json_string(cur, "object_type_id");
    if (otype)
        json_object_object_add(ent, "objectTypeId", json_object_new_string(otype));
    json_object_object_add(ent, "action", json_object_new_string(action));
    json_object *keys = json_object_new_array();
    json_object *changes = json_object_new_object();
    json_object_object_foreach(cur, attr, unused)
    {
        (void)unused;
        json_object *o = old ? json_object_object_get(old, attr) : NULL;
        json_object *n = new_data ? json_object_object_get(new_data, attr) : NULL;
        if (strcmp(action, "update") == 0 && json_object_equal(o, n))
            continue;
        const fhub_sprop *p = fhub_stype_prop(type, attr);
        const char *legacy = p ? p->legacy : attr;
        json_object_array_add(keys, json_object_new_string(legacy));
        json_object *c = json_object_new_object();
        json_object_object_add(c, "new", change_value(type, new_data, attr));
        json_object_object_add(c, "old", change_value(type, old, attr));
        json_object_object_add(changes, legacy, c);
    }
    if (old && new_data) { /* attributes an update removed (set to absent) */
        json_object_object_foreach(old, attr2, v2)
        {
            (void)v2;
            if (json_object_object_get_ex(new_data, attr2, NULL))
                continue;
            const fhub_sprop *p = fhub_stype_prop(type, attr2);
            json_object_array_add(keys, json_object_new_string(p ? p->legacy : attr2));
        }
    }
    json_object_object_add(ent, "keys", keys);
    json_object_object_add(ent, "changes", changes);
    json_object *parents = parents_of(store, type, cur, flat);
    json_object *first_parent =
        json_object_array_length(parents) > 1
            ? json_object_object_get(json_object_array_get_idx(parents, 1), "entityId")
            : NULL;
    json_object_object_add(ent, "parentId", json_object_get(first_parent));
    json_object_object_add(ent, "parents", parents);
    return ent;
}

json_object *fhub_store_build_event(fhub_store *store)
{
    json_object *entities = json_object_new_array();
    json_object *flat = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(store->changes); i++) {
        json_object *ent = event_entity(store, json_object_array_get_idx(store->changes, i), flat);
        if (ent)
            json_object_array_add(entities, ent);
    }
    /* The flat list holds each ancestor once. */
    json_object *unique = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(flat); i++) {
        json_object *v = json_object_array_get_idx(flat, i);
        bool seen = false;
        for (size_t j = 0; j < json_object_array_length(unique) && !seen; j++)
            seen = json_object_equal(v, json_object_array_get_idx(unique, j));
        if (!seen)
            json_object_array_add(unique, json_object_get(v));
    }
    json_object_put(flat);
    char id[37];
    fti_uuid_dashed(id);
    json_object *user = json_object_new_object();
    json_object_object_add(user, "userid", json_object_new_string(store->act_id));
    json_object_object_add(user, "name", json_object_new_string(store->act_display));
    json_object *data = json_object_new_object();
    json_object_object_add(data, "entities", entities);
    json_object_object_add(data, "parents", unique);
    json_object_object_add(data, "user", user);
    json_object_object_add(data, "clientToken", NULL);
    json_object_object_add(data, "pushToken", NULL);
    json_object *src_user = json_object_new_object();
    json_object_object_add(src_user, "username", json_object_new_string(store->act_name));
    json_object_object_add(src_user, "id", json_object_new_string(store->act_id));
    json_object *source = json_object_new_object();
    json_object_object_add(source, "applicationId", json_object_new_string("ftrack.client.api"));
    json_object_object_add(source, "id", json_object_new_string(id));
    json_object_object_add(source, "user", src_user);
    json_object *ev = json_object_new_object();
    json_object_object_add(ev, "topic", json_object_new_string("ftrack.update"));
    json_object_object_add(ev, "id", json_object_new_string(id));
    json_object_object_add(ev, "data", data);
    json_object_object_add(ev, "source", source);
    json_object_object_add(ev, "target", json_object_new_string(""));
    json_object_object_add(ev, "sent", NULL);
    json_object_object_add(ev, "inReplyToEvent", NULL);
    return ev;
}
