/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_TEST_PROBE_SUPPORT_H
#define FTRACK_TEST_PROBE_SUPPORT_H
/* What the integration tests' probe programs (host_probe, ops_stream, rel_publisher,
 * hub_client_probe) share: a monotonic clock, a hub connected with FTRACK_SERVER,
 * FTRACK_API_USER and FTRACK_API_KEY, and the numbered event data they publish. Each program
 * is built from its one .c (tests/CMakeLists.txt), so these are static inline here rather
 * than a source of their own. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ftrack/ftrack.h>

static inline double probe_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Options for a hub at the server the environment names; the caller adds its timeouts. */
static inline void probe_hub_options(ftrack_hub_options *o)
{
    ftrack_hub_options_init(o);
    o->server_url = getenv("FTRACK_SERVER");
    o->api_user = getenv("FTRACK_API_USER");
    o->api_key = getenv("FTRACK_API_KEY");
}

/* A hub made from `o`, connected within 10 seconds; NULL, with "prog: why" on stderr, if not. */
static inline ftrack_hub *probe_connect(const char *prog, const ftrack_hub_options *o)
{
    ftrack_hub *hub = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (ftrack_hub_new(o, &hub, &err) != FTRACK_OK || ftrack_hub_connect(hub, &err) != FTRACK_OK ||
        ftrack_hub_wait_connected(hub, 10, &err) != FTRACK_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
        ftrack_hub_free(hub);
        return NULL;
    }
    return hub;
}

/* The data of event number i: the JSON object data_text (an empty object if it is not one)
 * with "i": i added. */
static inline json_object *probe_event_data(const char *data_text, long i)
{
    json_object *data = json_tokener_parse(data_text);
    if (!json_object_is_type(data, json_type_object)) {
        json_object_put(data);
        data = json_object_new_object();
    }
    json_object_object_add(data, "i", json_object_new_int64(i));
    return data;
}

#endif
