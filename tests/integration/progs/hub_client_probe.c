/* SPDX-License-Identifier: Apache-2.0 */
/* hub_client_probe: a small C SDK program the integration and interop tests drive.
 *
 * It connects to FTRACK_SERVER (or --server) with FTRACK_API_USER / FTRACK_API_KEY,
 * subscribes, publishes, and prints one JSON object per line on stdout:
 *   {"connected":true,"hub_id":"..."}         once connected (with --settle, once the server
 *                                             also acknowledged the subscriptions)
 *   {"event":{...},"subscriber":"<id>"}       each event a subscriber received
 *   {"meta":"connected"|"disconnected","t":s} local meta events (with --meta)
 *   {"published":"<event id>"}                each publish
 *   {"reply":{...}}  {"reply_closed":"<id>"}  replies to our publishes, then the window closing
 *   {"bench":N,"seconds":s,"events_per_second":r}
 *   {"done":true,"received":n,"replies":m}    at the end
 *   {"error":"...","status":"..."}            on failure (exit 2 for connection errors)
 * Everything is bounded by --time (default 10 s).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/event.h>
#include <ftrack/host.h>
#include <ftrack/hub.h>
#include <ftrack/log.h>

#include "probe_support.h"

#define MAX_SUBS 16

typedef struct sub_opt {
    const char *expr;
    const char *meta;  /* subscriber metadata JSON, or NULL */
    const char *reply; /* data to reply with, or NULL */
} sub_opt;

static struct {
    const char *server, *user, *key;
    sub_opt subs[MAX_SUBS];
    int nsubs;
    const char *topic, *data, *target, *source;
    const char *topic_on_disconnect;
    int count;
    bool wait_reply, meta, settle;
    double time_limit, hb_timeout, connect_timeout, reply_timeout, publish_delay;
    int exit_after;
    int bench;
} opt;

static struct {
    int received;
    int replies;
    int reply_windows_open;
    int connects, disconnects;
    int bench_seen;
    bool publish_on_disconnect_done;
} st;

static double t0;

static void emit(json_object *line)
{
    printf("%s\n", json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
    json_object_put(line);
}

static void emit_kv(const char *key, json_object *value)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, key, value);
    emit(o);
}

static void emit_error(const ftrack_error *err, ftrack_status code)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(err->message));
    json_object_object_add(o, "status", json_object_new_string(ftrack_strerror(code)));
    emit(o);
}

static json_object *copy_of(json_object *o)
{
    json_object *c = NULL;
    json_object_deep_copy(o, &c, NULL);
    return c;
}

static json_object *on_event(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    const sub_opt *so = user_data;
    st.received++;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "event", copy_of(ftrack_event_json(event)));
    json_object_object_add(o, "subscriber", json_object_new_string(d->subscriber_id));
    emit(o);
    return so->reply ? json_tokener_parse(so->reply) : NULL;
}

static void on_reply(ftrack_event *reply, void *user_data)
{
    char *id = user_data;
    if (!reply) {
        emit_kv("reply_closed", json_object_new_string(id));
        st.reply_windows_open--;
        free(id);
        return;
    }
    st.replies++;
    emit_kv("reply", copy_of(ftrack_event_json(reply)));
}

static ftrack_status publish_one(ftrack_hub *hub, const char *topic, ftrack_error *err)
{
    json_object *data = opt.data ? json_tokener_parse(opt.data) : NULL;
    ftrack_event *ev = ftrack_event_new(topic, data);
    if (!ev)
        return FTRACK_ERR_NO_MEMORY;
    if (opt.target)
        ftrack_event_set_target(ev, opt.target);
    if (opt.source)
        ftrack_event_set_source(ev, json_tokener_parse(opt.source));
    ftrack_publish_options po;
    ftrack_publish_options_init(&po);
    if (opt.wait_reply) {
        po.on_reply = on_reply;
        po.user_data = strdup(ftrack_event_id(ev));
        po.reply_timeout = opt.reply_timeout;
    }
    ftrack_status s = ftrack_hub_publish(hub, ev, &po, err);
    if (s == FTRACK_OK) {
        emit_kv("published", json_object_new_string(ftrack_event_id(ev)));
        if (opt.wait_reply)
            st.reply_windows_open++;
    } else {
        free(po.user_data);
    }
    ftrack_event_free(ev);
    return s;
}

static json_object *on_meta(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    (void)d;
    ftrack_hub *hub = user_data;
    bool connected = strcmp(ftrack_event_topic(event), "ftrack.meta.connected") == 0;
    if (connected)
        st.connects++;
    else
        st.disconnects++;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "meta",
                           json_object_new_string(connected ? "connected" : "disconnected"));
    json_object_object_add(o, "t", json_object_new_double(probe_now() - t0));
    emit(o);
    if (!connected && opt.topic_on_disconnect && !st.publish_on_disconnect_done) {
        /* queued while reconnecting; delivered once the server is back */
        ftrack_error err;
        ftrack_status s = publish_one(hub, opt.topic_on_disconnect, &err);
        if (s != FTRACK_OK)
            emit_error(&err, s);
        st.publish_on_disconnect_done = true;
    }
    return NULL;
}

static json_object *on_bench(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    (void)event, (void)d, (void)user_data;
    st.bench_seen++;
    return NULL;
}

static int run_bench(ftrack_hub *hub)
{
    ftrack_error err;
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    if (ftrack_hub_subscribe(hub, "topic=bench.loop", on_bench, NULL, &so, NULL, &err) !=
        FTRACK_OK) {
        emit_error(&err, err.code);
        return 1;
    }
    ftrack_hub_wait(hub, 0.3, NULL); /* let the subscription reach the server */
    double start = probe_now(), limit = start + opt.time_limit;
    int sent = 0;
    while (st.bench_seen < opt.bench && probe_now() < limit) {
        while (sent < opt.bench) {
            ftrack_event *ev = ftrack_event_new("bench.loop", json_tokener_parse("{\"n\":1}"));
            ftrack_status s = ftrack_hub_publish(hub, ev, NULL, &err);
            ftrack_event_free(ev);
            if (s == FTRACK_ERR_QUEUE_FULL)
                break;
            if (s != FTRACK_OK) {
                emit_error(&err, s);
                return 1;
            }
            sent++;
            if (sent - st.bench_seen > 2000)
                break; /* keep the delivery queue from overflowing */
        }
        ftrack_hub_wait(hub, 0.002, NULL);
    }
    double secs = probe_now() - start;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "bench", json_object_new_int(st.bench_seen));
    json_object_object_add(o, "seconds", json_object_new_double(secs));
    json_object_object_add(o, "events_per_second", json_object_new_double(st.bench_seen / secs));
    emit(o);
    return st.bench_seen == opt.bench ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: hub_client_probe [--server URL] [--subscribe EXPR [--meta-json JSON] "
            "[--reply JSON]]... [--publish TOPIC [--data JSON] [--target EXPR] [--source JSON] "
            "[--count N] [--wait-reply] [--reply-timeout S] [--delay S]] [--meta] "
            "[--publish-on-disconnect TOPIC] [--exit-after N] [--time S] "
            "[--heartbeat-timeout S] [--connect-timeout S] [--bench N] [--settle]\n");
}

static int parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 'S'},
        {"subscribe", required_argument, NULL, 's'},
        {"meta-json", required_argument, NULL, 'M'},
        {"reply", required_argument, NULL, 'r'},
        {"publish", required_argument, NULL, 'p'},
        {"data", required_argument, NULL, 'd'},
        {"target", required_argument, NULL, 'T'},
        {"source", required_argument, NULL, 'o'},
        {"count", required_argument, NULL, 'n'},
        {"wait-reply", no_argument, NULL, 'w'},
        {"reply-timeout", required_argument, NULL, 'R'},
        {"delay", required_argument, NULL, 'D'},
        {"meta", no_argument, NULL, 'm'},
        {"publish-on-disconnect", required_argument, NULL, 'P'},
        {"exit-after", required_argument, NULL, 'x'},
        {"time", required_argument, NULL, 't'},
        {"heartbeat-timeout", required_argument, NULL, 'H'},
        {"connect-timeout", required_argument, NULL, 'C'},
        {"bench", required_argument, NULL, 'b'},
        {"settle", no_argument, NULL, 'L'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'S':
            opt.server = optarg;
            break;
        case 's':
            if (opt.nsubs == MAX_SUBS)
                return -1;
            opt.subs[opt.nsubs++].expr = optarg;
            break;
        case 'M':
            if (!opt.nsubs)
                return -1;
            opt.subs[opt.nsubs - 1].meta = optarg;
            break;
        case 'r':
            if (!opt.nsubs)
                return -1;
            opt.subs[opt.nsubs - 1].reply = optarg;
            break;
        case 'p':
            opt.topic = optarg;
            break;
        case 'd':
            opt.data = optarg;
            break;
        case 'T':
            opt.target = optarg;
            break;
        case 'o':
            opt.source = optarg;
            break;
        case 'n':
            opt.count = (int)strtol(optarg, NULL, 10);
            break;
        case 'w':
            opt.wait_reply = true;
            break;
        case 'R':
            opt.reply_timeout = strtod(optarg, NULL);
            break;
        case 'D':
            opt.publish_delay = strtod(optarg, NULL);
            break;
        case 'm':
            opt.meta = true;
            break;
        case 'P':
            opt.topic_on_disconnect = optarg;
            break;
        case 'x':
            opt.exit_after = (int)strtol(optarg, NULL, 10);
            break;
        case 't':
            opt.time_limit = strtod(optarg, NULL);
            break;
        case 'H':
            opt.hb_timeout = strtod(optarg, NULL);
            break;
        case 'C':
            opt.connect_timeout = strtod(optarg, NULL);
            break;
        case 'b':
            opt.bench = (int)strtol(optarg, NULL, 10);
            break;
        case 'L':
            opt.settle = true;
            break;
        default:
            return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

static int subscribe_all(ftrack_hub *hub)
{
    ftrack_error err;
    for (int i = 0; i < opt.nsubs; i++) {
        ftrack_subscribe_options so;
        ftrack_subscribe_options_init(&so);
        json_object *meta = opt.subs[i].meta ? json_tokener_parse(opt.subs[i].meta) : NULL;
        so.subscriber = meta;
        ftrack_status s =
            ftrack_hub_subscribe(hub, opt.subs[i].expr, on_event, &opt.subs[i], &so, NULL, &err);
        json_object_put(meta);
        if (s != FTRACK_OK) {
            emit_error(&err, s);
            return 1;
        }
    }
    if (opt.meta || opt.topic_on_disconnect) {
        if (ftrack_hub_subscribe(hub,
                                 "topic=ftrack.meta.connected or topic=ftrack.meta.disconnected",
                                 on_meta, hub, NULL, NULL, &err) != FTRACK_OK) {
            emit_error(&err, err.code);
            return 1;
        }
    }
    return 0;
}

static bool finished(void)
{
    if (opt.exit_after > 0 && st.received + st.replies >= opt.exit_after)
        return true;
    /* a pure publisher is done at once (freeing the hub flushes what is queued) */
    if (opt.nsubs == 0 && !opt.meta && !opt.topic_on_disconnect && !opt.wait_reply &&
        opt.exit_after == 0)
        return true;
    /* a pure publisher waiting for replies is done once every reply window closed */
    return opt.wait_reply && opt.nsubs == 0 && !opt.meta && !opt.topic_on_disconnect &&
           st.reply_windows_open == 0 && opt.exit_after == 0;
}

int main(int argc, char **argv)
{
    t0 = probe_now();
    opt.count = 1;
    opt.time_limit = 10;
    opt.connect_timeout = 10;
    opt.reply_timeout = 5;
    if (parse_args(argc, argv) != 0) {
        usage();
        return 64;
    }
    ftrack_log_set_level(FTRACK_LOG_WARNING);
    ftrack_hub_options ho;
    probe_hub_options(&ho);
    if (opt.server)
        ho.server_url = opt.server;
    ho.heartbeat_timeout = opt.hb_timeout;
    ho.reconnect_min_delay = 0.1;
    ho.reconnect_max_delay = 1.0;
    ho.connect_timeout = 5;
    ftrack_hub *hub = NULL;
    ftrack_error err;
    ftrack_status s = ftrack_hub_new(&ho, &hub, &err);
    if (s != FTRACK_OK) {
        emit_error(&err, s);
        return 2;
    }
    int rc = subscribe_all(hub);
    if (rc == 0 && (s = ftrack_hub_connect(hub, &err)) == FTRACK_OK)
        s = ftrack_hub_wait_connected(hub, opt.connect_timeout, &err);
    if (rc == 0 && s != FTRACK_OK) {
        emit_error(&err, s);
        ftrack_hub_free(hub);
        return 2;
    }
    /* --settle: "connected" then means the server has filed the subscriptions */
    if (rc == 0 && opt.settle && (s = ftrack_hub_flush(hub, 5, &err)) != FTRACK_OK)
        fprintf(stderr, "hub_client_probe: subscriptions not acknowledged: %s\n", err.message);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "connected", json_object_new_boolean(1));
    json_object_object_add(o, "hub_id", json_object_new_string(ftrack_hub_id(hub)));
    emit(o);
    if (rc == 0 && opt.bench > 0) {
        rc = run_bench(hub);
    } else if (rc == 0) {
        if (opt.topic) {
            if (opt.publish_delay > 0)
                ftrack_hub_wait(hub, opt.publish_delay, NULL);
            for (int i = 0; i < opt.count && rc == 0; i++) {
                if ((s = publish_one(hub, opt.topic, &err)) != FTRACK_OK) {
                    emit_error(&err, s);
                    rc = 1;
                }
            }
        }
        double limit = t0 + opt.time_limit;
        while (rc == 0 && !finished() && probe_now() < limit)
            ftrack_hub_wait(hub, 0.05, NULL);
    }
    o = json_object_new_object();
    json_object_object_add(o, "done", json_object_new_boolean(1));
    json_object_object_add(o, "received", json_object_new_int(st.received));
    json_object_object_add(o, "replies", json_object_new_int(st.replies));
    json_object_object_add(o, "connects", json_object_new_int(st.connects));
    json_object_object_add(o, "disconnects", json_object_new_int(st.disconnects));
    emit(o);
    ftrack_hub_free(hub);
    return rc;
}
