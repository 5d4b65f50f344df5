/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin for the reliability tests: appends one JSON line per delivery to `record`
 * (instance, event id, topic, data.i, attempt, redelivery, pid, and the data when the line
 * stays under 4 KB), after sleeping `delay` seconds. The event's data steers failures, so a
 * test can aim them at chosen events:
 *   "fail": true       report a failure with ftrack_delivery_fail (the line is still written)
 *   "crash": true      segfault (for isolated instances)
 *   "hang": true       sleep `hang_seconds` (default a day) before anything else
 *   "fail_until": N    fail while the attempt is below N (a flaky handler)
 * With `obey` false it ignores all of these; once the file `cured` exists, too. With `trace`
 * set, every call first appends {"i", "attempt", "pid"} to that file, so a test can count the
 * tries of an event that crashes before it is recorded.
 * Replies {"instance": name, "i": data.i}. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ftrack/plugin.h>

static const ftrack_plugin_param params[] = {
    {"record", FTRACK_PARAM_STRING, true, NULL, "file the deliveries are appended to"},
    {"expression", FTRACK_PARAM_STRING, false, "\"topic=test.rel\"", "subscription"},
    {"delay", FTRACK_PARAM_DOUBLE, false, "0", "seconds to sleep per event"},
    {"hang_seconds", FTRACK_PARAM_DOUBLE, false, "86400", "how long a hang lasts"},
    {"obey", FTRACK_PARAM_BOOL, false, "true", "act on fail/crash/hang in the data"},
    {"cured", FTRACK_PARAM_STRING, false, "\"\"", "once this file exists, stop obeying"},
    {"trace", FTRACK_PARAM_STRING, false, "\"\"", "file each call is noted in, before anything"},
};

typedef struct state {
    ftrack_plugin_context *ctx;
    char record[1024];
    double delay, hang;
    bool obey;
    char cured[1024];
    char trace[1024];
} state;

static void sleep_for(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static bool flag(const state *st, json_object *data, const char *key)
{
    json_object *v;
    if (!st->obey || (st->cured[0] && access(st->cured, F_OK) == 0))
        return false;
    return json_object_object_get_ex(data, key, &v) && json_object_get_boolean(v);
}

static void append_text(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0)
        return;
    ssize_t w = write(fd, text, len);
    (void)w;
    close(fd);
}

/* One line per call, written before the call can crash. */
static void note_call(const state *st, json_object *data, const ftrack_delivery *d)
{
    json_object *v = NULL;
    json_object_object_get_ex(data, "i", &v);
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "{\"i\": %s, \"attempt\": %u, \"pid\": %d}\n",
                     v ? json_object_to_json_string(v) : "null", d->attempt, (int)getpid());
    if (n > 0 && (size_t)n < sizeof(buf))
        append_text(st->trace, buf, (size_t)n);
}

static void append_line(const state *st, ftrack_event *event, const ftrack_delivery *d)
{
    json_object *line = json_object_new_object();
    json_object *v = NULL;
    json_object_object_get_ex(ftrack_event_data(event), "i", &v);
    json_object_object_add(line, "instance",
                           json_object_new_string(ftrack_plugin_instance_name(st->ctx)));
    json_object_object_add(line, "id", json_object_new_string(ftrack_event_id(event)));
    json_object_object_add(line, "topic", json_object_new_string(ftrack_event_topic(event)));
    json_object_object_add(line, "i", json_object_get(v));
    json_object_object_add(line, "attempt", json_object_new_int((int)d->attempt));
    json_object_object_add(line, "redelivery", json_object_new_boolean(d->redelivery));
    json_object_object_add(line, "pid", json_object_new_int(getpid()));
    json_object *data = NULL;
    json_object_deep_copy(ftrack_event_data(event), &data, NULL);
    json_object_object_add(line, "data", data);
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "%s\n",
                     json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN));
    /* A large event (the journal's size tests) is recorded without its data. */
    if (n <= 0 || (size_t)n >= sizeof(buf)) {
        json_object_object_del(line, "data");
        n = snprintf(buf, sizeof(buf), "%s\n",
                     json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN));
    }
    if (n > 0 && (size_t)n < sizeof(buf))
        append_text(st->record, buf, (size_t)n);
    json_object_put(line);
}

static json_object *on_event(ftrack_event *event, const ftrack_delivery *d, void *user)
{
    state *st = user;
    json_object *data = ftrack_event_data(event), *v;
    if (st->trace[0])
        note_call(st, data, d);
    if (flag(st, data, "hang"))
        sleep_for(st->hang);
    if (flag(st, data, "crash"))
        raise(SIGSEGV);
    if (st->delay > 0)
        sleep_for(st->delay);
    append_line(st, event, d);
    if (flag(st, data, "fail"))
        ftrack_delivery_fail(d, "asked to fail by the event's data");
    if (st->obey && json_object_object_get_ex(data, "fail_until", &v) &&
        (int)d->attempt < json_object_get_int(v))
        ftrack_delivery_fail(d, "flaky: attempt %u of %d", d->attempt, json_object_get_int(v));
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "instance",
                           json_object_new_string(ftrack_plugin_instance_name(st->ctx)));
    json_object *i = NULL;
    json_object_object_get_ex(data, "i", &i);
    json_object_object_add(reply, "i", json_object_get(i));
    return reply;
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **out, ftrack_error *err)
{
    state *st = calloc(1, sizeof(*st));
    json_object *v = NULL;
    if (!st)
        return FTRACK_ERR_NO_MEMORY;
    st->ctx = ctx;
    json_object_object_get_ex(arguments, "record", &v);
    snprintf(st->record, sizeof(st->record), "%s", json_object_get_string(v));
    json_object_object_get_ex(arguments, "delay", &v);
    st->delay = json_object_get_double(v);
    json_object_object_get_ex(arguments, "hang_seconds", &v);
    st->hang = json_object_get_double(v);
    json_object_object_get_ex(arguments, "obey", &v);
    st->obey = json_object_get_boolean(v);
    json_object_object_get_ex(arguments, "cured", &v);
    snprintf(st->cured, sizeof(st->cured), "%s", json_object_get_string(v));
    json_object_object_get_ex(arguments, "trace", &v);
    snprintf(st->trace, sizeof(st->trace), "%s", json_object_get_string(v));
    json_object_object_get_ex(arguments, "expression", &v);
    *out = st;
    return ftrack_hub_subscribe(ftrack_session_hub(session), json_object_get_string(v), on_event,
                                st, NULL, NULL, err);
}

static void unreg(ftrack_plugin_context *ctx, void *st)
{
    (void)ctx;
    free(st);
}

FTRACK_PLUGIN("recorder", "1.0.0", "Records deliveries for the reliability tests", params, reg,
              unreg);
