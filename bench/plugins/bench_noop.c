/* SPDX-License-Identifier: Apache-2.0 */
/* bench_noop: the benchmark's no-op plugin. It subscribes `expression` and answers each event
 * with {"items": []} (or nothing when `reply` is false), so a round trip through ftrack-host
 * measures the host and the SDK, not the plugin. With `marker` set it also subscribes
 * topic=<marker> and always answers it: a publisher that sends a marker after a burst knows
 * every instance has handled the burst once each instance's marker reply arrived (events keep
 * their order per instance). A marker reply also names the instance ("instance"), so a
 * shortfall says which one is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftrack/plugin.h>

static const ftrack_plugin_param params[] = {
    {"expression", FTRACK_PARAM_STRING, false, "\"topic=ftrack.action.discover\"",
     "subscription expression"},
    {"reply", FTRACK_PARAM_BOOL, false, "true", "answer each matching event with {\"items\": []}"},
    {"marker", FTRACK_PARAM_STRING, false, "\"\"", "a topic always answered (end of a burst)"},
};

static json_object *answer(void)
{
    json_object *data = json_object_new_object();
    json_object_object_add_ex(data, "items", json_object_new_array(),
                              JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
    return data;
}

/* Per instance; touched only on the instance's worker thread. */
typedef struct noop_state {
    bool reply;
    unsigned long handled;
    char instance[128];
} noop_state;

static json_object *on_event(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    (void)event;
    (void)delivery;
    noop_state *s = user;
    s->handled++;
    return s->reply ? answer() : NULL;
}

static json_object *on_marker(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    (void)event;
    (void)delivery;
    const noop_state *s = user;
    json_object *data = answer();
    json_object_object_add(data, "instance", json_object_new_string(s->instance));
    return data;
}

static const char *string_arg(json_object *arguments, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(arguments, key, &v) || !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **state, ftrack_error *err)
{
    ftrack_hub *hub = ftrack_session_hub(session);
    noop_state *s = calloc(1, sizeof(*s));
    if (!s)
        return FTRACK_ERR_NO_MEMORY;
    snprintf(s->instance, sizeof(s->instance), "%s", ftrack_plugin_instance_name(ctx));
    json_object *reply = NULL;
    json_object_object_get_ex(arguments, "reply", &reply);
    s->reply = json_object_get_boolean(reply);
    ftrack_status st = ftrack_hub_subscribe(hub, string_arg(arguments, "expression"), on_event, s,
                                            NULL, NULL, err);
    const char *marker = string_arg(arguments, "marker");
    if (st == FTRACK_OK && *marker) {
        char expression[256];
        snprintf(expression, sizeof(expression), "topic=%s", marker);
        st = ftrack_hub_subscribe(hub, expression, on_marker, s, NULL, NULL, err);
    }
    if (st != FTRACK_OK) {
        free(s); /* unregister is not called for a refused instance */
        return st;
    }
    *state = s;
    return FTRACK_OK;
}

/* The count lets the benchmark check how many deliveries a burst made. */
static void unreg(ftrack_plugin_context *ctx, void *state)
{
    noop_state *s = state;
    if (!s)
        return;
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "bench_noop handled %lu events", s->handled);
    free(s);
}

#ifndef BENCH_PLUGIN_NAME
#define BENCH_PLUGIN_NAME "bench_noop"
#endif
FTRACK_PLUGIN(BENCH_PLUGIN_NAME, "1.0.0", "Benchmark: answers each event at once", params, reg,
              unreg);
