/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_CLI_H
#define FTH_CLI_H
/*
 * The ftrack-host command line. Each command is one function in its own file
 * (cmd_<name>.c) taking the arguments after the command word (argv[0] is the command).
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <ftrack/hub.h>

enum { FTH_EXIT_OK = 0, FTH_EXIT_FAILURE = 1, FTH_EXIT_USAGE = 2 };

int fth_cli_main(int argc, char **argv);
/* The exit code for what option parsing returned (FTH_OPTIONS_*, config/host_options.h). */
int fth_cli_exit_code(int options_result);
/* A command-line mistake: "ftrack-host COMMAND: <message>", a blank line and the command's
 * usage on stderr. Returns FTH_EXIT_USAGE. */
int fth_cli_usage_error(const char *command, void (*print_usage)(FILE *out), const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cli_connect.c: a command-line client of the event hub in FTRACK_SERVER. */
/* FTRACK_API_KEY, else FTRACK_APIKEY; NULL when neither is set (borrowed from the environment). */
const char *fth_cli_api_key(void);
/* Connect (waiting up to 15 s); NULL after printing why, prefixed "ftrack-host COMMAND:". */
ftrack_hub *fth_cli_connect_hub(const char *command, ftrack_error *err);
/* Run the hub's callbacks until *done (when done is not NULL) or `seconds` pass. */
void fth_cli_wait_until(ftrack_hub *hub, double seconds, const bool *done);
/* A subscriber callback that does nothing, for subscriptions whose events a command takes
 * from a queue (ftrack_hub_queue_take) instead of dispatching them. */
json_object *fth_cli_no_callback(ftrack_event *event, const ftrack_delivery *delivery,
                                 void *user_data);
/* 32 random lowercase hex digits and a NUL: a token or key nobody can guess. */
void fth_cli_random_hex(char out[33]);

int fth_cmd_run(int argc, char **argv);     /* cmd_run.c: the daemon (default command) */
int fth_cmd_publish(int argc, char **argv); /* cmd_publish.c: publish one event */
int fth_cmd_plugins(int argc, char **argv); /* cmd_plugins.c: list what would load */
int fth_cmd_replay(int argc, char **argv);  /* cmd_replay.c: hand dead letters back to the host */
int fth_cmd_check_config(int argc, char **argv); /* cmd_check_config.c: validate a config file */
int fth_cmd_record(int argc, char **argv);  /* cmd_record.c: write received events to a file */
int fth_cmd_test_plugin(int argc, char **argv); /* cmd_test_plugin.c: a plugin against a recording */
int fth_cmd_journal(int argc, char **argv); /* cmd_journal.c: print the event journal's records */
#endif
