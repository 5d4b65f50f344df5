/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: parameters of every type, two of them required; logs what it received. */
#include <ftrack/plugin.h>

static const ftrack_plugin_param params[] = {
    {"name", FTRACK_PARAM_STRING, true, NULL, "a required string"},
    {"port", FTRACK_PARAM_INT, true, NULL, "a required integer"},
    {"ratio", FTRACK_PARAM_DOUBLE, false, "1", "a number"},
    {"enabled", FTRACK_PARAM_BOOL, false, "true", "a boolean"},
    {"extra", FTRACK_PARAM_JSON, false, "{\"k\": [1, 2]}", "any JSON"},
};

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **state, ftrack_error *err)
{
    (void)session, (void)state, (void)err;
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "arguments: %s",
                      json_object_to_json_string_ext(arguments, JSON_C_TO_STRING_PLAIN));
    return FTRACK_OK;
}

FTRACK_PLUGIN("typed", "1.0.0", "Declares one parameter of each type", params, reg, NULL);
