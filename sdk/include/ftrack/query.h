/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_QUERY_H
#define FTRACK_QUERY_H
/*
 * Queries and recorded operations (protocol §1.4, §3.4): reading entities from the server
 * and sending the changes made to them.
 *
 * Recorded operations. ftrack_session_create(), ftrack_entity_set() and ftrack_session_delete()
 * record an operation while the calling thread's record-operations flag is on;
 * ftrack_session_commit() sends the calling thread's operations as one batch, optimised as the
 * Python client does (protocol §3.4), merges the results into the cache and clears them;
 * ftrack_session_rollback() drops them and removes the entities they created from the cache.
 * A failed commit keeps the operations, so the caller may retry or roll back.
 *
 * Threads. As for entities (ftrack/entity.h): the session is shared by all threads; a query
 * and the handles it returns belong to the thread that made them. Recording flags and
 * recorded operations are per thread.
 *
 * Ownership. Strings and JSON passed in are borrowed (and copied where kept). Every query,
 * handle, list and JSON object handed out is new and owned by the caller: free queries with
 * ftrack_query_free(), handles with ftrack_entity_free(), lists with
 * ftrack_entity_list_free(), JSON with json_object_put().
 */
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/entity.h>
#include <ftrack/session.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ftrack_query ftrack_query;

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

#ifdef __cplusplus
}
#endif
#endif
