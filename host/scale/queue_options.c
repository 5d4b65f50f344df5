/* SPDX-License-Identifier: Apache-2.0 */
/* Queue mode's options: defaults, the "queue" configuration object checked key by key, and
 * the config.c hook (queue_mode.h). Kept apart from queue_mode.c so the option rules read on
 * their own, next to nothing that runs at event time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "config/config.h"
#include "scale/queue_mode.h"
#include "scale/queue_redis.h"

void fth_queue_options_init(fth_queue_options *o)
{
    memset(o, 0, sizeof(*o));
    o->partitions = 1;
    o->claim_idle = 60;
    o->dedup_ttl = 86400;
    o->max_length = 1000000;
    o->batch = 16;
    o->subscription_ttl = 86400;
}

static void free_ordered(fth_queue_options *o)
{
    for (size_t i = 0; i < o->ordered_count; i++)
        free(o->ordered[i]);
    free(o->ordered);
    o->ordered = NULL;
    o->ordered_count = 0;
}

void fth_queue_options_clear(fth_queue_options *o)
{
    free(o->redis);
    free(o->password_file);
    free(o->stream);
    free(o->group);
    free(o->consumer);
    free_ordered(o);
    fth_queue_options_init(o);
}

bool fth_queue_role_parse(const char *text, fth_queue_role *out)
{
    static const char *names[] = {"off", "ingest", "worker"};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0)
            return *out = (fth_queue_role)i, true;
    return false;
}

static ftrack_status bad(ftrack_error *err, const char *origin, const char *key, const char *what)
{
    return fti_error(err, FTRACK_ERR_CONFIG, "%s: queue.%s %s", origin, key, what);
}

static ftrack_status set_string(json_object *v, const char *origin, const char *key, char **out,
                                ftrack_error *err)
{
    if (!json_object_is_type(v, json_type_string) || !*json_object_get_string(v))
        return bad(err, origin, key, "must be a non-empty string");
    free(*out);
    *out = fti_strdup(json_object_get_string(v));
    return *out ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
}

static ftrack_status set_number(json_object *v, const char *origin, const char *key, double min,
                                double max, double *out, ftrack_error *err)
{
    bool number = json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
    double d = json_object_get_double(v);
    if (!number || !isfinite(d) || d < min || d > max) {
        char what[96];
        snprintf(what, sizeof(what), "must be a number from %g to %g", min, max);
        return bad(err, origin, key, what);
    }
    *out = d;
    return FTRACK_OK;
}

static ftrack_status set_ordered(json_object *v, const char *origin, fth_queue_options *o,
                                 ftrack_error *err)
{
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (!json_object_is_type(v, json_type_array))
        return bad(err, origin, "ordered", "must be a list of instance names");
    free_ordered(o);
    o->ordered = calloc(n ? n : 1, sizeof(char *));
    if (!o->ordered)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string))
            return bad(err, origin, "ordered", "must be a list of instance names");
        o->ordered[o->ordered_count++] = fti_strdup(json_object_get_string(e));
    }
    return FTRACK_OK;
}

static ftrack_status parse_one(const char *key, json_object *v, const char *origin,
                               fth_queue_options *o, ftrack_error *err)
{
    double d = 0;
    ftrack_status st;
    if (strcmp(key, "mode") == 0) {
        if (!json_object_is_type(v, json_type_string) ||
            !fth_queue_role_parse(json_object_get_string(v), &o->mode))
            return bad(err, origin, key, "must be \"off\", \"ingest\" or \"worker\"");
        return FTRACK_OK;
    }
    if (strcmp(key, "redis") == 0) {
        if ((st = set_string(v, origin, key, &o->redis, err)) != FTRACK_OK)
            return st;
        fth_redis probe;
        bool ok = fth_redis_init(&probe, o->redis, NULL, "check");
        fth_redis_clear(&probe);
        return ok ? FTRACK_OK : bad(err, origin, key, "must be \"HOST:PORT\" or \"unix:/path\"");
    }
    if (strcmp(key, "password_file") == 0)
        return set_string(v, origin, key, &o->password_file, err);
    if (strcmp(key, "stream") == 0)
        return set_string(v, origin, key, &o->stream, err);
    if (strcmp(key, "group") == 0)
        return set_string(v, origin, key, &o->group, err);
    if (strcmp(key, "consumer") == 0)
        return set_string(v, origin, key, &o->consumer, err);
    if (strcmp(key, "ordered") == 0)
        return set_ordered(v, origin, o, err);
    if (strcmp(key, "partitions") == 0) {
        st = set_number(v, origin, key, 1, 256, &d, err);
        if (st == FTRACK_OK && d != floor(d))
            st = bad(err, origin, key, "must be an integer");
        o->partitions = (unsigned)d;
        return st;
    }
    if (strcmp(key, "batch") == 0) {
        st = set_number(v, origin, key, 1, 1000, &d, err);
        o->batch = (unsigned)d;
        return st;
    }
    if (strcmp(key, "max_length") == 0) {
        st = set_number(v, origin, key, 1000, 1e12, &d, err);
        o->max_length = (long long)d;
        return st;
    }
    if (strcmp(key, "claim_idle") == 0)
        return set_number(v, origin, key, 0.1, 86400, &o->claim_idle, err);
    if (strcmp(key, "dedup_ttl") == 0)
        return set_number(v, origin, key, 1, 30 * 86400, &o->dedup_ttl, err);
    if (strcmp(key, "subscription_ttl") == 0)
        return set_number(v, origin, key, 10, 365 * 86400.0, &o->subscription_ttl, err);
    return fti_error(err, FTRACK_ERR_CONFIG,
                     "%s: queue: unknown key \"%s\" (known: mode, redis, password_file, stream, "
                     "group, consumer, partitions, ordered, claim_idle, dedup_ttl, max_length, "
                     "batch, subscription_ttl)",
                     origin, key);
}

ftrack_status fth_queue_options_parse(json_object *value, const char *origin, fth_queue_options *o,
                                      ftrack_error *err)
{
    if (!json_object_is_type(value, json_type_object))
        return fti_error(err, FTRACK_ERR_CONFIG, "%s: \"queue\" must be an object", origin);
    json_object_object_foreach(value, key, v)
    {
        ftrack_status st = parse_one(key, v, origin, o, err);
        if (st != FTRACK_OK)
            return st;
    }
    return FTRACK_OK;
}

ftrack_status fth_config_parse_queue_key(const char *key, json_object *value, const char *origin,
                                         struct fth_config *config, ftrack_error *err)
{
    if (strcmp(key, "queue") != 0)
        return FTRACK_ERR_NOT_FOUND;
    fth_queue_options o;
    fth_queue_options_init(&o);
    ftrack_status st = fth_queue_options_parse(value, origin, &o, err);
    fth_queue_options_clear(&o);
    if (st == FTRACK_OK)
        config->queue = value;
    return st;
}
