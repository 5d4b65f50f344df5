/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: sleeps `delay` seconds per event, then replies. */
#include <stdio.h>
#include <time.h>
#include <ftrack/plugin.h>

static const ftrack_plugin_param params[] = {
    {"topic", FTRACK_PARAM_STRING, false, "\"test.slow\"", "topic to answer"},
    {"delay", FTRACK_PARAM_DOUBLE, false, "2.0", "seconds to sleep per event"},
};

static double delay_seconds;

static json_object *on_event(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    (void)delivery;
    struct timespec ts = {(time_t)delay_seconds,
                          (long)((delay_seconds - (double)(time_t)delay_seconds) * 1e9)};
    nanosleep(&ts, NULL);
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "instance",
                           json_object_new_string(ftrack_plugin_instance_name(user)));
    json_object *data = NULL;
    json_object_deep_copy(ftrack_event_data(event), &data, NULL);
    json_object_object_add(reply, "data", data);
    return reply;
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **state, ftrack_error *err)
{
    (void)state;
    json_object *v = NULL;
    json_object_object_get_ex(arguments, "delay", &v);
    delay_seconds = json_object_get_double(v);
    json_object_object_get_ex(arguments, "topic", &v);
    char expression[256];
    snprintf(expression, sizeof(expression), "topic=%s", json_object_get_string(v));
    return ftrack_hub_subscribe(ftrack_session_hub(session), expression, on_event, ctx, NULL, NULL,
                                err);
}

FTRACK_PLUGIN("slow", "1.0.0", "Sleeps before replying", params, reg, NULL);
