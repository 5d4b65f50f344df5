/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_PYTHON_PLUGINS_H
#define FTH_PYTHON_PLUGINS_H
/*
 * Python event plugins written for ftrack's own client (docs/python-plugins.md): the `.py`
 * files on the plugin path, each run as an isolated instance under the Python runner shipped
 * with the host (isolation/python/ftrack_host_runner.py), which speaks the child protocol
 * (isolation.h) and gives the plugin a real ftrack_api.Session.
 *
 * Off by default (studios share the plugin path with ftrack Connect): `--python-plugins` or
 * the configuration's "python_plugins": true. `--python PATH` / "python" picks the
 * interpreter (default python3), which must import ftrack_api.
 *
 * Threads: main thread only. Ownership: as stated per function.
 */
#include <stdbool.h>
#include <stddef.h>
#include <ftrack/plugin.h>
#include "config/config.h"

#define FTH_PYTHON_DEFAULT "python3"

/* The `.py` files under ':'-separated `paths`, recursively, sorted per folder (symbolic
 * links to folders are not followed). Files below a folder anyone may write to are not
 * listed: they go to *refused (path: reason), like such .so files. Arrays and strings are
 * new (fth_python_files_free). False when out of memory. */
bool fth_python_scan(const char *paths, char ***files, size_t *count, char ***refused,
                     size_t *refused_count);
void fth_python_files_free(char **files, size_t count);

/* The plugin name of a file: its name without ".py", lower-cased, every character outside
 * a-z, 0-9, '_' and '-' made '_', at most 64 characters. Caller frees. */
char *fth_python_plugin_name(const char *path);

/* The arguments a Python instance gets, as JSON text: the shared mapping, then the command
 * line's, then the instance's own (later wins). The runner reduces them to what `register`
 * accepts, as ftrack's client does. Caller frees. */
char *fth_python_arguments(json_object *shared, json_object *text, json_object *instance);

/* The runner's argv for `python` (NULL: the default): {python, runner path, NULL}. Static
 * storage, valid until the next call. */
const char *const *fth_python_command(const char *python);

/* Check that `python` runs and imports ftrack_api. FTRACK_ERR_CONFIG with a message naming
 * the interpreter and the error's last line otherwise. */
ftrack_status fth_python_check(const char *python, ftrack_error *err);

/* The descriptor of Python instances (they only run isolated). Static storage. */
const ftrack_plugin_descriptor_v1 *fth_python_descriptor(void);
#endif
