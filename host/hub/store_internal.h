/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_STORE_INTERNAL_H
#define FHUB_STORE_INTERNAL_H
/* Pieces shared by the store's files: store.c (tables, rows, batches, open/seed), store_query.c
 * (reads), store_validate.c (the validation of written values) and store_events.c (the changes
 * of a batch and its ftrack.update event). */
#include <pthread.h>
#include <sqlite3.h>

#include "common/internal.h"
#include "store.h"

struct fhub_store {
    sqlite3 *db;
    const fhub_schema *schema;
    pthread_mutex_t lock;
    bool in_batch;
    json_object *changes; /* this batch's change records (array) */
    char user_id[64]; /* the hub user */
    char *username;
    char *user_display;
    /* Who the current batch acts for (the hub user unless fhub_store_begin_as named another):
     * the creating user of new entities and the source of the batch's ftrack.update. */
    char act_id[64];
    char act_name[128];
    char act_display[256];
    char *server_url; /* "http://HOST:PORT" for computed URLs, or NULL */
};


/* Values bound to a statement's '?' in order (json values; NULL binds SQL NULL). */
typedef struct fhub_binds {
    json_object *list; /* array */
} fhub_binds;

/* Bind every value; returns the sqlite status. */
int fhub_binds_apply(const fhub_binds *b, sqlite3_stmt *stmt);
/* Append "?, ?, ..." for the concrete types of `type` to sql and their names to binds. */
void fhub_sql_type_list(fti_buf *sql, fhub_binds *binds, const fhub_stype *type);

/* The entity as a client sees it: {"__entity_type__", every stored attribute}, dates as
 * {"__type__":"datetime"}. `data` is the stored object (borrowed). */
json_object *fhub_store_output(const fhub_stype *type, json_object *data, bool all_attributes);
/* A value as a client sees it (dates wrapped). New reference. */
json_object *fhub_store_output_value(const fhub_sprop *prop, json_object *value);
/* Reference {"__entity_type__", pk...}. */
json_object *fhub_store_reference(const fhub_stype *type, json_object *data);

/* Look up one row by id among the concrete types of `of` (NULL: any type). Returns the stored
 * data (new reference) and its concrete type, or NULL. */
json_object *fhub_store_row_by_id(fhub_store *store, const fhub_stype *of, const char *id,
                                 const fhub_stype **type);

/* The link rows of the many-to-many collection `p` from the entity `owner_id`, in the order
 * they were made: a new array of {"id": link id, "far": item id}. */
json_object *fhub_store_through_rows(fhub_store *store, const fhub_sprop *p, const char *owner_id);

/* The row of `type` (or a subtype) with primary key `key` (a JSON array): the stored data (new
 * reference), its concrete type and its row number; NULL when there is none. */
json_object *fhub_store_row_by_key(fhub_store *store, const fhub_stype *type, json_object *key,
                                  const fhub_stype **found, sqlite3_int64 *seq);
/* The first column of the first row of `sql`, run with `param` bound to its one '?': a new
 * JSON value (text, integer or real), or NULL when there is no row or the value is NULL. */
json_object *fhub_store_scalar(fhub_store *store, const char *sql, const char *param);
/* Insert a new row of `type`; returns the sqlite status (a constraint error when the key is
 * taken). */
int fhub_store_insert_row(fhub_store *store, const fhub_stype *type, json_object *data);
/* Replace (or, with `remove`, delete) row `seq`; returns the sqlite status. */
int fhub_store_write_row(fhub_store *store, sqlite3_int64 seq, json_object *data, bool remove);

/* ---- store_validate.c ---------------------------------------------------------------------- */

/* The schema type `name` (may be NULL), or NULL with *e set. */
const fhub_stype *fhub_store_writable_type(fhub_store *store, const char *name, fhub_store_error *e);
/* Apply `input` (entity_data) to `data`: every key checked against the schema; `update` refuses
 * changes to immutable attributes. */
bool fhub_store_apply_input(const fhub_stype *type, json_object *input, json_object *data,
                           bool update, fhub_store_error *e);
/* The primary key from entity_key (a list of values; NULL: nothing to do). */
bool fhub_store_apply_key(const fhub_stype *type, json_object *key, json_object *data,
                         fhub_store_error *e);
/* Server-side defaults of a new entity: schema defaults, ids, creation times, the user. */
void fhub_store_apply_defaults(fhub_store *store, const fhub_stype *type, json_object *data);
/* Every foreign key set (and, with `before`, changed) must point at an existing entity. */
bool fhub_store_check_references(fhub_store *store, const fhub_stype *type, json_object *data,
                                json_object *before, fhub_store_error *e);

/* ---- store_links.c ------------------------------------------------------------------------- */

/* Every collection of `input` (entity_data) set on the entity `data`: each listed item's
 * foreign key is pointed at it (items must exist). */
bool fhub_store_link_collections(fhub_store *store, const fhub_stype *type, json_object *data,
                                json_object *input, fhub_store_error *e);
/* The collections that `input` set, added to the entity `out` a create or update answers with:
 * the client keeps what the server answers, so an answer without them would empty its copy. */
void fhub_store_echo_collections(const fhub_stype *type, json_object *input, json_object *out);

/* ---- store_rules.c ------------------------------------------------------------------------- */

/* What the server fills in on a new entity: a typed context's project, bid, sort and default
 * priority (the lowest-sorted one), a project's workflow schema and full name (its name), a
 * component's system type. */
void fhub_store_derive(fhub_store *store, const fhub_stype *type, json_object *data);
/* ---- store_workflows.c --------------------------------------------------------------------- */

/* A new ProjectSchema that names no task workflow, version workflow or task type schema gets
 * them (every Status, every Type, by sort), stored directly and their ids set in `data`. */
void fhub_store_derive_workflows(fhub_store *store, const fhub_stype *type, json_object *data);

/* ---- store_rules.c (continued) ------------------------------------------------------------- */

/* Names are unique among siblings (contexts under one parent, projects, assets of one type in
 * one context), compared without case. */
bool fhub_store_check_unique_name(fhub_store *store, const fhub_stype *type, json_object *data,
                                 fhub_store_error *e);
/* A new Timer is refused (DuplicateEntryError) while its user has one. */
bool fhub_store_check_one_timer(fhub_store *store, const fhub_stype *type, json_object *data,
                               fhub_store_error *e);
/* Delete what the entity `data` owns (children, assets, versions, notes, metadata...). */
bool fhub_store_delete_owned(fhub_store *store, const fhub_stype *type, json_object *data,
                            fhub_store_error *e);

/* ---- store_custom.c ------------------------------------------------------------------------ */

/* Custom attribute values exist for every configuration that applies to an entity (ftrack's
 * clients read them as a dense mapping and set them by update): after a create, add the
 * missing value rows (with the configuration's default) for a new entity, or for every entity
 * a new configuration applies to. */
void fhub_store_custom_values_for(fhub_store *store, const fhub_stype *type, json_object *data);

/* ---- store_computed.c ---------------------------------------------------------------------- */

/* The computed attribute `name` of an entity (link, time_logged, thumbnail_url) in *out (a new
 * reference; NULL for none); false when `name` is not one this hub computes. */
bool fhub_store_computed(fhub_store *store, const fhub_stype *type, json_object *data,
                        const char *name, json_object **out);
/* The typed contexts above a context, root first: [{"type", "data"}] (a new array). */
json_object *fhub_store_ancestors(fhub_store *store, json_object *data);

/* ---- store_events.c ------------------------------------------------------------------------ */

/* Record one write of the batch ("add", "update", "remove"; old/new may be NULL). */
void fhub_store_record_change(fhub_store *store, const char *action, const fhub_stype *type,
                             json_object *old, json_object *new_data);
/* The ftrack.update event for the batch's recorded changes (a new wire event). */
json_object *fhub_store_build_event(fhub_store *store);

/* store.c helpers store_open.c shares. */
bool fhub_store_exec_sql(fhub_store *store, const char *sql);
/* The primary key of `data` for `type`, as the JSON array stored in the key column (new). */
json_object *fhub_store_key_of(const fhub_stype *type, json_object *data);
/* The stored User named `username` (new reference), or NULL. */
json_object *fhub_store_user_by_name(fhub_store *store, const char *username);
/* "First Last" of a User, or NULL when it has neither (caller frees). */
char *fhub_store_display_name(json_object *user);

#endif
