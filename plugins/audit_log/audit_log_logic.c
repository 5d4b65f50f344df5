/* SPDX-License-Identifier: Apache-2.0 */
#include "audit_log_logic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_DEFAULT_EXPRESSION "topic=*"
#define AUDIT_DEFAULT_MAX_BYTES (100LL * 1024 * 1024)
#define AUDIT_DEFAULT_KEEP 5
#define AUDIT_PREFIX "{\"received_at\":\""
#define AUDIT_MIDDLE "\",\"event\":"


/* ---- configuration --------------------------------------------------------------------- */

static bool arg_get(json_object *args, const char *name, json_object **v)
{
    return args && json_object_object_get_ex(args, name, v) &&
           !json_object_is_type(*v, json_type_null);
}

static ftrack_status arg_string(json_object *args, const char *name, const char *fallback,
                                char **out, ftrack_error *err)
{
    json_object *v = NULL;
    const char *s = fallback;
    if (arg_get(args, name, &v)) {
        if (!json_object_is_type(v, json_type_string))
            return ftrack_error_set(err, FTRACK_ERR_CONFIG, "parameter %s must be a string", name);
        s = json_object_get_string(v);
    }
    if (!s || !*s)
        return ftrack_error_set(err, FTRACK_ERR_CONFIG, "parameter %s is required and not empty", name);
    *out = strdup(s);
    return *out ? FTRACK_OK : ftrack_error_set(err, FTRACK_ERR_NO_MEMORY, "out of memory");
}

static ftrack_status arg_int(json_object *args, const char *name, long long fallback, long long max,
                             long long *out, ftrack_error *err)
{
    json_object *v = NULL;
    *out = fallback;
    if (!arg_get(args, name, &v))
        return FTRACK_OK;
    if (!json_object_is_type(v, json_type_int))
        return ftrack_error_set(err, FTRACK_ERR_CONFIG, "parameter %s must be an integer", name);
    long long n = json_object_get_int64(v);
    if (n < 0 || n > max)
        return ftrack_error_set(err, FTRACK_ERR_CONFIG, "parameter %s must be between 0 and %lld", name,
                           max);
    *out = n;
    return FTRACK_OK;
}

ftrack_status audit_config_from_args(json_object *args, audit_config *cfg, ftrack_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    long long keep = 0;
    json_object *v = NULL;
    ftrack_status st = arg_string(args, "audit_log_path", NULL, &cfg->path, err);
    if (st == FTRACK_OK)
        st = arg_string(args, "audit_log_expression", AUDIT_DEFAULT_EXPRESSION, &cfg->expression,
                        err);
    if (st == FTRACK_OK)
        st = arg_int(args, "audit_log_max_bytes", AUDIT_DEFAULT_MAX_BYTES, (long long)1 << 50,
                     &cfg->max_bytes, err);
    if (st == FTRACK_OK)
        st = arg_int(args, "audit_log_keep", AUDIT_DEFAULT_KEEP, AUDIT_KEEP_LIMIT, &keep, err);
    if (st == FTRACK_OK && arg_get(args, "audit_log_fsync", &v)) {
        if (json_object_is_type(v, json_type_boolean))
            cfg->fsync_each = json_object_get_boolean(v);
        else
            st = ftrack_error_set(err, FTRACK_ERR_CONFIG, "parameter audit_log_fsync must be a boolean");
    }
    if (st != FTRACK_OK) {
        audit_config_clear(cfg);
        return st;
    }
    cfg->keep = (int)keep;
    return FTRACK_OK;
}

void audit_config_clear(audit_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->expression);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- format ---------------------------------------------------------------------------- */

bool audit_rotated_name(const char *path, int n, char *out, size_t size)
{
    int w = snprintf(out, size, "%s.%d", path, n);
    return w > 0 && (size_t)w < size;
}

bool audit_should_rotate(long long size, size_t line_len, long long max_bytes)
{
    if (max_bytes <= 0 || size <= 0)
        return false;
    return size + (long long)line_len > max_bytes;
}

void audit_format_time(double epoch_seconds, char out[32])
{
    ftrack_time_iso8601(epoch_seconds, 3, out, 32);
}

char *audit_format_line(const char *event_json, size_t len, double epoch_seconds, size_t *out_len)
{
    char when[32];
    audit_format_time(epoch_seconds, when);
    /* Built by hand rather than through json-c so the event's bytes are kept exactly. */
    size_t total = strlen(AUDIT_PREFIX) + strlen(when) + strlen(AUDIT_MIDDLE) + len + 2;
    char *line = malloc(total + 1);
    if (!line)
        return NULL;
    size_t n = (size_t)snprintf(line, total + 1, "%s%s%s", AUDIT_PREFIX, when, AUDIT_MIDDLE);
    memcpy(line + n, event_json, len);
    n += len;
    line[n++] = '}';
    line[n++] = '\n';
    line[n] = '\0';
    if (out_len)
        *out_len = n;
    return line;
}

/* ---- the file -------------------------------------------------------------------------- */

ftrack_status audit_log_open(audit_log *log, const audit_config *cfg, ftrack_error *err)
{
    struct stat sb;
    log->cfg = cfg;
    log->fd = open(cfg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log->fd < 0)
        return ftrack_error_set(err, FTRACK_ERR_IO, "cannot open audit log %s: %s", cfg->path,
                           strerror(errno));
    if (fstat(log->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int e = errno;
        close(log->fd);
        log->fd = -1;
        return ftrack_error_set(err, FTRACK_ERR_IO, "audit log %s is not a regular file%s%s", cfg->path,
                           e ? ": " : "", e ? strerror(e) : "");
    }
    log->size = (long long)sb.st_size;
    log->dev = sb.st_dev;
    log->ino = sb.st_ino;
    return FTRACK_OK;
}

void audit_log_close(audit_log *log)
{
    if (log->fd >= 0) {
        fsync(log->fd);
        close(log->fd);
    }
    log->fd = -1;
}

ftrack_status audit_log_rotate(audit_log *log, ftrack_error *err)
{
    const audit_config *cfg = log->cfg;
    size_t size = strlen(cfg->path) + 16;
    char *from = malloc(size);
    char *to = malloc(size);
    ftrack_status st = FTRACK_OK;
    if (!from || !to) {
        free(from);
        free(to);
        return ftrack_error_set(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    /* What is written so far reaches the disk before it changes name. */
    fsync(log->fd);
    close(log->fd);
    log->fd = -1;
    if (cfg->keep == 0) {
        if (unlink(cfg->path) != 0 && errno != ENOENT)
            st =
                ftrack_error_set(err, FTRACK_ERR_IO, "cannot remove %s: %s", cfg->path, strerror(errno));
    } else {
        /* Oldest first, so each rename lands on a name already moved away. */
        for (int i = cfg->keep - 1; i >= 1 && st == FTRACK_OK; i--) {
            audit_rotated_name(cfg->path, i, from, size);
            audit_rotated_name(cfg->path, i + 1, to, size);
            if (rename(from, to) != 0 && errno != ENOENT)
                st = ftrack_error_set(err, FTRACK_ERR_IO, "cannot rename %s: %s", from, strerror(errno));
        }
        audit_rotated_name(cfg->path, 1, to, size);
        if (st == FTRACK_OK && rename(cfg->path, to) != 0 && errno != ENOENT)
            st =
                ftrack_error_set(err, FTRACK_ERR_IO, "cannot rename %s: %s", cfg->path, strerror(errno));
    }
    free(from);
    free(to);
    /* Reopen even after a failed rename, so logging goes on (into the old file). */
    ftrack_status open_st = audit_log_open(log, cfg, st == FTRACK_OK ? err : NULL);
    return st != FTRACK_OK ? st : open_st;
}

/* logrotate (or a person) may have moved the file: follow the path, not the descriptor. */
static ftrack_status reopen_if_moved(audit_log *log, ftrack_error *err)
{
    struct stat sb;
    if (log->fd >= 0 && stat(log->cfg->path, &sb) == 0 && sb.st_dev == log->dev &&
        sb.st_ino == log->ino)
        return FTRACK_OK;
    audit_log_close(log);
    return audit_log_open(log, log->cfg, err);
}

static ftrack_status write_all(audit_log *log, const char *line, size_t len, ftrack_error *err)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(log->fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ftrack_error_set(err, FTRACK_ERR_IO, "cannot write to %s: %s", log->cfg->path,
                               strerror(errno));
        done += (size_t)n;
        log->size += n;
    }
    if (log->cfg->fsync_each && fdatasync(log->fd) != 0)
        return ftrack_error_set(err, FTRACK_ERR_IO, "cannot sync %s: %s", log->cfg->path,
                           strerror(errno));
    return FTRACK_OK;
}

ftrack_status audit_log_append(audit_log *log, const char *line, size_t len, ftrack_error *err)
{
    ftrack_status st = reopen_if_moved(log, err);
    if (st != FTRACK_OK)
        return st;
    if (audit_should_rotate(log->size, len, log->cfg->max_bytes)) {
        st = audit_log_rotate(log, err);
        if (st != FTRACK_OK && log->fd < 0)
            return st;
        /* A failed rename still leaves a file to write into: keep the event, report later. */
    }
    ftrack_status wst = write_all(log, line, len, st == FTRACK_OK ? err : NULL);
    return st != FTRACK_OK ? st : wst;
}
