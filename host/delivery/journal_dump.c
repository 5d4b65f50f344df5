/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's records printed one JSON object per line (fth_journal_dump, journal.h), for
 * `ftrack-host journal` and tests: read-only, so it works beside a running host and reports
 * damage without cutting anything. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include "common/internal.h"
#include "delivery/journal_internal.h"

typedef struct dump_ctx {
    FILE *out;
    const char *file;
    json_object *names; /* instance number (as a string) → name */
} dump_ctx;

static const char *type_name(uint8_t type)
{
    switch (type) {
    case REC_INSTANCE:
        return "instance";
    case REC_EVENT:
        return "event";
    case REC_DELIVERY:
        return "delivery";
    case REC_STARTED:
        return "started";
    case REC_FINISHED:
        return "finished";
    case REC_REQUEUE:
        return "requeue";
    default:
        return "unknown";
    }
}

static json_object *instance_name(dump_ctx *c, uint16_t num)
{
    char key[8];
    snprintf(key, sizeof(key), "%u", num);
    json_object *v = NULL;
    return json_object_object_get_ex(c->names, key, &v) ? json_object_get(v)
                                                        : json_object_new_int(num);
}

static void add_event(dump_ctx *c, json_object *o, const jrec_header *h, const unsigned char *p)
{
    jrec_event e;
    const jrec_target *t;
    const char *id, *topic, *text;
    if (!fth_jlog_event_parts(h, p, &e, &t, &id, &topic, &text))
        return;
    json_object_object_add(o, "id", json_object_new_string_len(id, e.id_len));
    json_object_object_add(o, "topic", json_object_new_string_len(topic, e.topic_len));
    json_object_object_add(o, "text_bytes", json_object_new_int64(e.text_len));
    json_object_object_add(o, "moved", json_object_new_boolean(h->flags & REC_MOVED));
    json_object *targets = json_object_new_array();
    for (uint16_t i = 0; i < e.targets; i++) {
        jrec_target tg;
        memcpy(&tg, &t[i], sizeof(tg));
        json_object *x = json_object_new_object();
        json_object_object_add(x, "instance", instance_name(c, tg.inst));
        json_object_object_add(x, "attempts", json_object_new_int(tg.attempts));
        json_object_object_add(x, "replayed", json_object_new_boolean(tg.flags & TARGET_REPLAYED));
        json_object_array_add(targets, x);
    }
    json_object_object_add(o, "instances", targets);
}

static void on_record(void *ctx, uint64_t off, const jrec_header *h, const unsigned char *p)
{
    dump_ctx *c = ctx;
    if (h->type == REC_INSTANCE) {
        char key[8];
        snprintf(key, sizeof(key), "%u", h->inst);
        json_object_object_add(c->names, key,
                               json_object_new_string_len((const char *)p, (int)h->len));
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string(type_name(h->type)));
    json_object_object_add(o, "file", json_object_new_string(c->file));
    json_object_object_add(o, "offset", json_object_new_int64((int64_t)off));
    /* With its padding: offset + bytes is where the next record starts. */
    json_object_object_add(o, "bytes", json_object_new_int64((JREC_HEADER + h->len + 7) & ~7u));
    if (h->type == REC_EVENT)
        add_event(c, o, h, p);
    else
        json_object_object_add(o, "instance", instance_name(c, h->inst));
    if (h->type != REC_INSTANCE)
        json_object_object_add(o, "seq", json_object_new_int64(h->seq));
    fprintf(c->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

static void on_damage(void *ctx, uint64_t off, uint64_t skipped, bool tail, const char *why)
{
    dump_ctx *c = ctx;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("damaged"));
    json_object_object_add(o, "file", json_object_new_string(c->file));
    json_object_object_add(o, "offset", json_object_new_int64((int64_t)off));
    json_object_object_add(o, "bytes", json_object_new_int64((int64_t)skipped));
    json_object_object_add(o, "why", json_object_new_string(why));
    json_object_object_add(o, "tail", json_object_new_boolean(tail));
    fprintf(c->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

ftrack_status fth_journal_dump(const char *path, FILE *out, ftrack_error *err)
{
    uint64_t *nos = NULL;
    long n = fth_jlog_list(path, &nos);
    if (n < 0)
        return fti_error(err, FTRACK_ERR_IO, "cannot read the journal %s: %s", path,
                         strerror(errno));
    dump_ctx c = {out, NULL, json_object_new_object()};
    ftrack_status st = FTRACK_OK;
    for (long i = 0; st == FTRACK_OK && i < n; i++) {
        char *file = fth_jlog_segment_path(path, nos[i]);
        int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : -1;
        c.file = file ? strrchr(file, '/') + 1 : "";
        if (fd < 0 || fth_jlog_scan(fd, on_record, on_damage, &c) < 0)
            st = fti_error(err, FTRACK_ERR_IO, "cannot read %s: %s", file ? file : path,
                           strerror(errno));
        if (fd >= 0)
            close(fd);
        free(file);
    }
    json_object_put(c.names);
    free(nos);
    return st;
}
