#ifndef FTH_HUB_STORE_H
#define FTH_HUB_STORE_H
/*
 * The embedded hub's entity store: ftrack entities in SQLite, typed by the schema set, with
 * ftrack's query language (query.h) and create/update/delete.
 *
 * Storage choice: ONE table of entities (type, primary key, attributes as a JSON object), not a
 * table per type. ftrack's types are polymorphic (a query for Context returns Projects and
 * Tasks, one for Component returns FileComponents), their attribute sets come from a schema
 * file that may change between runs, and attributes are compared through SQLite's JSON
 * functions, so one table keeps polymorphic queries to one SELECT and needs no migrations.
 *
 * Transactions. Every call between fth_store_begin() and fth_store_end() runs in one SQLite
 * transaction under the store's lock (the store is used by the service thread and by the
 * encode workers). fth_store_end(commit=true) commits and hands back the ftrack.update event
 * describing what changed; false rolls everything back.
 *
 * Errors are ftrack's: on failure a call fills an fth_store_error (exception name and
 * content) and the caller ends the batch without committing.
 *
 * Ownership: returned json_objects are new references owned by the caller.
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/common.h>

#include "schema_catalog.h"

typedef struct fth_store fth_store;

typedef struct fth_store_error {
    char exception[64];
    char content[512];
} fth_store_error;

/* Fill *e (the first error wins; NULL is accepted). */
void fth_store_fail(fth_store_error *e, const char *exception, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The ftrack.server location: where uploads and encoded outputs live. */
#define FTH_SERVER_LOCATION_ID "3a372bde-05bc-11e4-8908-20c9d081909b"

/* Open (creating when missing) the store at `path`; NULL → an in-memory store that lives as
 * long as the fth_store. Loads `seed_file` when not NULL (fth_store_seed). `api_user` is the
 * hub's user: a User with that username is created when missing (after the seed, which may
 * define it), and changes are attributed to it. The schema must outlive the store. Also fails
 * jobs left queued or running by a previous run (their worker is gone). */
ftrack_status fth_store_open(const fth_schema *schema, const char *path, const char *api_user,
                             const char *seed_file, fth_store **out, ftrack_error *err);
void fth_store_close(fth_store *store);

/* Load a seed file: a JSON array of entities ({"__entity_type__": "Project", ...}), or an
 * object {"entities": [...]}. Entities whose primary key already exists are left as they are,
 * so a seed can be given on every start. Runs in its own transaction; publishes nothing. */
ftrack_status fth_store_seed(fth_store *store, const char *file, size_t *added, ftrack_error *err);

/* The server's URL, for the URLs of computed attributes (copied). */
void fth_store_set_server_url(fth_store *store, const char *url);

/* The id of the hub user's User entity (borrowed). */
const char *fth_store_user_id(const fth_store *store);

void fth_store_begin(fth_store *store);
/* As fth_store_begin, acting for the User `username` (its changes are attributed to it); the
 * hub user when NULL or when there is no such User. */
void fth_store_begin_as(fth_store *store, const char *username);
/* The usernames of every stored User (a new array of strings). Not within a batch. */
json_object *fth_store_usernames(fth_store *store);
/* Before committing: every entity the batch created or changed has its schema's required
 * attributes (false with *e set: end the batch without committing). */
bool fth_store_check_batch(fth_store *store, fth_store_error *e);
/* Ends the batch. With commit, returns the ftrack.update event (a full wire event) for the
 * batch's changes, or NULL when nothing changed or the commit failed (*committed says which). */
json_object *fth_store_end(fth_store *store, bool commit, bool *committed);

/* {"action":"query","data":[...],"metadata":{"next":{"offset":...}}} or NULL. */
json_object *fth_store_query(fth_store *store, const char *expression, fth_store_error *e);
/* {"action":"create","data":{...}} or NULL. `key` may be NULL. */
json_object *fth_store_create(fth_store *store, const char *type, json_object *key,
                              json_object *data, fth_store_error *e);
json_object *fth_store_update(fth_store *store, const char *type, json_object *key,
                              json_object *data, fth_store_error *e);
json_object *fth_store_delete(fth_store *store, const char *type, json_object *key,
                              fth_store_error *e);
/* The stored attributes of one entity (a new object, with "__entity_type__"), or NULL. */
json_object *fth_store_get(fth_store *store, const char *type, const char *id);

/* Now as ftrack writes times: "YYYY-MM-DDTHH:MM:SS" in UTC. */
void fth_store_now(char out[32]);

#endif
