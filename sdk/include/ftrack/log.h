/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_LOG_H
#define FTRACK_LOG_H
/*
 * Logging. The SDK and the host log through one process-wide sink. It is global state on
 * purpose: log output belongs to the process (stderr, the journal), not to a session, and
 * plugins loaded into the host must land in the same stream. Set the sink once at start-up,
 * before other threads log; the default writes plain lines to stderr at INFO and above.
 *
 * Never pass secrets to these functions.
 */
#include <stdarg.h>
#include <ftrack/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ftrack_log_level {
    FTRACK_LOG_DEBUG = 10,
    FTRACK_LOG_INFO = 20,
    FTRACK_LOG_WARNING = 30,
    FTRACK_LOG_ERROR = 40
} ftrack_log_level;

/* One record. All strings are borrowed for the duration of the sink call; any may be NULL
 * except message. */
typedef struct ftrack_log_record {
    ftrack_log_level level;
    const char *component; /* "hub", "session", a plugin's name, ... */
    const char *event_id;
    const char *topic;
    const char *message;
} ftrack_log_record;

typedef void (*ftrack_log_sink)(const ftrack_log_record *record, void *user_data);

/* Replace the sink (NULL restores the default stderr sink). */
FTRACK_API void ftrack_log_set_sink(ftrack_log_sink sink, void *user_data);
/* Records below this level are discarded before formatting. */
FTRACK_API void ftrack_log_set_level(ftrack_log_level level);
FTRACK_API ftrack_log_level ftrack_log_get_level(void);
/* Parse "debug", "info", "warning", "error"; returns false for anything else. */
FTRACK_API bool ftrack_log_level_parse(const char *text, ftrack_log_level *out);

FTRACK_API void ftrack_log(ftrack_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As ftrack_log, tagging the record with an event's id and topic. */
FTRACK_API void ftrack_log_event(ftrack_log_level level, const char *component,
                                 const char *event_id, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
FTRACK_API void ftrack_log_record_emit(const ftrack_log_record *record);

#ifdef __cplusplus
}
#endif
#endif
