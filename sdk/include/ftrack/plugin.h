/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_PLUGIN_H
#define FTRACK_PLUGIN_H
/*
 * Writing a plugin for ftrack-host.
 *
 * A plugin is a shared object that exports one entry point whose name carries the ABI
 * version, `ftrack_plugin_register_v1`, returning a descriptor: the plugin's name, version,
 * declared parameters and its register/unregister functions. FTRACK_PLUGIN() below writes it:
 *
 *     static const ftrack_plugin_param params[] = {
 *         {"greeting", FTRACK_PARAM_STRING, false, "\"hello\"", "what to reply"},
 *     };
 *     static json_object *on_event(ftrack_event *e, const ftrack_delivery *d, void *state) {...}
 *     static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *s, json_object *args,
 *                              void **state, ftrack_error *err) {
 *         return ftrack_hub_subscribe(ftrack_session_hub(s), "topic=my.topic", on_event,
 *                                     NULL, NULL, NULL, err);
 *     }
 *     FTRACK_PLUGIN("greeter", "1.0.0", "Replies to my.topic", params, reg, NULL);
 *
 * Threads. Every plugin instance has its own worker thread. register, every subscriber
 * callback of the instance and unregister all run on that thread, one at a time, so a plugin
 * needs no locks for its own state and may keep json-c objects it created in its state.
 * Subscriptions and publishes made inside register or a callback go to the instance's own
 * queue automatically.
 *
 * Memory. `arguments` is borrowed for the register call (take a reference with
 * json_object_get() to keep it; it stays on the plugin's thread). An event passed to a
 * callback is the instance's private copy, borrowed for the call. The descriptor and its
 * strings must stay valid while the library is loaded (static storage).
 *
 * ABI stability promise.
 *  - Within one ABI version, the descriptor and ftrack_delivery only grow at their end; each
 *    carries its `size`, and the host reads a field only when the size says it is there.
 *    Plugins built against an older header of the same version keep loading.
 *  - A change that cannot be made that way gets a new version: a new entry point
 *    `ftrack_plugin_register_v<N+1>` and a new descriptor type. The host looks for the newest
 *    entry point it knows first and keeps loading plugins built for every older version it
 *    still lists; a plugin may export several entry points to run on older hosts too.
 *  - A plugin whose only entry points are for versions the host does not know is refused,
 *    with a log line naming the versions on both sides.
 *  - Functions of libftrack (ftrack_*) keep their meaning within the soname (libftrack.so.0).
 *  - JSON crosses the boundary as json-c's `json_object *` (arguments, events, replies), so
 *    json-c's soname is part of this promise: a plugin built against libjson-c.so.5 works
 *    only in a host linked with libjson-c.so.5 (with two json-c copies in one process the
 *    objects passed between them break). json-c is the only third-party library whose types
 *    appear in libftrack's public headers; build plugins with `pkg-config libftrack`, which
 *    names it.
 */
#include <stdint.h>
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/hub.h>
#include <ftrack/log.h>
#include <ftrack/session.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FTRACK_PLUGIN_ABI_VERSION 1

typedef enum ftrack_param_type {
    FTRACK_PARAM_STRING = 1,
    FTRACK_PARAM_INT,    /* 64-bit integer */
    FTRACK_PARAM_DOUBLE,
    FTRACK_PARAM_BOOL,
    FTRACK_PARAM_JSON    /* any JSON value (objects, lists) */
} ftrack_param_type;

/* One declared parameter. The plugin receives in `arguments` only its declared names,
 * converted to their types; a missing optional one gets `default_json` (JSON text, e.g.
 * "\"hello\"", "3", "true"; NULL: absent from arguments). */
typedef struct ftrack_plugin_param {
    const char *name;
    ftrack_param_type type;
    bool required;
    const char *default_json;
    const char *help;
} ftrack_plugin_param;

/* The host's handle for one plugin instance (opaque, owned by the host). */
typedef struct ftrack_plugin_context ftrack_plugin_context;

/* Register: subscribe and set up. Return FTRACK_OK, or an error to refuse loading (the host
 * then unsubscribes what was subscribed and logs err's message). *state is passed back to
 * unregister. */
typedef ftrack_status (*ftrack_plugin_register_fn)(ftrack_plugin_context *context,
                                                   ftrack_session *session, json_object *arguments,
                                                   void **state, ftrack_error *err);
/* Unregister: release what register made. Subscriptions are removed by the host. */
typedef void (*ftrack_plugin_unregister_fn)(ftrack_plugin_context *context, void *state);

typedef struct ftrack_plugin_descriptor_v1 {
    uint32_t abi_version;  /* FTRACK_PLUGIN_ABI_VERSION */
    uint32_t size;         /* sizeof(ftrack_plugin_descriptor_v1) */
    const char *name;      /* [a-z0-9_-]+, unique among loaded plugins */
    const char *version;
    const char *description;
    const ftrack_plugin_param *params;
    size_t param_count;
    ftrack_plugin_register_fn register_fn;      /* required */
    ftrack_plugin_unregister_fn unregister_fn;  /* optional */
    void *reserved[4];
} ftrack_plugin_descriptor_v1;

typedef const ftrack_plugin_descriptor_v1 *(*ftrack_plugin_entry_v1)(void);
#define FTRACK_PLUGIN_ENTRY_V1 "ftrack_plugin_register_v1"

/* Log through the host, tagged with the plugin instance's name. */
FTRACK_API void ftrack_plugin_log(ftrack_plugin_context *context, ftrack_log_level level,
                                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The instance name (the plugin's name, or the name the configuration gave this instance). */
FTRACK_API const char *ftrack_plugin_instance_name(const ftrack_plugin_context *context);
/* The session the instance was registered with. */
FTRACK_API ftrack_session *ftrack_plugin_session(const ftrack_plugin_context *context);

#define FTRACK_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Declare a plugin: name, version, description, a params array (or NULL), register, unregister
 * (or NULL). */
#define FTRACK_PLUGIN(NAME, VERSION, DESCRIPTION, PARAMS, REGISTER, UNREGISTER)                  \
    static const ftrack_plugin_descriptor_v1 ftrack_plugin_descriptor_ = {                       \
        FTRACK_PLUGIN_ABI_VERSION,                                                               \
        (uint32_t)sizeof(ftrack_plugin_descriptor_v1),                                           \
        (NAME),                                                                                  \
        (VERSION),                                                                               \
        (DESCRIPTION),                                                                           \
        (PARAMS),                                                                                \
        FTRACK_PLUGIN_COUNT_(PARAMS),                                                            \
        (REGISTER),                                                                              \
        (UNREGISTER),                                                                            \
        {0, 0, 0, 0}};                                                                           \
    FTRACK_PLUGIN_EXPORT const ftrack_plugin_descriptor_v1 *ftrack_plugin_register_v1(void)      \
    {                                                                                            \
        return &ftrack_plugin_descriptor_;                                                       \
    }

/* sizeof on a NULL literal would be wrong, so a plugin without parameters passes NULL and the
 * count is 0; an array gives its element count. */
#define FTRACK_PLUGIN_COUNT_(PARAMS)                                                             \
    _Generic((PARAMS), const ftrack_plugin_param *: (size_t)sizeof(PARAMS) /                     \
                                                        sizeof(ftrack_plugin_param),            \
             ftrack_plugin_param *: (size_t)sizeof(PARAMS) / sizeof(ftrack_plugin_param),        \
             default: (size_t)0)

#ifdef __cplusplus
}
#endif
#endif
