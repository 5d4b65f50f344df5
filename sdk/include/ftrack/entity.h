/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_ENTITY_H
#define FTRACK_ENTITY_H
/*
 * Entity handles and media (protocol §1.4, §4). Queries and recorded operations, which
 * produce and change entities, are in ftrack/query.h.
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
