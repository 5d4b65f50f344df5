/* SPDX-License-Identifier: Apache-2.0 */
/* The encode-media trigger's logic: see encode_logic.h. */
#include "encode_logic.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_FILE_TYPES ".mov,.mp4,.m4v,.mxf,.avi,.mkv,.webm"

#define config_error(err, ...) ftrack_error_set(err, FTRACK_ERR_CONFIG, __VA_ARGS__)

/* ---- Lists ------------------------------------------------------------------------------------
 */

static void list_clear(encode_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static bool list_add(encode_list *l, const char *text, size_t len, bool file_type)
{
    while (len > 0 && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    if (len == 0)
        return true;
    char **items = realloc(l->items, (l->count + 1) * sizeof(char *));
    if (!items)
        return false;
    l->items = items;
    bool dot = file_type && text[0] != '.';
    char *item = malloc(len + 2);
    if (!item)
        return false;
    size_t o = 0;
    if (dot)
        item[o++] = '.';
    for (size_t i = 0; i < len; i++)
        item[o++] = file_type ? (char)tolower((unsigned char)text[i]) : text[i];
    item[o] = '\0';
    l->items[l->count++] = item;
    return true;
}

static bool list_from_string(encode_list *l, const char *text, bool file_type)
{
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!list_add(l, p, len, file_type))
            return false;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

static ftrack_status arg_list(json_object *args, const char *name, const char *fallback,
                              bool file_type, encode_list *out, ftrack_error *err)
{
    json_object *v = NULL;
    bool ok = true;
    if (!args || !json_object_object_get_ex(args, name, &v) || !v) {
        ok = list_from_string(out, fallback, file_type);
    } else if (json_object_is_type(v, json_type_string)) {
        ok = list_from_string(out, json_object_get_string(v), file_type);
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; ok && i < json_object_array_length(v); i++) {
            json_object *item = json_object_array_get_idx(v, i);
            if (!json_object_is_type(item, json_type_string))
                return config_error(err, "%s: every entry must be a string", name);
            ok = list_add(out, json_object_get_string(item),
                          (size_t)json_object_get_string_len(item), file_type);
        }
    } else {
        return config_error(err, "%s: expected a comma-separated string or a list of strings",
                            name);
    }
    return ok ? FTRACK_OK : config_error(err, "%s: out of memory", name);
}

static bool arg_bool(json_object *args, const char *name, bool fallback)
{
    json_object *v = NULL;
    if (!args || !json_object_object_get_ex(args, name, &v) || !v)
        return fallback;
    return json_object_get_boolean(v);
}

static ftrack_status arg_number(json_object *args, const char *name, double fallback, double min,
                                double max, double *out, ftrack_error *err)
{
    json_object *v = NULL;
    *out = fallback;
    if (!args || !json_object_object_get_ex(args, name, &v) || !v)
        return FTRACK_OK;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return config_error(err, "%s: expected a number", name);
    *out = json_object_get_double(v);
    if (*out < min || *out > max)
        return config_error(err, "%s: %g is outside %g-%g", name, *out, min, max);
    return FTRACK_OK;
}

ftrack_status encode_config_from_args(json_object *args, encode_config *cfg, ftrack_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    ftrack_status rc =
        arg_list(args, "encode_media_file_types", DEFAULT_FILE_TYPES, true, &cfg->file_types, err);
    if (rc == FTRACK_OK)
        rc = arg_list(args, "encode_media_component_names", "", false, &cfg->component_names, err);
    if (rc == FTRACK_OK)
        rc = arg_list(args, "encode_media_projects", "", false, &cfg->projects, err);
    double max_jobs = 16;
    if (rc == FTRACK_OK)
        rc = arg_number(args, "encode_media_job_timeout", 900, 1, ENCODE_TIMEOUT_LIMIT,
                        &cfg->job_timeout, err);
    if (rc == FTRACK_OK)
        rc =
            arg_number(args, "encode_media_max_jobs", 16, 1, ENCODE_MAX_JOBS_LIMIT, &max_jobs, err);
    cfg->max_jobs = (int)max_jobs;
    cfg->keep_original = arg_bool(args, "encode_media_keep_original", true);
    cfg->offer_action = arg_bool(args, "encode_media_action", true);
    cfg->ignore_own_user = arg_bool(args, "encode_media_ignore_own_user", true);
    json_object *topic = NULL;
    const char *t = ENCODE_DEFAULT_RESULT_TOPIC;
    if (rc == FTRACK_OK && args &&
        json_object_object_get_ex(args, "encode_media_result_topic", &topic) && topic) {
        if (!json_object_is_type(topic, json_type_string) || json_object_get_string_len(topic) == 0)
            rc = config_error(err, "encode_media_result_topic: expected a non-empty string");
        else
            t = json_object_get_string(topic);
    }
    if (rc == FTRACK_OK && !(cfg->result_topic = strdup(t)))
        rc = config_error(err, "out of memory");
    if (rc != FTRACK_OK)
        encode_config_clear(cfg);
    return rc;
}

void encode_config_clear(encode_config *cfg)
{
    list_clear(&cfg->file_types);
    list_clear(&cfg->component_names);
    list_clear(&cfg->projects);
    free(cfg->result_topic);
    cfg->result_topic = NULL;
}

/* ---- Rules ------------------------------------------------------------------------------------
 */

static bool listed(const encode_list *l, const char *value, bool nocase)
{
    for (size_t i = 0; value && i < l->count; i++) {
        if (nocase ? strcasecmp(l->items[i], value) == 0 : strcmp(l->items[i], value) == 0)
            return true;
    }
    return false;
}

const char *encode_component_refusal(const encode_config *cfg, const char *name,
                                     const char *file_type)
{
    if (name && strncmp(name, ENCODE_OUTPUT_PREFIX, strlen(ENCODE_OUTPUT_PREFIX)) == 0)
        return "it is an encode output";
    if (cfg->file_types.count && !listed(&cfg->file_types, file_type, true))
        return "its file type is not listed";
    if (cfg->component_names.count && !listed(&cfg->component_names, name, false))
        return "its name is not listed";
    return NULL;
}

bool encode_project_matches(const encode_config *cfg, const char *project_id,
                            const char *project_name)
{
    if (!cfg->projects.count)
        return true;
    return listed(&cfg->projects, project_id, false) || listed(&cfg->projects, project_name, false);
}

/* ---- Events -----------------------------------------------------------------------------------
 */

static const char *str_of(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool same(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

static void candidates_add(encode_candidates *out, encode_candidate_kind kind, const char *id,
                           const char *project_id)
{
    if (!id || !*id)
        return;
    for (size_t i = 0; i < out->count; i++) {
        if (out->items[i].kind == kind && strcmp(out->items[i].id, id) == 0)
            return;
    }
    encode_candidate *items = realloc(out->items, (out->count + 1) * sizeof(*items));
    if (!items)
        return;
    out->items = items;
    encode_candidate *c = &out->items[out->count];
    c->kind = kind;
    c->id = strdup(id);
    c->project_id = project_id ? strdup(project_id) : NULL;
    if (c->id)
        out->count++;
    else
        free(c->project_id);
}

/* The project among an update entry's parents (entity_type "Project", legacy "show"). */
static const char *project_of(json_object *entity)
{
    json_object *parents = NULL;
    if (!json_object_object_get_ex(entity, "parents", &parents) ||
        !json_object_is_type(parents, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(parents); i++) {
        json_object *p = json_object_array_get_idx(parents, i);
        if (same(str_of(p, "entity_type"), "Project") || same(str_of(p, "entityType"), "show"))
            return str_of(p, "entityId");
    }
    return NULL;
}

void encode_candidates_from_update(json_object *data, encode_candidates *out)
{
    json_object *entities = NULL;
    if (!json_object_object_get_ex(data, "entities", &entities) ||
        !json_object_is_type(entities, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(entities); i++) {
        json_object *e = json_object_array_get_idx(entities, i);
        if (!same(str_of(e, "action"), "add"))
            continue;
        const char *api_type = str_of(e, "entity_type");
        const char *legacy = str_of(e, "entityType");
        const char *id = str_of(e, "entityId");
        if (same(api_type, "FileComponent") || (!api_type && same(legacy, "component")))
            candidates_add(out, ENCODE_CANDIDATE_COMPONENT, id, project_of(e));
        else if (same(api_type, "AssetVersion") || (!api_type && same(legacy, "assetversion")))
            candidates_add(out, ENCODE_CANDIDATE_VERSION, id, project_of(e));
        else if (same(api_type, "ComponentLocation"))
            candidates_add(out, ENCODE_CANDIDATE_LOCATION, id, project_of(e));
    }
}

void encode_candidates_from_component_added(json_object *data, encode_candidates *out)
{
    candidates_add(out, ENCODE_CANDIDATE_COMPONENT, str_of(data, "component_id"), NULL);
}

void encode_candidates_from_selection(json_object *data, encode_candidates *out)
{
    json_object *selection = NULL;
    if (!json_object_object_get_ex(data, "selection", &selection) ||
        !json_object_is_type(selection, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(selection); i++) {
        json_object *s = json_object_array_get_idx(selection, i);
        if (same(str_of(s, "entityType"), "assetversion") ||
            same(str_of(s, "entityType"), "AssetVersion"))
            candidates_add(out, ENCODE_CANDIDATE_VERSION, str_of(s, "entityId"), NULL);
    }
}

void encode_candidates_clear(encode_candidates *c)
{
    for (size_t i = 0; i < c->count; i++) {
        free(c->items[i].id);
        free(c->items[i].project_id);
    }
    free(c->items);
    c->items = NULL;
    c->count = 0;
}

/* ---- Actions and results ----------------------------------------------------------------------
 */

json_object *encode_discover_reply(json_object *data)
{
    encode_candidates c = {0};
    encode_candidates_from_selection(data, &c);
    size_t n = c.count;
    encode_candidates_clear(&c);
    if (n == 0)
        return NULL;
    json_object *item = json_object_new_object();
    json_object_object_add(item, "label", json_object_new_string("Encode media"));
    json_object_object_add(item, "variant", NULL);
    json_object_object_add(
        item, "description",
        json_object_new_string("Encode the selected versions' media for review"));
    json_object_object_add(item, "actionIdentifier",
                           json_object_new_string(ENCODE_ACTION_IDENTIFIER));
    json_object_object_add(item, "icon", NULL);
    json_object *items = json_object_new_array();
    json_object_array_add(items, item);
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "items", items);
    return reply;
}

static json_object *string_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *encode_result_data(const char *component_id, const char *version_id,
                                const char *job_id, const char *status, json_object *outputs,
                                const char *message)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "component_id", string_or_null(component_id));
    json_object_object_add(d, "version_id", string_or_null(version_id));
    json_object_object_add(d, "job_id", string_or_null(job_id));
    json_object_object_add(d, "status", string_or_null(status));
    json_object *copy = NULL;
    if (outputs)
        json_object_deep_copy(outputs, &copy, NULL);
    json_object_object_add(d, "outputs", copy ? copy : json_object_new_array());
    json_object_object_add(d, "message", string_or_null(message));
    return d;
}

static json_object *parsed_job_data(json_object *job_data)
{
    if (json_object_is_type(job_data, json_type_string))
        return json_tokener_parse(json_object_get_string(job_data));
    return json_object_get(job_data);
}

json_object *encode_job_outputs(json_object *job_data)
{
    json_object *parsed = parsed_job_data(job_data);
    json_object *output = NULL, *copy = NULL;
    if (json_object_object_get_ex(parsed, "output", &output) &&
        json_object_is_type(output, json_type_array))
        json_object_deep_copy(output, &copy, NULL);
    json_object_put(parsed);
    return copy;
}

char *encode_job_error(json_object *job_data)
{
    json_object *parsed = parsed_job_data(job_data);
    const char *keys[] = {"error", "message", "description"};
    char *out = NULL;
    for (size_t i = 0; !out && i < 3; i++) {
        const char *v = str_of(parsed, keys[i]);
        if (v)
            out = strdup(v);
    }
    json_object_put(parsed);
    return out;
}

/* ---- Bookkeeping ------------------------------------------------------------------------------
 */

bool encode_registry_init(encode_registry *r, size_t capacity)
{
    memset(r, 0, sizeof(*r));
    r->ids = calloc(capacity, sizeof(char *));
    if (!r->ids)
        return false;
    r->cap = capacity;
    pthread_mutex_init(&r->lock, NULL);
    return true;
}

void encode_registry_destroy(encode_registry *r)
{
    if (!r->ids)
        return;
    for (size_t i = 0; i < r->cap; i++)
        free(r->ids[i]);
    free(r->ids);
    r->ids = NULL;
    pthread_mutex_destroy(&r->lock);
}

static bool has_locked(encode_registry *r, const char *id)
{
    for (size_t i = 0; i < r->cap; i++) {
        if (r->ids[i] && strcmp(r->ids[i], id) == 0)
            return true;
    }
    return false;
}

bool encode_registry_add(encode_registry *r, const char *id)
{
    if (!id)
        return false;
    pthread_mutex_lock(&r->lock);
    bool added = !has_locked(r, id);
    if (added) {
        char *copy = strdup(id);
        if (copy) {
            free(r->ids[r->next]);
            r->ids[r->next] = copy;
            r->next = (r->next + 1) % r->cap;
            if (r->count < r->cap)
                r->count++;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return added;
}

bool encode_registry_has(encode_registry *r, const char *id)
{
    if (!id)
        return false;
    pthread_mutex_lock(&r->lock);
    bool found = has_locked(r, id);
    pthread_mutex_unlock(&r->lock);
    return found;
}
