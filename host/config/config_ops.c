/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration keys of operations (docs/operations.md) and secrets read from files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/internal.h"
#include "config/config.h"
#include "config/listen.h"
#include "ops/logging.h"

#define SECRET_FILE_MAX (64 * 1024)

static ftrack_status want_string(json_object *value, const char *origin, const char *key,
                                 const char *what, ftrack_error *err)
{
    if (json_object_is_type(value, json_type_string) && json_object_get_string_len(value) > 0)
        return FTRACK_OK;
    return fti_error(err, FTRACK_ERR_CONFIG, "%s: \"%s\" must be %s", origin, key, what);
}

/* The keys that hold one non-empty string: a path or a URL. */
static char **string_key(fth_config *c, const char *key, const char **what)
{
    *what = "the path of a file";
    if (strcmp(key, "api_key_file") == 0)
        return &c->api_key_file;
    if (strcmp(key, "ca_file") == 0)
        return &c->ca_file;
    if (strcmp(key, "tls_cert") == 0)
        return &c->tls_cert;
    if (strcmp(key, "tls_key") == 0)
        return &c->tls_key;
    *what = "a URL (https://host[:port])";
    if (strcmp(key, "public_url") == 0)
        return &c->public_url;
    return NULL;
}

ftrack_status fth_config_parse_ops_key(const char *key, json_object *value, const char *origin,
                                       fth_config *c, ftrack_error *err)
{
    if (strcmp(key, "log_format") == 0) {
        fth_log_format f;
        if (!json_object_is_type(value, json_type_string) ||
            !fth_log_format_parse(json_object_get_string(value), &f))
            return fti_error(err, FTRACK_ERR_CONFIG, "%s: \"log_format\" must be text or json",
                             origin);
        c->log_format = (int)f;
        c->has_log_format = true;
        return FTRACK_OK;
    }
    if (strcmp(key, "health_listen") == 0) {
        ftrack_status st = want_string(value, origin, key, "HOST:PORT (e.g. 127.0.0.1:9464)", err);
        char *host = NULL;
        int port = 0;
        if (st == FTRACK_OK && !fth_parse_listen(json_object_get_string(value), &host, &port))
            st = fti_error(err, FTRACK_ERR_CONFIG,
                           "%s: \"health_listen\" must be HOST:PORT (e.g. 127.0.0.1:9464)", origin);
        free(host);
        if (st != FTRACK_OK)
            return st;
        free(c->health_listen);
        c->health_listen = fti_strdup(json_object_get_string(value));
        return c->health_listen ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    const char *what = NULL;
    char **field = string_key(c, key, &what);
    if (!field)
        return FTRACK_ERR_NOT_FOUND;
    ftrack_status st = want_string(value, origin, key, what, err);
    if (st != FTRACK_OK)
        return st;
    free(*field);
    *field = fti_strdup(json_object_get_string(value));
    return *field ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
}

char *fth_read_secret_file(const char *path, ftrack_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fti_error(err, FTRACK_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
        ftrack_log(FTRACK_LOG_WARNING, "host",
                   "secret file %s is readable by every user (mode %04o); chmod o-r it", path,
                   (unsigned)(st.st_mode & 07777));
    char *buf = malloc(SECRET_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, SECRET_FILE_MAX + 1, f) : 0;
    bool failed = !buf || ferror(f) || n > SECRET_FILE_MAX;
    fclose(f);
    if (failed) {
        free(buf);
        fti_error(err, FTRACK_ERR_IO, "cannot read %s: %s", path,
                  buf ? "read error or larger than 64 KiB" : "out of memory");
        return NULL;
    }
    buf[n] = '\0';
    if (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (n && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (strlen(buf) != n) {
        explicit_bzero(buf, n);
        free(buf);
        fti_error(err, FTRACK_ERR_IO, "cannot use %s: it holds a NUL byte", path);
        return NULL;
    }
    return buf;
}

/* {"file": "/path"} and nothing else. */
static const char *file_reference(json_object *value)
{
    json_object *path = NULL;
    if (!json_object_is_type(value, json_type_object) || json_object_object_length(value) != 1 ||
        !json_object_object_get_ex(value, "file", &path) ||
        !json_object_is_type(path, json_type_string))
        return NULL;
    return json_object_get_string(path);
}

ftrack_status fth_config_read_secret_files(json_object *arguments, const char *origin,
                                           const char *where, ftrack_error *err)
{
    json_object_object_foreach(arguments, key, value)
    {
        const char *path = file_reference(value);
        if (!path)
            continue;
        ftrack_error read_err;
        ftrack_error_clear(&read_err);
        char *secret = fth_read_secret_file(path, &read_err);
        if (!secret)
            return fti_error(err, FTRACK_ERR_CONFIG, "%s: %s.%s: %s", origin, where, key,
                             read_err.message);
        fth_logging_add_secret(secret);
        json_object_object_add(arguments, key, json_object_new_string(secret));
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
    return FTRACK_OK;
}
