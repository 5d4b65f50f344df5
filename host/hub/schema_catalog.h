#ifndef FTH_HUB_SCHEMA_H
#define FTH_HUB_SCHEMA_H
/*
 * The hub's reading of the schema set it serves (query_schemas): for every entity type its
 * attributes, which are stored values, which are relations (and through which foreign key),
 * which are collections (and through which foreign key on the other side), its primary key,
 * and the polymorphic family it belongs to (a Task is a TypedContext is a Context; a
 * FileComponent is a Component).
 *
 * Ownership: fth_schema_new() takes a reference on the schema list; every string and JSON
 * value handed out is borrowed from it and lives as long as the fth_schema.
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/common.h>

typedef enum fth_prop_kind {
    FTH_PROP_VALUE,      /* stored in the entity's row */
    FTH_PROP_RELATION,   /* one entity, through a foreign key value on this entity */
    FTH_PROP_COLLECTION, /* entities whose foreign key points at this one */
} fth_prop_kind;

typedef enum fth_value_type {
    FTH_VT_STRING,
    FTH_VT_INTEGER,
    FTH_VT_NUMBER,
    FTH_VT_BOOLEAN,
    FTH_VT_DATETIME,
    FTH_VT_OBJECT,
    FTH_VT_ANY,
} fth_value_type;

typedef struct fth_sprop {
    const char *name;
    fth_prop_kind kind;
    fth_value_type vtype;  /* VALUE */
    const char *legacy;    /* the server-side name (alias_for) used in ftrack.update keys */
    const char *ref;       /* RELATION, COLLECTION: the target type */
    const char *fk;        /* RELATION: the VALUE attribute holding the target's id, or NULL
                              when the relation cannot be followed;
                              COLLECTION: the attribute on the target holding our id */
    const char *fk_target; /* VALUE foreign keys: the type they point at (else NULL) */
    json_object *def;      /* the schema default, or NULL */
    bool immutable, computed;
} fth_sprop;

typedef struct fth_stype {
    const char *name;
    json_object *schema; /* the schema object */
    fth_sprop *props;
    size_t nprops;
    const char **pk; /* primary key attribute names */
    size_t npk;
    const char *family;    /* rows of one family share a key space */
    const char **concrete; /* the stored types a query for this type matches */
    size_t nconcrete;
    bool abstract;                    /* cannot be created (Context, TypedContext, Component) */
    const char *legacy;               /* ftrack.update entityType: task, show, assetversion, ... */
    json_object *default_projections; /* borrowed array */
} fth_stype;

typedef struct fth_schema fth_schema;

/* FTRACK_ERR_CONFIG when `schemas` is not a list of schema objects with ids. */
ftrack_status fth_schema_new(json_object *schemas, fth_schema **out, ftrack_error *err);
void fth_schema_free(fth_schema *schema);

/* The schema list as given (borrowed). */
json_object *fth_schema_list(const fth_schema *schema);
const fth_stype *fth_schema_type(const fth_schema *schema, const char *name);
const fth_sprop *fth_stype_prop(const fth_stype *type, const char *name);
/* True when rows of concrete type `type` are matched by queries for `of`. */
bool fth_stype_matches(const fth_stype *of, const char *type);

#endif
