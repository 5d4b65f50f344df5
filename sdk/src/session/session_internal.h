/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_SESSION_INTERNAL_H
#define FTI_SESSION_INTERNAL_H
/*
 * The session's private side, for the SDK's other modules (entities, commit, encode_media).
 *
 * Threads. Everything in struct ftrack_session is either immutable after open, atomic, or
 * guarded by the lock named beside it. The per-thread state (flags and recorded operations)
 * is only ever touched by its own thread, except at ftrack_session_free() when no other thread
 * may use the session any more.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <json-c/json.h>
#include <ftrack/cache.h>
#include <ftrack/entity.h>
#include <ftrack/query.h>
#include <ftrack/session.h>

#include "session/http.h"

/* One thread's view of one session. */
typedef struct fti_thread_state {
    uint64_t thread_id; /* process-unique, never reused (unlike pthread_t) */
    bool auto_populate;
    bool record_operations;
    /* Operations recorded by this thread and not yet committed: a JSON array owned by the
     * state, touched only by this thread. */
    json_object *recorded_operations;
    struct fti_thread_state *next;
} fti_thread_state;

struct ftrack_session {
    /* Immutable after open. */
    char *server_url; /* no trailing '/' */
    char *api_user;
    char *api_key;
    char *plugin_paths;            /* ':'-separated, or NULL */
    json_object *plugin_arguments; /* object; read-only after open */
    char *schema_cache_path;       /* folder, NULL when the cache is disabled */
    struct ftrack_cache *cache;    /* the user's cache, borrowed from the options, or NULL */
    struct ftrack_key_maker *key_maker; /* the user's, or own_key_maker */
    struct ftrack_key_maker *own_key_maker; /* the default string key maker, owned */
    struct ftrack_cache *memory_cache;  /* layer 0, owned */
    struct ftrack_cache *layered_cache; /* memory over the user's cache; owned, freed first */
    /* Serialises read-merge-write of cached entity values, so two threads merging into one
     * entity never lose each other's attributes. */
    pthread_mutex_t cache_lock;
    bool default_auto_populate;
    bool default_record_operations;
    bool check_server;
    char **headers; /* custom headers + "ftrack-strict-api: ...", NULL-terminated */
    fti_http *http;
    ftrack_hub *hub;
    bool plugins_discovered;

    atomic_bool closed;

    pthread_mutex_t info_lock;       /* guards server_information */
    json_object *server_information; /* object or NULL */
    pthread_mutex_t schema_lock;     /* held while loading; guards schemas */
    json_object *schemas;            /* array or NULL (not loaded yet); read-only once set */

    pthread_mutex_t threads_lock; /* guards the list (not the states' contents) */
    fti_thread_state *threads;

    struct ftrack_session *next_live; /* registry of live sessions (session.c) */
};

/* ---- options.c ------------------------------------------------------------------------- */

/* Copy caller options (honouring their `size`) over the defaults. `in` may be NULL. */
void fti_session_options_copy(const ftrack_session_options *in, ftrack_session_options *out);
/* The login user: LOGNAME, USER, LNAME, USERNAME, then getlogin_r(), then the password
 * database (Python's getpass.getuser() order). New string or NULL. */
char *fti_login_user(void);
/* Option, else FTRACK_EVENT_PLUGIN_PATH, else NULL. New string. */
char *fti_resolve_plugin_paths(const ftrack_session_options *options);
/* Option, else FTRACK_API_SCHEMA_CACHE_PATH, else $TMPDIR, else /tmp; NULL when disabled
 * (or out of memory: check options->schema_cache_disabled to tell). New string. */
char *fti_resolve_schema_cache_path(const ftrack_session_options *options);

/* ---- session.c ------------------------------------------------------------------------- */

/* The calling thread's state, created on first use with the session's defaults. NULL only
 * when out of memory. */
fti_thread_state *fti_session_thread_state(ftrack_session *session);
/* The calling thread's recorded operations (a JSON array, borrowed, owned by this thread's
 * state; never hand it to another thread). NULL only when out of memory. */
json_object *fti_session_recorded_operations(ftrack_session *session);
/* FTRACK_ERR_CLOSED with the standard message when the session is closed. */
ftrack_status fti_session_check_open(const ftrack_session *session, ftrack_error *err);
/* A new operation {"action": action} for the caller to add fields to; NULL when out of memory. */
json_object *fti_operation_new(const char *action);
/* Send the one-operation batch [op] (op taken, NULL accepted as out of memory). *results
 * receives the whole answer (owned; the operation's result is element 0). */
ftrack_status fti_session_call_one(ftrack_session *session, json_object *op, json_object **results,
                                   ftrack_error *err);
/* The version check of protocol §1.2 step 8 on a server information object. */
ftrack_status fti_session_check_version(json_object *server_information, ftrack_error *err);

/* ---- schema.c -------------------------------------------------------------------------- */

/* Load the schemas (from the cache when its hash matches server_information's schema_hash,
 * else with query_schemas, refreshing the cache) unless already loaded. */
ftrack_status fti_session_load_schemas(ftrack_session *session, ftrack_error *err);
/* The MD5 hex digest of Python's json.dumps(schemas, sort_keys=True): the schema hash of
 * protocol §1.3. New string, NULL when out of memory. */
char *fti_schema_hash(json_object *schemas);

/* The schemas array, loading it on first use. Borrowed and read-only: never change it, never
 * take a reference (json-c's reference counts are not atomic) and never serialise it in
 * place from several threads; deep-copy what you need to keep. */
ftrack_status fti_session_schemas(ftrack_session *session, json_object **schemas,
                                  ftrack_error *err);

/* ---- entity.c / query.c / operations.c / media.c ---------------------------------------- */

/* The schema of `type` (borrowed, read-only as above), or NULL when unknown or unloaded. */
json_object *fti_session_schema_for(ftrack_session *session, const char *type);
/* The primary key attribute names of `type` (a borrowed array), or NULL when unknown. */
json_object *fti_schema_primary_key(json_object *schema);

/* Python's identity string of an entity, "('<Type>', ['<v1>', '<v2>'])" (str() of the tuple,
 * repr() quoting). New string. */
char *fti_entity_identity(const char *type, json_object *key_values);
/* The cache key for (type, key values) made by the session's key maker. New string. */
char *fti_entity_cache_key(ftrack_session *session, const char *type, json_object *key_values,
                           ftrack_error *err);
/* The primary key values (new array of strings) of an entity object given its type; NULL and
 * an error when one is missing. */
json_object *fti_entity_key_values(ftrack_session *session, const char *type, json_object *data,
                                   ftrack_error *err);

/* Merge an entity object received from the server (and the entities nested in it) into the
 * cache; *merged (may be NULL) receives a new object with every value now cached for it. */
ftrack_status fti_session_merge(ftrack_session *session, json_object *data, json_object **merged,
                                ftrack_error *err);
/* A new handle for an entity object (values deep-copied). */
ftrack_status fti_entity_from_json(ftrack_session *session, json_object *data,
                                   ftrack_entity **out, ftrack_error *err);
/* An operation record for an entity: {"op", "entity_type", "entity_key" [values],
 * "primary_key" {name: value}}; new, the caller adds the rest. NULL when out of memory. */
json_object *fti_entity_operation(const ftrack_entity *entity, const char *op);
/* Remove an entity from the cache (missing is fine). */
void fti_session_cache_drop(ftrack_session *session, const char *type, json_object *key_values);

/* One /api query: records (borrowed from *results, a new array to free) and metadata. */
ftrack_status fti_session_raw_query(ftrack_session *session, const char *expression,
                                    json_object **results, json_object **data,
                                    json_object **metadata, ftrack_error *err);

/* Record an operation on the calling thread when it records operations (op is taken). */
ftrack_status fti_session_record(ftrack_session *session, json_object *op, ftrack_error *err);
/* The optimised batch of protocol §3.4 for recorded operations (borrowed array); new array. */
json_object *fti_operations_build_batch(json_object *operations);

/* A new dashed uuid4 string ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"). */
char *fti_uuid4(void);

#endif
