#include <stdio.h>
#include <string.h>

#include <ftrack/ftrack.h>
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ftrack-host [--version] [--help] <command> [options]\n"
            "\n"
            "commands:\n"
            "  hub        run the embedded event hub alone\n"
            "  publish    publish one event and print the replies\n");
}

int fth_cli_main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("ftrack-host %s\n", ftrack_version());
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
