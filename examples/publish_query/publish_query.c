/* SPDX-License-Identifier: Apache-2.0 */
/*
 * publish_query: the SDK without the host, in one page.
 *
 *   publish_query [--topic TOPIC] [--data JSON] [--wait SECONDS]
 *
 * Opens a session from the environment (FTRACK_SERVER, FTRACK_API_USER, FTRACK_API_KEY),
 * publishes one event through the event hub, prints every reply that arrives within the wait,
 * then asks the server a question over /api (query_server_information) and prints the answer.
 * Exit status: 0 done, 1 a runtime failure, 2 bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <ftrack/ftrack.h>

typedef struct replies {
    int count;
    bool window_closed;
} replies;

/* Runs on this thread, inside ftrack_hub_wait(): once per reply, then once with NULL when
 * the reply window closes. The reply is borrowed. */
static void on_reply(ftrack_event *reply, void *user_data)
{
    replies *r = user_data;
    if (!reply) {
        r->window_closed = true;
        return;
    }
    r->count++;
    printf("reply: %s\n",
           json_object_to_json_string_ext(ftrack_event_data(reply), JSON_C_TO_STRING_PLAIN));
    fflush(stdout);
}

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "publish_query: %s\n", why);
    fprintf(stderr, "usage: publish_query [--topic TOPIC] [--data JSON] [--wait SECONDS]\n");
    return 2;
}

static int fail(const char *what, const ftrack_error *err)
{
    /* SDK messages never contain the API key, so they are safe to print. */
    fprintf(stderr, "publish_query: %s: %s\n", what, err->message);
    return 1;
}

static int publish_and_wait(ftrack_hub *hub, const char *topic, json_object *data, double wait)
{
    ftrack_error err;
    replies r = {0, false};
    ftrack_event *event = ftrack_event_new(topic, data); /* takes data */
    if (!event)
        return 1;
    if (ftrack_hub_connect(hub, &err) != FTRACK_OK ||
        ftrack_hub_wait_connected(hub, 10, &err) != FTRACK_OK) {
        ftrack_event_free(event);
        return fail("cannot connect to the event hub", &err);
    }
    ftrack_publish_options opts;
    ftrack_publish_options_init(&opts);
    opts.on_reply = on_reply;
    opts.user_data = &r;
    opts.reply_timeout = wait;
    if (ftrack_hub_publish(hub, event, &opts, &err) != FTRACK_OK) {
        ftrack_event_free(event);
        return fail("cannot publish", &err);
    }
    printf("published %s (%s)\n", ftrack_event_id(event), topic);
    ftrack_event_free(event); /* publish serialised it already */

    /* Replies are handled only while we wait: the Python client's model. The slack covers a
     * hub that is slow to close the window, without ever waiting forever. */
    for (double left = wait + 5; !r.window_closed && left > 0; left -= 0.2)
        ftrack_hub_wait(hub, 0.2, NULL);
    printf("replies: %d\n", r.count);
    return 0;
}

static int query_server(ftrack_session *session)
{
    ftrack_error err;
    json_object *results = NULL;
    json_object *ops = json_tokener_parse("[{\"action\": \"query_server_information\"}]");
    ftrack_status rc = ftrack_session_call(session, ops, &results, &err);
    json_object_put(ops); /* borrowed by the call */
    if (rc != FTRACK_OK)
        return fail("query_server_information failed", &err);
    printf("server: %s\n", json_object_to_json_string_ext(json_object_array_get_idx(results, 0),
                                                          JSON_C_TO_STRING_PLAIN));
    json_object_put(results);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"topic", required_argument, NULL, 't'},
                                             {"data", required_argument, NULL, 'd'},
                                             {"wait", required_argument, NULL, 'w'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *topic = "example.ping";
    const char *data_text = "{}";
    double wait = 2.0;
    int c;
    while ((c = getopt_long(argc, argv, "t:d:w:h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 't':
            topic = optarg;
            break;
        case 'd':
            data_text = optarg;
            break;
        case 'w':
            wait = strtod(optarg, &end);
            if (!end || *end || wait <= 0 || wait > 3600)
                return usage("--wait takes seconds between 0 and 3600");
            break;
        case 'h':
            usage(NULL);
            return 0;
        default:
            return usage(NULL);
        }
    }
    if (optind != argc)
        return usage("unexpected argument");
    json_object *data = json_tokener_parse(data_text);
    if (!data || !json_object_is_type(data, json_type_object)) {
        json_object_put(data);
        return usage("--data must be a JSON object");
    }

    ftrack_session_options options;
    ftrack_session_options_init(&options); /* NULLs: read the environment */
    ftrack_session *session = NULL;
    ftrack_error err;
    if (ftrack_session_open(&options, &session, &err) != FTRACK_OK) {
        json_object_put(data);
        return fail("cannot open a session", &err);
    }
    int rc = publish_and_wait(ftrack_session_hub(session), topic, data, wait);
    if (rc == 0)
        rc = query_server(session);
    ftrack_session_free(session); /* disconnects the hub too */
    return rc;
}
