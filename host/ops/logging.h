/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_LOGGING_H
#define FTH_LOGGING_H
/*
 * The host's log sinks (installed with ftrack_log_set_sink): one line per record, plain text
 * or JSON lines, on stderr (which journald captures under systemd). Every line carries the
 * level, the component (a plugin instance's name for its own lines, then also as "plugin"),
 * and the event id and topic when the record has them.
 *
 * Secrets. Values registered with fth_logging_add_secret() are replaced by "[redacted]" in
 * every line, as a last guard: the code does not log secrets in the first place.
 *
 * The sink also keeps the last FTH_LOG_RECENT_MAX warnings and errors for the status page.
 *
 * Threads. The SDK calls the sink under its log lock; fth_logging_recent() may be called from
 * any thread. Install (fth_logging_install) on the main thread before other threads log.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <ftrack/log.h>

typedef enum fth_log_format { FTH_LOG_TEXT = 0, FTH_LOG_JSON = 1 } fth_log_format;

#define FTH_LOG_RECENT_MAX 32

/* "text" or "json"; false for anything else. */
bool fth_log_format_parse(const char *text, fth_log_format *out);
/* Route every record to `out` (NULL: stderr) in `format`. */
void fth_logging_install(fth_log_format format, FILE *out);
/* A line for whoever reads stderr rather than for the log (the embedded hub's join line,
 * command-line mistakes): the text format (and no sink installed) writes `prefix` and the
 * message as they are, with no time or level, so these lines read as they always did; the
 * JSON format writes one record of `level` and `component` instead, so that every line on
 * stderr parses as JSON. Shown at every log level. */
void fth_logging_say(ftrack_log_level level, const char *component, const char *prefix,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* True while a JSON sink is installed. */
bool fth_logging_is_json(void);
/* Back to the SDK's default sink; forgets secrets and recent records. */
void fth_logging_uninstall(void);
/* Never print this value (copied; values shorter than 4 characters are ignored, they would
 * redact ordinary words). */
void fth_logging_add_secret(const char *value);

/* One remembered warning or error (copied strings, owned by the caller's array). */
typedef struct fth_log_entry {
    double time; /* Unix seconds */
    ftrack_log_level level;
    char component[64];
    char event_id[64];
    char topic[128];
    char message[512];
} fth_log_entry;

/* Copy up to `max` recent warnings and errors, newest first; returns how many. */
size_t fth_logging_recent(fth_log_entry *out, size_t max);

/* At debug level, log that `instance` handled the event `text` (its id and topic parsed
 * from the text) in `seconds`; does nothing, and parses nothing, above debug. */
void fth_logging_trace_event(const char *instance, const char *text, size_t len, double seconds);

/* Format one record as the sink does, into buf (always terminated, no newline). Exposed for
 * tests. */
void fth_logging_format(const ftrack_log_record *record, fth_log_format format, double now,
                        char *buf, size_t size);
#endif
