/* SPDX-License-Identifier: Apache-2.0 */
/* The SDK's event object (protocol §5.5, §6). An event is one json-c object that always holds
 * the seven wire keys in the Python client's order, so serialising is a single json-c call. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/event.h>
#include "common/internal.h"
#include "common/json_text.h"

struct ftrack_event {
    json_object *obj;
    bool stopped;
};

/* Keys are literals, so json-c may keep the pointers instead of copying them. */
#define ADD_NEW (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY)
#define ADD_SET JSON_C_OBJECT_ADD_CONSTANT_KEY

static const char K_ID[] = "id";
static const char K_DATA[] = "data";
static const char K_TOPIC[] = "topic";
static const char K_SENT[] = "sent";
static const char K_SOURCE[] = "source";
static const char K_TARGET[] = "target";
static const char K_IRT[] = "inReplyToEvent";
static const char K_IRT_ALIAS[] = "in_reply_to_event";

void ftrack_uuid_hex(char out[33])
{
    fti_uuid_hex(out);
}

static json_object *new_id(void)
{
    char id[33];
    ftrack_uuid_hex(id);
    return json_object_new_string_len(id, 32);
}

static json_object *get(const ftrack_event *event, const char *key)
{
    json_object *v = NULL;
    if (!event || !json_object_object_get_ex(event->obj, key, &v))
        return NULL;
    return v;
}

static const char *get_str(const ftrack_event *event, const char *key)
{
    json_object *v = get(event, key);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

/* Build the wire object from its seven values (all taken; NULL json means null). */
static ftrack_event *assemble(json_object *id, json_object *data, json_object *topic,
                              json_object *sent, json_object *source, json_object *target,
                              json_object *irt)
{
    ftrack_event *ev = calloc(1, sizeof(*ev));
    json_object *obj = json_object_new_object();
    if (!ev || !obj || !id || !data || !topic || !source || !target) {
        free(ev);
        json_object_put(obj);
        json_object_put(id);
        json_object_put(data);
        json_object_put(topic);
        json_object_put(sent);
        json_object_put(source);
        json_object_put(target);
        json_object_put(irt);
        return NULL;
    }
    json_object_object_add_ex(obj, K_ID, id, ADD_NEW);
    json_object_object_add_ex(obj, K_DATA, data, ADD_NEW);
    json_object_object_add_ex(obj, K_TOPIC, topic, ADD_NEW);
    json_object_object_add_ex(obj, K_SENT, sent, ADD_NEW);
    json_object_object_add_ex(obj, K_SOURCE, source, ADD_NEW);
    json_object_object_add_ex(obj, K_TARGET, target, ADD_NEW);
    json_object_object_add_ex(obj, K_IRT, irt, ADD_NEW);
    ev->obj = obj;
    return ev;
}

ftrack_event *ftrack_event_new(const char *topic, json_object *data)
{
    if (!topic || !*topic) {
        json_object_put(data);
        return NULL;
    }
    return assemble(new_id(), data ? data : json_object_new_object(), json_object_new_string(topic),
                    NULL, json_object_new_object(), json_object_new_string(""), NULL);
}

/* A value for the new event: a deep copy (borrowed input) or another reference (input we own,
 * which is released right after). NULL stays NULL (JSON null). */
static json_object *take(json_object *v, bool copy)
{
    if (!v)
        return NULL;
    if (!copy)
        return json_object_get(v);
    json_object *dst = NULL;
    if (json_object_deep_copy(v, &dst, NULL) != 0)
        return NULL;
    return dst;
}

static bool is_known_key(const char *key)
{
    static const char *const known[] = {K_ID,     K_DATA,   K_TOPIC, K_SENT,
                                        K_SOURCE, K_TARGET, K_IRT,   K_IRT_ALIAS};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(key, known[i]) == 0)
            return true;
    return false;
}

static ftrack_status check_wire(json_object *wire, bool strict, ftrack_error *err)
{
    if (!json_object_is_type(wire, json_type_object))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "event is not a JSON object");
    json_object *v;
    if (!json_object_object_get_ex(wire, K_TOPIC, &v))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "event has no topic");
    if (!json_object_is_type(v, json_type_string))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "event topic is not a string");
    static const char *const stringish[] = {K_ID, K_TARGET, K_IRT, K_IRT_ALIAS};
    for (size_t i = 0; i < sizeof(stringish) / sizeof(stringish[0]); i++) {
        if (json_object_object_get_ex(wire, stringish[i], &v) && v &&
            !json_object_is_type(v, json_type_string))
            return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                             "event key '%s' is neither a string nor null", stringish[i]);
    }
    if (strict) {
        json_object_object_foreach(wire, key, val)
        {
            (void)val;
            if (!is_known_key(key))
                return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                                 "event has an unknown key '%.100s'", key);
        }
    }
    return FTRACK_OK;
}

static json_object *lookup(json_object *wire, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(wire, key, &v);
    return v;
}

/* Whether a checked wire object already is what assemble() would build: the seven keys in its
 * order, none of the values it would replace absent or null. The official clients and our hub
 * send events so. */
static bool in_wire_order(json_object *wire)
{
    static const char *const order[] = {K_ID, K_DATA, K_TOPIC, K_SENT, K_SOURCE, K_TARGET, K_IRT};
    size_t i = 0;
    json_object_object_foreach(wire, key, val)
    {
        if (i == sizeof(order) / sizeof(order[0]) || strcmp(key, order[i]) != 0)
            return false;
        if (!val && order[i] != K_SENT && order[i] != K_IRT)
            return false;
        i++;
    }
    return i == sizeof(order) / sizeof(order[0]);
}

static ftrack_status build(json_object *wire, bool strict, bool copy, ftrack_event **out,
                           ftrack_error *err)
{
    *out = NULL;
    ftrack_status st = check_wire(wire, strict, err);
    if (st != FTRACK_OK)
        return st;
    if (!copy && in_wire_order(wire)) { /* ours to keep: no second object */
        *out = calloc(1, sizeof(**out));
        if (!*out)
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory building an event");
        (*out)->obj = json_object_get(wire);
        return FTRACK_OK;
    }
    json_object *id = lookup(wire, K_ID), *data = lookup(wire, K_DATA);
    json_object *source = lookup(wire, K_SOURCE), *target = lookup(wire, K_TARGET);
    json_object *irt = lookup(wire, K_IRT);
    if (!irt)
        irt = lookup(wire, K_IRT_ALIAS);
    /* An absent or null id gets a fresh one, null data/source become {} and a null target
     * means broadcast, as Event(**payload) in the Python client. */
    *out =
        assemble(id ? take(id, copy) : new_id(), data ? take(data, copy) : json_object_new_object(),
                 take(lookup(wire, K_TOPIC), copy), take(lookup(wire, K_SENT), copy),
                 source ? take(source, copy) : json_object_new_object(),
                 target ? take(target, copy) : json_object_new_string(""), take(irt, copy));
    if (!*out)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory building an event");
    return FTRACK_OK;
}

ftrack_status ftrack_event_from_json(json_object *wire, bool strict, ftrack_event **out,
                                     ftrack_error *err)
{
    if (!out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "no place for the event");
    return build(wire, strict, true, out, err);
}

ftrack_status ftrack_event_parse(const char *text, size_t len, bool strict, ftrack_event **out,
                                 ftrack_error *err)
{
    if (!out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "no place for the event");
    *out = NULL;
    if (!text)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "no event text");
    if (len > (size_t)INT32_MAX)
        return fti_error(err, FTRACK_ERR_PARSE, "event text too large");
    size_t bad = fti_utf8_invalid_at(text, len);
    if (bad != SIZE_MAX)
        return fti_error(err, FTRACK_ERR_PARSE, "event JSON is not valid UTF-8 at byte %zu", bad);
    fti_json_whole why;
    json_object *root = fti_json_parse_whole(text, len, FTRACK_EVENT_MAX_DEPTH, &why);
    ftrack_status st = FTRACK_OK;
    if (why.no_memory)
        st = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory parsing an event");
    else if (why.error == json_tokener_continue)
        st = fti_error(err, FTRACK_ERR_PARSE, "event JSON ends early (%zu bytes)", why.len);
    else if (why.error != json_tokener_success)
        st = fti_error(err, FTRACK_ERR_PARSE, "event JSON is invalid at byte %zu: %s", why.end,
                       json_tokener_error_desc(why.error));
    if (st == FTRACK_OK) {
        /* The parsed tree is ours: move its values instead of copying them. */
        st = build(root, strict, false, out, err);
    }
    json_object_put(root);
    return st;
}

ftrack_event *ftrack_event_copy(const ftrack_event *event)
{
    if (!event)
        return NULL;
    ftrack_event *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    if (json_object_deep_copy(event->obj, &ev->obj, NULL) != 0) {
        json_object_put(ev->obj);
        free(ev);
        return NULL;
    }
    return ev;
}

void ftrack_event_free(ftrack_event *event)
{
    if (!event)
        return;
    json_object_put(event->obj);
    free(event);
}

const char *ftrack_event_id(const ftrack_event *event)
{
    return get_str(event, K_ID);
}

const char *ftrack_event_topic(const ftrack_event *event)
{
    return get_str(event, K_TOPIC);
}

const char *ftrack_event_target(const ftrack_event *event)
{
    return get_str(event, K_TARGET);
}

const char *ftrack_event_in_reply_to(const ftrack_event *event)
{
    json_object *v = get(event, K_IRT);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

json_object *ftrack_event_data(const ftrack_event *event)
{
    return get(event, K_DATA);
}

json_object *ftrack_event_source(const ftrack_event *event)
{
    return get(event, K_SOURCE);
}

json_object *ftrack_event_json(const ftrack_event *event)
{
    return event ? event->obj : NULL;
}

/* Replacing an existing key keeps its place in json-c's ordered table, so the wire order
 * survives every setter. */
static void set(ftrack_event *event, const char *key, json_object *value)
{
    if (!event) {
        json_object_put(value);
        return;
    }
    json_object_object_add_ex(event->obj, key, value, ADD_SET);
}

void ftrack_event_set_target(ftrack_event *event, const char *target)
{
    set(event, K_TARGET, json_object_new_string(target ? target : ""));
}

void ftrack_event_set_in_reply_to(ftrack_event *event, const char *event_id)
{
    set(event, K_IRT, event_id ? json_object_new_string(event_id) : NULL);
}

void ftrack_event_set_data(ftrack_event *event, json_object *data)
{
    set(event, K_DATA, data ? data : json_object_new_object());
}

void ftrack_event_set_source(ftrack_event *event, json_object *source)
{
    set(event, K_SOURCE, source ? source : json_object_new_object());
}

void ftrack_event_set_id(ftrack_event *event, const char *id)
{
    set(event, K_ID, id ? json_object_new_string(id) : new_id());
}

static void set_default(json_object *obj, const char *key, json_object *value)
{
    if (!value)
        return;
    if (json_object_object_get_ex(obj, key, NULL)) {
        json_object_put(value);
        return;
    }
    json_object_object_add_ex(obj, key, value, ADD_NEW);
}

void ftrack_event_prepare_source(ftrack_event *event, const char *hub_id, const char *username,
                                 const char *host)
{
    if (!event)
        return;
    json_object *source = get(event, K_SOURCE);
    if (!json_object_is_type(source, json_type_object)) {
        /* Python would raise on a non-mapping source; a fresh {} is the useful reading. */
        source = json_object_new_object();
        if (!source)
            return;
        set(event, K_SOURCE, source);
    }
    if (hub_id)
        set_default(source, "id", json_object_new_string(hub_id));
    if (username && !json_object_object_get_ex(source, "user", NULL)) {
        json_object *user = json_object_new_object();
        json_object *name = json_object_new_string(username);
        if (user && name) {
            json_object_object_add_ex(user, "username", name, ADD_NEW);
            json_object_object_add_ex(source, "user", user, ADD_NEW);
        } else {
            json_object_put(user);
            json_object_put(name);
        }
    }
    if (host)
        set_default(source, "host", json_object_new_string(host));
}

/* Unlike Python's `data or {}`, a falsy reply (false, 0, "", []) is sent as given: only a
 * missing reply becomes {}. */
ftrack_event *ftrack_event_reply_new(const ftrack_event *source_event, json_object *data,
                                     json_object *source)
{
    json_object *src = get(source_event, K_SOURCE), *src_id = NULL;
    if (!json_object_object_get_ex(src, "id", &src_id) ||
        !json_object_is_type(src_id, json_type_string)) {
        json_object_put(data);
        return NULL;
    }
    char *target = fti_asprintf("id=%s", json_object_get_string(src_id));
    json_object *irt = get(source_event, K_ID);
    ftrack_event *reply =
        assemble(new_id(), data ? data : json_object_new_object(),
                 json_object_new_string("ftrack.meta.reply"), NULL,
                 source ? take(source, true) : json_object_new_object(),
                 target ? json_object_new_string(target) : NULL,
                 json_object_is_type(irt, json_type_string) ? take(irt, true) : NULL);
    free(target);
    return reply;
}

void ftrack_event_stop(ftrack_event *event)
{
    if (event)
        event->stopped = true;
}

bool ftrack_event_is_stopped(const ftrack_event *event)
{
    return event && event->stopped;
}

char *ftrack_event_serialize(const ftrack_event *event, size_t *len)
{
    if (!event)
        return NULL;
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        event->obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (!s)
        return NULL;
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n + 1);
    if (len)
        *len = n;
    return copy;
}
