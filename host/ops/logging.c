/* SPDX-License-Identifier: Apache-2.0 */
/* Text and JSON-lines log sinks (logging.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include "common/internal.h"
#include "ops/logging.h"
#include "ops/metrics.h"

#define SECRETS_MAX 16
#define LINE_MAX_BYTES 8192
#define REDACTED "[redacted]"

typedef struct sink_state {
    fth_log_format format;
    FILE *out;
} sink_state;

static sink_state state;
/* Secrets and recent entries have their own lock: the sink runs under the SDK's log lock,
 * the status page reads from the main thread. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[SECRETS_MAX];
static size_t secret_count;
static fth_log_entry recent[FTH_LOG_RECENT_MAX];
static size_t recent_next, recent_count;

bool fth_log_format_parse(const char *text, fth_log_format *out)
{
    if (text && strcmp(text, "text") == 0)
        *out = FTH_LOG_TEXT;
    else if (text && strcmp(text, "json") == 0)
        *out = FTH_LOG_JSON;
    else
        return false;
    return true;
}

/* Copy src into dst (size bytes) with every secret replaced. Caller holds `lock`. */
static void redact_into(const char *src, char *dst, size_t size)
{
    size_t o = 0;
    if (!src) {
        dst[0] = '\0';
        return;
    }
    while (*src && o + 1 < size) {
        size_t hit = 0;
        for (size_t i = 0; i < secret_count && !hit; i++) {
            size_t n = strlen(secrets[i]);
            if (strncmp(src, secrets[i], n) == 0)
                hit = n;
        }
        if (hit) {
            size_t w = strlen(REDACTED);
            if (o + w >= size)
                break;
            memcpy(dst + o, REDACTED, w);
            o += w;
            src += hit;
        } else {
            dst[o++] = *src++;
        }
    }
    dst[o] = '\0';
}

/* A component is a plugin instance when the metrics registry knows it by that name. */
static bool is_instance(const char *component)
{
    return component && fth_metrics_find(component) != NULL;
}

/* Copy `src` into dst (size bytes): line breaks become spaces (one record, one line) and other
 * control characters "\xHH", so a child's log line or a topic from the wire cannot split a
 * record, rewrite a terminal or fake another line. */
static void copy_printable(const char *src, char *dst, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && o + 1 < size; p++) {
        if (*p == '\n' || *p == '\r') {
            dst[o++] = ' ';
        } else if (*p == '\t' || (*p >= 0x20 && *p != 0x7f)) {
            dst[o++] = (char)*p;
        } else {
            if (o + 5 > size)
                break;
            snprintf(dst + o, 5, "\\x%02x", *p);
            o += 4;
        }
    }
    dst[o] = '\0';
}

static void format_text(const ftrack_log_record *r, const char *when, char *buf, size_t size)
{
    char ids[384] = "";
    if (r->event_id || r->topic)
        snprintf(ids, sizeof(ids), " [event %s topic %s]", r->event_id ? r->event_id : "-",
                 r->topic ? r->topic : "-");
    char *raw = malloc(size);
    if (!raw) {
        snprintf(buf, size, "%s error ftrack: out of memory formatting a log line", when);
        return;
    }
    snprintf(raw, size, "%s %s %s:%s %s", when, fti_log_level_name(r->level),
             r->component ? r->component : "ftrack", ids, r->message);
    copy_printable(raw, buf, size);
    free(raw);
}

void fth_logging_format(const ftrack_log_record *r, fth_log_format format, double now, char *buf,
                        size_t size)
{
    if (format == FTH_LOG_JSON) {
        fti_log_json(r, now, is_instance(r->component), buf, size);
        return;
    }
    char when[FTRACK_TIME_TEXT_MAX];
    ftrack_time_iso8601(now, 3, when, sizeof(when));
    format_text(r, when, buf, size);
}

static void remember(const ftrack_log_record *r, double now)
{
    fth_log_entry *e = &recent[recent_next];
    memset(e, 0, sizeof(*e));
    e->time = now;
    e->level = r->level;
    fti_strlcpy(e->component, r->component ? r->component : "ftrack", sizeof(e->component));
    fti_strlcpy(e->event_id, r->event_id ? r->event_id : "", sizeof(e->event_id));
    fti_strlcpy(e->topic, r->topic ? r->topic : "", sizeof(e->topic));
    fti_strlcpy(e->message, r->message, sizeof(e->message));
    recent_next = (recent_next + 1) % FTH_LOG_RECENT_MAX;
    if (recent_count < FTH_LOG_RECENT_MAX)
        recent_count++;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sink(const ftrack_log_record *record, void *user_data)
{
    sink_state *s = user_data;
    static __thread char message[2048], component[128], event_id[128], topic[256],
        line[LINE_MAX_BYTES];
    pthread_mutex_lock(&lock);
    redact_into(record->message, message, sizeof(message));
    redact_into(record->component, component, sizeof(component));
    redact_into(record->event_id, event_id, sizeof(event_id));
    redact_into(record->topic, topic, sizeof(topic));
    ftrack_log_record r = {record->level, record->component ? component : NULL,
                           record->event_id ? event_id : NULL, record->topic ? topic : NULL,
                           message};
    double now = wall_now();
    if (r.level >= FTRACK_LOG_WARNING)
        remember(&r, now);
    pthread_mutex_unlock(&lock);
    fth_logging_format(&r, s->format, now, line, sizeof(line));
    fprintf(s->out, "%s\n", line);
    fflush(s->out);
}

void fth_logging_install(fth_log_format format, FILE *out)
{
    state.format = format;
    state.out = out ? out : stderr;
    ftrack_log_set_sink(sink, &state);
}

bool fth_logging_is_json(void)
{
    return state.out && state.format == FTH_LOG_JSON;
}

void fth_logging_say(ftrack_log_level level, const char *component, const char *prefix,
                     const char *fmt, ...)
{
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (!fth_logging_is_json()) {
        FILE *out = state.out ? state.out : stderr;
        fprintf(out, "%s%s\n", prefix ? prefix : "", message);
        fflush(out);
        return;
    }
    ftrack_log_record r = {level, component, NULL, NULL, message};
    sink(&r, &state);
}

void fth_logging_uninstall(void)
{
    ftrack_log_set_sink(NULL, NULL);
    state.out = NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < secret_count; i++) {
        explicit_bzero(secrets[i], strlen(secrets[i]));
        free(secrets[i]);
    }
    secret_count = 0;
    recent_count = recent_next = 0;
    pthread_mutex_unlock(&lock);
}

void fth_logging_add_secret(const char *value)
{
    if (!value || strlen(value) < 4)
        return;
    pthread_mutex_lock(&lock);
    bool known = false;
    for (size_t i = 0; i < secret_count && !known; i++)
        known = strcmp(secrets[i], value) == 0;
    if (!known && secret_count < SECRETS_MAX) {
        secrets[secret_count] = fti_strdup(value);
        if (secrets[secret_count])
            secret_count++;
    }
    pthread_mutex_unlock(&lock);
}

size_t fth_logging_recent(fth_log_entry *out, size_t max)
{
    pthread_mutex_lock(&lock);
    size_t n = 0;
    for (; n < recent_count && n < max; n++) {
        size_t idx = (recent_next + FTH_LOG_RECENT_MAX - 1 - n) % FTH_LOG_RECENT_MAX;
        out[n] = recent[idx];
    }
    pthread_mutex_unlock(&lock);
    return n;
}

void fth_logging_trace_event(const char *instance, const char *text, size_t len, double seconds)
{
    if (ftrack_log_get_level() > FTRACK_LOG_DEBUG || !text)
        return;
    json_tokener *tok = json_tokener_new();
    json_object *doc = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    json_tokener_free(tok);
    json_object *id = NULL, *topic = NULL;
    json_object_object_get_ex(doc, "id", &id);
    json_object_object_get_ex(doc, "topic", &topic);
    ftrack_log_event(FTRACK_LOG_DEBUG, instance, id ? json_object_get_string(id) : NULL,
                     topic ? json_object_get_string(topic) : NULL, "handled in %.3f ms",
                     seconds * 1000);
    json_object_put(doc);
}
