/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: publishes from its register and from its callback, for the isolation tests
 * (an isolated plugin's publishes go through the host: ftrack_hub_set_outgoing in the child).
 * At register it publishes `to` with data {"i": -1, "phase": "register", "pid": ...}; for each
 * event it publishes `to` with {"i": data.i, "phase": "callback", "pid": ...} and replies
 * {"relayed": data.i}. A publish that fails fails the delivery (ftrack_delivery_fail), so the
 * host's failure policy makes it visible. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <ftrack/host.h>
#include <ftrack/plugin.h>

static const ftrack_plugin_param params[] = {
    {"expression", FTRACK_PARAM_STRING, false, "\"topic=test.rel\"", "subscription"},
    {"to", FTRACK_PARAM_STRING, false, "\"test.relayed\"", "topic the relayed events get"},
};

typedef struct state {
    ftrack_hub *hub;
    char to[256];
} state;

static ftrack_status relay(state *st, json_object *i, const char *phase, ftrack_error *err)
{
    json_object *data = json_object_new_object();
    json_object_object_add(data, "i", i);
    json_object_object_add(data, "phase", json_object_new_string(phase));
    json_object_object_add(data, "pid", json_object_new_int(getpid()));
    ftrack_event *ev = ftrack_event_new(st->to, data);
    if (!ev)
        return FTRACK_ERR_NO_MEMORY;
    ftrack_status rc = ftrack_hub_publish(st->hub, ev, NULL, err);
    ftrack_event_free(ev);
    return rc;
}

static json_object *on_event(ftrack_event *event, const ftrack_delivery *d, void *user)
{
    state *st = user;
    json_object *i = NULL;
    json_object_object_get_ex(ftrack_event_data(event), "i", &i);
    ftrack_error err;
    if (relay(st, json_object_get(i), "callback", &err) != FTRACK_OK) {
        ftrack_delivery_fail(d, "relay failed: %s", err.message);
        return NULL;
    }
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "relayed", json_object_get(i));
    return reply;
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **out, ftrack_error *err)
{
    (void)ctx;
    state *st = calloc(1, sizeof(*st));
    json_object *v = NULL;
    if (!st)
        return FTRACK_ERR_NO_MEMORY;
    *out = st;
    st->hub = ftrack_session_hub(session);
    json_object_object_get_ex(arguments, "to", &v);
    snprintf(st->to, sizeof(st->to), "%s", json_object_get_string(v));
    json_object_object_get_ex(arguments, "expression", &v);
    ftrack_status rc =
        ftrack_hub_subscribe(st->hub, json_object_get_string(v), on_event, st, NULL, NULL, err);
    return rc == FTRACK_OK ? relay(st, json_object_new_int(-1), "register", err) : rc;
}

static void unreg(ftrack_plugin_context *ctx, void *st)
{
    (void)ctx;
    free(st);
}

FTRACK_PLUGIN("relay", "1.0.0", "Publishes from register and callback (isolation tests)", params,
              reg, unreg);
