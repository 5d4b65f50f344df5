/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: only an entry point for an ABI version the host does not know. */
#include <ftrack/plugin.h>

typedef struct future_descriptor {
    uint32_t abi_version;
    uint32_t size;
    const char *name;
} future_descriptor;

static const future_descriptor descriptor = {99, sizeof(future_descriptor), "abi99"};

FTRACK_PLUGIN_EXPORT const future_descriptor *ftrack_plugin_register_v99(void)
{
    return &descriptor;
}
