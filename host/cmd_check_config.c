/* Placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "cli.h"

int fth_cmd_check_config(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ftrack-host: '%s' is not implemented yet\n", argv[0]);
    return FTH_EXIT_FAILURE;
}
