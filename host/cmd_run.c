/* Placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "cli.h"

int fth_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ftrack-host: 'run' is not implemented yet\n");
    return FTH_EXIT_FAILURE;
}
