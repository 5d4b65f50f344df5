/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack-host: the command line. The commands live in cli.c. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return fth_cli_main(argc, argv);
}
