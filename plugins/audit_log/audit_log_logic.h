/* SPDX-License-Identifier: Apache-2.0 */
#ifndef AUDIT_LOG_LOGIC_H
#define AUDIT_LOG_LOGIC_H
/*
 * The audit log's logic, apart from the plugin glue (plugin.c) so unit tests can drive it:
 * configuration, the line format, and appending with size-based rotation.
 *
 * One instance owns one file and runs on its own worker thread; nothing here locks. Two
 * instances (or two processes) must not share a path: rotation renames files under the other
 * writer's feet.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>
#include <ftrack/common.h>

#define AUDIT_KEEP_LIMIT 1000

typedef struct audit_config {
    char *path;          /* owned */
    char *expression;    /* owned */
    long long max_bytes; /* rotate before a line would make the file larger; 0: never */
    int keep;            /* rotated files kept: path.1 (newest) .. path.<keep>; 0: none */
    bool fsync_each;     /* fsync after every line */
} audit_config;

/* Read the plugin's arguments (borrowed); missing optional values get the documented
 * defaults. A missing path or an out-of-range number is FTRACK_ERR_CONFIG naming it. */
ftrack_status audit_config_from_args(json_object *args, audit_config *cfg, ftrack_error *err);
void audit_config_clear(audit_config *cfg);

/* "<path>.<n>" into out; false when it does not fit. */
bool audit_rotated_name(const char *path, int n, char *out, size_t size);

/* True when a file of `size` bytes must be rotated before appending `line_len` bytes. An
 * empty file never is: a line longer than max_bytes is written whole rather than split. */
bool audit_should_rotate(long long size, size_t line_len, long long max_bytes);

/* Wall-clock time as RFC 3339 UTC with milliseconds, e.g. "2024-05-01T12:00:00.123Z". */
void audit_format_time(double epoch_seconds, char out[32]);

/* One log line: {"received_at":"<time>","event":<event_json as given>}\n. The event's bytes
 * are copied verbatim, so the line holds exactly the wire JSON. Caller frees. */
char *audit_format_line(const char *event_json, size_t len, double epoch_seconds, size_t *out_len);

typedef struct audit_log {
    const audit_config *cfg; /* borrowed */
    int fd;
    long long size;
    dev_t dev;
    ino_t ino;
} audit_log;

/* Open (creating, mode 0640) cfg->path for appending. */
ftrack_status audit_log_open(audit_log *log, const audit_config *cfg, ftrack_error *err);
/* Append one line whole, rotating first when needed. When the file was moved or removed
 * behind our back (logrotate), it is reopened first. */
ftrack_status audit_log_append(audit_log *log, const char *line, size_t len, ftrack_error *err);
/* path.<keep-1> -> path.<keep>, ..., path -> path.1, then a fresh path. */
ftrack_status audit_log_rotate(audit_log *log, ftrack_error *err);
void audit_log_close(audit_log *log);

#endif
