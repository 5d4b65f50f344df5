/* SPDX-License-Identifier: Apache-2.0 */
/* Connecting a command-line client (`publish`, `record`) to the event hub named by
 * FTRACK_SERVER, FTRACK_API_USER and FTRACK_API_KEY, running its callbacks for a while, and
 * the small pieces the hub-client commands share. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ftrack/ftrack.h>
#include "cli/cli.h"
#include "common/internal.h"

#define CONNECT_TIMEOUT 15.0

static char *login_user(void)
{
    const char *u = getenv("FTRACK_API_USER");
    if (u && *u)
        return strdup(u);
    struct passwd *pw = getpwuid(geteuid());
    return strdup(pw && pw->pw_name ? pw->pw_name : "ftrack");
}

const char *fth_cli_api_key(void)
{
    const char *key = getenv("FTRACK_API_KEY");
    if (!key || !*key)
        key = getenv("FTRACK_APIKEY");
    return key && *key ? key : NULL;
}

ftrack_hub *fth_cli_connect_hub(const char *command, ftrack_error *err)
{
    const char *server = getenv("FTRACK_SERVER");
    const char *key = fth_cli_api_key();
    if (!server || !*server) {
        fprintf(stderr, "ftrack-host %s: set FTRACK_SERVER (e.g. the URL `ftrack-host hub` prints)\n",
                command);
        return NULL;
    }
    if (!key) {
        fprintf(stderr, "ftrack-host %s: set FTRACK_API_KEY\n", command);
        return NULL;
    }
    char *user = login_user();
    ftrack_hub_options opts;
    ftrack_hub_options_init(&opts);
    opts.server_url = server;
    opts.api_user = user;
    opts.api_key = key;
    opts.connect_timeout = CONNECT_TIMEOUT;
    ftrack_hub *hub = NULL;
    ftrack_status st = ftrack_hub_new(&opts, &hub, err);
    free(user);
    if (st == FTRACK_OK)
        st = ftrack_hub_connect(hub, err);
    if (st == FTRACK_OK)
        st = ftrack_hub_wait_connected(hub, CONNECT_TIMEOUT, err);
    if (st != FTRACK_OK) {
        fprintf(stderr, "ftrack-host %s: cannot connect to %s: %s\n", command, server,
                err->message);
        ftrack_hub_free(hub);
        return NULL;
    }
    return hub;
}

void fth_cli_wait_until(ftrack_hub *hub, double seconds, const bool *done)
{
    double end = fti_now() + seconds;
    for (;;) {
        if (done && *done)
            return;
        double left = end - fti_now();
        if (left <= 0)
            return;
        ftrack_hub_wait(hub, left < 0.05 ? left : 0.05, NULL);
    }
}

json_object *fth_cli_no_callback(ftrack_event *event, const ftrack_delivery *delivery,
                                 void *user_data)
{
    (void)event;
    (void)delivery;
    (void)user_data;
    return NULL;
}

void fth_cli_random_hex(char out[33])
{
    unsigned char raw[16];
    fti_random_bytes(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}
