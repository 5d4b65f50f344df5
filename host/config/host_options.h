/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_HOST_OPTIONS_H
#define FTH_HOST_OPTIONS_H
/*
 * Options shared by `ftrack-host` (run) and `ftrack-host plugins`: where plugins come from,
 * their arguments and the configuration file. Parsed on the main thread; the struct owns
 * everything it points to (fth_host_options_clear).
 */
#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include <ftrack/log.h>
#include "config/config.h"
#include "config/listen.h"

typedef struct fth_host_options {
    char *plugin_paths;          /* --plugin-path values joined with ':', or NULL */
    json_object *text_arguments; /* --plugin-arg key=value, as an object of strings */
    char *config_path;           /* --config */
    fth_config config;           /* the file's content (empty without --config) */
    bool has_log_level;
    ftrack_log_level log_level;
    char *listen;         /* --listen HOST:PORT (run only) */
    char *data_dir;       /* --data-dir (run only): the embedded hub's state */
    bool require_server;  /* --require-server (run only) */
    double drain_timeout; /* --drain-timeout, < 0: not given */
    bool help;
    /* Operations (docs/operations.md). Each may also come from FTRACK_HOST_<NAME> and the
     * file; precedence flag > environment > file > default (fth_host_options_parse applies
     * the environment to whatever no flag gave). */
    bool has_log_format;
    int log_format;        /* fth_log_format (logging.h) */
    char *health_listen;   /* --health-listen HOST:PORT, or NULL (then the file's, or off) */
    char *api_key_file;    /* --api-key-file: FTRACK_API_KEY read from this file */
    /* Connecting (docs/config.md): --ca-file; the embedded hub's --tls-cert, --tls-key,
     * --public-url. Each wins over the file's key of the same name. */
    char *ca_file;
    char *tls_cert;
    char *tls_key;
    char *public_url;
    /* Queue mode (docs/scale-out.md): --queue-mode, --queue-redis, --queue-consumer */
    char *queue_mode;
    char *queue_redis;
    char *queue_consumer;
    /* Python plugins (docs/python-plugins.md): --python-plugins, --python PATH */
    bool has_python_plugins; /* the flag or FTRACK_HOST_PYTHON_PLUGINS was given */
    bool python_plugins;
    char *python;
} fth_host_options;

enum { FTH_OPTIONS_RUN = 1, FTH_OPTIONS_PLUGINS = 2 };

/* What parsing and applying options return (also fth_queue_mode_configure): 0, or one of
 * these; the command line (cli/) turns them into its exit codes. */
enum { FTH_OPTIONS_OK = 0, FTH_OPTIONS_FAILED = -1 /* could not proceed (memory, I/O) */,
       FTH_OPTIONS_INVALID = -2 /* the user's mistake, already reported */ };

/* Parse argv (argv[0] is the command). `which` selects the options accepted. Returns 0, or
 * FTH_OPTIONS_INVALID after printing the problem to stderr (FTH_OPTIONS_FAILED when it could
 * not proceed). Loads the --config file. */
int fth_host_options_parse(int argc, char **argv, int which, fth_host_options *options);
void fth_host_options_clear(fth_host_options *options);
/* Whether `run` will log JSON by the flags and environment alone (--log-format json,
 * FTRACK_HOST_LOG_FORMAT=json), known before the options are parsed so that the parser's own
 * error lines are JSON as well. The configuration file's log_format counts from its load on. */
bool fth_host_options_want_json_logs(int argc, char **argv);
/* Fill what no flag gave from FTRACK_HOST_<NAME> (called by fth_host_options_parse). Returns
 * 0 or FTH_OPTIONS_INVALID (a bad value, reported naming the variable). */
int fth_host_options_apply_env(fth_host_options *options, int which);
void fth_host_options_usage(FILE *out, int which);

/* The plugin path to scan: --plugin-path, else the file's plugin_paths, else
 * FTRACK_EVENT_PLUGIN_PATH when set, else the plugins shipped with this build (the build
 * tree's plugin folder when running from the build tree, else the installed folder).
 * Caller frees. */
char *fth_resolve_plugin_paths(const fth_host_options *options);
/* Whether this executable runs from the build tree (then it uses the build's files). */
bool fth_running_from_build_tree(void);
/* Whether Python plugins run, and under which interpreter (NULL: the default): the flags,
 * else the configuration `config` (which may be a reloaded one). */
void fth_python_settings(const fth_host_options *options, const fth_config *config,
                         bool *enabled, const char **python);

/* Add one --plugin-arg KEY=VALUE to an object of strings. FTH_OPTIONS_OK, FTH_OPTIONS_INVALID
 * after printing the problem, or FTH_OPTIONS_FAILED (out of memory). */
int fth_add_plugin_arg(json_object *text_arguments, const char *arg);

#endif
