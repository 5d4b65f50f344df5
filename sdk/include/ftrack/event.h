/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_EVENT_H
#define FTRACK_EVENT_H
/*
 * An ftrack event: exactly the seven wire keys `id`, `topic`, `data`, `source`, `target`,
 * `sent` and `inReplyToEvent` (protocol §5.5, §6.1), plus a local `stopped` flag that is
 * never serialised.
 *
 * Ownership: an ftrack_event owns one json-c object holding the wire keys. Accessors that
 * return `json_object *` or `const char *` return borrowed pointers, valid until the event is
 * changed or freed. Functions documented "takes" take over the caller's reference.
 * An event is not thread-safe and, since json-c reference counts are not atomic, must never
 * be shared between threads: serialise it and parse it again on the other thread.
 */
#include <json-c/json.h>
#include <ftrack/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ftrack_event ftrack_event;

/* Largest JSON nesting the SDK accepts in an event (deeper input is refused). */
#define FTRACK_EVENT_MAX_DEPTH 64

/* A new event with a fresh id (uuid4 as 32 hex chars), `data` (taken; NULL means {}), empty
 * source, empty target, null sent and null inReplyToEvent. Returns NULL only when out of
 * memory or topic is NULL/empty. */
FTRACK_API ftrack_event *ftrack_event_new(const char *topic, json_object *data);

/* Build an event from a wire object (borrowed; deep-copied). Accepts `in_reply_to_event` as
 * an alias of `inReplyToEvent`. Fails with FTRACK_ERR_INVALID_ARGUMENT when `topic` is
 * missing or not a string, or an unknown top-level key is present and `strict` is true.
 * Missing keys get the defaults above; null data/source become {}. */
FTRACK_API ftrack_status ftrack_event_from_json(json_object *wire, bool strict, ftrack_event **out,
                                                ftrack_error *err);

/* Parse wire JSON text (depth limited to FTRACK_EVENT_MAX_DEPTH); as ftrack_event_from_json. */
FTRACK_API ftrack_status ftrack_event_parse(const char *text, size_t len, bool strict,
                                            ftrack_event **out, ftrack_error *err);

/* Deep copy (the stopped flag is not copied). */
FTRACK_API ftrack_event *ftrack_event_copy(const ftrack_event *event);
FTRACK_API void ftrack_event_free(ftrack_event *event);

/* Borrowed accessors. Strings are never NULL except in_reply_to (NULL when null). */
FTRACK_API const char *ftrack_event_id(const ftrack_event *event);
FTRACK_API const char *ftrack_event_topic(const ftrack_event *event);
FTRACK_API const char *ftrack_event_target(const ftrack_event *event);
FTRACK_API const char *ftrack_event_in_reply_to(const ftrack_event *event);
FTRACK_API json_object *ftrack_event_data(const ftrack_event *event);
FTRACK_API json_object *ftrack_event_source(const ftrack_event *event);
/* The whole wire object (borrowed), as expressions see it. */
FTRACK_API json_object *ftrack_event_json(const ftrack_event *event);

/* Setters. Strings are copied; json values are taken. */
FTRACK_API void ftrack_event_set_target(ftrack_event *event, const char *target);
FTRACK_API void ftrack_event_set_in_reply_to(ftrack_event *event, const char *event_id);
FTRACK_API void ftrack_event_set_data(ftrack_event *event, json_object *data);
FTRACK_API void ftrack_event_set_source(ftrack_event *event, json_object *source);
FTRACK_API void ftrack_event_set_id(ftrack_event *event, const char *id);

/* Fill missing source keys as the Python client does (protocol §6.2): `id` ← hub_id,
 * `user` ← {"username": username}, `host` ← host. Existing values are kept. Any argument
 * may be NULL to skip that key. */
FTRACK_API void ftrack_event_prepare_source(ftrack_event *event, const char *hub_id,
                                            const char *username, const char *host);

/* A reply to `source_event` (protocol §6.7): topic ftrack.meta.reply, target
 * "id=<source_event.source.id>", inReplyToEvent = source_event.id, data (taken; NULL → {}),
 * source (borrowed; deep-copied; NULL → empty). A falsy reply (false, 0, "", []) is kept as
 * given, unlike Python's `data or {}`. Returns NULL when out of memory or when source_event has
 * no string source.id to address the reply to (data is still taken). */
FTRACK_API ftrack_event *ftrack_event_reply_new(const ftrack_event *source_event, json_object *data,
                                                json_object *source);

/* Stop lower-priority local subscribers from seeing this event (protocol §6.6). */
FTRACK_API void ftrack_event_stop(ftrack_event *event);
FTRACK_API bool ftrack_event_is_stopped(const ftrack_event *event);

/* Serialise to wire JSON (compact, keys in the Python client's order: id, data, topic, sent,
 * source, target, inReplyToEvent). Returns a string the caller frees with ftrack_free(), and
 * its length in *len when len is not NULL; NULL when out of memory. */
FTRACK_API char *ftrack_event_serialize(const ftrack_event *event, size_t *len);

/* A fresh uuid4 as 32 lowercase hex characters plus NUL. */
FTRACK_API void ftrack_uuid_hex(char out[33]);

#ifdef __cplusplus
}
#endif
#endif
