/* SPDX-License-Identifier: Apache-2.0 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <time.h>

#include "common/internal.h"

/* Process-wide sink: see ftrack/log.h for why this is global. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static ftrack_log_sink log_sink;
static void *log_sink_data;
static _Atomic int log_level = FTRACK_LOG_INFO;

static void default_sink(const ftrack_log_record *r, void *user_data)
{
    (void)user_data;
    char when[FTRACK_TIME_TEXT_MAX];
    ftrack_time_iso8601(fti_wall_now(), 3, when, sizeof(when));
    char ids[256] = "";
    if (r->event_id || r->topic)
        snprintf(ids, sizeof(ids), " [event %s topic %s]", r->event_id ? r->event_id : "-",
                 r->topic ? r->topic : "-");
    fprintf(stderr, "%s %s %s:%s %s\n", when, fti_log_level_name(r->level),
            r->component ? r->component : "ftrack", ids, r->message);
}

void ftrack_log_set_sink(ftrack_log_sink sink, void *user_data)
{
    pthread_mutex_lock(&log_lock);
    log_sink = sink;
    log_sink_data = user_data;
    pthread_mutex_unlock(&log_lock);
}

void ftrack_log_set_level(ftrack_log_level level)
{
    atomic_store(&log_level, (int)level);
}

ftrack_log_level ftrack_log_get_level(void)
{
    return (ftrack_log_level)atomic_load(&log_level);
}

bool ftrack_log_level_parse(const char *text, ftrack_log_level *out)
{
    static const struct { const char *name; ftrack_log_level level; } names[] = {
        {"debug", FTRACK_LOG_DEBUG}, {"info", FTRACK_LOG_INFO},
        {"warning", FTRACK_LOG_WARNING}, {"warn", FTRACK_LOG_WARNING},
        {"error", FTRACK_LOG_ERROR},
    };
    for (size_t i = 0; text && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *out = names[i].level;
            return true;
        }
    }
    return false;
}

void ftrack_log_record_emit(const ftrack_log_record *record)
{
    if ((int)record->level < atomic_load(&log_level))
        return;
    pthread_mutex_lock(&log_lock);
    ftrack_log_sink sink = log_sink ? log_sink : default_sink;
    sink(record, log_sink ? log_sink_data : NULL);
    pthread_mutex_unlock(&log_lock);
}

static void vlog(ftrack_log_level level, const char *component, const char *event_id,
                 const char *topic, const char *fmt, va_list ap)
{
    if ((int)level < atomic_load(&log_level))
        return;
    char message[2048];
    vsnprintf(message, sizeof(message), fmt, ap);
    ftrack_log_record r = {level, component, event_id, topic, message};
    ftrack_log_record_emit(&r);
}

void ftrack_log(ftrack_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, component, NULL, NULL, fmt, ap);
    va_end(ap);
}

void ftrack_log_event(ftrack_log_level level, const char *component, const char *event_id,
                      const char *topic, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, component, event_id, topic, fmt, ap);
    va_end(ap);
}
