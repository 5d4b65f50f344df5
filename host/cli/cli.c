/* SPDX-License-Identifier: Apache-2.0 */
/* The ftrack-host command line: the command table, usage, and the usage-error helper the
 * commands share (cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ftrack/ftrack.h>
#include "cli/cli.h"
#include "config/host_options.h"
#include "hub_server.h"

/* `ftrack-host hub`: the hub's own command line (hub/command.c), under this name. */
static int cmd_hub(int argc, char **argv)
{
    return fhub_command(argc, argv, "ftrack-host hub");
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", fth_cmd_run, "run the host (the default): connect, load plugins, dispatch events"},
    {"hub", cmd_hub, "run the embedded event hub alone"},
    {"publish", fth_cmd_publish, "publish one event and print its replies"},
    {"plugins", fth_cmd_plugins, "list the plugins that would load, and why others would not"},
    {"replay", fth_cmd_replay, "hand dead-lettered events back to the running host"},
    {"check-config", fth_cmd_check_config, "validate a configuration file and report every problem"},
    {"record", fth_cmd_record, "write the events the server sends to a file, one JSON line each"},
    {"test-plugin", fth_cmd_test_plugin, "run one plugin against recorded events, offline"},
    {"journal", fth_cmd_journal, "print the event journal's records, one JSON line each"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: ftrack-host [command] [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`ftrack-host COMMAND --help` describes a command's options.\n"
                 "`ftrack-host --version` prints the version.\n");
}

int fth_cli_usage_error(const char *command, void (*print_usage)(FILE *out), const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ftrack-host %s: ", command);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    va_end(ap);
    print_usage(stderr);
    return FTH_EXIT_USAGE;
}

int fth_cli_exit_code(int options_result)
{
    switch (options_result) {
    case FTH_OPTIONS_OK:
        return FTH_EXIT_OK;
    case FTH_OPTIONS_INVALID:
        return FTH_EXIT_USAGE;
    default:
        return FTH_EXIT_FAILURE;
    }
}

int fth_cli_main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("ftrack-host %s\n", ftrack_version());
        return FTH_EXIT_OK;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return FTH_EXIT_OK;
    }
    /* No command word (or an option first) means `run`. */
    if (argc < 2 || argv[1][0] == '-')
        return fth_cmd_run(argc, argv);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ftrack-host: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return FTH_EXIT_USAGE;
}
