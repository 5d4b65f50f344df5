/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_SCHEMA_H
#define FHUB_SCHEMA_H
/*
 * The hub's reading of the schema set it serves (query_schemas): for every entity type its
 * attributes, which are stored values, which are relations (and through which foreign key),
 * which are collections (and through which foreign key on the other side), its primary key,
 * and the polymorphic family it belongs to (a Task is a TypedContext is a Context; a
 * FileComponent is a Component).
 *
 * Ownership: fhub_schema_new() takes a reference on the schema list; every string and JSON
 * value handed out is borrowed from it and lives as long as the fhub_schema.
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/common.h>

typedef enum fhub_prop_kind {
    FHUB_PROP_VALUE,      /* stored in the entity's row */
    FHUB_PROP_RELATION,   /* one entity, through a foreign key value on this entity */
    FHUB_PROP_COLLECTION, /* entities whose foreign key points at this one */
} fhub_prop_kind;

typedef enum fhub_value_type {
    FHUB_VT_STRING,
    FHUB_VT_INTEGER,
    FHUB_VT_NUMBER,
    FHUB_VT_BOOLEAN,
    FHUB_VT_DATETIME,
    FHUB_VT_OBJECT,
    FHUB_VT_ANY,
} fhub_value_type;

typedef struct fhub_sprop {
    const char *name;
    fhub_prop_kind kind;
    fhub_value_type vtype;  /* VALUE */
    const char *legacy;    /* the server-side name (alias_for) used in ftrack.update keys */
    const char *ref;       /* RELATION, COLLECTION: the target type */
    const char *fk;        /* RELATION: the VALUE attribute holding the target's id, or NULL
                              when the relation cannot be followed;
                              COLLECTION: the attribute on the target holding our id */
    const char *fk_target; /* VALUE foreign keys: the type they point at (else NULL) */
    /* COLLECTION many-to-many (fk NULL): rows of `through` whose `through_near` holds our id
     * and whose `through_far` holds an item's id. */
    const char *through, *through_near, *through_far;
    json_object *def;      /* the schema default, or NULL */
    bool immutable, computed;
} fhub_sprop;

typedef struct fhub_stype {
    const char *name;
    json_object *schema; /* the schema object */
    fhub_sprop *props;
    size_t nprops;
    const char **pk; /* primary key attribute names */
    size_t npk;
    const char *family;    /* rows of one family share a key space */
    const char **concrete; /* the stored types a query for this type matches */
    size_t nconcrete;
    bool abstract;                    /* cannot be created (Context, TypedContext, Component) */
    const char *legacy;               /* ftrack.update entityType: task, show, assetversion, ... */
    json_object *default_projections; /* borrowed array */
} fhub_stype;

typedef struct fhub_schema fhub_schema;

/* FTRACK_ERR_CONFIG when `schemas` is not a list of schema objects with ids. */
ftrack_status fhub_schema_new(json_object *schemas, fhub_schema **out, ftrack_error *err);
void fhub_schema_free(fhub_schema *schema);

/* The schema list as given (borrowed). */
json_object *fhub_schema_list(const fhub_schema *schema);
const fhub_stype *fhub_schema_type(const fhub_schema *schema, const char *name);
const fhub_sprop *fhub_stype_prop(const fhub_stype *type, const char *name);
/* True when rows of concrete type `type` are matched by queries for `of`. */
bool fhub_stype_matches(const fhub_stype *of, const char *type);

#endif
