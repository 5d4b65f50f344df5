/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_HUB_WATCH_H
#define FTH_HUB_WATCH_H
/*
 * The one watcher of the event hub connection in `ftrack-host` (run). It subscribes to the
 * client's ftrack.meta.connected / ftrack.meta.disconnected events on a queue of its own and,
 * for each change: counts reconnects and disconnects (metrics), tells systemd the status,
 * and after a reconnect that followed a gap publishes the local event ftrack.host.reconnected
 * (data: disconnected_at, reconnected_at, seconds) so plugins can resynchronise
 * (docs/reliability.md).
 *
 * Threads: everything on the main thread's libevent loop: the watcher's queue wakes an eventfd
 * the loop watches (ftrack_hub_queue_set_notify), so nothing polls; on_change runs there too.
 * Ownership: the watcher borrows the hub and the base, which must outlive it; free it before
 * the session.
 */
#include <stdbool.h>
#include <event2/event.h>
#include <ftrack/hub.h>

typedef struct fth_hub_watch fth_hub_watch;

/* Called on the main loop after each connection change, with the state now. */
typedef void (*fth_hub_watch_fn)(bool connected, void *user_data);

ftrack_status fth_hub_watch_start(ftrack_hub *hub, struct event_base *base,
                                  fth_hub_watch_fn on_change, void *user_data,
                                  fth_hub_watch **out, ftrack_error *err);
/* Whether the hub is connected now. NULL: false. (The hub_connected gauge is read at each
 * metrics scrape, cli/run_ops.c.) */
bool fth_hub_watch_connected(fth_hub_watch *watch);
/* Unsubscribe and free. NULL is accepted. */
void fth_hub_watch_free(fth_hub_watch *watch);
#endif
