/* SPDX-License-Identifier: Apache-2.0 */
/* The child side of an isolated plugin instance (`ftrack-host run --isolated-child`, started
 * by isolation.c with the socket on fd 3): load one plugin, open its own session for /api
 * calls, run its register, announce its subscriptions, then run one event at a time as the
 * host asks (docs/reliability.md, "The child protocol").
 *
 * The session's event hub is never connected: events come only from the host, so the
 * journal, deduplication and the failure policy cover the plugin as if it ran in the host.
 * The plugin's own publishes (ftrack_hub_publish, ftrack_hub_reply) go to the host as
 * "publish" messages through the hub's outgoing hook, from whichever thread makes them. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ftrack/ftrack.h>
#include <ftrack/host.h>
#include <ftrack/plugin_loader.h>
#include "common/internal.h"
#include "isolation/isolation.h"
#include "ops/logging.h"

#define CHILD_FD 3

typedef struct child {
    int fd;
    pthread_mutex_t write_lock; /* the plugin may publish from its own threads */
    fth_lines lines;
    json_object *init;
    const char *instance;
    ftrack_session *session;
    ftrack_hub_queue *queue;
    void *library;
    const ftrack_plugin_descriptor_v1 *descriptor;
    ftrack_plugin_context *ctx;
    void *state;
} child;

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* One message to the host; lines of different threads never interleave. */
static bool child_write(child *c, json_object *m)
{
    pthread_mutex_lock(&c->write_lock);
    bool ok = fth_lines_write(c->fd, m);
    pthread_mutex_unlock(&c->write_lock);
    return ok;
}

static void send_error(child *c, const char *message)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "type", json_object_new_string("error"));
    json_object_object_add(m, "message", json_object_new_string(message));
    child_write(c, m);
    json_object_put(m);
}

/* The hub's outgoing hook: the plugin's publish goes to the host (protocol "publish"). */
static bool publish_to_host(const char *event_json, size_t len, void *user_data)
{
    child *c = user_data;
    ftrack_event *event = NULL;
    if (ftrack_event_parse(event_json, len, false, &event, NULL) != FTRACK_OK)
        return false;
    json_object *m = json_object_new_object();
    json_object_object_add(m, "type", json_object_new_string("publish"));
    json_object_object_add(m, "event", json_object_get(ftrack_event_json(event)));
    ftrack_event_free(event);
    bool ok = child_write(c, m);
    json_object_put(m);
    return ok;
}

static ftrack_status load_plugin(child *c, const char *path, ftrack_error *err)
{
    /* The file may have changed since the host's scan: judge it again as it is opened. */
    if (ftrack_plugin_file_trusted(path, err) != FTRACK_OK)
        return FTRACK_ERR_PLUGIN;
    c->library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!c->library)
        return fti_error(err, FTRACK_ERR_PLUGIN, "cannot load %s: %s", path, dlerror());
    ftrack_plugin_entry_v1 entry =
        (ftrack_plugin_entry_v1)dlsym(c->library, FTRACK_PLUGIN_ENTRY_V1);
    c->descriptor = entry ? entry() : NULL;
    if (!c->descriptor || c->descriptor->abi_version != FTRACK_PLUGIN_ABI_VERSION ||
        c->descriptor->size < sizeof(ftrack_plugin_descriptor_v1) || !c->descriptor->register_fn)
        return fti_error(err, FTRACK_ERR_PLUGIN, "%s is not an ftrack plugin of ABI v1", path);
    return FTRACK_OK;
}

static ftrack_status open_session(child *c, ftrack_error *err)
{
    ftrack_session_options so;
    ftrack_session_options_init(&so);
    so.server_url = str_of(c->init, "server_url");
    so.api_user = str_of(c->init, "api_user");
    so.api_key = str_of(c->init, "api_key");
    so.ca_bundle = str_of(c->init, "ca_file");
    so.discover_plugins = false;
    so.auto_connect_event_hub = false;
    so.lazy_schemas = true; /* as the host's own session: loaded by the first query */
    ftrack_status st = ftrack_session_open(&so, &c->session, err);
    if (st != FTRACK_OK) {
        fti_error_prefix(err, "the child's session");
        return st;
    }
    ftrack_hub_set_outgoing(ftrack_session_hub(c->session), publish_to_host, c);
    return FTRACK_OK;
}

/* Announce every subscriber of the child's queue to the host, in dispatch order (the same
 * on every start, so the host can map a restarted child's ids by position). */
static bool announce(child *c)
{
    json_object *list = ftrack_hub_queue_subscriptions(c->queue);
    bool ok = list != NULL;
    for (size_t i = 0; ok && i < json_object_array_length(list); i++) {
        json_object *m = json_object_array_get_idx(list, i);
        json_object_object_add(m, "type", json_object_new_string("subscribe"));
        ok = child_write(c, m);
    }
    json_object_put(list);
    return ok;
}

static ftrack_status register_plugin(child *c, ftrack_error *err)
{
    json_object *args = NULL;
    json_object_object_get_ex(c->init, "arguments", &args);
    ftrack_hub *hub = ftrack_session_hub(c->session);
    ftrack_status st = ftrack_hub_queue_new(hub, c->instance, 16, &c->queue, err);
    if (st != FTRACK_OK)
        return st;
    ftrack_hub_bind_thread(hub, c->queue);
    c->ctx = ftrack_plugin_context_new(c->instance, c->session);
    if (!c->ctx)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    st = c->descriptor->register_fn(c->ctx, c->session, args, &c->state, err);
    if (st != FTRACK_OK && err && !err->message[0])
        fti_error(err, st, "register returned %s", ftrack_strerror(st));
    return st;
}

static json_object *result_message(json_object *seq, bool ok, const char *error, json_object *reply,
                                   bool stop)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "type", json_object_new_string("result"));
    json_object_object_add(m, "seq", json_object_get(seq));
    json_object_object_add(m, "ok", json_object_new_boolean(ok));
    if (error)
        json_object_object_add(m, "error", json_object_new_string(error));
    json_object_object_add(m, "reply", reply);
    json_object_object_add(m, "stop", json_object_new_boolean(stop));
    return m;
}

static bool handle_event(child *c, json_object *m)
{
    json_object *seq = NULL, *wire = NULL, *v;
    json_object_object_get_ex(m, "seq", &seq);
    json_object_object_get_ex(m, "event", &wire);
    const char *sub_id = str_of(m, "subscriber");
    ftrack_event *event = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    json_object *result;
    if (!sub_id) {
        result = result_message(seq, false, "an event message without a subscriber", NULL, false);
    } else if (ftrack_event_from_json(wire, false, &event, &err) != FTRACK_OK) {
        result = result_message(seq, false, err.message, NULL, false);
    } else {
        ftrack_delivery_outcome outcome;
        ftrack_delivery d;
        ftrack_delivery_init(&d, &outcome);
        d.attempt =
            json_object_object_get_ex(m, "attempt", &v) ? (unsigned)json_object_get_int(v) : 1;
        d.redelivery = json_object_object_get_ex(m, "redelivery", &v) && json_object_get_boolean(v);
        json_object *reply = NULL;
        if (ftrack_hub_queue_call(c->queue, sub_id, event, &d, &reply, &err) != FTRACK_OK)
            result = result_message(seq, false, "no such subscriber in the child", NULL, false);
        else
            result = result_message(seq, outcome.failures == 0,
                                    outcome.failures ? outcome.message : NULL, reply,
                                    ftrack_event_is_stopped(event));
    }
    ftrack_event_free(event);
    bool ok = child_write(c, result);
    json_object_put(result);
    return ok;
}

static void serve(child *c)
{
    for (;;) {
        bool eof = false;
        char *line = fth_lines_read(&c->lines, -1, &eof);
        if (!line)
            return; /* the host is gone or closed the socket */
        json_object *m = json_tokener_parse(line);
        free(line);
        const char *type = str_of(m, "type");
        bool go_on = true;
        if (type && strcmp(type, "event") == 0)
            go_on = handle_event(c, m);
        else if (type && strcmp(type, "stop") == 0)
            go_on = false;
        json_object_put(m);
        if (!go_on)
            return;
    }
}

static int run_child(child *c)
{
    bool eof = false;
    char *line = fth_lines_read(&c->lines, 30, &eof);
    c->init = line ? json_tokener_parse(line) : NULL;
    free(line);
    const char *type = str_of(c->init, "type");
    c->instance = str_of(c->init, "instance");
    const char *plugin = str_of(c->init, "plugin");
    if (!type || strcmp(type, "init") != 0 || !c->instance || !plugin) {
        send_error(c, "the first message was not a valid init message");
        return 1;
    }
    const char *log_format = str_of(c->init, "log_format");
    if (log_format && strcmp(log_format, "json") == 0)
        fth_logging_install(FTH_LOG_JSON, stderr);
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = load_plugin(c, plugin, &err);
    if (st == FTRACK_OK)
        st = open_session(c, &err);
    if (st == FTRACK_OK)
        st = register_plugin(c, &err);
    if (st != FTRACK_OK) {
        send_error(c, err.message);
        return 1;
    }
    json_object *ready = json_object_new_object();
    json_object_object_add(ready, "type", json_object_new_string("ready"));
    bool ok = announce(c) && child_write(c, ready);
    json_object_put(ready);
    if (ok)
        serve(c);
    if (c->descriptor->unregister_fn)
        c->descriptor->unregister_fn(c->ctx, c->state);
    return 0;
}

int fth_child_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    child c;
    memset(&c, 0, sizeof(c));
    c.fd = CHILD_FD;
    pthread_mutex_init(&c.write_lock, NULL);
    fth_lines_init(&c.lines, CHILD_FD);
    int rc = run_child(&c);
    /* Plugin code stays mapped: a plugin's threads may still run; the process ends now. */
    if (c.queue)
        ftrack_hub_queue_free(c.queue);
    ftrack_plugin_context_free(c.ctx);
    ftrack_session_free(c.session);
    json_object_put(c.init);
    fth_lines_clear(&c.lines);
    close(CHILD_FD);
    return rc;
}
