/* SPDX-License-Identifier: Apache-2.0 */
/* The schema set read as a data model: see schema.h. ftrack's schemas do not spell out
 * inheritance or which foreign key a relation uses, so the few rules below encode what ftrack's
 * server knows: typed contexts are the schemas that alias Task with an object type, the
 * component types share one family and so do the list types, a relation `x` is stored as `x_id` unless listed in
 * FK_OVERRIDES, and a collection is the reverse of the target's relation back to us. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/internal.h"
#include "schema_catalog.h"

struct fhub_schema {
    json_object *schemas;
    fhub_stype *types;
    size_t ntypes;
};

static const char *const COMPONENT_TYPES[] = {"Component", "FileComponent", "ContainerComponent",
                                              "SequenceComponent", NULL};
static const char *const LIST_TYPES[] = {"List", "AssetVersionList", "TypedContextList", NULL};

/* Families of one abstract base and its concrete kinds, sharing one key space: a query of the
 * base finds every kind. */
static const struct {
    const char *base, *legacy;
    const char *const *members;
} FAMILIES[] = {
    {"Component", "component", COMPONENT_TYPES},
    {"List", "list", LIST_TYPES},
};

/* Relations whose foreign key is not `<name>_id`. */
static const struct {
    const char *type, *prop, *fk;
} FK_OVERRIDES[] = {
    {"Asset", "parent", "context_id"},
    {"Note", "author", "user_id"},
    {"Recipient", "user", "resource_id"},
    {"ProjectSchema", "_task_workflow", "task_workflow_schema_id"},
    {"ProjectSchema", "_version_workflow", "version_workflow_schema_id"},
    {"ProjectSchema", "_task_type_schema", "task_type_schema_id"},
};

/* Collections whose reverse foreign key cannot be found from a relation on the target. */
static const struct {
    const char *prop, *item, *fk;
} REVERSE_OVERRIDES[] = {
    {"metadata", "Metadata", "parent_id"},
    {"custom_attributes", "ContextCustomAttributeValue", "entity_id"},
    {"custom_attributes", "UserCustomAttributeValue", "entity_id"},
    {"notes", "Note", "parent_id"},
    {"incoming_links", "AssetVersionLink", "to_id"},
    {"outgoing_links", "AssetVersionLink", "from_id"},
    {"incoming_links", "TypedContextLink", "to_id"},
    {"outgoing_links", "TypedContextLink", "from_id"},
};

/* Many-to-many collections: the items are found through rows of a link type. */
static const struct {
    const char *type, *prop, *through, *near, *far;
} THROUGH[] = {
    {"AssetVersionList", "items", "ListObject", "list_id", "entity_id"},
    {"TypedContextList", "items", "ListObject", "list_id", "entity_id"},
    {"WorkflowSchema", "statuses", "WorkflowSchemaStatus", "workflow_schema_id", "status_id"},
    {"TaskTypeSchema", "types", "TaskTypeSchemaType", "task_type_schema_id", "type_id"},
};

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static const char *str_field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A typed context (Task, Shot, ...): its schema aliases Task with an object type. */
static bool is_typed_context(json_object *schema)
{
    json_object *alias = NULL;
    if (!json_object_object_get_ex(schema, "alias_for", &alias) ||
        !json_object_is_type(alias, json_type_object))
        return false;
    const char *id = str_field(alias, "id");
    return id && strcmp(id, "Task") == 0;
}

static bool in_array(json_object *arr, const char *s)
{
    if (!json_object_is_type(arr, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        const char *v = json_object_get_string(json_object_array_get_idx(arr, i));
        if (v && strcmp(v, s) == 0)
            return true;
    }
    return false;
}

static fhub_value_type value_type(json_object *prop)
{
    const char *type = str_field(prop, "type");
    const char *format = str_field(prop, "format");
    if (format && strcmp(format, "date-time") == 0)
        return FHUB_VT_DATETIME;
    if (!type || strcmp(type, "variable") == 0)
        return FHUB_VT_ANY;
    if (strcmp(type, "integer") == 0)
        return FHUB_VT_INTEGER;
    if (strcmp(type, "number") == 0)
        return FHUB_VT_NUMBER;
    if (strcmp(type, "boolean") == 0)
        return FHUB_VT_BOOLEAN;
    if (strcmp(type, "object") == 0)
        return FHUB_VT_OBJECT;
    return FHUB_VT_STRING;
}

static void read_prop(fhub_sprop *p, const char *name, json_object *prop, json_object *schema)
{
    p->name = name;
    p->legacy = str_field(prop, "alias_for");
    if (!p->legacy)
        p->legacy = name;
    json_object *items = NULL, *def = NULL;
    const char *type = str_field(prop, "type");
    if (str_field(prop, "$ref")) {
        p->kind = FHUB_PROP_RELATION;
        p->ref = str_field(prop, "$ref");
    } else if (type && (strcmp(type, "array") == 0 || strcmp(type, "mapped_array") == 0) &&
               json_object_object_get_ex(prop, "items", &items)) {
        p->kind = FHUB_PROP_COLLECTION;
        p->ref = str_field(items, "$ref");
    } else {
        p->kind = FHUB_PROP_VALUE;
        p->vtype = value_type(prop);
    }
    if (json_object_object_get_ex(prop, "default", &def))
        p->def = def;
    p->immutable = in_array(json_object_object_get(schema, "immutable"), name);
    p->computed = in_array(json_object_object_get(schema, "computed"), name);
    /* "Foreign key(s): Status.id" */
    const char *desc = str_field(prop, "description");
    const char *fmt = str_field(prop, "format");
    if (p->kind == FHUB_PROP_VALUE && fmt && strcmp(fmt, "foreign_key") == 0 && desc) {
        const char *colon = strstr(desc, ": ");
        if (colon)
            p->fk_target = colon + 2; /* up to the '.', see fk_target_type() */
    }
}

static ftrack_status read_type(fhub_stype *t, json_object *schema, ftrack_error *err)
{
    t->schema = schema;
    t->name = str_field(schema, "id");
    json_object *props = NULL, *pk = NULL;
    if (!t->name || !json_object_object_get_ex(schema, "properties", &props) ||
        !json_object_is_type(props, json_type_object) ||
        !json_object_object_get_ex(schema, "primary_key", &pk) ||
        !json_object_is_type(pk, json_type_array) || json_object_array_length(pk) == 0)
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "schema %s lacks an id, properties or a primary key",
                         t->name ? t->name : "(unnamed)");
    t->nprops = (size_t)json_object_object_length(props);
    t->props = calloc(t->nprops ? t->nprops : 1, sizeof(*t->props));
    t->npk = json_object_array_length(pk);
    t->pk = calloc(t->npk, sizeof(*t->pk));
    if (!t->props || !t->pk)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    size_t i = 0;
    json_object_object_foreach(props, name, prop)
    {
        read_prop(&t->props[i++], name, prop, schema);
    }
    for (i = 0; i < t->npk; i++) {
        t->pk[i] = json_object_get_string(json_object_array_get_idx(pk, i));
        const fhub_sprop *p = fhub_stype_prop(t, t->pk[i]);
        if (!p || p->kind != FHUB_PROP_VALUE)
            return fti_error(err, FTRACK_ERR_CONFIG, "schema %s: primary key %s is not a value",
                             t->name, t->pk[i]);
    }
    json_object_object_get_ex(schema, "default_projections", &t->default_projections);
    return FTRACK_OK;
}

static void set_family(fhub_schema *s, fhub_stype *t)
{
    t->family = t->name;
    t->legacy = NULL;
    if (is_typed_context(t->schema) || strcmp(t->name, "TypedContext") == 0 ||
        strcmp(t->name, "Context") == 0) {
        t->family = "Context";
        t->legacy = "task";
    } else if (strcmp(t->name, "Project") == 0) {
        t->family = "Context";
        t->legacy = "show";
    }
    bool base = false;
    for (size_t i = 0; i < sizeof(FAMILIES) / sizeof(FAMILIES[0]); i++) {
        if (in_list(FAMILIES[i].members, t->name)) {
            t->family = FAMILIES[i].base;
            t->legacy = FAMILIES[i].legacy;
            base = base || strcmp(t->name, FAMILIES[i].base) == 0;
        }
    }
    t->abstract = strcmp(t->name, "Context") == 0 || strcmp(t->name, "TypedContext") == 0 || base;
    (void)s;
}

static bool type_matches_name(const fhub_schema *s, const char *of, const fhub_stype *t)
{
    (void)s;
    if (strcmp(of, t->name) == 0)
        return !t->abstract;
    if (strcmp(of, "Context") == 0)
        return strcmp(t->family, "Context") == 0 && !t->abstract;
    if (strcmp(of, "TypedContext") == 0)
        return is_typed_context(t->schema);
    for (size_t i = 0; i < sizeof(FAMILIES) / sizeof(FAMILIES[0]); i++)
        if (strcmp(of, FAMILIES[i].base) == 0)
            return strcmp(t->family, of) == 0 && !t->abstract;
    return false;
}

static ftrack_status set_concrete(fhub_schema *s, fhub_stype *t, ftrack_error *err)
{
    t->concrete = calloc(s->ntypes, sizeof(*t->concrete));
    if (!t->concrete)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < s->ntypes; i++)
        if (type_matches_name(s, t->name, &s->types[i]))
            t->concrete[t->nconcrete++] = s->types[i].name;
    return FTRACK_OK;
}

static char *lowercase_copy(const char *s)
{
    char *out = strdup(s);
    for (char *c = out; c && *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return out;
}

/* The relation's foreign key: FK_OVERRIDES, else `<name>_id` when that is a value. */
static void link_relation(fhub_stype *t, fhub_sprop *p)
{
    for (size_t i = 0; i < sizeof(FK_OVERRIDES) / sizeof(FK_OVERRIDES[0]); i++)
        if (strcmp(FK_OVERRIDES[i].type, t->name) == 0 &&
            strcmp(FK_OVERRIDES[i].prop, p->name) == 0)
            p->fk = FK_OVERRIDES[i].fk;
    if (!p->fk) {
        char name[128];
        snprintf(name, sizeof(name), "%s_id", p->name);
        const fhub_sprop *fk = fhub_stype_prop(t, name);
        if (fk && fk->kind == FHUB_PROP_VALUE)
            p->fk = fk->name;
    }
    /* The foreign key then points at the relation's type. */
    fhub_sprop *fk = p->fk ? (fhub_sprop *)fhub_stype_prop(t, p->fk) : NULL;
    if (fk)
        fk->fk_target = p->ref;
}

static void link_collection(const fhub_schema *s, const fhub_stype *t, fhub_sprop *p)
{
    if (!p->ref)
        return;
    for (size_t i = 0; i < sizeof(THROUGH) / sizeof(THROUGH[0]); i++) {
        if (strcmp(THROUGH[i].type, t->name) == 0 && strcmp(THROUGH[i].prop, p->name) == 0 &&
            fhub_schema_type(s, THROUGH[i].through)) {
            p->through = THROUGH[i].through;
            p->through_near = THROUGH[i].near;
            p->through_far = THROUGH[i].far;
            return;
        }
    }
    for (size_t i = 0; i < sizeof(REVERSE_OVERRIDES) / sizeof(REVERSE_OVERRIDES[0]); i++) {
        if (strcmp(REVERSE_OVERRIDES[i].prop, p->name) == 0 &&
            strcmp(REVERSE_OVERRIDES[i].item, p->ref) == 0) {
            p->fk = REVERSE_OVERRIDES[i].fk;
            return;
        }
    }
    if (strcmp(p->name, "ancestors") == 0 || strcmp(p->name, "descendants") == 0)
        return; /* transitive; not a single foreign key */
    const fhub_stype *item = fhub_schema_type(s, p->ref);
    if (!item)
        return;
    for (size_t i = 0; i < item->nprops; i++) {
        const fhub_sprop *back = &item->props[i];
        if (back->kind != FHUB_PROP_RELATION || !back->fk || !back->ref)
            continue;
        const fhub_stype *bt = fhub_schema_type(s, back->ref);
        if (bt && (strcmp(bt->name, t->name) == 0 || fhub_stype_matches(bt, t->name) ||
                   (t->abstract && strcmp(bt->family, t->family) == 0))) {
            p->fk = back->fk;
            return;
        }
    }
}

/* "Status.id" → the type name, as a pointer into the schema's strings when possible. */
static void fix_fk_targets(fhub_schema *s, fhub_stype *t)
{
    for (size_t i = 0; i < t->nprops; i++) {
        fhub_sprop *p = &t->props[i];
        if (p->kind != FHUB_PROP_VALUE || !p->fk_target || fhub_schema_type(s, p->fk_target))
            continue;
        const char *dot = strchr(p->fk_target, '.');
        size_t n = dot ? (size_t)(dot - p->fk_target) : strlen(p->fk_target);
        const char *found = NULL;
        for (size_t j = 0; j < s->ntypes && !found; j++)
            if (strlen(s->types[j].name) == n && strncmp(s->types[j].name, p->fk_target, n) == 0)
                found = s->types[j].name;
        p->fk_target = found;
    }
}

ftrack_status fhub_schema_new(json_object *schemas, fhub_schema **out, ftrack_error *err)
{
    *out = NULL;
    if (!json_object_is_type(schemas, json_type_array))
        return fti_error(err, FTRACK_ERR_CONFIG, "the schema set is not a list");
    fhub_schema *s = calloc(1, sizeof(*s));
    if (!s)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    s->schemas = json_object_get(schemas);
    s->ntypes = json_object_array_length(schemas);
    s->types = calloc(s->ntypes ? s->ntypes : 1, sizeof(*s->types));
    ftrack_status st = s->types ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; st == FTRACK_OK && i < s->ntypes; i++)
        st = read_type(&s->types[i], json_object_array_get_idx(schemas, i), err);
    for (size_t i = 0; st == FTRACK_OK && i < s->ntypes; i++)
        set_family(s, &s->types[i]);
    for (size_t i = 0; st == FTRACK_OK && i < s->ntypes; i++)
        st = set_concrete(s, &s->types[i], err);
    for (size_t i = 0; st == FTRACK_OK && i < s->ntypes; i++) {
        fhub_stype *t = &s->types[i];
        if (!t->legacy)
            t->legacy = lowercase_copy(t->name);
        else
            t->legacy = strdup(t->legacy);
        if (!t->legacy)
            st = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
        for (size_t j = 0; j < t->nprops; j++)
            if (t->props[j].kind == FHUB_PROP_RELATION)
                link_relation(t, &t->props[j]);
    }
    for (size_t i = 0; st == FTRACK_OK && i < s->ntypes; i++) {
        fhub_stype *t = &s->types[i];
        for (size_t j = 0; j < t->nprops; j++)
            if (t->props[j].kind == FHUB_PROP_COLLECTION)
                link_collection(s, t, &t->props[j]);
        fix_fk_targets(s, t);
    }
    if (st != FTRACK_OK) {
        fhub_schema_free(s);
        return st;
    }
    *out = s;
    return FTRACK_OK;
}

void fhub_schema_free(fhub_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->types && i < s->ntypes; i++) {
        free(s->types[i].props);
        free(s->types[i].pk);
        free(s->types[i].concrete);
        free((char *)s->types[i].legacy);
    }
    free(s->types);
    json_object_put(s->schemas);
    free(s);
}

json_object *fhub_schema_list(const fhub_schema *s)
{
    return s->schemas;
}

const fhub_stype *fhub_schema_type(const fhub_schema *s, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < s->ntypes; i++)
        if (s->types[i].name && strcmp(s->types[i].name, name) == 0)
            return &s->types[i];
    return NULL;
}

const fhub_sprop *fhub_stype_prop(const fhub_stype *t, const char *name)
{
    for (size_t i = 0; i < t->nprops; i++)
        if (t->props[i].name && strcmp(t->props[i].name, name) == 0)
            return &t->props[i];
    return NULL;
}

bool fhub_stype_matches(const fhub_stype *of, const char *type)
{
    for (size_t i = 0; i < of->nconcrete; i++)
        if (strcmp(of->concrete[i], type) == 0)
            return true;
    return false;
}
