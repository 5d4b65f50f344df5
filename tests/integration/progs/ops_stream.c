/* SPDX-License-Identifier: Apache-2.0 */
/* ops_stream: publish a paced stream of events and print every reply, for the operations
 * tests (reload while events flow, metrics that match what was sent).
 *
 *   ops_stream TOPIC --count N [--interval SECONDS] [--wait SECONDS] [--expect N]
 *
 * Connects with FTRACK_SERVER, FTRACK_API_USER and FTRACK_API_KEY, publishes N events with
 * data {"i": 0..N-1}, one every `interval` seconds (default 0.01), prints
 *   reply <instance> <i>
 * for each reply (instance from the reply data, as the test plugins send it), then
 *   done <replies>
 * It exits 0 once `expect` replies (default N) arrived, 1 when `wait` seconds (default 30)
 * after the last publish pass first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/ftrack.h>

#include "probe_support.h"

static long replies;

static void on_reply(ftrack_event *reply, void *user_data)
{
    (void)user_data;
    if (!reply)
        return;
    json_object *data = ftrack_event_data(reply), *inst = NULL, *inner = NULL, *i = NULL;
    json_object_object_get_ex(data, "instance", &inst);
    json_object_object_get_ex(data, "data", &inner);
    json_object_object_get_ex(inner, "i", &i);
    replies++;
    printf("reply %s %lld\n", inst ? json_object_get_string(inst) : "?",
           i ? (long long)json_object_get_int64(i) : -1LL);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: ops_stream TOPIC --count N [--interval S] [--wait S] [--expect N]\n");
        return 2;
    }
    const char *topic = argv[1];
    long count = 1, expect = -1;
    double interval = 0.01, wait = 30;
    for (int a = 2; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--count") == 0)
            count = strtol(argv[a + 1], NULL, 10);
        else if (strcmp(argv[a], "--interval") == 0)
            interval = strtod(argv[a + 1], NULL);
        else if (strcmp(argv[a], "--wait") == 0)
            wait = strtod(argv[a + 1], NULL);
        else if (strcmp(argv[a], "--expect") == 0)
            expect = strtol(argv[a + 1], NULL, 10);
    }
    if (expect < 0)
        expect = count;
    ftrack_hub_options o;
    probe_hub_options(&o);
    o.reply_timeout = wait + count * interval + 5;
    ftrack_hub *hub = probe_connect("ops_stream", &o);
    if (!hub)
        return 1;
    ftrack_error err;
    for (long i = 0; i < count; i++) {
        json_object *data = json_object_new_object();
        json_object_object_add(data, "i", json_object_new_int64(i));
        ftrack_event *e = ftrack_event_new(topic, data);
        ftrack_publish_options po;
        ftrack_publish_options_init(&po);
        po.on_reply = on_reply;
        if (ftrack_hub_publish(hub, e, &po, &err) != FTRACK_OK)
            fprintf(stderr, "ops_stream: publish: %s\n", err.message);
        ftrack_event_free(e);
        /* handle replies while pacing */
        ftrack_hub_wait(hub, interval, NULL);
    }
    double until = probe_now() + wait;
    while (replies < expect && probe_now() < until)
        ftrack_hub_wait(hub, 0.05, NULL);
    double grace = probe_now() + 0.5;
    while (probe_now() < grace)
        ftrack_hub_wait(hub, 0.05, NULL);
    printf("done %ld\n", replies);
    ftrack_hub_disconnect(hub, true, NULL);
    ftrack_hub_free(hub);
    return replies >= expect ? 0 : 1;
}
