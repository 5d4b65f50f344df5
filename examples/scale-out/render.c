/* SPDX-License-Identifier: Apache-2.0 */
/* The scale-out example's plugin: a stand-in for a heavy handler (a transcode, bulk /api
 * work). Each example.render event costs `work_ms` of CPU; the plugin logs which event it
 * handled and replies with its process id, so run.sh can show how the workers shared them. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <ftrack/ftrack.h>

static const ftrack_plugin_param params[] = {
    {"work_ms", FTRACK_PARAM_DOUBLE, false, "5", "CPU milliseconds spent per event"},
};

typedef struct render {
    ftrack_plugin_context *ctx;
    double work_ms;
} render;

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static json_object *on_render(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    render *r = user;
    volatile unsigned long spin = 0;
    for (double until = cpu_ms() + r->work_ms; cpu_ms() < until;)
        spin++;
    json_object *shot = NULL;
    json_object_object_get_ex(ftrack_event_data(event), "shot", &shot);
    ftrack_plugin_log(r->ctx, FTRACK_LOG_INFO, "rendered %s (event %s%s)",
                      shot ? json_object_get_string(shot) : "?", ftrack_event_id(event),
                      delivery->redelivery ? ", redelivered" : "");
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "worker_pid", json_object_new_int(getpid()));
    return reply;
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **state, ftrack_error *err)
{
    render *r = calloc(1, sizeof(*r));
    if (!r)
        return FTRACK_ERR_NO_MEMORY;
    json_object *v = NULL;
    json_object_object_get_ex(arguments, "work_ms", &v);
    r->ctx = ctx;
    r->work_ms = json_object_get_double(v);
    *state = r;
    return ftrack_hub_subscribe(ftrack_session_hub(session), "topic=example.render", on_render, r,
                                NULL, NULL, err);
}

static void unreg(ftrack_plugin_context *ctx, void *state)
{
    (void)ctx;
    free(state);
}

FTRACK_PLUGIN("example_render", "1.0.0", "Scale-out example: a CPU-heavy handler", params, reg,
              unreg)
