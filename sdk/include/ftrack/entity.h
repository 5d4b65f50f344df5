#ifndef FTRACK_ENTITY_H
#define FTRACK_ENTITY_H
/*
 * Entities, queries, recorded operations and encode_media (protocol §1.4, §3.4, §4).
 *
 * Entities. A query result (a JSON object with "__entity_type__") becomes an entity handle:
 * its type, its primary key and the attribute values loaded so far. The session also merges
 * every entity it receives into its cache (memory on top, the user's cache beneath), under the
 * key the key maker makes of the Python client's identity string, e.g. "('User', ['<id>'])"
 * with the default string key maker; cached values are the entity's JSON text.
 *
 * Reading an attribute the handle has not loaded looks in the cache, then, when the calling
 * thread's auto-populate flag is on, fetches it (`select <attr> from <Type> where id is
 * "<id>"`); with auto-populate off it is FTRACK_ERR_NOT_FOUND saying the attribute is not
 * loaded. Nested entities (relations) are returned as JSON (ftrack_entity_get) or as new
 * handles (ftrack_entity_get_entity).
 *
 * Recorded operations. ftrack_session_create(), ftrack_entity_set() and ftrack_session_delete()
 * record an operation while the calling thread's record-operations flag is on;
 * ftrack_session_commit() sends the calling thread's operations as one batch, optimised as the
 * Python client does (protocol §3.4), merges the results into the cache and clears them;
 * ftrack_session_rollback() drops them and removes the entities they created from the cache.
 * A failed commit keeps the operations, so the caller may retry or roll back.
 *
 * Threads. The session and its cache are shared by all threads. An entity handle belongs to
 * the thread that got it: use and free it there. Handles are snapshots, not live views: a
 * handle does not see values another handle sets, and after a rollback its locally set values
 * remain (fetch it again).
 *
 * Ownership. Strings and JSON passed in are borrowed (and copied where kept). Every handle,
 * list, string and JSON object handed out is new and owned by the caller: free handles with
 * ftrack_entity_free(), lists with ftrack_entity_list_free(), strings with ftrack_free(),
 * JSON with json_object_put().
 */
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/session.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ftrack_entity ftrack_entity;
typedef struct ftrack_query ftrack_query;

/* The built-in server location (protocol §1.2 step 16); encode_media's uploads go there. */
#define FTRACK_SERVER_LOCATION_ID "3a372bde-05bc-11e4-8908-20c9d081909b"

/* ---- Entity handles ----------------------------------------------------------------------- */

/* Borrowed strings, valid for the handle's life. */
FTRACK_API const char *ftrack_entity_type(const ftrack_entity *entity);
/* The "id" attribute, or for other primary keys the first key value. */
FTRACK_API const char *ftrack_entity_id(const ftrack_entity *entity);
/* The cache key of the entity (the key maker's key of its identity). */
FTRACK_API const char *ftrack_entity_cache_key(const ftrack_entity *entity);
/* A new JSON array of the primary key values (strings), in the schema's order. */
FTRACK_API json_object *ftrack_entity_primary_key(const ftrack_entity *entity);
/* A new reference object {"__entity_type__": <type>, <primary key attributes>}, as relations
 * are written in create/update data. */
FTRACK_API json_object *ftrack_entity_reference(const ftrack_entity *entity);
/* A new object with "__entity_type__" and every value the handle holds. */
FTRACK_API json_object *ftrack_entity_json(const ftrack_entity *entity);
/* True when the handle holds a value (possibly null) for the attribute. No fetching. */
FTRACK_API bool ftrack_entity_loaded(const ftrack_entity *entity, const char *attribute);

/* Read an attribute into *value (a new deep copy; JSON null is returned as NULL). Not loaded:
 * the cache, then the server when this thread auto-populates; otherwise FTRACK_ERR_NOT_FOUND.
 * An attribute the schema does not know is FTRACK_ERR_INVALID_ARGUMENT. */
FTRACK_API ftrack_status ftrack_entity_get(ftrack_entity *entity, const char *attribute,
                                           json_object **value, ftrack_error *err);
/* As ftrack_entity_get for a string attribute: *value is a new string (NULL for null);
 * another JSON type is FTRACK_ERR_INVALID_ARGUMENT. */
FTRACK_API ftrack_status ftrack_entity_get_string(ftrack_entity *entity, const char *attribute,
                                                  char **value, ftrack_error *err);
/* As ftrack_entity_get for a relation holding one entity: *related is a new handle (NULL when
 * the relation is null). */
FTRACK_API ftrack_status ftrack_entity_get_entity(ftrack_entity *entity, const char *attribute,
                                                  ftrack_entity **related, ftrack_error *err);
/* Set an attribute locally (value borrowed and copied; NULL is JSON null) and record an
 * update while this thread records operations. Primary key attributes cannot be set. */
FTRACK_API ftrack_status ftrack_entity_set(ftrack_entity *entity, const char *attribute,
                                           json_object *value, ftrack_error *err);
FTRACK_API void ftrack_entity_free(ftrack_entity *entity);

/* A list of handles (owned by the list). */
typedef struct ftrack_entity_list {
    ftrack_entity **items;
    size_t count;
} ftrack_entity_list;
/* Frees the handles and the list. NULL is accepted. */
FTRACK_API void ftrack_entity_list_free(ftrack_entity_list *list);

/* ---- Queries (protocol §3.4) -------------------------------------------------------------- */

/* Prepare a query; nothing is sent until the first ftrack_query_next()/ftrack_query_all().
 * An expression not starting with "select" becomes "select <the type's default projections>
 * from <expression>" (FTRACK_ERR_INVALID_ARGUMENT for a type the schemas lack). Any
 * "offset N" / "limit N" is taken out of the expression; pages are fetched as
 * "<expression> offset <next> limit <page size>" following metadata.next.offset until it is
 * null (or the expression's own limit is reached). page_size 0 → 500. */
FTRACK_API ftrack_status ftrack_session_query(ftrack_session *session, const char *expression,
                                              size_t page_size, ftrack_query **out,
                                              ftrack_error *err);
/* The next entity (a new handle), fetching the next page when needed; *entity is NULL after
 * the last one. A page answer whose metadata.next is not an object is
 * FTRACK_ERR_BAD_RESPONSE. */
FTRACK_API ftrack_status ftrack_query_next(ftrack_query *query, ftrack_entity **entity,
                                           ftrack_error *err);
/* Every remaining entity as a new list. */
FTRACK_API ftrack_status ftrack_query_all(ftrack_query *query, ftrack_entity_list **list,
                                          ftrack_error *err);
/* The expression pages are built from (after rewriting and stripping). Borrowed. */
FTRACK_API const char *ftrack_query_expression(const ftrack_query *query);
FTRACK_API void ftrack_query_free(ftrack_query *query);

/* Convenience: run a query to its end. */
FTRACK_API ftrack_status ftrack_session_query_all(ftrack_session *session, const char *expression,
                                                  ftrack_entity_list **list, ftrack_error *err);
/* The first result (" limit 1" appended; *entity NULL when there is none). An expression that
 * already has a limit or offset is FTRACK_ERR_INVALID_ARGUMENT. */
FTRACK_API ftrack_status ftrack_session_query_first(ftrack_session *session, const char *expression,
                                                    ftrack_entity **entity, ftrack_error *err);
/* Exactly one result (" limit 2" appended): none is FTRACK_ERR_NOT_FOUND ("NoResultFound"),
 * several FTRACK_ERR_EXISTS ("MultipleResultsFound"). */
FTRACK_API ftrack_status ftrack_session_query_one(ftrack_session *session, const char *expression,
                                                  ftrack_entity **entity, ftrack_error *err);
/* The entity of `type` with primary key `id` (single-key types): from the cache when there,
 * else `<type> where (id is "<id>")`. Missing is FTRACK_ERR_NOT_FOUND. */
FTRACK_API ftrack_status ftrack_session_get(ftrack_session *session, const char *type,
                                            const char *id, ftrack_entity **entity,
                                            ftrack_error *err);

/* ---- Recorded operations (protocol §1.4, §3.4) -------------------------------------------- */

/* Create an entity locally: data (an object, borrowed, may be NULL) gives its values; a type
 * whose primary key is "id" gets a new uuid4 when data has none; other primary keys must be
 * given. The entity is put in the cache and a create is recorded while this thread records
 * operations. *entity (may be NULL) receives a new handle. */
FTRACK_API ftrack_status ftrack_session_create(ftrack_session *session, const char *type,
                                               json_object *data, ftrack_entity **entity,
                                               ftrack_error *err);
/* Record the deletion of an entity (while this thread records operations). */
FTRACK_API ftrack_status ftrack_session_delete(ftrack_session *session, ftrack_entity *entity,
                                               ftrack_error *err);
/* Send this thread's recorded operations as one optimised batch (nothing is sent when the
 * batch is empty), merge the created/updated entities into the cache, drop deleted ones from
 * it, and clear the operations. On failure the operations are kept. */
FTRACK_API ftrack_status ftrack_session_commit(ftrack_session *session, ftrack_error *err);
/* Drop this thread's recorded operations; entities they created leave the cache. */
FTRACK_API void ftrack_session_rollback(ftrack_session *session);
/* Number of operations this thread has recorded and not committed. */
FTRACK_API size_t ftrack_session_recorded_operation_count(ftrack_session *session);
/* The batch ftrack_session_commit() would send now (a new JSON array), for inspection. */
FTRACK_API json_object *ftrack_session_pending_batch(ftrack_session *session);

/* ---- Media (protocol §2 uploads, §4) ------------------------------------------------------ */

/* Create a FileComponent for a local file in the server location and upload the file:
 * create the component (name: data's "name", else the file name without its extension;
 * file_type: the extension with its dot; size) and commit, ask get_upload_metadata (checksum:
 * base64 MD5), PUT the file with exactly the headers returned, create the ComponentLocation
 * and commit, then announce ftrack.location.component-added when the hub is connected.
 * data (borrowed, may be NULL) adds attributes (e.g. "version_id"). Note that both commits
 * send the calling thread's other recorded operations too, as the Python client does. */
FTRACK_API ftrack_status ftrack_session_create_component(ftrack_session *session, const char *path,
                                                         json_object *data,
                                                         ftrack_entity **component,
                                                         ftrack_error *err);
/* Ask the server to encode a component (keep_original: keep it as a version component).
 * version_id may be NULL. *job (may be NULL) receives the Job entity (one more query). A
 * server without encode_media is FTRACK_ERR_COMPATIBILITY. */
FTRACK_API ftrack_status ftrack_session_encode_media(ftrack_session *session,
                                                     const char *component_id,
                                                     const char *version_id, bool keep_original,
                                                     ftrack_entity **job, ftrack_error *err);
/* Upload a local file (ftrack_session_create_component, with version_id as data when
 * keep_original), then encode it. */
FTRACK_API ftrack_status ftrack_session_encode_media_file(ftrack_session *session, const char *path,
                                                          const char *version_id,
                                                          bool keep_original, ftrack_entity **job,
                                                          ftrack_error *err);
/* Poll the Job (`select id, status, data from Job where id is "<id>"`, backing off from 0.1 s
 * to 2 s) until its status is "done" (FTRACK_OK) or "failed" (FTRACK_ERR_SERVER, the job's
 * message in err), or `timeout` seconds pass (FTRACK_ERR_TIMEOUT). *job (may be NULL)
 * receives the last Job entity read, also on failure and timeout. */
FTRACK_API ftrack_status ftrack_session_wait_for_job(ftrack_session *session, const char *job_id,
                                                     double timeout, ftrack_entity **job,
                                                     ftrack_error *err);

#ifdef __cplusplus
}
#endif
#endif
