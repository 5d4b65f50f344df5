/* Placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "cli.h"

int fth_cmd_hub(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ftrack-host: 'hub' is not implemented yet\n");
    return FTH_EXIT_FAILURE;
}
