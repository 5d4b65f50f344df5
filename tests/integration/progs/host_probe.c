/* SPDX-License-Identifier: Apache-2.0 */
/* host_probe: publish events through an event hub and print the replies with their arrival
 * times, for the host's integration tests.
 *
 *   host_probe TOPIC [--data JSON] [--count N] [--expect N] [--wait SECONDS]
 *
 * Connects with FTRACK_SERVER, FTRACK_API_USER and FTRACK_API_KEY. Publishes N events (data
 * JSON plus "i": 0..N-1), prints one line per reply,
 *   reply <seconds since the first publish> <reply data as JSON>
 * and exits 0 once `expect` replies arrived, 1 when `wait` seconds pass first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/ftrack.h>

#include "probe_support.h"

static double started;
static int replies;

static void on_reply(ftrack_event *reply, void *user_data)
{
    (void)user_data;
    if (!reply)
        return;
    replies++;
    printf("reply %.4f %s\n", probe_now() - started,
           json_object_to_json_string_ext(ftrack_event_data(reply), JSON_C_TO_STRING_PLAIN));
    fflush(stdout);
}

static int usage(void)
{
    fprintf(stderr, "usage: host_probe TOPIC [--data JSON] [--count N] [--expect N] "
                    "[--wait SECONDS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *topic = argv[1], *data_text = "{}";
    long count = 1, expect = 1;
    double wait = 10;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--data") == 0)
            data_text = argv[i + 1];
        else if (strcmp(argv[i], "--count") == 0)
            count = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--expect") == 0)
            expect = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--wait") == 0)
            wait = strtod(argv[i + 1], NULL);
        else
            return usage();
    }
    ftrack_hub_options o;
    probe_hub_options(&o);
    o.reply_timeout = wait + 5;
    ftrack_hub *hub = probe_connect("host_probe", &o);
    if (!hub)
        return 1;
    ftrack_error err;
    started = probe_now();
    for (long i = 0; i < count; i++) {
        json_object *data = probe_event_data(data_text, i);
        ftrack_event *e = ftrack_event_new(topic, data);
        ftrack_publish_options po;
        ftrack_publish_options_init(&po);
        po.on_reply = on_reply;
        if (ftrack_hub_publish(hub, e, &po, &err) != FTRACK_OK)
            fprintf(stderr, "host_probe: publish: %s\n", err.message);
        ftrack_event_free(e);
    }
    double until = started + wait;
    while (replies < expect && probe_now() < until)
        ftrack_hub_wait(hub, 0.05, NULL);
    /* A little longer, so replies beyond the expected number are seen too. */
    double grace = probe_now() + 0.3;
    while (probe_now() < grace && probe_now() < until)
        ftrack_hub_wait(hub, 0.05, NULL);
    printf("done %d\n", replies);
    ftrack_hub_disconnect(hub, true, NULL);
    ftrack_hub_free(hub);
    return replies >= expect ? 0 : 1;
}
