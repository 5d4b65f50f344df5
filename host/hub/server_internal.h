/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_SERVER_INTERNAL_H
#define FHUB_SERVER_INTERNAL_H
/*
 * Private pieces of the embedded hub, split so each can be tested without sockets:
 *   router.c   subscribers per connection, topic index, routing (protocol Appendix B)
 *   wire.c     socket.io event payloads: parse with limits, forward as received or normalise
 *   api.c      POST /api
 *   auth.c     credential checks shared by the handshake, the websocket and /api
 * All of it runs on the hub's service thread only: no locks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/expression.h>

/* ---- router.c ------------------------------------------------------------------------------ */

typedef struct fhub_router fhub_router;
typedef struct fhub_router_sub fhub_router_sub;

/* A connection as the router sees it; embedded in the server's connection record and
 * zero-initialised by it. */
typedef struct fhub_route_peer {
    fhub_router_sub **subs;
    size_t nsubs, cap;
    uint64_t mark; /* last route generation that delivered here: once per connection */
} fhub_route_peer;

fhub_router *fhub_router_new(void);
/* Every peer must have been removed first. NULL is accepted. */
void fhub_router_free(fhub_router *router);

/* Register subscriber `metadata` (an object with a string "id"; a reference is taken) with
 * `subscription` on `peer`. The same id again on the same peer replaces the old entry (the
 * JavaScript client announces every subscriber twice). FTRACK_ERR_PARSE for a bad
 * expression, FTRACK_ERR_INVALID_ARGUMENT for metadata without an id. */
ftrack_status fhub_router_subscribe(fhub_router *router, fhub_route_peer *peer, json_object *metadata,
                                   const char *subscription, ftrack_error *err);
/* FTRACK_ERR_NOT_FOUND when `peer` has no subscriber with that id. */
ftrack_status fhub_router_unsubscribe(fhub_router *router, fhub_route_peer *peer, const char *id,
                                     ftrack_error *err);
/* Forget every subscriber of `peer` (connection closed). */
void fhub_router_remove_peer(fhub_router *router, fhub_route_peer *peer);

typedef void (*fhub_route_deliver_fn)(fhub_route_peer *peer, void *user_data);
/* Call `deliver` once for each peer with at least one subscriber whose subscription matches
 * `event` and, when `target` is not NULL, whose metadata matches `target`. Returns the
 * number of peers delivered to. Candidates come from the topic index (exact topics, topic
 * prefixes) plus the subscribers whose expression gives no topic hint. */
size_t fhub_router_route(fhub_router *router, json_object *event, const ftrack_expression *target,
                        fhub_route_deliver_fn deliver, void *user_data);

size_t fhub_router_subscriber_count(const fhub_router *router);
/* Subscribers the last fhub_router_route() call evaluated (to test that the index works). */
size_t fhub_router_last_candidates(const fhub_router *router);

/* ---- wire.c -------------------------------------------------------------------------------- */

/* The event inside a socket.io event packet's data, ready to route. */
typedef struct fhub_wire_event {
    json_object *payload; /* the parsed packet data (owned) */
    json_object *event;   /* what is routed and matched: borrowed from payload, or a
                             normalised copy (owned by `normalised`) */
    json_object *normalised;
    const char *topic; /* borrowed from event */
    const char *raw;   /* the bytes to forward when `normalised` is NULL (into the packet) */
    size_t raw_len;
    char *text; /* a serialisation when neither applies (owned) */
} fhub_wire_event;

/* Parse `data` (a socket.io event packet's data field): valid UTF-8, JSON nested at most
 * `max_depth`, {"name":"ftrack.event","args":[<object>]}, a string topic. On failure returns
 * FTRACK_ERR_PARSE / FTRACK_ERR_INVALID_ARGUMENT with a message fit for an ack. The event
 * is then either forwardable as received (exactly the seven wire keys, source an object) or
 * normalised: unknown keys dropped, in_reply_to_event renamed, missing sent null, missing
 * source filled as {"id": <new>, "user": {"username": username}}. */
ftrack_status fhub_wire_event_parse(const char *data, size_t len, int max_depth,
                                   const char *username, fhub_wire_event *out, ftrack_error *err);
/* The event's wire text (borrowed from *ev). */
const char *fhub_wire_event_text(fhub_wire_event *ev, size_t *len);
void fhub_wire_event_clear(fhub_wire_event *ev);

/* ---- api.c --------------------------------------------------------------------------------- */

typedef struct fhub_api fhub_api;

/* Load the schema set from `schema_file` (a JSON array). */
ftrack_status fhub_api_new(const char *schema_file, fhub_api **out, ftrack_error *err);
void fhub_api_free(fhub_api *api);
/* The schema hash query_server_information reports (32 hex chars). */
const char *fhub_api_schema_hash(const fhub_api *api);

/* Answer one POST /api body. `authenticated` says whether the request's credentials were
 * right; `strict` is the ftrack-strict-api header. Returns a malloc'ed JSON text in *body and
 * the HTTP status in *status. NULL only when out of memory. */
char *fhub_api_handle(fhub_api *api, const char *request, size_t len, bool authenticated, bool strict,
                     int max_depth, int *status, size_t *body_len);
/* As fhub_api_handle, for the request's user (NULL: the hub user): its batches act for that
 * User, and a failed request is logged with it (one line: user, action, error). */
char *fhub_api_handle_as(fhub_api *api, const char *user, const char *request, size_t len,
                        bool authenticated, bool strict, int max_depth, int *status,
                        size_t *body_len);

/* ---- auth.c -------------------------------------------------------------------------------- */

/* Constant-time check of a user/key pair: the configured user with the configured key, or any
 * other user with the key fhub_auth_user_key derives for it. NULLs never match. */
bool fhub_auth_check(const char *want_user, const char *want_key, const char *user, const char *key);

/* The API key of `username` on a hub whose key is `hub_key`: 64 hex digits and a NUL. */
#define FHUB_USER_KEY_LEN 65
void fhub_auth_user_key(const char *hub_key, const char *username, char out[FHUB_USER_KEY_LEN]);

#endif
