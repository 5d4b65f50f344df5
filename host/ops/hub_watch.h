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
 * Threads: everything on the main thread; fth_hub_watch_poll() from the main loop's timer.
 * Ownership: the watcher borrows the hub, which must outlive it; free it before the session.
 */
#include <stdbool.h>
#include <ftrack/hub.h>

typedef struct fth_hub_watch fth_hub_watch;

ftrack_status fth_hub_watch_start(ftrack_hub *hub, fth_hub_watch **out, ftrack_error *err);
/* Handle the connection changes that arrived since the last call. Returns whether the hub is
 * connected now (also kept in the hub_connected gauge). NULL: false. */
bool fth_hub_watch_poll(fth_hub_watch *watch);
/* Unsubscribe and free. NULL is accepted. */
void fth_hub_watch_free(fth_hub_watch *watch);
#endif
