/* Placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "cli.h"

int fth_cmd_publish(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ftrack-host: 'publish' is not implemented yet\n");
    return FTH_EXIT_FAILURE;
}
