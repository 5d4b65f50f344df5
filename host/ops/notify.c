/* SPDX-License-Identifier: Apache-2.0 */
/* sd_notify wrappers (notify.h). Built without libsystemd, they do nothing. */
#include <stdint.h>
#include <stdio.h>

#include "ops/notify.h"
#ifdef FTRACK_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static void send_state(const char *state)
{
    /* 0: keep NOTIFY_SOCKET, later calls (reload, watchdog) need it too. */
    (void)sd_notify(0, state);
}

bool fth_notify_supported(void)
{
    return true;
}

double fth_notify_watchdog_interval(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    return (double)usec / 2e6;
}
#else
static void send_state(const char *state)
{
    (void)state;
}

bool fth_notify_supported(void)
{
    return false;
}

double fth_notify_watchdog_interval(void)
{
    return 0;
}
#endif

void fth_notify_ready(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status ? status : "running");
    send_state(msg);
}

void fth_notify_reloading(void)
{
    send_state("RELOADING=1\nSTATUS=reloading the configuration");
}

void fth_notify_stopping(void)
{
    send_state("STOPPING=1\nSTATUS=draining and stopping");
}

void fth_notify_status(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "STATUS=%s", status ? status : "");
    send_state(msg);
}

void fth_notify_watchdog(void)
{
    send_state("WATCHDOG=1");
}
