/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_STORE_H
#define FHUB_STORE_H
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
 * Transactions. Every call between fhub_store_begin() and fhub_store_end() runs in one SQLite
 * transaction under the store's lock (the store is used by the service thread and by the
 * encode workers). fhub_store_end(commit=true) commits and hands back the ftrack.update event
 * describing what changed; false rolls everything back.
 *
 * Errors are ftrack's: on failure a call fills an fhub_store_error (exception name and
 * content) and the caller ends the batch without committing.
 *
 * Ownership: returned json_objects are new references owned by the caller.
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/common.h>

#include "schema_catalog.h"

typedef struct fhub_store fhub_store;

typedef struct fhub_store_error {
    char exception[64];
    char content[512];
} fhub_store_error;

/* Fill *e (the first error wins; NULL is accepted). */
void fhub_store_fail(fhub_store_error *e, const char *exception, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The ftrack.server location: where uploads and encoded outputs live. */
#define FHUB_SERVER_LOCATION_ID "3a372bde-05bc-11e4-8908-20c9d081909b"

/* Open (creating when missing) the store at `path`; NULL → an in-memory store that lives as
 * long as the fhub_store. Loads `seed_file` when not NULL (fhub_store_seed). `api_user` is the
 * hub's user: a User with that username is created when missing (after the seed, which may
 * define it), and changes are attributed to it. The schema must outlive the store. Also fails
 * jobs left queued or running by a previous run (their worker is gone). */
ftrack_status fhub_store_open(const fhub_schema *schema, const char *path, const char *api_user,
                             const char *seed_file, fhub_store **out, ftrack_error *err);
void fhub_store_close(fhub_store *store);

/* Load a seed file: a JSON array of entities ({"__entity_type__": "Project", ...}), or an
 * object {"entities": [...]}. Entities whose primary key already exists are left as they are,
 * so a seed can be given on every start. Runs in its own transaction; publishes nothing. */
ftrack_status fhub_store_seed(fhub_store *store, const char *file, size_t *added, ftrack_error *err);

/* The server's URL, for the URLs of computed attributes (copied). */
void fhub_store_set_server_url(fhub_store *store, const char *url);

/* The id of the hub user's User entity (borrowed). */
const char *fhub_store_user_id(const fhub_store *store);

void fhub_store_begin(fhub_store *store);
/* As fhub_store_begin, acting for the User `username` (its changes are attributed to it); the
 * hub user when NULL or when there is no such User. */
void fhub_store_begin_as(fhub_store *store, const char *username);
/* The usernames of every stored User (a new array of strings). Not within a batch. */
json_object *fhub_store_usernames(fhub_store *store);
/* Before committing: every entity the batch created or changed has its schema's required
 * attributes (false with *e set: end the batch without committing). */
bool fhub_store_check_batch(fhub_store *store, fhub_store_error *e);
/* Ends the batch. With commit, returns the ftrack.update event (a full wire event) for the
 * batch's changes, or NULL when nothing changed or the commit failed (*committed says which). */
json_object *fhub_store_end(fhub_store *store, bool commit, bool *committed);

/* {"action":"query","data":[...],"metadata":{"next":{"offset":...}}} or NULL. */
json_object *fhub_store_query(fhub_store *store, const char *expression, fhub_store_error *e);
/* {"action":"create","data":{...}} or NULL. `key` may be NULL. */
json_object *fhub_store_create(fhub_store *store, const char *type, json_object *key,
                              json_object *data, fhub_store_error *e);
json_object *fhub_store_update(fhub_store *store, const char *type, json_object *key,
                              json_object *data, fhub_store_error *e);
json_object *fhub_store_delete(fhub_store *store, const char *type, json_object *key,
                              fhub_store_error *e);
/* The stored attributes of one entity (a new object, with "__entity_type__"), or NULL. */
json_object *fhub_store_get(fhub_store *store, const char *type, const char *id);

/* Now as ftrack writes times: "YYYY-MM-DDTHH:MM:SS" in UTC. */
void fhub_store_now(char out[32]);

#endif
