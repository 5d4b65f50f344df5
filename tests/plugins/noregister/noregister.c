/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: a descriptor without a register function. */
#include <ftrack/plugin.h>

static const ftrack_plugin_descriptor_v1 descriptor = {FTRACK_PLUGIN_ABI_VERSION,
                                                       sizeof(ftrack_plugin_descriptor_v1),
                                                       "noregister",
                                                       "1.0.0",
                                                       "no register",
                                                       NULL,
                                                       0,
                                                       NULL,
                                                       NULL,
                                                       {0}};

FTRACK_PLUGIN_EXPORT const ftrack_plugin_descriptor_v1 *ftrack_plugin_register_v1(void)
{
    return &descriptor;
}
