/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack-hub: the embedded event hub alone, without the plugin host (the same as
 * `ftrack-host hub`). */
#include "hub_server.h"

int main(int argc, char **argv)
{
    return fhub_command(argc, argv, "ftrack-hub");
}
