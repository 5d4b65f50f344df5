/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host test-plugin`: the embedded /api a tested plugin's session talks to, and the
 * ftrack.update events its commits cause (test_plugin.h).
 *
 * The server listens on 127.0.0.1 with a random key that only this process knows. Its
 * ftrack.update events reach a listener connected like any client. To know that every update
 * of a commit has arrived, a barrier event is injected into the server after the plugin's
 * call returned: the server routes injected events in order, so once the barrier comes back
 * everything before it has too. */
#include <stdlib.h>
#include <string.h>

#include <ftrack/ftrack.h>
#include <ftrack/host.h>
#include "cli/cli.h"
#include "common/internal.h"
#include "hub_server.h"
#include "cli/test_plugin.h"

#define STUDIO_USER "test-plugin"
#define BARRIER_TOPIC "ftrack.test-plugin.barrier"
#define CONNECT_TIMEOUT 15.0
#define BARRIER_TIMEOUT 15.0
#define BARRIER_RETRY 0.1

struct fth_tp_studio {
    fhub_server *server;
    ftrack_hub *listener;
    ftrack_hub_queue *queue;
    char key[33];
    unsigned long barriers;
};

static ftrack_status start_server(fth_tp_studio *s, const char *seed_file, ftrack_error *err)
{
    fth_cli_random_hex(s->key);
    fhub_server_config cfg;
    fhub_server_config_init(&cfg);
    cfg.listen_host = "127.0.0.1";
    cfg.api_user = STUDIO_USER;
    cfg.api_key = s->key;
    cfg.memory_store = true;
    cfg.seed_file = seed_file;
    return fhub_server_start(&cfg, &s->server, err);
}

static ftrack_status start_listener(fth_tp_studio *s, ftrack_error *err)
{
    ftrack_hub_options o;
    ftrack_hub_options_init(&o);
    o.server_url = fhub_server_url(s->server);
    o.api_user = STUDIO_USER;
    o.api_key = s->key;
    o.connect_timeout = CONNECT_TIMEOUT;
    ftrack_status st = ftrack_hub_new(&o, &s->listener, err);
    if (st == FTRACK_OK)
        st = ftrack_hub_queue_new(s->listener, "ftrack.update", 10000, &s->queue, err);
    if (st != FTRACK_OK)
        return st;
    ftrack_hub_bind_thread(s->listener, s->queue);
    st = ftrack_hub_subscribe(s->listener, "topic=ftrack.update", fth_cli_no_callback, NULL, NULL,
                              NULL, err);
    if (st == FTRACK_OK)
        st = ftrack_hub_subscribe(s->listener, "topic=" BARRIER_TOPIC, fth_cli_no_callback, NULL,
                                  NULL, NULL, err);
    ftrack_hub_bind_thread(s->listener, NULL);
    if (st == FTRACK_OK)
        st = ftrack_hub_connect(s->listener, err);
    if (st == FTRACK_OK)
        st = ftrack_hub_wait_connected(s->listener, CONNECT_TIMEOUT, err);
    return st;
}

ftrack_status fth_tp_studio_start(const char *seed_file, fth_tp_studio **out, ftrack_error *err)
{
    *out = NULL;
    fth_tp_studio *s = calloc(1, sizeof(*s));
    if (!s)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    /* The studio's own connection is no news to the plugin's author: only warnings. The
     * plugin has not been loaded yet, so nothing of it is silenced. */
    ftrack_log_level level = ftrack_log_get_level();
    if (level < FTRACK_LOG_WARNING)
        ftrack_log_set_level(FTRACK_LOG_WARNING);
    ftrack_status st = start_server(s, seed_file, err);
    if (st == FTRACK_OK)
        st = start_listener(s, err);
    /* The listener's subscriptions are live once a barrier comes back; what came before it
     * (nothing can have been committed yet) is dropped. */
    json_object *none = st == FTRACK_OK ? fth_tp_studio_updates(s, err) : NULL;
    if (st == FTRACK_OK && !none)
        st = err->code ? err->code : FTRACK_ERR_TIMEOUT;
    json_object_put(none);
    ftrack_log_set_level(level);
    if (st != FTRACK_OK) {
        fth_tp_studio_stop(s);
        return st;
    }
    *out = s;
    return FTRACK_OK;
}

const char *fth_tp_studio_url(const fth_tp_studio *studio)
{
    return fhub_server_url(studio->server);
}

const char *fth_tp_studio_user(const fth_tp_studio *studio)
{
    (void)studio;
    return STUDIO_USER;
}

const char *fth_tp_studio_key(const fth_tp_studio *studio)
{
    return studio->key;
}

static bool inject_barrier(fth_tp_studio *s, ftrack_error *err)
{
    char text[160];
    int n = snprintf(text, sizeof(text), "{\"topic\":\"" BARRIER_TOPIC "\",\"data\":{\"n\":%lu}}",
                     s->barriers);
    return fhub_server_inject(s->server, text, (size_t)n, err) == FTRACK_OK;
}

/* The barrier `n` came back in this event text. */
static bool is_barrier(json_object *event, unsigned long n)
{
    const char *topic = fti_json_string(event, "topic");
    json_object *data = NULL, *value = NULL;
    return topic && strcmp(topic, BARRIER_TOPIC) == 0 &&
           json_object_object_get_ex(event, "data", &data) &&
           json_object_object_get_ex(data, "n", &value) &&
           (unsigned long)json_object_get_int64(value) == n;
}

json_object *fth_tp_studio_updates(fth_tp_studio *s, ftrack_error *err)
{
    s->barriers++;
    json_object *updates = json_object_new_array();
    double deadline = fti_now() + BARRIER_TIMEOUT, next_barrier = 0;
    for (;;) {
        double now = fti_now();
        if (now > deadline)
            break;
        /* Until the first barrier returns, the subscription may not have reached the
         * server yet: send it again now and then. After that, once is enough. */
        if (now >= next_barrier) {
            if (!inject_barrier(s, err))
                break;
            next_barrier = s->barriers > 1 ? deadline + 1 : now + BARRIER_RETRY;
        }
        size_t len = 0;
        char *text = ftrack_hub_queue_take(s->queue, BARRIER_RETRY, &len);
        json_object *event = text ? json_tokener_parse(text) : NULL;
        ftrack_free(text);
        if (!event)
            continue;
        if (is_barrier(event, s->barriers)) {
            json_object_put(event);
            return updates;
        }
        const char *topic = fti_json_string(event, "topic");
        if (topic && strcmp(topic, "ftrack.update") == 0)
            json_object_array_add(updates, event);
        else
            json_object_put(event);
    }
    json_object_put(updates);
    if (!err->message[0])
        fti_error(err, FTRACK_ERR_TIMEOUT, "the embedded /api did not answer within %.0f s",
                  BARRIER_TIMEOUT);
    return NULL;
}

void fth_tp_studio_stop(fth_tp_studio *s)
{
    if (!s)
        return;
    ftrack_log_level level = ftrack_log_get_level(); /* as at start (the plugin is gone) */
    if (level < FTRACK_LOG_WARNING)
        ftrack_log_set_level(FTRACK_LOG_WARNING);
    if (s->listener) {
        ftrack_hub_disconnect(s->listener, false, NULL);
        ftrack_hub_queue_free(s->queue);
        ftrack_hub_free(s->listener);
    }
    fhub_server_stop(s->server);
    ftrack_log_set_level(level);
    free(s);
}
