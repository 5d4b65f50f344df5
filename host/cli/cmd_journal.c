/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host journal [--data-dir DIR]`: print the records of the host's event journal, one
 * JSON object per line (journal.h, fth_journal_dump), damage included. Read-only: it may run
 * beside the host, to see what is pending, what was handled and what a crash left. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "common/internal.h"
#include "config/data_dir.h"
#include "delivery/journal.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ftrack-host journal [--data-dir DIR]\n\n"
            "Print every record of the event journal in DIR/journal as one JSON object per\n"
            "line: instance declarations, events (id, topic, the instances they are for),\n"
            "deliveries, started and finished marks, and any damaged stretch with its file and\n"
            "offset. Changes nothing; works while the host runs.\n\n"
            "options:\n"
            "  --data-dir DIR   the host's --data-dir (default: the default state folder)\n"
            "  --help           this text\n");
}

int fth_cmd_journal(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_dir = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'd') {
            data_dir = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return FTH_EXIT_OK;
        } else {
            return fth_cli_usage_error("journal", usage, "unknown option or missing value");
        }
    }
    if (optind != argc)
        return fth_cli_usage_error("journal", usage, "unexpected argument '%s'", argv[optind]);
    char *dir = fth_data_dir_or_default(data_dir);
    char *path = dir ? fti_asprintf("%s/journal", dir) : NULL;
    ftrack_error err;
    ftrack_status st =
        path ? fth_journal_dump(path, stdout, &err)
             : fti_error(&err, FTRACK_ERR_CONFIG, "no data dir: give --data-dir (or set HOME)");
    free(path);
    free(dir);
    if (st == FTRACK_OK)
        return FTH_EXIT_OK;
    fprintf(stderr, "ftrack-host journal: %s\n", err.message);
    return FTH_EXIT_FAILURE;
}
