/* SPDX-License-Identifier: Apache-2.0 */
/* ftbench_load: the benchmark's load generator, built on libftrack.
 *
 *   ftbench_load roundtrip [--concurrency C] [--seconds S | --count N] [--warmup W]
 *                          [--topic T] [--replies subscriber|callback] [--rss-every N]
 *                          [--reply-timeout SECONDS] [--max-seconds S]
 *                          [--watch NAME=PID]...
 *       Keeps C events in flight: each reply publishes the next event. After W seconds of
 *       warm-up it measures S seconds (or N replies): replies/s, latency percentiles and the
 *       CPU per event of itself and every watched process. With --count, --max-seconds ends
 *       the measurement early (the result says how many replies it got).
 *   ftbench_load burst --count K --expect N [--marker T] [--watch NAME=PID]...
 *       Publishes K events of a realistic mix (ftrack.update, discover, launch) as fast as
 *       the SDK takes them, then one marker event; done when N marker replies arrived (one per
 *       plugin instance: each instance handles its events in order). Before the burst it
 *       publishes probe markers until N distinct instances answered one (a reply names its
 *       instance), so every subscription has reached the hub: a shortfall afterwards is not
 *       a subscription race. On a shortfall it names the instances that answered and prints
 *       "MARKER-SHORTFALL id=<marker id> answered=<names>" for the caller to look the rest up
 *       (exit 1); probes unanswered by N instances within 30 s exit 3, before any burst.
 *   ftbench_load startup [--topic T] [--ready TEXT] [--ready-only] -- COMMAND...
 *       Runs COMMAND (stderr captured), publishes an event every 2 ms and reports the time
 *       from exec to the first stderr line containing TEXT and to the first reply (not
 *       waited for with --ready-only, e.g. when COMMAND runs its own embedded hub).
 *
 * Connects with FTRACK_SERVER, FTRACK_API_USER and FTRACK_API_KEY. Prints one JSON object
 * per result on stdout. Replies are addressed to a source id of our own and taken by an
 * ordinary subscriber (--replies subscriber, the default), or through the SDK's per-publish
 * reply callbacks (--replies callback). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h> /* INFINITY */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ftrack/ftrack.h>
#include "bench_util.h"

#define MAX_SAMPLES (8u * 1024 * 1024)

typedef enum phase { PH_PROBE, PH_WARMUP, PH_MEASURE, PH_DONE } phase;

/* A small set of instance names (a burst has at most a few hundred instances). */
typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void names_add(names *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0)
            return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **grown = realloc(s->v, cap * sizeof(*grown));
        if (!grown)
            return;
        s->v = grown;
        s->cap = cap;
    }
    char *copy = strdup(name);
    if (copy)
        s->v[s->n++] = copy;
}

static void names_print(FILE *out, const names *s, const char *sep)
{
    for (size_t i = 0; i < s->n; i++)
        fprintf(out, "%s%s", i ? sep : "", s->v[i]);
}

static void names_free(names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

typedef struct load {
    ftrack_hub *hub;
    ftrack_event *event; /* reused for every publish: only its id changes */
    char source_id[64];
    char run_tag[16];
    bool use_callbacks;
    const char *topic;

    int concurrency;
    double warmup, seconds;
    long count; /* replies to measure when > 0 (instead of seconds) */
    long rss_every;
    double reply_timeout; /* --replies callback: each publish's reply window */
    double max_seconds;   /* with --count: stop measuring after this long anyway */

    phase ph;
    double phase_end;
    double *sent_at; /* by sequence number */
    size_t sent_cap;
    uint8_t *answered;
    unsigned long next_seq;
    unsigned long in_flight;

    double *lat; /* measured latencies, seconds */
    size_t nlat;
    unsigned long measured, timeouts, stray;
    double t_start, t_end, last_reply;

    fb_watch watch[FB_MAX_WATCH];
    int nwatch;

    /* burst and startup */
    unsigned long marker_replies;
    double first_reply;
    names probed, marked; /* burst: instances that answered a probe, the marker */
} load;

static void die(const char *what, const ftrack_error *err)
{
    fprintf(stderr, "ftbench_load: %s: %s\n", what, err ? err->message : strerror(errno));
    exit(1);
}

static const char DISCOVER[] =
    "{\"topic\":\"ftrack.action.discover\",\"data\":{\"selection\":[{\"entityId\":"
    "\"6b5c1a7e-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":\"task\"}],\"applicationId\":"
    "\"ftrack.client.web\",\"context\":{\"selection\":[]}},\"source\":{\"user\":{\"id\":"
    "\"a1b2c3d4-0000-11ee-9c1e-0242ac120002\",\"username\":\"bench-user\"}},\"target\":\"\","
    "\"sent\":null,\"inReplyToEvent\":null}";

static const char UPDATE[] =
    "{\"topic\":\"ftrack.update\",\"data\":{\"entities\":[{\"entityId\":"
    "\"6b5c1a7e-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":\"task\",\"entity_type\":\"Task\","
    "\"action\":\"update\",\"objectTypeId\":\"11c137c0-ee7e-4f9c-91c5-8c77cec22b2c\","
    "\"keys\":[\"statusid\"],\"changes\":{\"statusid\":{\"old\":"
    "\"44dd9fb2-4164-11df-9218-0019bb4983d8\",\"new\":\"44ddd0fe-4164-11df-9218-0019bb4983d8\"}},"
    "\"parents\":[{\"entityId\":\"6b5c1a7e-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":\"task\","
    "\"entity_type\":\"Task\",\"parentId\":\"5d0f4f3a-7f7d-11ee-9c1e-0242ac120002\"},"
    "{\"entityId\":\"5d0f4f3a-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":\"task\","
    "\"entity_type\":\"Shot\",\"parentId\":\"4a1e2b3c-7f7d-11ee-9c1e-0242ac120002\"},"
    "{\"entityId\":\"4a1e2b3c-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":\"show\","
    "\"entity_type\":\"Project\",\"parentId\":null}],\"parentId\":"
    "\"5d0f4f3a-7f7d-11ee-9c1e-0242ac120002\"}],\"pushToken\":"
    "\"b3f1c2d4e5f60718293a4b5c6d7e8f90\",\"parents\":[\"6b5c1a7e-7f7d-11ee-9c1e-0242ac120002\","
    "\"5d0f4f3a-7f7d-11ee-9c1e-0242ac120002\",\"4a1e2b3c-7f7d-11ee-9c1e-0242ac120002\"],"
    "\"user\":{\"userid\":\"a1b2c3d4-0000-11ee-9c1e-0242ac120002\",\"name\":\"Bench User\"},"
    "\"clientToken\":\"c7d8e9f0-7f7d-11ee-9c1e-0242ac120002\"},\"source\":{\"user\":{\"id\":"
    "\"a1b2c3d4-0000-11ee-9c1e-0242ac120002\",\"username\":\"bench-user\"}},\"target\":\"\","
    "\"sent\":null,\"inReplyToEvent\":null}";

static const char LAUNCH[] =
    "{\"topic\":\"ftrack.action.launch\",\"data\":{\"actionIdentifier\":\"bench-action-1\","
    "\"selection\":[{\"entityId\":\"6b5c1a7e-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":"
    "\"task\"}],\"applicationId\":\"ftrack.client.web\",\"values\":{\"frames\":\"1001-1100\"}},"
    "\"source\":{\"user\":{\"id\":\"a1b2c3d4-0000-11ee-9c1e-0242ac120002\",\"username\":"
    "\"bench-user\"}},\"target\":\"\",\"sent\":null,\"inReplyToEvent\":null}";

static ftrack_event *event_from(const char *text, const char *topic, const char *source_id)
{
    ftrack_event *ev = NULL;
    ftrack_error err;
    if (ftrack_event_parse(text, strlen(text), true, &ev, &err) != FTRACK_OK)
        die("event template", &err);
    if (topic && strcmp(topic, ftrack_event_topic(ev)) != 0) {
        /* a different topic with the discover payload */
        json_object *w = ftrack_event_json(ev);
        json_object_object_add(w, "topic", json_object_new_string(topic));
    }
    json_object_object_add(ftrack_event_source(ev), "id", json_object_new_string(source_id));
    return ev;
}

/* ---- bookkeeping ------------------------------------------------------------------------- */

static void ensure_seq(load *L, unsigned long seq)
{
    if (seq < L->sent_cap)
        return;
    size_t cap = L->sent_cap ? L->sent_cap * 2 : 65536;
    while (cap <= seq)
        cap *= 2;
    L->sent_at = realloc(L->sent_at, cap * sizeof(*L->sent_at));
    L->answered = realloc(L->answered, cap);
    if (!L->sent_at || !L->answered)
        die("out of memory", NULL);
    memset(L->answered + L->sent_cap, 0, cap - L->sent_cap);
    L->sent_cap = cap;
}

static void on_reply_cb(ftrack_event *reply, void *user_data);

static void publish_next(load *L)
{
    unsigned long seq = L->next_seq++;
    ensure_seq(L, seq);
    char id[64];
    snprintf(id, sizeof(id), "%lu-%s", seq, L->run_tag);
    ftrack_event_set_id(L->event, id);
    ftrack_publish_options po;
    ftrack_publish_options_init(&po);
    if (L->use_callbacks) {
        po.on_reply = on_reply_cb;
        po.user_data = L;
        po.reply_timeout = L->reply_timeout;
    }
    ftrack_error err;
    L->sent_at[seq] = fb_now();
    if (ftrack_hub_publish(L->hub, L->event, &po, &err) != FTRACK_OK)
        die("publish", &err);
    L->in_flight++;
}

static void sample_rss(load *L)
{
    for (int i = 0; i < L->nwatch; i++)
        if (strcmp(L->watch[i].name, "loadgen") != 0)
            fprintf(stdout,
                    "{\"kind\":\"rss\",\"events\":%lu,\"name\":\"%s\",\"rss_kb\":%ld,"
                    "\"anon_kb\":%ld,\"file_kb\":%ld}\n",
                    L->measured, L->watch[i].name, fb_status_kb(L->watch[i].pid, "VmRSS"),
                    fb_status_kb(L->watch[i].pid, "RssAnon"),
                    fb_status_kb(L->watch[i].pid, "RssFile"));
    fflush(stdout);
}

static void self_watch_sample(load *L, int end)
{
    fb_watch_sample(L->watch, L->nwatch, end);
}

static void enter_phase(load *L, phase ph, double now)
{
    L->ph = ph;
    if (ph == PH_WARMUP) {
        L->phase_end = now + L->warmup;
    } else if (ph == PH_MEASURE) {
        self_watch_sample(L, 0);
        L->t_start = now;
        L->phase_end = L->count > 0 ? INFINITY : now + L->seconds;
        L->nlat = 0;
        L->measured = 0;
        if (L->rss_every > 0)
            sample_rss(L);
    } else if (ph == PH_DONE) {
        self_watch_sample(L, 1);
        L->t_end = now;
    }
}

/* One reply arrived for `seq` (any thread that runs the hub's queue: ours). */
static void got_reply(load *L, unsigned long seq)
{
    if (seq >= L->next_seq || L->answered[seq]) {
        L->stray++;
        return;
    }
    L->answered[seq] = 1;
    L->in_flight--;
    double now = fb_now();
    L->last_reply = now;
    if (L->ph == PH_MEASURE) {
        if (L->nlat < MAX_SAMPLES)
            L->lat[L->nlat++] = now - L->sent_at[seq];
        L->measured++;
        if (L->rss_every > 0 && L->measured % (unsigned long)L->rss_every == 0)
            sample_rss(L);
        bool out_of_time = L->max_seconds > 0 && now - L->t_start >= L->max_seconds;
        if ((L->count > 0 && L->measured >= (unsigned long)L->count) || now >= L->phase_end ||
            out_of_time) {
            enter_phase(L, PH_DONE, now);
            return;
        }
    } else if (L->ph == PH_PROBE) {
        enter_phase(L, L->warmup > 0 ? PH_WARMUP : PH_MEASURE, now);
        for (int i = 1; i < L->concurrency; i++)
            publish_next(L);
    } else if (L->ph == PH_WARMUP && now >= L->phase_end) {
        enter_phase(L, PH_MEASURE, now);
    }
    if (L->ph != PH_DONE)
        publish_next(L);
}

static unsigned long seq_of(const char *irt, const char *tag, bool *ok)
{
    char *end = NULL;
    unsigned long seq = strtoul(irt, &end, 10);
    *ok = end && *end == '-' && strcmp(end + 1, tag) == 0;
    return seq;
}

static void on_reply_cb(ftrack_event *reply, void *user_data)
{
    load *L = user_data;
    if (!reply)
        return;
    const char *irt = ftrack_event_in_reply_to(reply);
    bool ok = false;
    unsigned long seq = irt ? seq_of(irt, L->run_tag, &ok) : 0;
    if (ok)
        got_reply(L, seq);
    else
        L->stray++;
}

static json_object *on_reply_sub(ftrack_event *reply, const ftrack_delivery *d, void *user_data)
{
    (void)d;
    on_reply_cb(reply, user_data);
    return NULL;
}

/* ---- setup ------------------------------------------------------------------------------- */

static ftrack_hub *connect_hub(size_t queue_max)
{
    const char *url = getenv("FTRACK_SERVER");
    if (!url || !*url) {
        fprintf(stderr, "ftbench_load: FTRACK_SERVER is not set\n");
        exit(2);
    }
    ftrack_hub_options o;
    ftrack_hub_options_init(&o);
    o.server_url = url;
    o.api_user = getenv("FTRACK_API_USER");
    o.api_key = getenv("FTRACK_API_KEY");
    o.publish_queue_max = queue_max;
    o.wait_queue_max = queue_max;
    o.reply_timeout = 5;
    o.reconnect_max_attempts = 3;
    ftrack_hub *hub = NULL;
    ftrack_error err;
    if (ftrack_hub_new(&o, &hub, &err) != FTRACK_OK)
        die("hub", &err);
    if (ftrack_hub_connect(hub, &err) != FTRACK_OK ||
        ftrack_hub_wait_connected(hub, 15, &err) != FTRACK_OK)
        die("connect", &err);
    return hub;
}

static void subscribe_replies(load *L, ftrack_hub_callback cb)
{
    char hex[33];
    ftrack_uuid_hex(hex);
    snprintf(L->source_id, sizeof(L->source_id), "bench-load-%.16s", hex);
    snprintf(L->run_tag, sizeof(L->run_tag), "%.8s", hex + 16);
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, "id", json_object_new_string(L->source_id));
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.subscriber = meta;
    ftrack_error err;
    if (ftrack_hub_subscribe(L->hub, "topic=ftrack.meta.reply", cb, L, &so, NULL, &err) !=
        FTRACK_OK)
        die("subscribe", &err);
    json_object_put(meta);
}

static void pump(load *L, double seconds)
{
    ftrack_error err;
    if (ftrack_hub_wait(L->hub, seconds, &err) != FTRACK_OK)
        die("wait", &err);
}

static void parse_watch(load *L, const char *arg)
{
    if (L->nwatch >= FB_MAX_WATCH || fb_watch_parse(arg, &L->watch[L->nwatch]) != 0) {
        fprintf(stderr, "ftbench_load: bad --watch '%s' (NAME=PID)\n", arg);
        exit(2);
    }
    L->nwatch++;
}

static void add_self_watch(load *L)
{
    fb_watch *w = &L->watch[L->nwatch++];
    snprintf(w->name, sizeof(w->name), "loadgen");
    w->pid = (long)getpid();
}

/* ---- roundtrip --------------------------------------------------------------------------- */

static int run_roundtrip(load *L)
{
    L->lat = malloc(MAX_SAMPLES * sizeof(*L->lat));
    if (!L->lat)
        die("out of memory", NULL);
    L->event = event_from(DISCOVER, L->topic, L->source_id);
    /* Probe: one event at a time until the responder answers (it may still be subscribing). */
    double give_up = fb_now() + 30;
    L->ph = PH_PROBE;
    while (L->ph == PH_PROBE) {
        if (fb_now() > give_up) {
            fprintf(stderr, "ftbench_load: no reply to %s within 30 s\n", L->topic);
            return 1;
        }
        if (L->in_flight == 0 || fb_now() - L->sent_at[L->next_seq - 1] > 0.2)
            publish_next(L);
        pump(L, 0.1);
    }
    L->last_reply = fb_now();
    while (L->ph != PH_DONE) {
        pump(L, 0.05);
        if (fb_now() - L->last_reply > 5) {
            fprintf(stderr, "ftbench_load: stalled: no reply for 5 s (%lu in flight)\n",
                    L->in_flight);
            return 1;
        }
    }
    double elapsed = L->t_end - L->t_start;
    qsort(L->lat, L->nlat, sizeof(double), fb_cmp_double);
    double sum = 0;
    for (size_t i = 0; i < L->nlat; i++)
        sum += L->lat[i];
    printf("{\"kind\":\"roundtrip\",\"topic\":\"%s\",\"concurrency\":%d,\"replies\":%lu,"
           "\"seconds\":%.4f,\"replies_per_s\":%.1f,\"lat_us\":{\"mean\":%.1f,\"p50\":%.1f,"
           "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},\"stray\":%lu,",
           L->topic, L->concurrency, L->measured, elapsed, (double)L->measured / elapsed,
           L->nlat ? sum / (double)L->nlat * 1e6 : 0, fb_quantile(L->lat, L->nlat, 0.5) * 1e6,
           fb_quantile(L->lat, L->nlat, 0.99) * 1e6, fb_quantile(L->lat, L->nlat, 0.999) * 1e6,
           L->nlat ? L->lat[L->nlat - 1] * 1e6 : 0, L->stray);
    /* the size of what is published (the last event; only its id's digits vary), and all
     * events published including probe and warm-up, which run.sh's journal delta spans */
    size_t event_bytes = 0;
    char *wire = ftrack_event_serialize(L->event, &event_bytes);
    ftrack_free(wire);
    printf("\"event_bytes\":%zu,\"published\":%lu,", event_bytes, L->next_seq);
    fb_watch_print(stdout, L->watch, L->nwatch, (double)L->measured);
    printf(",");
    fb_watch_print_io(stdout, L->watch, L->nwatch, (double)L->measured);
    printf("}\n");
    fflush(stdout);
    if (L->rss_every > 0)
        sample_rss(L);
    return 0;
}

/* ---- burst ------------------------------------------------------------------------------- */

/* The instance a marker reply names ("" when it names none). */
static const char *reply_instance(ftrack_event *reply)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(ftrack_event_data(reply), "instance", &v) ||
        !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

static json_object *on_marker_reply(ftrack_event *reply, const ftrack_delivery *d, void *user)
{
    (void)d;
    load *L = user;
    const char *irt = ftrack_event_in_reply_to(reply);
    if (irt && strncmp(irt, "marker-", 7) == 0 && strcmp(irt + 7, L->run_tag) == 0) {
        L->marker_replies++;
        L->last_reply = fb_now();
        names_add(&L->marked, reply_instance(reply));
    } else if (irt && strncmp(irt, "probe-", 6) == 0 &&
               strncmp(irt + 6, L->run_tag, strlen(L->run_tag)) == 0) {
        names_add(&L->probed, reply_instance(reply));
    }
    return NULL;
}

/* Publish a probe marker every 0.2 s until `expect` distinct instances answered one: then
 * every instance's subscriptions (the marker's is its last) are on the hub. */
static bool wait_subscribed(load *L, ftrack_event *probe, long expect)
{
    char id[64];
    double start = fb_now(), next = 0;
    for (unsigned k = 0; L->probed.n < (size_t)expect; k++) {
        if (fb_now() - start > 30)
            return false;
        if (fb_now() >= next) {
            snprintf(id, sizeof(id), "probe-%s-%u", L->run_tag, k);
            ftrack_event_set_id(probe, id);
            ftrack_error err;
            if (ftrack_hub_publish(L->hub, probe, NULL, &err) != FTRACK_OK)
                die("publish probe", &err);
            next = fb_now() + 0.2;
        }
        pump(L, 0.01);
    }
    return true;
}

static int run_burst(load *L, long expect, const char *marker)
{
    ftrack_event *ev[4] = {
        event_from(UPDATE, NULL, L->source_id),
        event_from(DISCOVER, NULL, L->source_id),
        event_from(UPDATE, NULL, L->source_id),
        event_from(LAUNCH, NULL, L->source_id),
    };
    ftrack_event *mark = event_from(DISCOVER, marker, L->source_id);
    char id[64];
    snprintf(id, sizeof(id), "marker-%s", L->run_tag);
    ftrack_event_set_id(mark, id);
    /* give the reply subscription time to reach the hub */
    pump(L, 0.3);
    if (!wait_subscribed(L, mark, expect)) {
        fprintf(stderr,
                "ftbench_load: a SUBSCRIPTION RACE, not a lost event: only %zu of %ld plugin "
                "instances answered a probe marker within 30 s (answered: ",
                L->probed.n, expect);
        names_print(stderr, &L->probed, " ");
        fprintf(stderr, "); no burst was sent\n");
        return 3;
    }
    snprintf(id, sizeof(id), "marker-%s", L->run_tag); /* the probes used it */
    ftrack_event_set_id(mark, id);
    L->marker_replies = 0;
    self_watch_sample(L, 0);
    double t0 = fb_now();
    ftrack_error err;
    for (long i = 0; i < L->count; i++) {
        ftrack_event *e = ev[i % 4];
        snprintf(id, sizeof(id), "%ld-%s", i, L->run_tag);
        ftrack_event_set_id(e, id);
        if (i % 4 == 3) { /* launch: a different action each time, bench-action-0..99 */
            char action[32];
            snprintf(action, sizeof(action), "bench-action-%ld", (i / 4) % 100);
            json_object_object_add(ftrack_event_data(e), "actionIdentifier",
                                   json_object_new_string(action));
        }
        ftrack_status st;
        while ((st = ftrack_hub_publish(L->hub, e, NULL, &err)) == FTRACK_ERR_QUEUE_FULL)
            pump(L, 0.001);
        if (st != FTRACK_OK)
            die("publish", &err);
    }
    if (ftrack_hub_publish(L->hub, mark, NULL, &err) != FTRACK_OK)
        die("publish marker", &err);
    L->last_reply = fb_now();
    while (L->marker_replies < (unsigned long)expect) {
        pump(L, 0.01);
        if (fb_now() - L->last_reply > 30) {
            fprintf(stderr,
                    "ftbench_load: only %lu of %ld marker replies, no reply for 30 s; all %ld "
                    "instances had answered a probe before the burst, so this is not a "
                    "subscription race (answered the marker: ",
                    L->marker_replies, expect, expect);
            names_print(stderr, &L->marked, " ");
            fprintf(stderr, ")\nMARKER-SHORTFALL id=marker-%s answered=", L->run_tag);
            names_print(stderr, &L->marked, ",");
            fprintf(stderr, "\n");
            return 1;
        }
    }
    double t1 = L->last_reply;
    self_watch_sample(L, 1);
    printf("{\"kind\":\"burst\",\"events\":%ld,\"instances\":%ld,\"seconds\":%.4f,"
           "\"events_per_s\":%.1f,",
           L->count, expect, t1 - t0, (double)L->count / (t1 - t0));
    fb_watch_print(stdout, L->watch, L->nwatch, (double)L->count);
    printf("}\n");
    for (int i = 0; i < 4; i++)
        ftrack_event_free(ev[i]);
    ftrack_event_free(mark);
    return 0;
}

/* ---- startup ----------------------------------------------------------------------------- */

static json_object *on_first_reply(ftrack_event *reply, const ftrack_delivery *d, void *user)
{
    (void)d;
    (void)reply;
    load *L = user;
    if (L->first_reply == 0)
        L->first_reply = fb_now();
    return NULL;
}

static int run_startup(load *L, const char *ready_text, bool ready_only, char **cmd)
{
    ftrack_event *ev = event_from(DISCOVER, L->topic, L->source_id);
    pump(L, 0.3);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        die("pipe", NULL);
    double t0 = fb_now();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        execvp(cmd[0], cmd);
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char buf[8192];
    size_t have = 0;
    double t_ready = 0, next_pub = 0;
    unsigned long n = 0;
    if (ready_only)
        L->first_reply = -1;
    while (L->first_reply == 0 || t_ready == 0) {
        double now = fb_now();
        if (now - t0 > 30)
            break;
        if (L->first_reply == 0 && now >= next_pub) {
            char id[64];
            snprintf(id, sizeof(id), "s%lu-%s", n++, L->run_tag);
            ftrack_event_set_id(ev, id);
            ftrack_error err;
            if (ftrack_hub_publish(L->hub, ev, NULL, &err) != FTRACK_OK)
                die("publish", &err);
            next_pub = now + 0.002;
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        if (t_ready == 0 && poll(&p, 1, 0) > 0) {
            ssize_t r = read(fds[0], buf + have, sizeof(buf) - 1 - have);
            if (r > 0) {
                have += (size_t)r;
                buf[have] = '\0';
                if (strstr(buf, ready_text))
                    t_ready = fb_now();
                char *nl = strrchr(buf, '\n');
                if (nl) { /* keep only the unfinished line */
                    size_t rest = have - (size_t)(nl + 1 - buf);
                    memmove(buf, nl + 1, rest);
                    have = rest;
                }
                if (have >= sizeof(buf) - 1)
                    have = 0;
            }
        }
        pump(L, 0.0005);
    }
    long rss = fb_status_kb((long)pid, "VmRSS");
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    ftrack_event_free(ev);
    if (t_ready == 0 || L->first_reply == 0) {
        fprintf(stderr, "ftbench_load: startup: %s within 30 s\n",
                t_ready == 0 ? "no ready line" : "no reply");
        return 1;
    }
    printf("{\"kind\":\"startup\",\"ready_ms\":%.2f,\"first_reply_ms\":%.2f,\"rss_kb\":%ld}\n",
           (t_ready - t0) * 1e3, ready_only ? 0.0 : (L->first_reply - t0) * 1e3, rss);
    return 0;
}

/* ---- main -------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(
        stderr,
        "usage: ftbench_load roundtrip [--concurrency C] [--seconds S|--count N] [--warmup W]\n"
        "                              [--topic T] [--replies subscriber|callback]\n"
        "                              [--reply-timeout SECONDS] [--max-seconds S]\n"
        "                              [--rss-every N] [--watch NAME=PID]...\n"
        "       ftbench_load burst --count K --expect N [--marker T] [--watch NAME=PID]...\n"
        "       ftbench_load startup [--topic T] [--ready TEXT] [--ready-only] -- COMMAND...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    signal(SIGPIPE, SIG_IGN);
    ftrack_log_set_level(FTRACK_LOG_WARNING);
    const char *mode = argv[1];
    load L;
    memset(&L, 0, sizeof(L));
    L.concurrency = 1;
    L.warmup = 1;
    L.seconds = 3;
    L.topic = "ftrack.action.discover";
    L.reply_timeout = 5;
    long expect = 1;
    const char *marker = "bench.marker";
    const char *ready_text = "ready:";
    bool ready_only = false;
    char **cmd = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            cmd = argv + i + 1;
            break;
        }
        if (strcmp(a, "--ready-only") == 0) {
            ready_only = true;
            continue;
        }
        if (!v)
            return usage();
        if (strcmp(a, "--concurrency") == 0)
            L.concurrency = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--seconds") == 0)
            L.seconds = strtod(v, NULL);
        else if (strcmp(a, "--warmup") == 0)
            L.warmup = strtod(v, NULL);
        else if (strcmp(a, "--count") == 0)
            L.count = strtol(v, NULL, 10);
        else if (strcmp(a, "--topic") == 0)
            L.topic = v;
        else if (strcmp(a, "--replies") == 0)
            L.use_callbacks = strcmp(v, "callback") == 0;
        else if (strcmp(a, "--max-seconds") == 0)
            L.max_seconds = strtod(v, NULL);
        else if (strcmp(a, "--reply-timeout") == 0)
            L.reply_timeout = strtod(v, NULL);
        else if (strcmp(a, "--rss-every") == 0)
            L.rss_every = strtol(v, NULL, 10);
        else if (strcmp(a, "--watch") == 0)
            parse_watch(&L, v);
        else if (strcmp(a, "--expect") == 0)
            expect = strtol(v, NULL, 10);
        else if (strcmp(a, "--marker") == 0)
            marker = v;
        else if (strcmp(a, "--ready") == 0)
            ready_text = v;
        else
            return usage();
        i++;
    }
    if (L.concurrency < 1)
        L.concurrency = 1;
    add_self_watch(&L);
    L.hub = connect_hub(strcmp(mode, "burst") == 0 ? (size_t)L.count + 1000 : 100000);
    int rc;
    if (strcmp(mode, "roundtrip") == 0) {
        subscribe_replies(&L, on_reply_sub);
        rc = run_roundtrip(&L);
    } else if (strcmp(mode, "burst") == 0) {
        subscribe_replies(&L, on_marker_reply);
        rc = run_burst(&L, expect, marker);
    } else if (strcmp(mode, "startup") == 0 && cmd && cmd[0]) {
        subscribe_replies(&L, on_first_reply);
        rc = run_startup(&L, ready_text, ready_only, cmd);
    } else {
        return usage();
    }
    ftrack_event_free(L.event);
    names_free(&L.probed);
    names_free(&L.marked);
    ftrack_hub_disconnect(L.hub, false, NULL);
    ftrack_hub_free(L.hub);
    free(L.lat);
    free(L.sent_at);
    free(L.answered);
    return rc;
}
