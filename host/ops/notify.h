/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_NOTIFY_H
#define FTH_NOTIFY_H
/*
 * systemd service notification (sd_notify from libsystemd): readiness for Type=notify units,
 * reload and stop announcements, and watchdog pings. Outside systemd (no NOTIFY_SOCKET)
 * every call does nothing. Main thread only.
 */
#include <stdbool.h>

/* READY=1 with a STATUS= line. */
void fth_notify_ready(const char *status);
/* RELOADING=1 (then fth_notify_ready when done). */
void fth_notify_reloading(void);
void fth_notify_stopping(void);
void fth_notify_status(const char *status);
/* Seconds between watchdog pings (half of WATCHDOG_USEC), or 0 when the watchdog is off. */
double fth_notify_watchdog_interval(void);
void fth_notify_watchdog(void);
/* Whether this build can talk to systemd. */
bool fth_notify_supported(void);
#endif
