/* SPDX-License-Identifier: Apache-2.0 */
/* ftbench_micro: micro-benchmarks of the per-event hot paths, in nanoseconds per operation.
 *
 *   ftbench_micro [--seconds S] [--only GROUP]   (S per case, default 0.25; GROUP: event,
 *                                                  match, journal or crc: a profile of one)
 *
 * Prints one JSON object per case: {"kind":"micro","case":NAME,"ns":N,"bytes":B}. The cases
 * are what one event costs on its way through the hub and the host: socket.io decode and
 * framing, the hub's wire parse, event parse and serialise, a reply's construction, target
 * compilation, subscription matching (per subscriber), and the journal's share: one event
 * appended, handed out, started and finished (the host's path for every event), the
 * in-memory bookkeeping of that alone, and the checksum of one event record. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ftrack/ftrack.h>
#include "bench_util.h"
#include "delivery/journal.h"
#include "delivery/journal_internal.h"
#include "hub/server_internal.h"
#include "wire/socketio.h"

static double g_seconds = 0.25;
static volatile size_t g_sink;

static const char DISCOVER[] =
    "{\"id\":\"0f3e4d5c6b7a89901122334455667788\",\"topic\":\"ftrack.action.discover\","
    "\"data\":{\"selection\":[{\"entityId\":\"6b5c1a7e-7f7d-11ee-9c1e-0242ac120002\","
    "\"entityType\":\"task\"}],\"applicationId\":\"ftrack.client.web\",\"context\":"
    "{\"selection\":[]}},\"source\":{\"id\":\"bench-load-0123456789abcdef\",\"user\":{\"id\":"
    "\"a1b2c3d4-0000-11ee-9c1e-0242ac120002\",\"username\":\"bench-user\"},\"host\":"
    "\"bench-host\"},\"target\":\"\",\"sent\":null,\"inReplyToEvent\":null}";

static const char UPDATE[] =
    "{\"id\":\"1f3e4d5c6b7a89901122334455667788\",\"topic\":\"ftrack.update\",\"data\":"
    "{\"entities\":[{\"entityId\":\"6b5c1a7e-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":"
    "\"task\",\"entity_type\":\"Task\",\"action\":\"update\",\"objectTypeId\":"
    "\"11c137c0-ee7e-4f9c-91c5-8c77cec22b2c\",\"keys\":[\"statusid\"],\"changes\":"
    "{\"statusid\":{\"old\":\"44dd9fb2-4164-11df-9218-0019bb4983d8\",\"new\":"
    "\"44ddd0fe-4164-11df-9218-0019bb4983d8\"}},\"parents\":[{\"entityId\":"
    "\"6b5c1a7e-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":\"task\",\"entity_type\":\"Task\","
    "\"parentId\":\"5d0f4f3a-7f7d-11ee-9c1e-0242ac120002\"},{\"entityId\":"
    "\"5d0f4f3a-7f7d-11ee-9c1e-0242ac120002\",\"entityType\":\"task\",\"entity_type\":\"Shot\","
    "\"parentId\":\"4a1e2b3c-7f7d-11ee-9c1e-0242ac120002\"}],\"parentId\":"
    "\"5d0f4f3a-7f7d-11ee-9c1e-0242ac120002\"}],\"pushToken\":"
    "\"b3f1c2d4e5f60718293a4b5c6d7e8f90\",\"user\":{\"userid\":"
    "\"a1b2c3d4-0000-11ee-9c1e-0242ac120002\",\"name\":\"Bench User\"}},\"source\":{\"id\":"
    "\"server-0123\",\"user\":{\"id\":\"a1b2c3d4-0000-11ee-9c1e-0242ac120002\",\"username\":"
    "\"bench-user\"}},\"target\":\"\",\"sent\":null,\"inReplyToEvent\":null}";

/* Subscriptions of the kinds studios write (the dispatch benchmark's plugins use them too). */
static const char *const EXPRESSIONS[] = {
    "topic=ftrack.update",
    "topic=ftrack.action.discover and source.user.username=bench-user",
    "topic=ftrack.action.launch and data.actionIdentifier=bench-action-7",
    "topic=ftrack.update and data.pushToken!=nothing and not source.user.username=robot",
    "topic=ftrack.* and (data.applicationId=ftrack.client.web or data.applicationId=nuke)",
};

typedef void (*bench_fn)(void *arg);

/* Run fn until g_seconds pass; returns nanoseconds per call. */
static double measure(bench_fn fn, void *arg)
{
    for (int i = 0; i < 100; i++)
        fn(arg);
    unsigned long n = 0, batch = 64;
    double t0 = fb_now(), t;
    do {
        for (unsigned long i = 0; i < batch; i++)
            fn(arg);
        n += batch;
        t = fb_now();
    } while (t - t0 < g_seconds);
    return (t - t0) * 1e9 / (double)n;
}

static void report(const char *name, double ns, size_t bytes)
{
    printf("{\"kind\":\"micro\",\"case\":\"%s\",\"ns\":%.1f,\"bytes\":%zu}\n", name, ns, bytes);
    fflush(stdout);
}

/* ---- cases ------------------------------------------------------------------------------- */

typedef struct text_arg {
    const char *text;
    size_t len;
    struct json_tokener *tok;
    ftrack_event *event;
    json_object *wire;
    const ftrack_expression *expr;
} text_arg;

static void b_jsonc_parse(void *a)
{
    text_arg *t = a;
    json_tokener_reset(t->tok);
    json_object *o = json_tokener_parse_ex(t->tok, t->text, (int)t->len);
    g_sink += (size_t)o;
    json_object_put(o);
}

static void b_event_parse(void *a)
{
    text_arg *t = a;
    ftrack_event *ev = NULL;
    ftrack_event_parse(t->text, t->len, false, &ev, NULL);
    g_sink += (size_t)ev;
    ftrack_event_free(ev);
}

static void b_event_serialize(void *a)
{
    text_arg *t = a;
    size_t len = 0;
    char *s = ftrack_event_serialize(t->event, &len);
    g_sink += len;
    ftrack_free(s);
}

static void b_reply_build(void *a)
{
    text_arg *t = a;
    json_object *data = json_object_new_object();
    json_object_object_add(data, "items", json_object_new_array());
    ftrack_event *r = ftrack_event_reply_new(t->event, data, NULL);
    size_t len = 0;
    char *s = ftrack_event_serialize(r, &len);
    g_sink += len;
    ftrack_free(s);
    ftrack_event_free(r);
}

static void b_uuid(void *a)
{
    (void)a;
    char id[33];
    ftrack_uuid_hex(id);
    g_sink += (size_t)id[3];
}

static void b_target_compile(void *a)
{
    (void)a;
    ftrack_expression *e = NULL;
    ftrack_expression_compile("id=bench-load-0123456789abcdef", &e, NULL);
    g_sink += (size_t)e;
    ftrack_expression_free(e);
}

static void b_match(void *a)
{
    text_arg *t = a;
    g_sink += ftrack_expression_match(t->expr, t->wire);
}

static void b_sio_decode(void *a)
{
    text_arg *t = a;
    fti_sio_packet p;
    fti_sio_decode(t->text, t->len, &p, NULL);
    g_sink += p.data_len;
}

static void b_sio_frame(void *a)
{
    text_arg *t = a;
    size_t len = 0;
    char *buf = fti_sio_frame_event(16, 0, t->text, t->len, &len);
    g_sink += len;
    free(buf);
}

static void b_hub_wire_parse(void *a)
{
    text_arg *t = a;
    fhub_wire_event ev;
    if (fhub_wire_event_parse(t->text, t->len, 64, "bench-user", &ev, NULL) == FTRACK_OK) {
        size_t len = 0;
        g_sink += (size_t)fhub_wire_event_text(&ev, &len) + len;
        fhub_wire_event_clear(&ev);
    }
}

/* ---- the journal ------------------------------------------------------------------------- */

/* A new 32-hex-digit event id from a counter (snprintf would weigh more than what is timed). */
static void counter_id(char id[33], unsigned long n)
{
    for (int i = 31; i >= 0; i--, n >>= 4)
        id[i] = "0123456789abcdef"[n & 15];
    id[32] = '\0';
}

typedef struct journal_arg {
    fth_journal *j;
    const char *text;
    size_t len;
    unsigned long n;
} journal_arg;

/* Each call a new event id, as on a live host: with the default window every finished event
 * past the newest 4,096 is forgotten, so the steady state's bookkeeping is timed too. The
 * host's timer compacts about every 30 s; here every 4,096 events keeps the files few. */
static void b_journal_event(void *a)
{
    journal_arg *t = a;
    char id[33];
    counter_id(id, t->n++);
    fth_journal_append(t->j, "bench", id, "ftrack.action.discover", t->text, t->len);
    fth_journal_entry e;
    if (fth_journal_next(t->j, "bench", &e)) {
        fth_journal_started(t->j, "bench", &e);
        fth_journal_finished(t->j, "bench", &e);
        fth_journal_entry_clear(&e);
    }
    if (t->n % 4096 == 0)
        fth_journal_compact(t->j, NULL);
}

/* The in-memory part alone (journal_state.c), no file: a new id looked up and added, its
 * delivery added and finished, the oldest remembered event forgotten. */
static void b_journal_state(void *a)
{
    journal_arg *t = a;
    char id[33];
    counter_id(id, t->n++);
    if (fth_jstate_event_by_id(t->j, id))
        return;
    jevent *ev =
        fth_jstate_add_event(t->j, t->j->next_seq, id, 32, "ftrack.action.discover", 22, 0);
    jinstance *in = fth_jstate_instance_num(t->j, 0);
    if (ev && fth_jstate_add(t->j, in, ev, 0, false, false))
        fth_jstate_remove(t->j, in, fth_jstate_find(in, ev->seq));
}

static void b_record_crc(void *a)
{
    text_arg *t = a;
    g_sink += fth_jlog_crc(t->text, t->len);
}

static void remove_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char file[512];
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        if (e->d_name[0] != '.')
            unlink(file);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

static void run_journal_cases(void)
{
    /* In memory where it can be: the file system's work is not what is timed, and on a disk
     * its write-back makes the figure vary from run to run. */
    char dir[] = "/dev/shm/ftbench-journal-XXXXXX", alt[] = "/tmp/ftbench-journal-XXXXXX";
    char *at = mkdtemp(dir) ? dir : mkdtemp(alt);
    if (!at)
        return;
    fth_journal_options o;
    fth_journal_options_init(&o);
    o.path = at;
    o.fsync = FTH_FSYNC_OFF;
    journal_arg t = {.text = DISCOVER, .len = strlen(DISCOVER)};
    if (fth_journal_open(&o, &t.j, NULL) == FTRACK_OK) {
        report("journal_append_finish", measure(b_journal_event, &t), t.len);
        fth_journal_close(t.j);
    }
    remove_dir(at);

    /* A journal with no files: only what journal_state.c keeps. */
    fth_journal *mem = calloc(1, sizeof(*mem));
    if (!mem)
        return;
    fth_journal_options_init(&mem->options);
    if (fth_jstate_init(mem) && fth_jstate_name_instance(mem, 0, "bench", 5)) {
        journal_arg s = {.j = mem};
        report("journal_state_per_event", measure(b_journal_state, &s), 0);
    }
    fth_jstate_free(mem);
    free(mem);
}

static void run_crc_case(void)
{
    /* An event record as the journal checksums it: the header after its crc field, the
     * fixed event part, one target, the id and topic, the text. */
    static char record[16 + 24 + 6 + 32 + 22 + sizeof(DISCOVER) - 1];
    memcpy(record + sizeof(record) - (sizeof(DISCOVER) - 1), DISCOVER, sizeof(DISCOVER) - 1);
    text_arg r = {.text = record, .len = sizeof(record)};
    report("journal_record_crc", measure(b_record_crc, &r), r.len);
}

/* ---- main -------------------------------------------------------------------------------- */

static void run_event_cases(const char *label, const char *text)
{
    char name[64];
    size_t len = strlen(text);
    text_arg t = {.text = text, .len = len, .tok = json_tokener_new_ex(66)};
    ftrack_event_parse(text, len, false, &t.event, NULL);
    snprintf(name, sizeof(name), "jsonc_parse_%s", label);
    report(name, measure(b_jsonc_parse, &t), len);
    snprintf(name, sizeof(name), "event_parse_%s", label);
    report(name, measure(b_event_parse, &t), len);
    snprintf(name, sizeof(name), "event_serialize_%s", label);
    report(name, measure(b_event_serialize, &t), len);
    /* the same event as the official clients and the hub send it: the keys in wire order */
    size_t olen = 0;
    char *ordered = ftrack_event_serialize(t.event, &olen);
    text_arg o = {.text = ordered, .len = olen};
    snprintf(name, sizeof(name), "event_parse_%s_wire_order", label);
    report(name, measure(b_event_parse, &o), olen);
    free(ordered);

    /* the socket.io layer around it */
    size_t flen = 0;
    char *frame = fti_sio_frame_event(0, 0, text, len, &flen);
    text_arg f = {.text = frame, .len = flen};
    snprintf(name, sizeof(name), "sio_decode_%s", label);
    report(name, measure(b_sio_decode, &f), flen);
    snprintf(name, sizeof(name), "sio_frame_%s", label);
    report(name, measure(b_sio_frame, &t), flen);
    fti_sio_packet p;
    fti_sio_decode(frame, flen, &p, NULL);
    text_arg w = {.text = p.data, .len = p.data_len};
    snprintf(name, sizeof(name), "hub_wire_parse_%s", label);
    report(name, measure(b_hub_wire_parse, &w), p.data_len);
    free(frame);
    ftrack_event_free(t.event);
    json_tokener_free(t.tok);
}

static void run_match_cases(void)
{
    ftrack_event *ev[2] = {NULL, NULL};
    ftrack_event_parse(UPDATE, strlen(UPDATE), false, &ev[0], NULL);
    ftrack_event_parse(DISCOVER, strlen(DISCOVER), false, &ev[1], NULL);
    const char *labels[2] = {"update", "discover"};
    double total = 0;
    int n = 0;
    for (size_t i = 0; i < sizeof(EXPRESSIONS) / sizeof(EXPRESSIONS[0]); i++) {
        ftrack_expression *e = NULL;
        ftrack_expression_compile(EXPRESSIONS[i], &e, NULL);
        for (int k = 0; k < 2; k++) {
            text_arg t = {.wire = ftrack_event_json(ev[k]), .expr = e};
            double ns = measure(b_match, &t);
            char name[64];
            snprintf(name, sizeof(name), "match_expr%zu_%s%s", i, labels[k],
                     ftrack_expression_match(e, t.wire) ? "_hit" : "_miss");
            report(name, ns, 0);
            total += ns;
            n++;
        }
        ftrack_expression_free(e);
    }
    report("match_mean_per_subscriber", total / n, 0);
    text_arg t = {.event = ev[1]};
    report("reply_build_serialize", measure(b_reply_build, &t), 0);
    report("uuid4", measure(b_uuid, NULL), 0);
    report("target_compile", measure(b_target_compile, NULL), 0);
    ftrack_event_free(ev[0]);
    ftrack_event_free(ev[1]);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0)
            g_seconds = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
    }
    ftrack_log_set_level(FTRACK_LOG_ERROR);
    if (!only || strcmp(only, "event") == 0) {
        run_event_cases("discover", DISCOVER);
        run_event_cases("update", UPDATE);
    }
    if (!only || strcmp(only, "match") == 0)
        run_match_cases();
    if (!only || strcmp(only, "journal") == 0)
        run_journal_cases();
    if (!only || strcmp(only, "crc") == 0)
        run_crc_case();
    return g_sink == 42 ? 1 : 0;
}
