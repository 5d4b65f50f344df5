/* SPDX-License-Identifier: Apache-2.0 */
/* Event payloads as the hub receives and forwards them (protocol §5.5, Appendix B rule 6).
 * The hot path parses each event once and forwards the bytes it received; only events that
 * do not already carry exactly the wire keys are rebuilt. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "common/json_text.h"
#include "wire/socketio.h"
#include "server_internal.h"

static const char *const WIRE_KEYS[] = {"id",     "topic", "data",          "source",
                                        "target", "sent",  "inReplyToEvent"};
enum { WIRE_KEY_COUNT = sizeof(WIRE_KEYS) / sizeof(WIRE_KEYS[0]) };

static bool has_exact_wire_keys(json_object *event)
{
    if (json_object_object_length(event) != WIRE_KEY_COUNT)
        return false;
    for (size_t i = 0; i < WIRE_KEY_COUNT; i++)
        if (!json_object_object_get_ex(event, WIRE_KEYS[i], NULL))
            return false;
    json_object *source = json_object_object_get(event, "source");
    return json_object_is_type(source, json_type_object);
}

static void add(json_object *obj, const char *key, json_object *value)
{
    json_object_object_add_ex(obj, key, value,
                              JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

static json_object *kept(json_object *event, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(event, key, &v) ? json_object_get(v) : NULL;
}

/* A copy with exactly the wire keys, in the Python client's order. Values are shared (this
 * thread only). */
static json_object *normalise(json_object *event, const char *username)
{
    json_object *out = json_object_new_object();
    if (!out)
        return NULL;
    json_object *id = json_object_object_get(event, "id");
    if (json_object_is_type(id, json_type_string)) {
        add(out, "id", json_object_get(id));
    } else {
        char hex[33];
        fti_random_hex(hex, 32);
        add(out, "id", json_object_new_string(hex));
    }
    json_object *data = NULL;
    add(out, "data",
        json_object_object_get_ex(event, "data", &data) ? json_object_get(data)
                                                        : json_object_new_object());
    add(out, "topic", kept(event, "topic"));
    add(out, "sent", kept(event, "sent"));
    json_object *source = json_object_object_get(event, "source");
    if (json_object_is_type(source, json_type_object)) {
        add(out, "source", json_object_get(source));
    } else {
        char hex[33];
        fti_random_hex(hex, 32);
        json_object *user = json_object_new_object();
        add(user, "username", json_object_new_string(username ? username : ""));
        source = json_object_new_object();
        add(source, "id", json_object_new_string(hex));
        add(source, "user", user);
        add(out, "source", source);
    }
    json_object *target = json_object_object_get(event, "target");
    add(out, "target",
        json_object_is_type(target, json_type_string) ? json_object_get(target)
                                                      : json_object_new_string(""));
    json_object *reply = NULL;
    if (!json_object_object_get_ex(event, "inReplyToEvent", &reply))
        json_object_object_get_ex(event, "in_reply_to_event", &reply);
    add(out, "inReplyToEvent", json_object_get(reply));
    return out;
}

static ftrack_status parse_json(const char *data, size_t len, int depth, json_object **out,
                                ftrack_error *err)
{
    fti_json_whole why;
    json_object *obj = fti_json_parse_whole(data, len, depth, &why);
    if (why.no_memory)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    if (obj) {
        *out = obj;
        return FTRACK_OK;
    }
    if (why.error == json_tokener_error_depth)
        return fti_error(err, FTRACK_ERR_PARSE, "JSON nested deeper than %d levels", depth);
    if (why.error == json_tokener_continue)
        return fti_error(err, FTRACK_ERR_PARSE, "invalid JSON: truncated");
    return fti_error(err, FTRACK_ERR_PARSE, "invalid JSON: %s", json_tokener_error_desc(why.error));
}

ftrack_status fhub_wire_event_parse(const char *data, size_t len, int max_depth,
                                    const char *username, fhub_wire_event *out, ftrack_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!data || len == 0)
        return fti_error(err, FTRACK_ERR_PARSE, "event packet without data");
    if (len > (size_t)0x7fffffff)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "event too large");
    if (fti_utf8_invalid_at(data, len) != SIZE_MAX)
        return fti_error(err, FTRACK_ERR_PARSE, "event is not valid UTF-8");
    /* The event sits two levels down: {"args": [ <event> ]}. */
    ftrack_status st = parse_json(data, len, max_depth + 2, &out->payload, err);
    if (st != FTRACK_OK)
        return st;
    const char *why = NULL;
    json_object *arg = fti_sio_event_arg(out->payload, &why);
    json_object *topic = arg ? json_object_object_get(arg, "topic") : NULL;
    if (!arg) {
        fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "%s", why);
    } else if (!json_object_is_type(topic, json_type_string) ||
               json_object_get_string_len(topic) == 0) {
        fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "event has no topic");
    } else if (has_exact_wire_keys(arg)) {
        out->event = arg;
        out->raw = fti_sio_event_arg_text(data, len, &out->raw_len);
    } else {
        out->normalised = normalise(arg, username);
        out->event = out->normalised;
        if (!out->event)
            fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    if (!out->event) {
        ftrack_status code = err ? err->code : FTRACK_ERR_INVALID_ARGUMENT;
        fhub_wire_event_clear(out);
        return code;
    }
    out->topic = json_object_get_string(json_object_object_get(out->event, "topic"));
    return FTRACK_OK;
}

const char *fhub_wire_event_text(fhub_wire_event *ev, size_t *len)
{
    if (ev->raw) {
        *len = ev->raw_len;
        return ev->raw;
    }
    if (!ev->text) {
        size_t n = 0;
        const char *s = json_object_to_json_string_length(
            ev->event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        ev->text = s ? strndup(s, n) : NULL;
        ev->raw_len = ev->text ? n : 0;
    }
    *len = ev->raw_len;
    return ev->text;
}

void fhub_wire_event_clear(fhub_wire_event *ev)
{
    json_object_put(ev->normalised);
    json_object_put(ev->payload);
    free(ev->text);
    memset(ev, 0, sizeof(*ev));
}
