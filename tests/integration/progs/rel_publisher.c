/* SPDX-License-Identifier: Apache-2.0 */
/* rel_publisher: publish numbered events and wait for the hub's acknowledgement of each, for
 * the reliability tests.
 *
 *   rel_publisher TOPIC [--count N] [--start I] [--data JSON] [--wait SECONDS]
 *
 * Connects with FTRACK_SERVER, FTRACK_API_USER and FTRACK_API_KEY. Publishes N events whose
 * data is JSON plus "i": I..I+N-1, prints "acked <n> failed <m>" and exits 0 when every one
 * was acknowledged within `wait` seconds (default 30), 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/ftrack.h>

#include "probe_support.h"

static long acked, failed;

static void on_ack(bool success, const char *message, void *user_data)
{
    (void)user_data;
    if (success) {
        acked++;
        return;
    }
    if (failed++ == 0) /* the first reason, for the test's log */
        fprintf(stderr, "rel_publisher: a publish was not acknowledged: %s\n",
                message ? message : "(no message)");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rel_publisher TOPIC [--count N] [--start I] [--data JSON|@FILE] "
                        "[--wait SECONDS]\n");
        return 2;
    }
    const char *topic = argv[1], *data_text = "{}";
    long count = 1, start = 0;
    double wait = 30;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--count") == 0)
            count = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--start") == 0)
            start = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--data") == 0)
            data_text = argv[i + 1];
        else if (strcmp(argv[i], "--wait") == 0)
            wait = strtod(argv[i + 1], NULL);
    }
    /* @FILE: data too large for a command-line argument */
    json_object *from_file = data_text[0] == '@' ? json_object_from_file(data_text + 1) : NULL;
    if (from_file)
        data_text = json_object_to_json_string_ext(from_file, JSON_C_TO_STRING_PLAIN);
    ftrack_hub_options o;
    probe_hub_options(&o);
    o.reply_timeout = wait;
    o.publish_queue_max = (size_t)count + 16;
    ftrack_hub *hub = probe_connect("rel_publisher", &o);
    if (!hub)
        return 1;
    ftrack_error err;
    for (long i = start; i < start + count; i++) {
        json_object *data = probe_event_data(data_text, i);
        ftrack_event *e = ftrack_event_new(topic, data);
        ftrack_publish_options po;
        ftrack_publish_options_init(&po);
        po.on_ack = on_ack;
        if (ftrack_hub_publish(hub, e, &po, &err) != FTRACK_OK) {
            fprintf(stderr, "rel_publisher: publish: %s\n", err.message);
            failed++;
        }
        ftrack_event_free(e);
    }
    double until = probe_now() + wait;
    while (acked + failed < count && probe_now() < until)
        ftrack_hub_wait(hub, 0.05, NULL);
    printf("acked %ld failed %ld\n", acked, failed);
    ftrack_hub_disconnect(hub, false, NULL);
    ftrack_hub_free(hub);
    json_object_put(from_file);
    return acked == count ? 0 : 1;
}
