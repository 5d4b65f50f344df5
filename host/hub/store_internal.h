#ifndef FTH_HUB_STORE_INTERNAL_H
#define FTH_HUB_STORE_INTERNAL_H
/* Pieces shared by the store's files: store.c (tables, rows, batches, open/seed), store_query.c
 * (reads), store_validate.c (the validation of written values) and store_events.c (the changes
 * of a batch and its ftrack.update event). */
#include <pthread.h>
#include <sqlite3.h>

#include "common/internal.h"
#include "store.h"

struct fth_store {
    sqlite3 *db;
    const fth_schema *schema;
    pthread_mutex_t lock;
    bool in_batch;
    json_object *changes; /* this batch's change records (array) */
    char user_id[64]; /* the hub user */
    char *username;
    char *user_display;
    /* Who the current batch acts for (the hub user unless fth_store_begin_as named another):
     * the creating user of new entities and the source of the batch's ftrack.update. */
    char act_id[64];
    char act_name[128];
    char act_display[256];
    char *server_url; /* "http://HOST:PORT" for computed URLs, or NULL */
};


/* Values bound to a statement's '?' in order (json values; NULL binds SQL NULL). */
typedef struct fth_binds {
    json_object *list; /* array */
} fth_binds;

/* Bind every value; returns the sqlite status. */
int fth_binds_apply(const fth_binds *b, sqlite3_stmt *stmt);
/* Append "?, ?, ..." for the concrete types of `type` to sql and their names to binds. */
void fth_sql_type_list(fti_buf *sql, fth_binds *binds, const fth_stype *type);

/* The entity as a client sees it: {"__entity_type__", every stored attribute}, dates as
 * {"__type__":"datetime"}. `data` is the stored object (borrowed). */
json_object *fth_store_output(const fth_stype *type, json_object *data, bool all_attributes);
/* A value as a client sees it (dates wrapped). New reference. */
json_object *fth_store_output_value(const fth_sprop *prop, json_object *value);
/* Reference {"__entity_type__", pk...}. */
json_object *fth_store_reference(const fth_stype *type, json_object *data);

/* Look up one row by id among the concrete types of `of` (NULL: any type). Returns the stored
 * data (new reference) and its concrete type, or NULL. */
json_object *fth_store_row_by_id(fth_store *store, const fth_stype *of, const char *id,
                                 const fth_stype **type);

/* The row of `type` (or a subtype) with primary key `key` (a JSON array): the stored data (new
 * reference), its concrete type and its row number; NULL when there is none. */
json_object *fth_store_row_by_key(fth_store *store, const fth_stype *type, json_object *key,
                                  const fth_stype **found, sqlite3_int64 *seq);
/* The first column of the first row of `sql`, run with `param` bound to its one '?': a new
 * JSON value (text, integer or real), or NULL when there is no row or the value is NULL. */
json_object *fth_store_scalar(fth_store *store, const char *sql, const char *param);
/* Insert a new row of `type`; returns the sqlite status (a constraint error when the key is
 * taken). */
int fth_store_insert_row(fth_store *store, const fth_stype *type, json_object *data);
/* Replace (or, with `remove`, delete) row `seq`; returns the sqlite status. */
int fth_store_write_row(fth_store *store, sqlite3_int64 seq, json_object *data, bool remove);

/* ---- store_validate.c ---------------------------------------------------------------------- */

/* The schema type `name` (may be NULL), or NULL with *e set. */
const fth_stype *fth_store_writable_type(fth_store *store, const char *name, fth_store_error *e);
/* Apply `input` (entity_data) to `data`: every key checked against the schema; `update` refuses
 * changes to immutable attributes. */
bool fth_store_apply_input(const fth_stype *type, json_object *input, json_object *data,
                           bool update, fth_store_error *e);
/* The primary key from entity_key (a list of values; NULL: nothing to do). */
bool fth_store_apply_key(const fth_stype *type, json_object *key, json_object *data,
                         fth_store_error *e);
/* Server-side defaults of a new entity: schema defaults, ids, creation times, the user. */
void fth_store_apply_defaults(fth_store *store, const fth_stype *type, json_object *data);
/* Every foreign key set (and, with `before`, changed) must point at an existing entity. */
bool fth_store_check_references(fth_store *store, const fth_stype *type, json_object *data,
                                json_object *before, fth_store_error *e);

/* ---- store_links.c ------------------------------------------------------------------------- */

/* Every collection of `input` (entity_data) set on the entity `data`: each listed item's
 * foreign key is pointed at it (items must exist). */
bool fth_store_link_collections(fth_store *store, const fth_stype *type, json_object *data,
                                json_object *input, fth_store_error *e);
/* The collections that `input` set, added to the entity `out` a create or update answers with:
 * the client keeps what the server answers, so an answer without them would empty its copy. */
void fth_store_echo_collections(const fth_stype *type, json_object *input, json_object *out);

/* ---- store_rules.c ------------------------------------------------------------------------- */

/* What the server fills in on a new entity: a typed context's project, bid, sort and default
 * priority (the lowest-sorted one), a project's workflow schema and full name (its name), a
 * component's system type. */
void fth_store_derive(fth_store *store, const fth_stype *type, json_object *data);
/* Names are unique among siblings (contexts under one parent, projects, assets of one type in
 * one context), compared without case. */
bool fth_store_check_unique_name(fth_store *store, const fth_stype *type, json_object *data,
                                 fth_store_error *e);
/* A new Timer is refused (DuplicateEntryError) while its user has one. */
bool fth_store_check_one_timer(fth_store *store, const fth_stype *type, json_object *data,
                               fth_store_error *e);
/* Delete what the entity `data` owns (children, assets, versions, notes, metadata...). */
bool fth_store_delete_owned(fth_store *store, const fth_stype *type, json_object *data,
                            fth_store_error *e);

/* ---- store_custom.c ------------------------------------------------------------------------ */

/* Custom attribute values exist for every configuration that applies to an entity (ftrack's
 * clients read them as a dense mapping and set them by update): after a create, add the
 * missing value rows (with the configuration's default) for a new entity, or for every entity
 * a new configuration applies to. */
void fth_store_custom_values_for(fth_store *store, const fth_stype *type, json_object *data);

/* ---- store_computed.c ---------------------------------------------------------------------- */

/* The computed attribute `name` of an entity (link, time_logged, thumbnail_url) in *out (a new
 * reference; NULL for none); false when `name` is not one this hub computes. */
bool fth_store_computed(fth_store *store, const fth_stype *type, json_object *data,
                        const char *name, json_object **out);
/* The typed contexts above a context, root first: [{"type", "data"}] (a new array). */
json_object *fth_store_ancestors(fth_store *store, json_object *data);

/* ---- store_events.c ------------------------------------------------------------------------ */

/* Record one write of the batch ("add", "update", "remove"; old/new may be NULL). */
void fth_store_record_change(fth_store *store, const char *action, const fth_stype *type,
                             json_object *old, json_object *new_data);
/* The ftrack.update event for the batch's recorded changes (a new wire event). */
json_object *fth_store_build_event(fth_store *store);

#endif
