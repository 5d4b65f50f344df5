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
} fth_config_instance;

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

/* The entries of `plugin` (enabled or not), in the file's order; returns how many were
 * written to out (at most max). */
size_t fth_config_instances_of(const fth_config *config, const char *plugin,
                               const fth_config_instance **out, size_t max);
#endif
