/* SPDX-License-Identifier: Apache-2.0 */
/* The receive path of an event packet from the server (on the service thread, transport.c):
 * parsed only as far as routing needs, then routed (route.c) as the bytes received. Kept apart
 * from the connection because it is the hub client's hottest code and knows nothing of lws:
 * only the packet's text, the subscriber set and a tokener the caller owns. */
#include <stdint.h>
#include <string.h>

#include "common/internal.h"
#include "common/json_compat.h"
#include "hub/hub_internal.h"
#include "wire/socketio.h"

/* The whole event packet parsed: what fti_receive_event falls back to, and where events it cannot
 * take apart cheaply (invalid JSON among them) are logged and dropped. */
static void handle_event_parsed(ftrack_hub *hub, json_tokener *tok, const char *data, size_t len)
{
    fti_json_tokener_reset(tok);
    json_object *payload = json_tokener_parse_ex(tok, data, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    while (payload && end < len &&
           (data[end] == ' ' || data[end] == '\n' || data[end] == '\r' || data[end] == '\t'))
        end++;
    if (!payload || end != len) {
        ftrack_log(FTRACK_LOG_WARNING, "hub", "dropped an event that is not valid JSON: %s",
                   payload ? "trailing characters" : json_tokener_error_desc(jerr));
        json_object_put(payload);
        return;
    }
    const char *why = NULL;
    json_object *event = fti_sio_event_arg(payload, &why);
    json_object *topic = NULL;
    if (!event) {
        ftrack_log(FTRACK_LOG_WARNING, "hub", "dropped an event packet: %s", why);
    } else if (!json_object_object_get_ex(event, "topic", &topic) ||
               !json_object_is_type(topic, json_type_string)) {
        ftrack_log(FTRACK_LOG_WARNING, "hub", "dropped an event without a topic");
    } else {
        /* queue the bytes received: no re-serialising on this, the busiest, thread */
        size_t raw_len = 0;
        const char *raw = fti_sio_event_arg_text(data, len, &raw_len);
        fti_route(hub, event, raw, raw ? raw_len : 0, false);
    }
    json_object_put(payload);
}

/* A string of printable ASCII without escapes (topics, ids), or null: what json-c would make
 * of it, made directly. json-c 0.16 creates and frees a locale in every json_tokener_parse_ex
 * call, which cost more than the parse of such a value. False when it is not that simple. */
static bool parse_simple(const char *text, size_t len, json_object **out)
{
    if (len == 4 && memcmp(text, "null", 4) == 0) {
        *out = NULL;
        return true;
    }
    if (len < 2 || text[0] != '"' || text[len - 1] != '"' || len - 2 > INT32_MAX)
        return false;
    for (size_t i = 1; i + 1 < len; i++)
        if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f || text[i] == '\\')
            return false;
    *out = json_object_new_string_len(text + 1, (int)(len - 2));
    return *out != NULL;
}

/* One member's value text parsed on its own; false when json-c refuses it. */
static bool parse_member(json_tokener *tok, const char *text, size_t len, json_object **out)
{
    if (parse_simple(text, len, out))
        return true;
    fti_json_tokener_reset(tok); /* see json_compat.h */
    json_object *v = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) /* a number waits for the byte that ends it */
        v = json_tokener_parse_ex(tok, " ", 1), jerr = json_tokener_get_error(tok);
    else if (jerr == json_tokener_success && json_tokener_get_parse_end(tok) != len)
        jerr = json_tokener_error_parse_unexpected;
    if (jerr != json_tokener_success) {
        json_object_put(v);
        return false;
    }
    *out = v; /* NULL for null, as in a whole parse */
    return true;
}

typedef struct route_scan {
    json_tokener *tok;
    const fti_subset *set;
    json_object *event;
} route_scan;

/* A member of the event: parsed and kept when routing reads its key, else skipped. A key
 * seen twice keeps its last value, as json-c does. */
static bool take_member(const char *key, size_t key_len, const char *value, size_t value_len,
                        void *user_data)
{
    route_scan *rs = user_data;
    const char *name = NULL;
    for (size_t i = 0; i < rs->set->route_nkeys && !name; i++) {
        const char *k = rs->set->route_keys[i];
        if (strlen(k) == key_len && memcmp(k, key, key_len) == 0)
            name = k;
    }
    if (!name)
        return true;
    json_object *v = NULL;
    if (!parse_member(rs->tok, value, value_len, &v))
        return false;
    if (json_object_object_add(rs->event, name, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

/* Route an event from its members that routing reads, parsed one by one, skipping the rest
 * (mostly `data`): the full parse was a tenth of a host's CPU, and each consumer parses its
 * copy anyway (ftrack_event_parse rejects what was skipped here if it is not valid JSON).
 * False when the event cannot be taken apart so: then the caller parses it whole. */
static bool route_scanned(ftrack_hub *hub, json_tokener *tok, const char *data, size_t len)
{
    size_t raw_len = 0;
    const char *raw = fti_sio_event_arg_text(data, len, &raw_len);
    if (!raw)
        return false;
    fti_subset *set = fti_subset_get(hub);
    bool routed = false;
    route_scan rs = {tok, set, NULL};
    if (set && !set->route_all_keys)
        rs.event = json_object_new_object();
    json_object *topic = NULL;
    if (rs.event && fti_json_scan_object(raw, raw_len, FTRACK_EVENT_MAX_DEPTH, take_member, &rs) &&
        json_object_object_get_ex(rs.event, "topic", &topic) &&
        json_object_is_type(topic, json_type_string)) {
        fti_route_set(hub, set, rs.event, raw, raw_len, false);
        routed = true;
    }
    json_object_put(rs.event);
    fti_subset_release(set);
    return routed;
}

void fti_receive_event(ftrack_hub *hub, json_tokener *tok, const char *data, size_t len)
{
    if (!data) {
        ftrack_log(FTRACK_LOG_WARNING, "hub", "ignored an event packet without data");
        return;
    }
    if (!route_scanned(hub, tok, data, len))
        handle_event_parsed(hub, tok, data, len);
}
