/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: a shared object without any entry point (like a Python extension module). */
#include <ftrack/plugin.h>

FTRACK_PLUGIN_EXPORT int not_a_plugin(void)
{
    return 42;
}
