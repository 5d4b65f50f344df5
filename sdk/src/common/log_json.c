/* SPDX-License-Identifier: Apache-2.0 */
/* Log records as text (internal.h): the level names, and one record as one line of JSON, the
 * format of `--log-format json` shared by the host's log sink (host/ops/logging.c) and the
 * hub's (host/hub/command.c). Stateless, so the host and the hub can link their own copy
 * beside libftrack.so. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/internal.h"

const char *fti_log_level_name(ftrack_log_level level)
{
    switch (level) {
    case FTRACK_LOG_DEBUG:
        return "debug";
    case FTRACK_LOG_INFO:
        return "info";
    case FTRACK_LOG_WARNING:
        return "warning";
    case FTRACK_LOG_ERROR:
        return "error";
    }
    return "info";
}

void fti_log_json(const ftrack_log_record *r, double now, bool plugin, char *buf, size_t size)
{
    json_object *o = json_object_new_object();
    if (!o) {
        fti_strlcpy(buf, "{\"level\":\"error\",\"message\":\"out of memory\"}", size);
        return;
    }
    char when[FTRACK_TIME_TEXT_MAX];
    ftrack_time_iso8601(now, 3, when, sizeof(when));
    json_object_object_add(o, "time", json_object_new_string(when));
    json_object_object_add(o, "level", json_object_new_string(fti_log_level_name(r->level)));
    json_object_object_add(o, "component",
                           json_object_new_string(r->component ? r->component : "ftrack"));
    if (plugin && r->component)
        json_object_object_add(o, "plugin", json_object_new_string(r->component));
    if (r->event_id)
        json_object_object_add(o, "event_id", json_object_new_string(r->event_id));
    if (r->topic)
        json_object_object_add(o, "topic", json_object_new_string(r->topic));
    json_object_object_add(o, "message", json_object_new_string(r->message));
    fti_strlcpy(
        buf,
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
        size);
    json_object_put(o);
}

bool fti_args_want_json_logs(int argc, char **argv, const char *variable)
{
    const char *format = variable ? getenv(variable) : NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strncmp(argv[i], "--log-format=", 13) == 0)
            format = argv[i] + 13;
        else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc)
            format = argv[++i];
    }
    return format && strcmp(format, "json") == 0;
}
