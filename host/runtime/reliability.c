/* SPDX-License-Identifier: Apache-2.0 */
/* The host-wide reliability context (reliability.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/internal.h"
#include "config/data_dir.h"
#include "delivery/control.h"
#include "isolation/isolation.h"
#include "ops/metrics.h"
#include "runtime/poison.h"
#include "runtime/reliability.h"
#include "delivery/reliable.h"

#define TICK_SECONDS 1

typedef struct instance_settings {
    char *name;
    fth_failure_policy policy;
    bool isolated;
    bool in_process;  /* "isolated": false given explicitly */
    bool unjournaled; /* "journal": false: the worker takes straight from its queue */
    char **command;   /* NULL-terminated argv, or NULL */
} instance_settings;

/* The reliability settings of a configuration's instances (failure policy over the top
 * level's, isolated, command, journal). */
typedef struct settings_set {
    fth_failure_policy policy; /* the configuration's top level over the defaults */
    instance_settings *instances;
    size_t count;
} settings_set;

typedef struct attached {
    char *name;
    fth_reliable *reliable;
} attached;

static struct {
    bool started;
    fth_journal *journal;
    fth_deadletter *deadletter;
    fth_poison *poison; /* a plugin that crashed the host */
    settings_set settings; /* in force: what instances started from now on get */
    settings_set before;   /* in force before the last reload (fth_reliability_settings_changed) */
    struct event *timer;
    unsigned ticks;
    unsigned compact_every; /* ticks between compactions (journal.compact_interval) */
    fth_control *control;
    pthread_mutex_t lock; /* guards `live` */
    attached *live;
    size_t live_count, live_cap;
} ctx = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- settings ----------------------------------------------------------------------------- */

static void settings_free(settings_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        free(set->instances[i].name);
        for (size_t a = 0; set->instances[i].command && set->instances[i].command[a]; a++)
            free(set->instances[i].command[a]);
        free(set->instances[i].command);
    }
    free(set->instances);
    memset(set, 0, sizeof(*set));
}

static ftrack_status copy_instance(const fth_config_instance *ci, const fth_failure_policy *top,
                                   instance_settings *s, ftrack_error *err)
{
    s->name = fti_strdup(ci->name);
    s->policy = *top;
    s->isolated = ci->isolated;
    s->in_process = ci->in_process;
    s->unjournaled = ci->unjournaled;
    if (!s->name)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    size_t argc = ci->command ? json_object_array_length(ci->command) : 0;
    if (argc && !(s->command = calloc(argc + 1, sizeof(char *))))
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    for (size_t a = 0; a < argc; a++)
        s->command[a] =
            fti_strdup(json_object_get_string(json_object_array_get_idx(ci->command, a)));
    if (ci->failure &&
        fth_failure_policy_parse(ci->failure, "configuration", &s->policy, err) != FTRACK_OK)
        return FTRACK_ERR_CONFIG;
    return FTRACK_OK;
}

static ftrack_status copy_settings(const fth_config *config, settings_set *out, ftrack_error *err)
{
    memset(out, 0, sizeof(*out));
    fth_failure_policy_init(&out->policy);
    if (config && config->failure &&
        fth_failure_policy_parse(config->failure, "configuration", &out->policy, err) != FTRACK_OK)
        return FTRACK_ERR_CONFIG;
    size_t n = config ? config->instance_count : 0;
    out->instances = calloc(n ? n : 1, sizeof(*out->instances));
    if (!out->instances)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        ftrack_status st =
            copy_instance(&config->instances[i], &out->policy, &out->instances[out->count++], err);
        if (st != FTRACK_OK)
            return st;
    }
    return FTRACK_OK;
}

static const instance_settings *settings_in(const settings_set *set, const char *name)
{
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->instances[i].name, name) == 0)
            return &set->instances[i];
    return NULL;
}

static bool same_settings(const instance_settings *a, const instance_settings *b)
{
    if (a->isolated != b->isolated || a->in_process != b->in_process ||
        a->unjournaled != b->unjournaled ||
        memcmp(&a->policy, &b->policy, sizeof(a->policy)) != 0 || !a->command != !b->command)
        return false;
    for (size_t i = 0; a->command && (a->command[i] || b->command[i]); i++)
        if (!a->command[i] || !b->command[i] || strcmp(a->command[i], b->command[i]) != 0)
            return false;
    return true;
}

static const instance_settings *settings_of(const char *name)
{
    return settings_in(&ctx.settings, name);
}

ftrack_status fth_reliability_reload_settings(const fth_config *config, ftrack_error *err)
{
    if (!ctx.started)
        return FTRACK_OK;
    settings_set fresh;
    ftrack_status st = copy_settings(config, &fresh, err);
    if (st != FTRACK_OK) {
        settings_free(&fresh);
        return st;
    }
    settings_free(&ctx.before);
    ctx.before = ctx.settings;
    ctx.settings = fresh;
    return FTRACK_OK;
}

bool fth_reliability_settings_changed(const char *instance)
{
    const instance_settings *was = settings_in(&ctx.before, instance);
    const instance_settings *now = settings_of(instance);
    if (!was || !now) /* not configured by name then or now: the top level's policy */
        return !was != !now || memcmp(&ctx.before.policy, &ctx.settings.policy,
                                      sizeof(ctx.settings.policy)) != 0;
    return !same_settings(was, now);
}

void fth_reliability_fill(fth_worker_spec *spec)
{
    if (!ctx.started || spec->journal)
        return;
    const instance_settings *s = settings_of(spec->instance_name);
    spec->journal = s && s->unjournaled ? NULL : ctx.journal;
    spec->deadletter = ctx.deadletter;
    spec->failure = s ? &s->policy : &ctx.settings.policy;
    fth_poison_instance pi = {spec->instance_name, s && s->isolated, s && s->in_process,
                              spec->journal != NULL, spec->failure};
    spec->isolated = fth_poison_instance_start(ctx.poison, &pi);
    if (spec->isolated && !spec->plugin_path) {
        /* The plugin's file is the object that holds its descriptor. */
        Dl_info info;
        if (dladdr(spec->descriptor, &info) && info.dli_fname)
            spec->plugin_path = info.dli_fname;
    }
}

const char *const *fth_reliability_command(const char *instance)
{
    const instance_settings *s = ctx.started ? settings_of(instance) : NULL;
    return s ? (const char *const *)s->command : NULL;
}

/* ---- registry --------------------------------------------------------------------------- */

void fth_reliability_attach(const char *instance, fth_reliable *reliable)
{
    pthread_mutex_lock(&ctx.lock);
    if (!fti_array_reserve(&ctx.live, &ctx.live_cap, ctx.live_count + 1, sizeof(*ctx.live))) {
        pthread_mutex_unlock(&ctx.lock);
        return;
    }
    char *name = fti_strdup(instance);
    if (name)
        ctx.live[ctx.live_count++] = (attached){name, reliable};
    pthread_mutex_unlock(&ctx.lock);
}

void fth_reliability_detach(fth_reliable *reliable)
{
    pthread_mutex_lock(&ctx.lock);
    for (size_t i = 0; i < ctx.live_count; i++) {
        if (ctx.live[i].reliable != reliable)
            continue;
        free(ctx.live[i].name);
        ctx.live[i] = ctx.live[--ctx.live_count];
        break;
    }
    pthread_mutex_unlock(&ctx.lock);
}

ftrack_status fth_reliability_replay(const char *instance, json_object *event, ftrack_error *err)
{
    if (!ctx.started)
        return fti_error(err, FTRACK_ERR_CLOSED, "the journal is not open");
    json_object *v;
    const char *id = NULL, *topic = NULL;
    if (json_object_object_get_ex(event, "id", &v) && json_object_is_type(v, json_type_string))
        id = json_object_get_string(v);
    if (json_object_object_get_ex(event, "topic", &v) && json_object_is_type(v, json_type_string))
        topic = json_object_get_string(v);
    if (!id || !topic)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "the event has no id or topic");
    pthread_mutex_lock(&ctx.lock);
    fth_reliable *r = NULL;
    for (size_t i = 0; i < ctx.live_count && !r; i++)
        if (strcmp(ctx.live[i].name, instance) == 0)
            r = ctx.live[i].reliable;
    ftrack_status st = FTRACK_OK;
    if (!r)
        st = fti_error(err, FTRACK_ERR_NOT_FOUND, "no running plugin instance '%s'", instance);
    else
        st =
            fth_journal_requeue(ctx.journal, instance, id, topic,
                                json_object_to_json_string_ext(event, JSON_C_TO_STRING_PLAIN), err);
    if (st == FTRACK_OK) {
        fth_metrics_add(fth_metrics_find(instance), FTH_METRIC_REPLAYED, 1);
        fth_reliable_wake(r);
        ftrack_log_event(FTRACK_LOG_INFO, "reliability", id, topic,
                         "replay: event %s (topic %s) handed back to plugin instance '%s'", id,
                         topic, instance);
    }
    pthread_mutex_unlock(&ctx.lock);
    return st;
}

/* ---- the timer ---------------------------------------------------------------------------- */

static void update_gauges(void)
{
    fth_journal_stats js;
    fth_journal_get_stats(ctx.journal, &js);
    fth_metrics_gauge_set(FTH_GAUGE_JOURNAL_BYTES, (double)js.bytes);
    fth_metrics_gauge_set(FTH_GAUGE_JOURNAL_EVENTS, (double)js.pending);
    fth_metrics_gauge_set(FTH_GAUGE_DEAD_LETTERS, (double)fth_deadletter_count(ctx.deadletter));
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fth_journal_sync(ctx.journal);
    double now = fti_now();
    pthread_mutex_lock(&ctx.lock);
    for (size_t i = 0; i < ctx.live_count; i++)
        fth_reliable_watch(ctx.live[i].reliable, now);
    pthread_mutex_unlock(&ctx.lock);
    if (++ctx.ticks % ctx.compact_every == 0) {
        fth_journal_compact(ctx.journal, ctx.deadletter);
        update_gauges();
    } else if (ctx.ticks % 5 == 0) {
        update_gauges();
    }
}

/* ---- start and stop ------------------------------------------------------------------------ */

static ftrack_status open_files(const fth_config *config, const char *dir, ftrack_error *err)
{
    if (fth_data_dir_create(dir, err) != FTRACK_OK)
        return FTRACK_ERR_IO;
    fth_journal_options jo;
    fth_journal_options_init(&jo);
    if (config && config->journal &&
        fth_journal_options_parse(config->journal, "configuration", &jo, err) != FTRACK_OK)
        return FTRACK_ERR_CONFIG;
    ctx.compact_every = (unsigned)jo.compact_interval; /* the timer ticks every second */
    char *jpath = fti_asprintf("%s/journal", dir);
    char *dpath = fti_asprintf("%s/dead-letter.jsonl", dir);
    /* The journal before this one: imported (its pending deliveries) at the first start. */
    char *old = fti_asprintf("%s/journal.sqlite", dir);
    ftrack_status st = jpath && dpath && old
                           ? FTRACK_OK
                           : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    jo.path = jpath;
    jo.migrate_from = old;
    if (st == FTRACK_OK)
        st = fth_journal_open(&jo, &ctx.journal, err);
    if (st == FTRACK_OK)
        st = fth_deadletter_open(dpath, &ctx.deadletter, err);
    if (st == FTRACK_OK && !(ctx.poison = fth_poison_open(dir, ctx.journal, ctx.deadletter)))
        st = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    if (st == FTRACK_OK) {
        fth_journal_stats js;
        fth_journal_get_stats(ctx.journal, &js);
        ftrack_log(FTRACK_LOG_INFO, "journal",
                   "journal %s (fsync %s): %llu deliveries pending from earlier runs; dead "
                   "letters go to %s",
                   jpath,
                   jo.fsync == FTH_FSYNC_EVERY ? "every event"
                   : jo.fsync == FTH_FSYNC_OFF ? "off"
                                               : "batched",
                   (unsigned long long)js.pending, dpath);
    }
    free(jpath);
    free(dpath);
    free(old);
    return st;
}

ftrack_status fth_reliability_start(const fth_reliability_options *o, ftrack_error *err)
{
    if (ctx.started)
        return FTRACK_OK;
    char *dir = fth_data_dir_or_default(o->data_dir);
    if (!dir)
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "no data dir for the journal: give --data-dir (or set HOME)");
    ftrack_status st = copy_settings(o->config, &ctx.settings, err);
    if (st == FTRACK_OK)
        st = open_files(o->config, dir, err);
    char *sock = st == FTRACK_OK ? fti_asprintf("%s/control.sock", dir) : NULL;
    if (st == FTRACK_OK)
        st = sock ? fth_control_start(o->base, sock, fth_reliability_replay, &ctx.control, err)
                  : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    free(sock);
    free(dir);
    if (st == FTRACK_OK) {
        ctx.timer = event_new(o->base, -1, EV_PERSIST, on_tick, NULL);
        struct timeval every = {TICK_SECONDS, 0};
        if (!ctx.timer || event_add(ctx.timer, &every) != 0)
            st = fti_error(err, FTRACK_ERR_INTERNAL, "cannot start the reliability timer");
    }
    ctx.started = true; /* also when failing: stop releases what was made */
    if (st != FTRACK_OK) {
        fth_reliability_stop();
        return st;
    }
    update_gauges();
    return FTRACK_OK;
}

void fth_reliability_stop(void)
{
    if (!ctx.started)
        return;
    if (ctx.timer)
        event_free(ctx.timer);
    fth_control_stop(ctx.control);
    if (ctx.journal) {
        fth_journal_compact(ctx.journal, ctx.deadletter);
        update_gauges();
    }
    fth_poison_close(ctx.poison);
    fth_journal_close(ctx.journal);
    fth_deadletter_close(ctx.deadletter);
    settings_free(&ctx.settings);
    settings_free(&ctx.before);
    pthread_mutex_lock(&ctx.lock);
    for (size_t i = 0; i < ctx.live_count; i++)
        free(ctx.live[i].name);
    free(ctx.live);
    pthread_mutex_unlock(&ctx.lock);
    ctx.started = false;
    ctx.journal = NULL;
    ctx.poison = NULL;
    ctx.deadletter = NULL;
    ctx.timer = NULL;
    ctx.control = NULL;
    ctx.live = NULL;
    ctx.live_count = ctx.live_cap = 0;
}
