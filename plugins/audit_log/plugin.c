/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log: the plugin glue around audit_log_logic.c (see README.md). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ftrack/ftrack.h>

#include "audit_log_logic.h"

static const ftrack_plugin_param audit_params[] = {
    {"audit_log_path", FTRACK_PARAM_STRING, true, NULL,
     "file the JSON lines are appended to (its folder must exist)"},
    {"audit_log_expression", FTRACK_PARAM_STRING, false, "\"topic=*\"",
     "subscription expression selecting the events to record (default: every event)"},
    {"audit_log_max_bytes", FTRACK_PARAM_INT, false, "104857600",
     "rotate before the file would grow past this size; 0 never rotates"},
    {"audit_log_keep", FTRACK_PARAM_INT, false, "5",
     "rotated files kept (path.1 newest ... path.N); 0 keeps none"},
    {"audit_log_fsync", FTRACK_PARAM_BOOL, false, "false",
     "fsync after every line (survives power loss; slower)"},
};

typedef struct audit_state {
    ftrack_plugin_context *ctx;
    audit_config cfg;
    audit_log log;
    unsigned long written;
    unsigned long failed;
} audit_state;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_object *on_event(ftrack_event *event, const ftrack_delivery *delivery, void *user_data)
{
    audit_state *st = user_data;
    ftrack_error err;
    size_t event_len = 0, line_len = 0;
    (void)delivery;
    char *text = ftrack_event_serialize(event, &event_len);
    char *line = text ? audit_format_line(text, event_len, wall_now(), &line_len) : NULL;
    ftrack_status rc = FTRACK_ERR_NO_MEMORY;
    ftrack_error_clear(&err);
    if (line)
        rc = audit_log_append(&st->log, line, line_len, &err);
    if (rc == FTRACK_OK) {
        st->written++;
    } else {
        st->failed++;
        ftrack_plugin_log(st->ctx, FTRACK_LOG_ERROR, "event %s (topic %s) not recorded: %s",
                          ftrack_event_id(event), ftrack_event_topic(event),
                          line ? err.message : "out of memory");
    }
    free(line);
    ftrack_free(text);
    /* Recording is a side effect, never an answer. */
    return NULL;
}

static void audit_state_free(audit_state *st)
{
    if (!st)
        return;
    audit_log_close(&st->log);
    audit_config_clear(&st->cfg);
    free(st);
}

static ftrack_status audit_register(ftrack_plugin_context *ctx, ftrack_session *session,
                                    json_object *arguments, void **state, ftrack_error *err)
{
    audit_state *st = calloc(1, sizeof(*st));
    if (!st) {
        ftrack_error_clear(err);
        if (err) {
            err->code = FTRACK_ERR_NO_MEMORY;
            snprintf(err->message, sizeof(err->message), "out of memory");
        }
        return FTRACK_ERR_NO_MEMORY;
    }
    st->ctx = ctx;
    st->log.fd = -1;
    ftrack_status rc = audit_config_from_args(arguments, &st->cfg, err);
    /* Open now so a wrong path refuses the plugin at start-up, not at the first event. */
    if (rc == FTRACK_OK)
        rc = audit_log_open(&st->log, &st->cfg, err);
    if (rc == FTRACK_OK)
        rc = ftrack_hub_subscribe(ftrack_session_hub(session), st->cfg.expression, on_event, st,
                                  NULL, NULL, err);
    if (rc != FTRACK_OK) {
        audit_state_free(st);
        return rc;
    }
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "recording events matching '%s' to %s",
                      st->cfg.expression, st->cfg.path);
    *state = st;
    return FTRACK_OK;
}

static void audit_unregister(ftrack_plugin_context *ctx, void *state)
{
    audit_state *st = state;
    if (!st)
        return;
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "stopping: %lu event(s) recorded, %lu failed",
                      st->written, st->failed);
    audit_state_free(st);
}

FTRACK_PLUGIN("audit_log", "1.0.0", "Appends matching events as JSON lines to a rotating file",
              audit_params, audit_register, audit_unregister)
