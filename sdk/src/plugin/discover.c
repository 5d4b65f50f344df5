/* SPDX-License-Identifier: Apache-2.0 */
/* Plugin discovery for a session used without the host: protocol §8's model (register runs on
 * the thread that opens the session; subscribers use the hub's own queue, drained by
 * ftrack_hub_wait()). The host turns this off and loads plugins through plugin_loader.h with
 * a worker per plugin. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <ftrack/plugin_loader.h>
#include "common/internal.h"
#include "plugin/discover.h"

typedef struct registered {
    const ftrack_plugin_descriptor_v1 *descriptor;
    ftrack_plugin_context *context;
    void *state;
} registered;

typedef struct session_plugins {
    ftrack_session *session;
    ftrack_plugin_set *set;
    registered *plugins;
    size_t count;
    struct session_plugins *next;
} session_plugins;

/* Sessions are few and open rarely: a locked list is enough. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static session_plugins *loaded;
/* Released sessions' libraries stay mapped for the life of the process: the hub may still
 * hold a subscriber or a reply callback pointing into them, and running unmapped code would
 * be worse than keeping a few pages. */
static session_plugins *retired;

static void log_dropped(const ftrack_plugin_descriptor_v1 *d, json_object *dropped)
{
    size_t n = json_object_array_length(dropped);
    if (n == 0)
        return;
    char names[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof(names); i++) {
        int w = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                         json_object_get_string(json_object_array_get_idx(dropped, i)));
        if (w > 0)
            used += (size_t)w;
    }
    ftrack_log(FTRACK_LOG_WARNING, "plugins",
               "plugin '%s' does not declare, and so does not "
               "receive, the arguments: %s",
               d->name, names);
}

static void register_one(session_plugins *sp, const ftrack_plugin_descriptor_v1 *d,
                         const char *path, json_object *arguments)
{
    ftrack_plugin_arguments a;
    ftrack_plugin_arguments_init(&a);
    a.shared = arguments;
    json_object *args = NULL, *dropped = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (ftrack_plugin_filter_arguments(d, &a, &args, &dropped, &err) != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_ERROR, "plugins", "refused plugin '%s' from %s: %s", d->name, path,
                   err.message);
        return;
    }
    log_dropped(d, dropped);
    json_object_put(dropped);
    registered *r = &sp->plugins[sp->count];
    r->descriptor = d;
    r->context = ftrack_plugin_context_new(d->name, sp->session);
    r->state = NULL;
    ftrack_error_clear(&err);
    ftrack_status st = r->context ? d->register_fn(r->context, sp->session, args, &r->state, &err)
                                  : FTRACK_ERR_NO_MEMORY;
    json_object_put(args);
    if (st != FTRACK_OK) {
        ftrack_log(FTRACK_LOG_ERROR, "plugins", "plugin '%s' from %s failed to register: %s",
                   d->name, path, err.message[0] ? err.message : ftrack_strerror(st));
        ftrack_plugin_context_free(r->context);
        return;
    }
    ftrack_log(FTRACK_LOG_INFO, "plugins", "registered plugin '%s' %s from %s", d->name, d->version,
               path);
    sp->count++;
}

ftrack_status fti_plugin_discover_for_session(ftrack_session *session, const char *paths,
                                              json_object *arguments, ftrack_error *err)
{
    if (!paths || !*paths)
        return FTRACK_OK;
    session_plugins *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory loading plugins");
    ftrack_status st = ftrack_plugin_set_scan(paths, &sp->set, err);
    if (st != FTRACK_OK) {
        free(sp);
        return st;
    }
    size_t n = ftrack_plugin_set_count(sp->set);
    sp->plugins = calloc(n ? n : 1, sizeof(*sp->plugins));
    if (!sp->plugins) {
        ftrack_plugin_set_free(sp->set);
        free(sp);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory loading plugins");
    }
    sp->session = session;
    for (size_t i = 0; i < n; i++) {
        const char *path = ftrack_plugin_set_path(sp->set, i);
        const ftrack_plugin_descriptor_v1 *d = ftrack_plugin_set_descriptor(sp->set, i);
        if (d)
            register_one(sp, d, path, arguments);
        else
            ftrack_log(FTRACK_LOG_WARNING, "plugins", "refused plugin file %s: %s", path,
                       ftrack_plugin_set_refusal(sp->set, i));
    }
    pthread_mutex_lock(&lock);
    sp->next = loaded;
    loaded = sp;
    pthread_mutex_unlock(&lock);
    return FTRACK_OK;
}

void fti_plugin_release_for_session(ftrack_session *session)
{
    pthread_mutex_lock(&lock);
    session_plugins **link = &loaded;
    while (*link && (*link)->session != session)
        link = &(*link)->next;
    session_plugins *sp = *link;
    if (sp)
        *link = sp->next;
    pthread_mutex_unlock(&lock);
    if (!sp)
        return;
    for (size_t i = sp->count; i-- > 0;) {
        registered *r = &sp->plugins[i];
        if (r->descriptor->unregister_fn)
            r->descriptor->unregister_fn(r->context, r->state);
    }
    pthread_mutex_lock(&lock);
    sp->next = retired;
    retired = sp;
    pthread_mutex_unlock(&lock);
}
