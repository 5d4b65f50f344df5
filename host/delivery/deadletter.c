/* SPDX-License-Identifier: Apache-2.0 */
/* The dead-letter file (deadletter.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "delivery/deadletter.h"

struct fth_deadletter {
    char *path;
    int fd;
    pthread_mutex_t lock;
    atomic_uint_least64_t count;
    atomic_uint_least64_t failures;
};

ftrack_status fth_deadletter_open(const char *path, fth_deadletter **out, ftrack_error *err)
{
    *out = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return fti_error(err, FTRACK_ERR_IO, "cannot open the dead-letter file %s: %s", path,
                         strerror(errno));
    fth_deadletter *dl = calloc(1, sizeof(*dl));
    if (!dl || !(dl->path = fti_strdup(path))) {
        free(dl);
        close(fd);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    dl->fd = fd;
    pthread_mutex_init(&dl->lock, NULL);
    *out = dl;
    return FTRACK_OK;
}

void fth_deadletter_close(fth_deadletter *dl)
{
    if (!dl)
        return;
    close(dl->fd);
    pthread_mutex_destroy(&dl->lock);
    free(dl->path);
    free(dl);
}

const char *fth_deadletter_path(const fth_deadletter *dl)
{
    return dl ? dl->path : NULL;
}

static json_object *build_record(const char *instance, const char *reason, const char *error,
                                 unsigned attempts, const char *event_text)
{
    char stamp[FTRACK_TIME_TEXT_MAX];
    ftrack_time_iso8601((double)time(NULL), 0, stamp, sizeof(stamp));
    json_object *rec = json_object_new_object();
    json_object *event = json_tokener_parse(event_text);
    if (!rec)
        return NULL;
    json_object_object_add(rec, "time", json_object_new_string(stamp));
    json_object_object_add(rec, "instance", json_object_new_string(instance));
    json_object_object_add(rec, "reason", json_object_new_string(reason ? reason : "failed"));
    if (error)
        json_object_object_add(rec, "error", json_object_new_string(error));
    json_object_object_add(rec, "attempts", json_object_new_int64(attempts));
    /* An event that does not parse is kept as text: a dead letter must never be lost. */
    json_object_object_add(rec, "event", event ? event : json_object_new_string(event_text));
    return rec;
}

static bool write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

void fth_deadletter_append(fth_deadletter *dl, const char *instance, const char *reason,
                           const char *error, unsigned attempts, const char *event_text)
{
    if (!dl)
        return;
    json_object *rec = build_record(instance, reason, error, attempts, event_text);
    size_t len = 0;
    const char *text = rec ? json_object_to_json_string_length(
                                 rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                           : NULL;
    char *line = text ? malloc(len + 1) : NULL;
    bool ok = false;
    if (line) {
        memcpy(line, text, len);
        line[len] = '\n';
        /* One write per record under the lock: O_APPEND keeps records whole. */
        pthread_mutex_lock(&dl->lock);
        ok = write_all(dl->fd, line, len + 1);
        pthread_mutex_unlock(&dl->lock);
    }
    if (ok) {
        atomic_fetch_add(&dl->count, 1);
    } else {
        atomic_fetch_add(&dl->failures, 1);
        ftrack_log(FTRACK_LOG_ERROR, "reliability",
                   "cannot write a dead letter of plugin instance '%s' to %s: %s", instance,
                   dl->path, line ? strerror(errno) : "out of memory");
    }
    free(line);
    json_object_put(rec);
}

uint64_t fth_deadletter_count(fth_deadletter *dl)
{
    return dl ? atomic_load(&dl->count) : 0;
}

bool fth_deadletter_parse_line(const char *line, json_object **record, const char **instance,
                               json_object **event)
{
    *record = NULL;
    json_object *rec = json_tokener_parse(line);
    json_object *inst = NULL, *ev = NULL;
    if (!json_object_is_type(rec, json_type_object) ||
        !json_object_object_get_ex(rec, "instance", &inst) ||
        !json_object_is_type(inst, json_type_string) ||
        !json_object_object_get_ex(rec, "event", &ev) ||
        !json_object_is_type(ev, json_type_object)) {
        json_object_put(rec);
        return false;
    }
    *record = rec;
    *instance = json_object_get_string(inst);
    *event = ev;
    return true;
}
