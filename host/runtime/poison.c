/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin that crashed the host (poison.h): the crash record read at start, the persisted list
 * of instances isolated after a crash, and the look at deliveries an earlier run left
 * unfinished. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "delivery/crash_guard.h"
#include "ops/metrics.h"
#include "runtime/poison.h"

#define LIST_FILE "isolated-after-crash.json"
#define RECORD_FILE "crash.rec"

struct fth_poison {
    char *list_path;
    json_object *list; /* {"instance": {"since": ..., "reason": ...}} */
    fth_crash_record crash; /* what the previous run recorded (signal 0: nothing) */
    bool decided;           /* its instance started: the list says what was decided */
    bool guarded;
    json_object *swept;     /* instances whose earlier runs' deliveries were looked at */
    fth_journal *journal;
    fth_deadletter *deadletter;
};

/* ---- the list ---------------------------------------------------------------------------- */

static json_object *read_list(const char *path)
{
    if (access(path, F_OK) != 0)
        return json_object_new_object();
    json_object *list = json_object_from_file(path);
    if (json_object_is_type(list, json_type_object))
        return list;
    json_object_put(list);
    ftrack_log(FTRACK_LOG_ERROR, "reliability",
               "%s is not a JSON object: ignored (instances it listed run as configured)", path);
    return json_object_new_object();
}

/* Write the list whole, then rename it over the old one: a crash leaves one or the other. */
static void save_list(const fth_poison *p)
{
    char *tmp = fti_asprintf("%s.tmp", p->list_path);
    const char *text = json_object_to_json_string_ext(p->list, JSON_C_TO_STRING_PRETTY);
    int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    size_t len = strlen(text);
    bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
              fsync(fd) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    ok = ok && rename(tmp, p->list_path) == 0;
    if (!ok) {
        ftrack_log(FTRACK_LOG_ERROR, "reliability",
                   "cannot write %s (%s): the isolation after a crash holds for this run only",
                   p->list_path, strerror(ok ? errno : e));
        if (tmp)
            unlink(tmp);
    }
    free(tmp);
}

/* The previous run crashed in a dispatch: say so (the instance's start decides). */
static void log_crash(const fth_crash_record *c)
{
    char sig[96], when[32];
    fth_crash_guard_describe(c->signal, sig, sizeof(sig));
    ftrack_time_iso8601(c->time, 0, when, sizeof(when));
    ftrack_log_event(FTRACK_LOG_ERROR, "reliability", c->id, c->topic,
                     "the previous run of the host (pid %d) crashed with %s at %s while plugin "
                     "instance '%s' handled event %s (topic %s)",
                     c->pid, sig, when, c->instance, c->id, c->topic);
}

/* The instance that crashed the previous run starts: put it on the list, unless its
 * configuration decides (isolated already: the crash was the host's own; "isolated": false). */
static void decide(fth_poison *p, const fth_poison_instance *inst)
{
    const fth_crash_record *c = &p->crash;
    if (p->decided || !c->signal || strcmp(c->instance, inst->name) != 0)
        return;
    p->decided = true;
    if (inst->isolated)
        return;
    char sig[96], when[32];
    fth_crash_guard_describe(c->signal, sig, sizeof(sig));
    if (inst->in_process) {
        ftrack_log(FTRACK_LOG_WARNING, "reliability",
                   "plugin instance '%s' crashed the host (%s) but stays in process: its "
                   "configuration says \"isolated\": false",
                   inst->name, sig);
        return;
    }
    ftrack_time_iso8601(c->time, 0, when, sizeof(when));
    char *reason = fti_asprintf("%s on event %s (topic %s)", sig, c->id, c->topic);
    json_object *entry = json_object_new_object();
    json_object_object_add(entry, "since", json_object_new_string(when));
    json_object_object_add(entry, "reason", json_object_new_string(reason ? reason : sig));
    json_object_object_add(p->list, inst->name, entry);
    free(reason);
    save_list(p);
}

fth_poison *fth_poison_open(const char *data_dir, fth_journal *journal, fth_deadletter *dl)
{
    fth_poison *p = calloc(1, sizeof(*p));
    char *record = fti_asprintf("%s/%s", data_dir, RECORD_FILE);
    if (!p || !record || !(p->list_path = fti_asprintf("%s/%s", data_dir, LIST_FILE))) {
        free(record);
        fth_poison_close(p);
        return NULL;
    }
    p->journal = journal;
    p->deadletter = dl;
    p->list = read_list(p->list_path);
    p->swept = json_object_new_object();
    ftrack_error err;
    memset(&err, 0, sizeof(err));
    p->guarded = fth_crash_guard_open(record, &p->crash, &err) == FTRACK_OK;
    if (!p->guarded)
        ftrack_log(FTRACK_LOG_WARNING, "reliability",
                   "%s: a plugin that crashes the host is not isolated after it (the journal "
                   "still dead-letters its event after max_attempts)",
                   err.message);
    free(record);
    if (p->crash.signal && p->crash.instance[0])
        log_crash(&p->crash);
    return p;
}

void fth_poison_close(fth_poison *p)
{
    if (!p)
        return;
    if (p->guarded)
        fth_crash_guard_close();
    json_object_put(p->list);
    json_object_put(p->swept);
    free(p->list_path);
    free(p);
}

/* ---- an instance starts ------------------------------------------------------------------ */

typedef struct sweep {
    fth_poison *p;
    const fth_poison_instance *inst;
} sweep;

/* One delivery an earlier run started and did not finish. */
static bool on_unfinished(void *ctx, const fth_journal_entry *e)
{
    const sweep *s = ctx;
    const fth_poison_instance *inst = s->inst;
    unsigned max = inst->policy->max_attempts;
    if (e->attempts < max) {
        ftrack_log_event(FTRACK_LOG_WARNING, "reliability", e->id, e->topic,
                         "plugin instance '%s': event %s (topic %s) was started by an earlier "
                         "run and not finished (%u of %u attempts used); it runs again",
                         inst->name, e->id, e->topic, e->attempts, max);
        return false;
    }
    const fth_crash_record *c = &s->p->crash;
    char last[128] = "the last try was cut short when the host process ended";
    if (c->signal && strcmp(c->instance, inst->name) == 0 && strcmp(c->id, e->id) == 0) {
        char sig[96];
        snprintf(last, sizeof(last), "the last try crashed the host process (%s)",
                 fth_crash_guard_describe(c->signal, sig, sizeof(sig)));
    }
    char why[256];
    snprintf(why, sizeof(why), "started %u times without finishing; %s", e->attempts, last);
    fth_deadletter_append(s->p->deadletter, inst->name, "failed", why, e->attempts, e->text);
    fth_metrics_add(fth_metrics_find(inst->name), FTH_METRIC_DEAD_LETTERED, 1);
    ftrack_log_event(FTRACK_LOG_ERROR, "reliability", e->id, e->topic,
                     "plugin instance '%s' did not finish event %s (topic %s) %u times (%s): "
                     "moved to the dead-letter file %s without running it again",
                     inst->name, e->id, e->topic, e->attempts, last,
                     s->p->deadletter ? fth_deadletter_path(s->p->deadletter) : "(none)");
    return true;
}

static const char *entry_text(json_object *entry, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(entry, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : "?";
}

/* Whether the list makes the instance run isolated (logged either way). */
static bool listed_isolated(fth_poison *p, const fth_poison_instance *inst)
{
    json_object *entry;
    if (inst->isolated || !json_object_object_get_ex(p->list, inst->name, &entry))
        return false;
    if (inst->in_process) {
        ftrack_log(FTRACK_LOG_WARNING, "reliability",
                   "plugin instance '%s' runs in process again: its configuration says "
                   "\"isolated\": false (it crashed the host at %s: %s)",
                   inst->name, entry_text(entry, "since"), entry_text(entry, "reason"));
        json_object_object_del(p->list, inst->name);
        save_list(p);
        return false;
    }
    if (!inst->journaled) {
        ftrack_log(FTRACK_LOG_WARNING, "reliability",
                   "plugin instance '%s' crashed the host at %s but runs in process: an "
                   "instance with \"journal\": false cannot be isolated",
                   inst->name, entry_text(entry, "since"));
        return false;
    }
    ftrack_log(FTRACK_LOG_WARNING, "reliability",
               "plugin instance '%s' runs isolated: it crashed the host at %s (%s); set "
               "\"isolated\": false in its configuration to run it in process again",
               inst->name, entry_text(entry, "since"), entry_text(entry, "reason"));
    return true;
}

bool fth_poison_instance_start(fth_poison *p, const fth_poison_instance *inst)
{
    if (!p)
        return inst->isolated;
    decide(p, inst);
    bool isolated = inst->isolated || listed_isolated(p, inst);
    /* Once per instance and run: at a reload the old worker may still run its deliveries. */
    if (inst->journaled && p->journal && !json_object_object_get_ex(p->swept, inst->name, NULL)) {
        json_object_object_add(p->swept, inst->name, NULL);
        sweep s = {p, inst};
        fth_journal_unfinished(p->journal, inst->name, on_unfinished, &s);
    }
    return isolated;
}
