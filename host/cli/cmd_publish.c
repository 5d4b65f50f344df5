/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host publish`: publish one event through the configured server and print each
 * reply, whole, as one JSON line on stdout.
 * Exit 0: acknowledged (and, with --wait-reply, at least one reply); 1: the server refused it,
 * or no reply came in time; 2: usage, configuration, connection or credential errors. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/ftrack.h>
#include "cli/cli.h"

#define ACK_TIMEOUT 15.0

typedef struct publish_args {
    const char *topic;
    const char *data;
    const char *source;
    const char *target;
    double wait_reply; /* < 0: not waiting */
} publish_args;

typedef struct publish_state {
    bool ack_done, ack_ok;
    char ack_message[256];
    unsigned replies;
} publish_state;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ftrack-host publish TOPIC [--data JSON] [--source JSON] [--target EXPR]\n"
        "                           [--wait-reply SECONDS]\n"
        "\n"
        "Publish one event through the server in FTRACK_SERVER (credentials from\n"
        "FTRACK_API_USER and FTRACK_API_KEY) and print each reply as one JSON line.\n"
        "Exit 0 when the server acknowledged it (and, with --wait-reply, a reply came),\n"
        "1 when it was refused or no reply came, 2 for usage, connection or credential errors.\n");
}

static int parse_args(int argc, char **argv, publish_args *a)
{
    static const struct option options[] = {
        {"data", required_argument, NULL, 'd'},   {"source", required_argument, NULL, 's'},
        {"target", required_argument, NULL, 't'}, {"wait-reply", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    a->wait_reply = -1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'd':
            a->data = optarg;
            break;
        case 's':
            a->source = optarg;
            break;
        case 't':
            a->target = optarg;
            break;
        case 'w':
            errno = 0;
            a->wait_reply = strtod(optarg, &end);
            if (!*optarg || *end || errno || !(a->wait_reply > 0) || a->wait_reply > 86400) {
                fprintf(stderr, "ftrack-host publish: --wait-reply wants seconds, got '%s'\n",
                        optarg);
                return FTH_EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return fth_cli_usage_error("publish", usage, "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
    }
    if (optind != argc - 1 || !argv[optind][0])
        return fth_cli_usage_error("publish", usage, "expected exactly one TOPIC");
    a->topic = argv[optind];
    return FTH_EXIT_OK;
}

static json_object *parse_json_arg(const char *name, const char *text, bool want_object)
{
    enum json_tokener_error jerr = json_tokener_success;
    json_object *v = json_tokener_parse_verbose(text, &jerr);
    if (jerr != json_tokener_success ||
        (want_object && !json_object_is_type(v, json_type_object))) {
        fprintf(stderr, "ftrack-host publish: %s must be %s (%s)\n", name,
                want_object ? "a JSON object" : "JSON",
                jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "not an object");
        json_object_put(v);
        return NULL;
    }
    return v;
}

/* Build the event from the arguments; NULL after printing why. */
static ftrack_event *build_event(const publish_args *a)
{
    json_object *data = NULL, *source = NULL;
    if (a->data && !(data = parse_json_arg("--data", a->data, false)))
        return NULL;
    if (a->source && !(source = parse_json_arg("--source", a->source, true))) {
        json_object_put(data);
        return NULL;
    }
    if (a->target && a->target[0]) {
        ftrack_expression *expr = NULL;
        ftrack_error err;
        if (ftrack_expression_compile(a->target, &expr, &err) != FTRACK_OK) {
            fprintf(stderr, "ftrack-host publish: --target: %s\n", err.message);
            json_object_put(data);
            json_object_put(source);
            return NULL;
        }
        ftrack_expression_free(expr);
    }
    ftrack_event *event = ftrack_event_new(a->topic, data);
    if (!event) {
        json_object_put(source);
        return NULL;
    }
    if (source)
        ftrack_event_set_source(event, source);
    if (a->target)
        ftrack_event_set_target(event, a->target);
    return event;
}

static void on_ack(bool success, const char *message, void *user_data)
{
    publish_state *st = user_data;
    st->ack_done = true;
    st->ack_ok = success;
    snprintf(st->ack_message, sizeof(st->ack_message), "%s", message ? message : "");
}

static void on_reply(ftrack_event *reply, void *user_data)
{
    publish_state *st = user_data;
    if (!reply)
        return; /* the reply window closed */
    size_t len = 0;
    char *text = ftrack_event_serialize(reply, &len);
    if (!text)
        return;
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    ftrack_free(text);
    st->replies++;
}

static int publish(ftrack_hub *hub, ftrack_event *event, const publish_args *a)
{
    publish_state st = {0};
    ftrack_publish_options po;
    ftrack_publish_options_init(&po);
    po.user_data = &st;
    po.on_ack = on_ack;
    if (a->wait_reply > 0) {
        po.on_reply = on_reply;
        po.reply_timeout = a->wait_reply + 1;
    }
    ftrack_error err;
    if (ftrack_hub_publish(hub, event, &po, &err) != FTRACK_OK) {
        fprintf(stderr, "ftrack-host publish: %s\n", err.message);
        return FTH_EXIT_USAGE;
    }
    fth_cli_wait_until(hub, ACK_TIMEOUT, &st.ack_done);
    if (!st.ack_done) {
        fprintf(stderr, "ftrack-host publish: no acknowledgement within %.0f s\n", ACK_TIMEOUT);
        return FTH_EXIT_USAGE;
    }
    if (!st.ack_ok) {
        fprintf(stderr, "ftrack-host publish: the server refused the event: %s\n", st.ack_message);
        return FTH_EXIT_FAILURE;
    }
    if (a->wait_reply <= 0)
        return FTH_EXIT_OK;
    fth_cli_wait_until(hub, a->wait_reply, NULL);
    if (st.replies == 0) {
        fprintf(stderr, "ftrack-host publish: no reply within %g s\n", a->wait_reply);
        return FTH_EXIT_FAILURE;
    }
    return FTH_EXIT_OK;
}

int fth_cmd_publish(int argc, char **argv)
{
    publish_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != FTH_EXIT_OK)
        return rc < 0 ? FTH_EXIT_OK : rc;
    ftrack_event *event = build_event(&a);
    if (!event)
        return FTH_EXIT_USAGE;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_hub *hub = fth_cli_connect_hub("publish", &err);
    if (!hub) {
        ftrack_event_free(event);
        return FTH_EXIT_USAGE;
    }
    rc = publish(hub, event, &a);
    ftrack_event_free(event);
    ftrack_hub_free(hub);
    return rc;
}
