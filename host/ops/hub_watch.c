/* SPDX-License-Identifier: Apache-2.0 */
/* The event hub connection watcher (hub_watch.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ftrack/ftrack.h>
#include <ftrack/host.h>
#include "common/internal.h"
#include "ops/hub_watch.h"
#include "ops/metrics.h"
#include "ops/notify.h"

#define QUEUE_CAPACITY 64

struct fth_hub_watch {
    ftrack_hub *hub;
    ftrack_hub_queue *queue;
    int wake_fd; /* eventfd the queue's notify writes, the main loop reads */
    struct event *wake;
    fth_hub_watch_fn on_change;
    void *user_data;
    double disconnected_at; /* wall clock, 0: connected (or never connected) */
    bool ever_connected;
};

static void publish_gap(fth_hub_watch *w, double disconnected_at, double reconnected_at)
{
    char from[64], to[64];
    ftrack_time_iso8601(disconnected_at, 6, from, sizeof(from));
    ftrack_time_iso8601(reconnected_at, 6, to, sizeof(to));
    json_object *data = json_object_new_object();
    json_object_object_add(data, "disconnected_at", json_object_new_string(from));
    json_object_object_add(data, "reconnected_at", json_object_new_string(to));
    json_object_object_add(data, "seconds",
                           json_object_new_double(reconnected_at - disconnected_at));
    ftrack_event *ev = ftrack_event_new("ftrack.host.reconnected", data);
    ftrack_error err;
    ftrack_error_clear(&err);
    if (!ev || ftrack_hub_deliver_local(w->hub, ev, &err) != FTRACK_OK)
        ftrack_log(FTRACK_LOG_ERROR, "reliability", "cannot publish ftrack.host.reconnected: %s",
                   err.message);
    else
        ftrack_log(FTRACK_LOG_WARNING, "reliability",
                   "event hub reconnected after %.1f s without a connection (events published "
                   "meanwhile were not received); published ftrack.host.reconnected so plugins "
                   "can resynchronise",
                   reconnected_at - disconnected_at);
    ftrack_event_free(ev);
}

static void on_connected(fth_hub_watch *w, double now)
{
    if (w->ever_connected)
        fth_metrics_global_add(FTH_GLOBAL_RECONNECTS, 1);
    if (w->ever_connected && w->disconnected_at > 0)
        publish_gap(w, w->disconnected_at, now);
    w->ever_connected = true;
    w->disconnected_at = 0;
    fth_notify_status("event hub connected");
}

static void on_disconnected(fth_hub_watch *w, double now)
{
    fth_metrics_global_add(FTH_GLOBAL_DISCONNECTS, 1);
    fth_notify_status("event hub disconnected: reconnecting");
    if (w->ever_connected && w->disconnected_at == 0)
        w->disconnected_at = now;
}

static json_object *on_meta(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    (void)delivery;
    const char *topic = ftrack_event_topic(event);
    if (topic && strcmp(topic, "ftrack.meta.connected") == 0)
        on_connected(user, fti_wall_now());
    else if (topic && strcmp(topic, "ftrack.meta.disconnected") == 0)
        on_disconnected(user, fti_wall_now());
    return NULL;
}

/* Runs with the queue's lock held, often on the network thread: only wake the loop. */
static void notify(ftrack_hub_queue *queue, void *user_data)
{
    (void)queue;
    fth_hub_watch *w = user_data;
    uint64_t one = 1;
    ssize_t n = write(w->wake_fd, &one, sizeof(one));
    (void)n; /* a full counter still wakes the loop */
}

bool fth_hub_watch_connected(fth_hub_watch *w)
{
    if (!w)
        return false;
    bool connected = ftrack_hub_connected(w->hub);
    if (connected)
        w->ever_connected = true; /* connected before the subscription saw it */
    return connected;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    fth_hub_watch *w = arg;
    uint64_t count;
    ssize_t n = read(fd, &count, sizeof(count));
    (void)n;
    size_t len = 0;
    char *text;
    bool changed = false;
    ftrack_hub_match *match = NULL;
    while ((text = ftrack_hub_queue_take_matched(w->queue, 0, &len, &match)) != NULL) {
        ftrack_hub_queue_dispatch_matched(w->queue, text, len, match, NULL, NULL, NULL);
        ftrack_hub_match_unref(match);
        ftrack_free(text);
        changed = true;
    }
    if (changed && w->on_change)
        w->on_change(fth_hub_watch_connected(w), w->user_data);
}

ftrack_status fth_hub_watch_start(ftrack_hub *hub, struct event_base *base,
                                  fth_hub_watch_fn on_change, void *user_data, fth_hub_watch **out,
                                  ftrack_error *err)
{
    *out = NULL;
    fth_hub_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    w->hub = hub;
    w->on_change = on_change;
    w->user_data = user_data;
    w->ever_connected = ftrack_hub_connected(hub);
    w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake_fd < 0 ||
        !(w->wake = event_new(base, w->wake_fd, EV_READ | EV_PERSIST, on_wake, w)) ||
        event_add(w->wake, NULL) != 0) {
        int e = errno;
        fth_hub_watch_free(w);
        return fti_error(err, FTRACK_ERR_INTERNAL, "cannot watch the hub connection: %s",
                         strerror(e));
    }
    ftrack_status st = ftrack_hub_queue_new(hub, "host.connection", QUEUE_CAPACITY, &w->queue, err);
    if (st == FTRACK_OK)
        ftrack_hub_queue_set_notify(w->queue, notify, w);
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.queue = w->queue;
    if (st == FTRACK_OK)
        st = ftrack_hub_subscribe(hub,
                                  "topic=ftrack.meta.connected or "
                                  "topic=ftrack.meta.disconnected",
                                  on_meta, w, &so, NULL, err);
    if (st != FTRACK_OK) {
        fth_hub_watch_free(w);
        return st;
    }
    *out = w;
    return FTRACK_OK;
}

void fth_hub_watch_free(fth_hub_watch *w)
{
    if (!w)
        return;
    if (w->queue)
        ftrack_hub_queue_set_notify(w->queue, NULL, NULL);
    ftrack_hub_queue_free(w->queue);
    if (w->wake)
        event_free(w->wake);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    free(w);
}
