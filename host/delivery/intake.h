/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_INTAKE_H
#define FTH_INTAKE_H
/*
 * The intake: where an event enters the journal. The hub's network thread routes each event
 * it receives to the queues whose subscriptions match; for the journaled instances (their
 * queues tagged with their fth_reliable, reliable.h) it calls the intake once per event
 * instead, with all of them, and the intake writes the event to the journal once, pending
 * for each, then wakes their workers. So an event reaches the disk (the page cache) before
 * the network thread reads the next frame, and no thread hop stands between the socket and
 * the journal.
 *
 * Meta events (ftrack.meta.*) and events without an id are not journaled: they go on to the
 * instances' queues, as does an event the journal could not take (dispatched from memory).
 *
 * Threads: fth_intake_install from any thread; the callback runs on the network thread.
 */
#include <ftrack/host.h>

/* Make the intake the hub's intake callback (ftrack/host.h); every journaled instance calls
 * it when it starts (the same callback each time). */
void fth_intake_install(ftrack_hub *hub);

#endif
