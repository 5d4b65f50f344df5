/* SPDX-License-Identifier: Apache-2.0 */
/* Private helpers. This file is also linked into ftrack-host on its own (with the socket.io
 * codec) because the embedded hub needs them while libftrack.so keeps them hidden. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/internal.h"

ftrack_status fti_verror(ftrack_error *err, ftrack_status code, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    ftrack_error_clear(err);
    err->code = code;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    return code;
}

ftrack_status ftrack_error_set(ftrack_error *err, ftrack_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fti_verror(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void fti_error_prefix(ftrack_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[FTRACK_ERROR_MESSAGE_MAX];
    char old[FTRACK_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    fti_strlcpy(old, err->message, sizeof(old));
    size_t n = strlen(prefix);
    if (n + 2 >= sizeof(err->message))
        n = sizeof(err->message) - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    fti_strlcpy(err->message + n + 2, old, sizeof(err->message) - n - 2);
}

char *fti_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *fti_strndup(const char *s, size_t n)
{
    return s ? strndup(s, n) : NULL;
}

char *fti_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : out;
}

double fti_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double fti_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fti_strlcpy(char *dst, const char *src, size_t size)
{
    if (size == 0)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The folder holds keys, the journal and a control socket: one made earlier (or by someone
 * else) must be this user's and writable by nobody else; readable by others is warned about. */
static ftrack_status private_dir_check(const char *path, ftrack_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return fti_error(err, FTRACK_ERR_IO, "%s is not a folder", path);
    if (st.st_uid != geteuid())
        return fti_error(err, FTRACK_ERR_CONFIG, "folder %s belongs to another user (uid %u)", path,
                         (unsigned)st.st_uid);
    if (st.st_mode & 022)
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "folder %s is writable by other users (mode %04o); run `chmod 700 %s`",
                         path, (unsigned)(st.st_mode & 07777), path);
    if (st.st_mode & 044)
        ftrack_log(FTRACK_LOG_WARNING, "ftrack",
                   "folder %s is readable by other users (mode %04o); `chmod 700 %s` keeps its "
                   "journal and files private",
                   path, (unsigned)(st.st_mode & 07777), path);
    return FTRACK_OK;
}

ftrack_status fti_make_dirs(const char *path, ftrack_error *err)
{
    char *p = fti_strdup(path);
    if (!p)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    for (char *s = p + 1;; s++) {
        bool last = *s == '\0';
        if (*s != '/' && !last)
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            ftrack_status st = fti_error(err, FTRACK_ERR_IO, "cannot create folder %s: %s", p,
                                         strerror(e));
            free(p);
            return st;
        }
        if (last)
            break;
        *s = '/';
    }
    free(p);
    return private_dir_check(path, err);
}

char *fti_json_join(struct json_object *array, const char *sep)
{
    size_t n = json_object_array_length(array), sep_len = strlen(sep), total = 1;
    for (size_t i = 0; i < n; i++)
        total += (size_t)json_object_get_string_len(json_object_array_get_idx(array, i)) + sep_len;
    char *out = malloc(total);
    if (!out)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(array, i);
        size_t len = (size_t)json_object_get_string_len(item);
        if (i) {
            memcpy(out + at, sep, sep_len);
            at += sep_len;
        }
        if (len)
            memcpy(out + at, json_object_get_string(item), len);
        at += len;
    }
    out[at] = '\0';
    return out;
}

const char *fti_json_string(json_object *obj, const char *key)
{
    json_object *v = json_object_object_get(obj, key);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

char **fti_env_without_secrets(char *const *env)
{
    static const char *const secret[] = {"FTRACK_API_KEY=", "FTRACK_APIKEY="};
    size_t n = 0;
    while (env && env[n])
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool drop = false;
        for (size_t k = 0; k < sizeof(secret) / sizeof(secret[0]); k++)
            drop = drop || strncmp(env[i], secret[k], strlen(secret[k])) == 0;
        if (!drop)
            out[kept++] = env[i];
    }
    return out;
}
