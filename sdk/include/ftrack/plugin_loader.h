/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_PLUGIN_LOADER_H
#define FTRACK_PLUGIN_LOADER_H
/*
 * Loading plugins (for hosts; plugin authors read ftrack/plugin.h instead).
 *
 * A host scans a plugin path into a *plugin set*: every file the scan tried, each either
 * loaded (with its descriptor) or refused (with a one-line reason). It then builds each
 * instance's arguments with ftrack_plugin_filter_arguments() and calls the plugin's register
 * function with a context from ftrack_plugin_context_new().
 *
 * Trust. Loading a shared object runs its constructors, so the scan refuses, before dlopen, a
 * file that is writable by everyone or lies below a folder (within the plugin path) that is,
 * and any file that ftrack_plugin_file_trusted() refuses. The path must hold only trusted
 * plugins.
 *
 * Threads. A set is built and freed on one thread; its accessors may be called from any
 * thread while it lives. Descriptors stay valid until the set is freed (which unloads the
 * libraries: nothing of a plugin may run after that).
 */
#include <stdint.h>
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/plugin.h>
#include <ftrack/session.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ftrack_plugin_set ftrack_plugin_set;

/* Scan `paths` (':'-separated folders; empty entries are skipped). Each folder is walked
 * recursively in sorted (byte-wise) order without following symbolic links to folders;
 * regular files whose name ends in ".so" are loaded with RTLD_NOW | RTLD_LOCAL. A file is
 * refused when it is writable by everyone (or a folder above it within the path is), fails
 * to load, has no entry point of an ABI version this SDK knows, returns an invalid descriptor
 * (wrong size, missing name, version or register function, invalid parameters) or repeats the
 * name of a plugin loaded before it. Refusals are recorded, not logged, and never fail the
 * scan: it fails only when out of memory. A folder that does not exist is skipped. */
FTRACK_API ftrack_status ftrack_plugin_set_scan(const char *paths, ftrack_plugin_set **out,
                                                ftrack_error *err);
/* Whether `path` may be loaded, by the rule of sshd's StrictModes: the file and every folder
 * above it (for a symbolic link, above its target and above the link) belong to this user or
 * root and are writable by neither group nor others; a root-owned folder with the sticky bit
 * (like /tmp) passes. FTRACK_ERR_PLUGIN with the reason (naming the offending file or
 * folder) otherwise. The scan applies it; a process that loads a file itself (an isolated
 * child) checks it again just before. */
FTRACK_API ftrack_status ftrack_plugin_file_trusted(const char *path, ftrack_error *err);
/* Unload every library and free. NULL is accepted. */
FTRACK_API void ftrack_plugin_set_free(ftrack_plugin_set *set);

/* Files tried, in scan order. */
FTRACK_API size_t ftrack_plugin_set_count(const ftrack_plugin_set *set);
/* Borrowed strings, valid while the set lives. */
FTRACK_API const char *ftrack_plugin_set_path(const ftrack_plugin_set *set, size_t index);
/* NULL when the file was refused. */
FTRACK_API const ftrack_plugin_descriptor_v1 *
ftrack_plugin_set_descriptor(const ftrack_plugin_set *set, size_t index);
/* The ABI version negotiated for a loaded file (0 when refused). */
FTRACK_API unsigned ftrack_plugin_set_abi_version(const ftrack_plugin_set *set, size_t index);
/* Why the file was refused (one line naming no secret), or NULL when it loaded. */
FTRACK_API const char *ftrack_plugin_set_refusal(const ftrack_plugin_set *set, size_t index);
/* Index of the loaded plugin called `name`, or -1. */
FTRACK_API long ftrack_plugin_set_find(const ftrack_plugin_set *set, const char *name);

/* The ABI versions this SDK loads, newest first; *count receives their number. */
FTRACK_API const unsigned *ftrack_plugin_abi_versions(size_t *count);

/* "string", "int", "double", "bool", "json" (or "unknown"). Static. */
FTRACK_API const char *ftrack_plugin_param_type_name(ftrack_param_type type);

/* Where one instance's arguments come from. All three objects are borrowed and may be NULL.
 * For each declared parameter the first of instance, text, shared that has the name wins;
 * else the parameter's default applies. */
typedef struct ftrack_plugin_arguments {
    size_t size;           /* sizeof(ftrack_plugin_arguments) */
    json_object *shared;   /* the shared mapping's JSON values (a config file, a program):
                              must already have the declared type (an int is accepted for a
                              double) */
    json_object *text;     /* the shared mapping's values typed as text (`--plugin-arg`):
                              strings converted to the declared type ("5" → 5, "true"/"false",
                              JSON text for a json parameter); override `shared` */
    json_object *instance; /* this instance's own JSON values (checked like `shared`); a name
                              the plugin does not declare is an error (it can only be a typo) */
} ftrack_plugin_arguments;

FTRACK_API void ftrack_plugin_arguments_init(ftrack_plugin_arguments *arguments);

/* Build the arguments an instance of `descriptor` receives: a new object (*out) holding only
 * declared names, converted to their types, defaults applied. *dropped (when not NULL)
 * receives a new array of the names found in `shared` or `text` that the plugin does not
 * declare, sorted and unique (empty when none), so the caller can warn once naming them.
 * FTRACK_ERR_PLUGIN when a required parameter is missing, a value has the wrong type or does
 * not convert, or `instance` names an undeclared parameter; the message names the parameter
 * and never repeats a value. Nothing is returned on failure. */
FTRACK_API ftrack_status ftrack_plugin_filter_arguments(
    const ftrack_plugin_descriptor_v1 *descriptor, const ftrack_plugin_arguments *arguments,
    json_object **out, json_object **dropped, ftrack_error *err);

/* A context for one instance of a plugin: the handle passed to its register and unregister
 * functions and to ftrack_plugin_log(). `instance_name` is copied; `session` is borrowed and
 * must outlive the context. NULL when out of memory or instance_name is NULL. */
FTRACK_API ftrack_plugin_context *ftrack_plugin_context_new(const char *instance_name,
                                                            ftrack_session *session);
/* NULL is accepted. */
FTRACK_API void ftrack_plugin_context_free(ftrack_plugin_context *context);

#ifdef __cplusplus
}
#endif
#endif
