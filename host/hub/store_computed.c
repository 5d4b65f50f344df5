/* SPDX-License-Identifier: Apache-2.0 */
/* Attributes the server computes when they are read, never stored: `link` (the path from the
 * project down to the entity, as ftrack's web pages show it), `ancestors` (the typed contexts
 * above a context, nearest last), `thumbnail_url` (where the thumbnail component is served)
 * and `time_logged` (the seconds of the Timelogs on a context). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "store_internal.h"

#define MAX_DEPTH 32

/* The entity `id` and its parents up to the project, nearest first: [{"type", "data"}]. */
static json_object *chain(fhub_store *store, const char *id)
{
    json_object *list = json_object_new_array();
    const fhub_stype *t = NULL;
    json_object *cur = id ? fhub_store_row_by_id(store, NULL, id, &t) : NULL;
    for (int depth = 0; cur && depth < MAX_DEPTH; depth++) {
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "type", json_object_new_string(t->name));
        json_object_object_add(entry, "data", cur);
        json_object_array_add(list, entry);
        if (strcmp(t->family, "Context") != 0)
            break;
        const char *parent = fti_json_string(cur, "parent_id");
        cur = parent ? fhub_store_row_by_id(store, NULL, parent, &t) : NULL;
    }
    return list;
}

static json_object *link_entry(const char *id, const char *name, const char *type)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "id", json_object_new_string(id ? id : ""));
    json_object_object_add(e, "name", json_object_new_string(name ? name : ""));
    json_object_object_add(e, "type", json_object_new_string(type));
    return e;
}

/* Append the link of context `id` (project first) to `out`. */
static void add_context_link(fhub_store *store, const char *id, json_object *out)
{
    json_object *c = chain(store, id);
    for (size_t i = json_object_array_length(c); i-- > 0;) {
        json_object *entry = json_object_array_get_idx(c, i);
        json_object *data = json_object_object_get(entry, "data");
        const char *type = fti_json_string(entry, "type");
        json_object_array_add(out, link_entry(fti_json_string(data, "id"),
                                              fti_json_string(data, "name"),
                                              strcmp(type, "Project") == 0 ? "Project"
                                                                           : "TypedContext"));
    }
    json_object_put(c);
}

static json_object *link_of(fhub_store *store, const fhub_stype *type, json_object *data)
{
    json_object *out = json_object_new_array();
    if (strcmp(type->family, "Context") == 0) {
        add_context_link(store, fti_json_string(data, "id"), out);
    } else if (strcmp(type->name, "AssetVersion") == 0) {
        const char *asset_id = fti_json_string(data, "asset_id");
        json_object *asset =
            asset_id ? fhub_store_row_by_id(store, fhub_schema_type(store->schema, "Asset"),
                                           asset_id, NULL)
                     : NULL;
        add_context_link(store, fti_json_string(asset, "context_id"), out);
        json_object_array_add(out, link_entry(asset_id, fti_json_string(asset, "name"), "Asset"));
        char name[64];
        snprintf(name, sizeof(name), "v%lld",
                 (long long)json_object_get_int64(json_object_object_get(data, "version")));
        json_object_array_add(out, link_entry(fti_json_string(data, "id"), name, "AssetVersion"));
        json_object_put(asset);
    }
    return out;
}

static json_object *time_logged(fhub_store *store, json_object *data)
{
    json_object *total = fhub_store_scalar(store,
                                          "SELECT total(json_extract(data, '$.duration')) FROM "
                                          "entity WHERE type = 'Timelog' AND "
                                          "json_extract(data, '$.context_id') = ?",
                                          fti_json_string(data, "id"));
    json_object *out = json_object_new_double(json_object_get_double(total));
    json_object_put(total);
    return out;
}

static json_object *thumbnail_url(fhub_store *store, json_object *data)
{
    const char *thumb = fti_json_string(data, "thumbnail_id");
    if (!thumb || !store->server_url)
        return NULL;
    json_object *out = json_object_new_object();
    char *url = fti_asprintf("%s/component/thumbnail?id=%s", store->server_url, thumb);
    json_object_object_add(out, "url", json_object_new_string(url ? url : ""));
    free(url);
    return out;
}

bool fhub_store_computed(fhub_store *store, const fhub_stype *type, json_object *data,
                        const char *name, json_object **out)
{
    *out = NULL;
    if (strcmp(name, "link") == 0)
        *out = link_of(store, type, data);
    else if (strcmp(name, "time_logged") == 0)
        *out = time_logged(store, data);
    else if (strcmp(name, "thumbnail_url") == 0)
        *out = thumbnail_url(store, data);
    else
        return false;
    return true;
}

json_object *fhub_store_ancestors(fhub_store *store, json_object *data)
{
    json_object *c = chain(store, fti_json_string(data, "parent_id"));
    json_object *out = json_object_new_array();
    for (size_t i = json_object_array_length(c); i-- > 0;) {
        json_object *entry = json_object_array_get_idx(c, i);
        if (strcmp(fti_json_string(entry, "type"), "Project") != 0)
            json_object_array_add(out, json_object_get(entry));
    }
    json_object_put(c);
    return out;
}
