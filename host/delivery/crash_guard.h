/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_CRASH_GUARD_H
#define FTH_CRASH_GUARD_H
/*
 * The crash guard: names the plugin instance and event whose in-process dispatch took the
 * whole host down, so the next start can isolate that instance (docs/reliability.md, "A
 * plugin that crashes the host").
 *
 * A dispatch marks its thread (fth_crash_guard_dispatching, called when the journal marks a
 * delivery started; cleared when it is marked finished). A fatal signal (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGABRT) raised on a marked thread writes the instance, event id, topic,
 * signal and time into a small memory-mapped file in the data dir, which is in the page
 * cache at once and so survives the crash, then lets the signal take its earlier course
 * (the default action, or a sanitizer's report). Fatal signals on other threads, kill -9,
 * a power loss, and a stack overflow (no alternate signal stack) record nothing: those
 * leave only the journal's count of attempts.
 *
 * Global state: the mapping and the earlier signal actions are process-wide, because a
 * signal handler can reach nothing else; the mark is per thread. Open and close on the main
 * thread while no dispatch runs; fth_crash_guard_dispatching/idle from any thread.
 */
#include <stdbool.h>
#include <ftrack/common.h>

typedef struct fth_crash_record {
    int signal;  /* 0: nothing recorded */
    double time; /* wall-clock seconds of the crash */
    int pid;     /* the process that crashed */
    char instance[128];
    char id[FTRACK_ID_MAX];
    char topic[128];
} fth_crash_record;

/* Map `path` (created 0600), hand what an earlier run recorded to *previous (signal 0 when
 * nothing), forget it, and install the signal handlers. Fails (FTRACK_ERR_IO) when the file
 * cannot be mapped; the host runs on without the guard then. */
ftrack_status fth_crash_guard_open(const char *path, fth_crash_record *previous,
                                   ftrack_error *err);
/* Restore the earlier signal actions and unmap. Safe when not open. */
void fth_crash_guard_close(void);

/* The calling thread begins dispatching event `id` (topic) to `instance` (copied). */
void fth_crash_guard_dispatching(const char *instance, const char *id, const char *topic);
/* The calling thread's dispatch ended. */
void fth_crash_guard_idle(void);

/* "signal 11 (Segmentation fault)" into buf. */
const char *fth_crash_guard_describe(int signal, char *buf, size_t size);
#endif
