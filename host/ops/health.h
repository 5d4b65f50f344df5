/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_HEALTH_H
#define FTH_HEALTH_H
/*
 * The health and metrics endpoint (`--health-listen HOST:PORT`), libevent's evhttp on the
 * host's main event loop (docs/operations.md):
 *
 *   /healthz  200 "ok" when connected to the event hub and at least one plugin instance runs,
 *             else 503 with the reason
 *   /readyz   200 once start-up has finished (plugins registered, hub connected) and until
 *             shutdown begins, else 503 with the reason
 *   /metrics  Prometheus text (metrics.h)
 *   /         an HTML status page: plugin instances, their counters and subscriptions, recent
 *             warnings and errors (everything escaped)
 *
 * Threads: main thread only (the loop's). Ownership: the endpoint borrows the event base and
 * the callbacks' user data, which must outlive it (fth_health_free first).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <ftrack/common.h>

typedef struct fth_health fth_health;

typedef struct fth_health_state {
    bool started;  /* start-up finished */
    bool stopping; /* shutdown began */
    bool hub_connected;
    size_t running;    /* plugin instances running */
    size_t configured; /* plugin instances the configuration asked for (not refused) */
    const char *server_url;
} fth_health_state;

/* One row of the status page. Strings are borrowed for the call. */
typedef struct fth_health_instance {
    const char *name;
    const char *plugin;
    const char *version;
    const char *path;
    bool running;
    size_t queue_depth;
    const char *subscriptions; /* text, one per line, or NULL when unknown */
} fth_health_instance;

typedef struct fth_health_callbacks {
    void (*state)(fth_health_state *out, void *user_data);
    /* Calls `row` once per instance. */
    void (*instances)(void (*row)(const fth_health_instance *inst, void *ctx), void *ctx,
                      void *user_data);
    void *user_data;
} fth_health_callbacks;

/* Bind and serve. `listen` is HOST:PORT (port 0: any free port). FTRACK_ERR_IO when it cannot
 * bind, FTRACK_ERR_CONFIG when `listen` is not HOST:PORT. Logs the URL. */
ftrack_status fth_health_start(struct event_base *base, const char *listen,
                               const fth_health_callbacks *callbacks, fth_health **out,
                               ftrack_error *err);
/* "http://HOST:PORT" as bound (borrowed). */
const char *fth_health_url(const fth_health *health);
void fth_health_free(fth_health *health);

/* The answer of /healthz or /readyz for a state: 200 or 503, with the reason in `why`
 * ("ok" for 200). Exposed for tests. */
int fth_health_check(const fth_health_state *state, bool readiness, char *why, size_t size);
#endif
