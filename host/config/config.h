/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_CONFIG_H
#define FTH_CONFIG_H
/*
 * The host's JSON configuration file (`--config FILE`), documented in docs/config.md.
 *
 * Ownership. fth_config owns everything it points to (strings, and one reference to the
 * parsed document, from which `arguments` and each instance's `arguments` are borrowed).
 * Release with fth_config_clear(). Used on the main thread only (json-c objects).
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/log.h>

/* One entry of "plugins": an instance of a plugin under its own name. */
typedef struct fth_config_instance {
    char *name;             /* instance name (the key), [a-z0-9_-]+ */
    char *plugin;           /* the plugin's name ("plugin", default: the key) */
    json_object *arguments; /* the instance's own arguments (borrowed from the document) or NULL */
    bool enabled;           /* "enabled", default true */
    size_t queue_capacity;  /* "queue_capacity", 0: the global value */
    /* Reliability (docs/reliability.md, config_rel.c) */
    json_object *failure;   /* "failure" policy overrides (borrowed, checked) or NULL */
    bool isolated;          /* "isolated": run in a child process */
    bool in_process;        /* "isolated": false given explicitly (poison.h) */
    json_object *command;   /* "command": argv of an isolated program (borrowed) or NULL */
    bool unjournaled;       /* "journal": false: at-most-once delivery, no journal */
} fth_config_instance;

/* Events a plugin instance's inbox holds when neither the instance nor the file says. */
#define FTH_DEFAULT_QUEUE_CAPACITY 1000

typedef struct fth_config {
    json_object *document;  /* the parsed file (owned), NULL when no file was given */
    json_object *arguments; /* "arguments": the shared mapping (borrowed) or NULL */
    char *plugin_paths;     /* "plugin_paths" joined with ':' or NULL */
    fth_config_instance *instances;
    size_t instance_count;
    size_t queue_capacity; /* "queue_capacity", 0: not given */
    double drain_timeout;  /* "drain_timeout" seconds, < 0: not given */
    bool has_log_level;
    ftrack_log_level log_level; /* "log_level" */
    /* Operations (docs/operations.md) */
    bool has_log_format;
    int log_format;      /* "log_format": fth_log_format (logging.h) */
    char *health_listen; /* "health_listen" HOST:PORT or NULL */
    char *api_key_file;  /* "api_key_file" or NULL */
    /* Connecting (docs/config.md): paths and a URL, or NULL */
    char *ca_file;    /* "ca_file": the CAs that verify FTRACK_SERVER's certificate */
    char *tls_cert;   /* "tls_cert", "tls_key": the embedded hub serves https/wss */
    char *tls_key;
    char *public_url; /* "public_url": the embedded hub's address as clients see it */
    /* Reliability (docs/reliability.md, config_rel.c): borrowed from the document, checked */
    json_object *journal; /* "journal" or NULL */
    json_object *failure; /* "failure" or NULL */
    /* Queue mode (docs/scale-out.md, queue_mode.c): borrowed from the document, checked */
    json_object *queue; /* "queue" or NULL */
    /* Python plugins (docs/python-plugins.md) */
    bool python_plugins; /* "python_plugins" */
    char *python;        /* "python": the interpreter, or NULL */
} fth_config;

/* An empty configuration (nothing given). */
void fth_config_init(fth_config *config);
/* Read and check a file. FTRACK_ERR_IO when it cannot be read, FTRACK_ERR_CONFIG (naming the
 * file and the offending key) when it is not valid. */
ftrack_status fth_config_load(const char *path, fth_config *config, ftrack_error *err);
/* Check a parsed document (borrowed; a reference is taken). `origin` names it in messages. */
ftrack_status fth_config_parse(json_object *document, const char *origin, fth_config *config,
                               ftrack_error *err);
void fth_config_clear(fth_config *config);

/* config_ops.c: the operations keys (log_format, health_listen, api_key_file). Returns
 * FTRACK_ERR_NOT_FOUND when `key` is not one of them. */
#define FTH_CONFIG_OPS_KEYS                                                                    \
    "log_format, health_listen, api_key_file, ca_file, tls_cert, tls_key, public_url"
ftrack_status fth_config_parse_ops_key(const char *key, json_object *value, const char *origin,
                                       fth_config *config, ftrack_error *err);
/* Replace every argument written {"file": "/path"} with the file's content as a string
 * (one trailing newline removed), so secrets stay out of the configuration. `where` names the
 * object in messages ("arguments", "plugins.x.arguments"). Modifies `arguments` in place. */
/* The content of a secret file (one trailing newline removed; at most 64 KiB). Caller frees
 * (explicit_bzero first). NULL with err set (naming the path, never the content). */
char *fth_read_secret_file(const char *path, ftrack_error *err);
ftrack_status fth_config_read_secret_files(json_object *arguments, const char *origin,
                                           const char *where, ftrack_error *err);

/* config_rel.c: the reliability keys (top level: journal, failure; per instance: failure,
 * isolated, command, journal). FTRACK_ERR_NOT_FOUND when `key` is not one of them. */
#define FTH_CONFIG_REL_KEYS "journal, failure"
#define FTH_CONFIG_REL_INSTANCE_KEYS "failure, isolated, command, journal"
ftrack_status fth_config_parse_rel_key(const char *key, json_object *value, const char *origin,
                                       fth_config *config, ftrack_error *err);
ftrack_status fth_config_parse_rel_instance_key(const char *name, const char *key,
                                                json_object *value, const char *origin,
                                                fth_config_instance *instance,
                                                ftrack_error *err);

/* The entries of `plugin` (enabled or not), in the file's order; returns how many were
 * written to out (at most max). */
size_t fth_config_instances_of(const fth_config *config, const char *plugin,
                               const fth_config_instance **out, size_t max);
#endif
