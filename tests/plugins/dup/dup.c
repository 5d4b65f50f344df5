/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: claims the name of the echo test plugin (a duplicate). */
#include <ftrack/plugin.h>

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **state, ftrack_error *err)
{
    (void)ctx, (void)session, (void)arguments, (void)state, (void)err;
    return FTRACK_OK;
}

FTRACK_PLUGIN("echo", "9.9.9", "Another plugin called echo", NULL, reg, NULL);
