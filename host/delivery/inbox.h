/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_INBOX_H
#define FTH_INBOX_H
/*
 * One wakeable inbox per plugin worker: the one thing a worker sleeps on. Whatever has work
 * for the worker (an event in its hub queue, a reply to its publishes, an event the intake
 * journaled, a replay, stop) wakes it with fth_inbox_wake(); the worker sleeps in
 * fth_inbox_wait() no longer than its next real timer (a retry, a pause, a reply window), so
 * an idle worker does not wake at all.
 *
 * An eventfd the worker polls. A wake costs a write only while the worker sleeps: under load,
 * when the worker is busy, it is two atomic operations.
 *
 * Threads: fth_inbox_wake from any thread (also with other locks held: it takes none);
 * fth_inbox_wait from the owning worker only. new/free on the thread that owns the worker.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <ftrack/common.h>

typedef struct fth_inbox {
    int fd; /* eventfd */
    atomic_bool pending;  /* work arrived since the worker last looked */
    atomic_bool sleeping; /* the worker is (about to be) in poll() */
} fth_inbox;

ftrack_status fth_inbox_init(fth_inbox *inbox, ftrack_error *err);
void fth_inbox_clear(fth_inbox *inbox);

void fth_inbox_wake(fth_inbox *inbox);
/* Sleep until woken or `seconds` pass (< 0: no timeout). Returns at once when a wake came
 * since the last wait. After it returns the worker looks at every source again. */
void fth_inbox_wait(fth_inbox *inbox, double seconds);
/* As fth_inbox_wait, also returning when `fd` (>= 0; -1: none) becomes readable or fails:
 * a worker whose work arrives on a socket (scale/queue_worker.c: its Redis connection)
 * sleeps on both at once. */
void fth_inbox_wait_fd(fth_inbox *inbox, int fd, double seconds);

#endif
