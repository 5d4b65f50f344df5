/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: replies to `topic` with its instance name, its arguments and the event's data.
 * It logs the arguments it received so tests can check filtering and conversion. */
#include <stdio.h>
#include <stdlib.h>
#include <ftrack/plugin.h>

static const ftrack_plugin_param params[] = {
    {"topic", FTRACK_PARAM_STRING, false, "\"test.echo\"", "topic to answer"},
    {"tag", FTRACK_PARAM_STRING, false, "\"echo\"", "copied into every reply"},
    {"count", FTRACK_PARAM_INT, false, "1", "an integer, echoed"},
    {"ratio", FTRACK_PARAM_DOUBLE, false, "0.5", "a number, echoed"},
    {"verbose", FTRACK_PARAM_BOOL, false, "false", "a boolean, echoed"},
    {"extra", FTRACK_PARAM_JSON, false, NULL, "any JSON, echoed"},
};

typedef struct echo_state {
    ftrack_plugin_context *ctx;
    json_object *arguments; /* kept on this plugin's worker only */
} echo_state;

static json_object *on_event(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    (void)delivery;
    echo_state *s = user;
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "instance",
                           json_object_new_string(ftrack_plugin_instance_name(s->ctx)));
    /* Copies: the reply is the hub's once returned, the event and arguments stay ours. */
    json_object *arguments = NULL, *data = NULL;
    json_object_deep_copy(s->arguments, &arguments, NULL);
    json_object_deep_copy(ftrack_event_data(event), &data, NULL);
    json_object_object_add(reply, "arguments", arguments);
    json_object_object_add(reply, "data", data);
    return reply;
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **state, ftrack_error *err)
{
    echo_state *s = calloc(1, sizeof(*s));
    if (!s)
        return FTRACK_ERR_NO_MEMORY;
    s->ctx = ctx;
    s->arguments = json_object_get(arguments);
    *state = s;
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "arguments: %s",
                      json_object_to_json_string_ext(arguments, JSON_C_TO_STRING_PLAIN));
    json_object *topic = NULL;
    json_object_object_get_ex(arguments, "topic", &topic);
    char expression[256];
    snprintf(expression, sizeof(expression), "topic=%s", json_object_get_string(topic));
    return ftrack_hub_subscribe(ftrack_session_hub(session), expression, on_event, s, NULL, NULL,
                                err);
}

static void unreg(ftrack_plugin_context *ctx, void *state)
{
    echo_state *s = state;
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "unregistered");
    json_object_put(s->arguments);
    free(s);
}

FTRACK_PLUGIN("echo", "1.0.0", "Replies with its instance name and arguments", params, reg, unreg);
