/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: a descriptor whose size is wrong (built against a mismatched header). */
#include <ftrack/plugin.h>

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **state, ftrack_error *err)
{
    (void)ctx, (void)session, (void)arguments, (void)state, (void)err;
    return FTRACK_OK;
}

static const ftrack_plugin_descriptor_v1 descriptor = {
    FTRACK_PLUGIN_ABI_VERSION, 16, "badsize", "1.0.0", "wrong size", NULL, 0, reg, NULL, {0}};

FTRACK_PLUGIN_EXPORT const ftrack_plugin_descriptor_v1 *ftrack_plugin_register_v1(void)
{
    return &descriptor;
}
