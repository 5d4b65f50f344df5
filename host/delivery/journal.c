/* SPDX-License-Identifier: Apache-2.0 */
/* The event journal (journal.h): options, open and close, appends, the next delivery,
 * started/finished marks, requeue, sync and stats. The records are written by journal_log.c
 * and kept track of in memory by journal_state.c. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/internal.h"
#include "delivery/crash_guard.h"
#include "delivery/journal.h"
#include "delivery/journal_internal.h"

#define DEFAULT_MAX_BYTES ((uint64_t)512 * 1024 * 1024)
#define DEFAULT_MAX_AGE (7.0 * 24 * 3600)
#define DEFAULT_DEDUP_WINDOW 3600.0
#define DEFAULT_COMPACT_INTERVAL 30.0

void fth_journal_options_init(fth_journal_options *o)
{
    memset(o, 0, sizeof(*o));
    o->fsync = FTH_FSYNC_BATCHED;
    o->max_bytes = DEFAULT_MAX_BYTES;
    o->max_age = DEFAULT_MAX_AGE;
    o->dedup_window = DEFAULT_DEDUP_WINDOW;
    o->compact_interval = DEFAULT_COMPACT_INTERVAL;
}

static ftrack_status bad(ftrack_error *err, const char *origin, const char *what)
{
    return fti_error(err, FTRACK_ERR_CONFIG, "%s: %s", origin, what);
}

static bool positive_number(json_object *v, double max, double *out)
{
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return false;
    double d = json_object_get_double(v);
    if (!isfinite(d) || d <= 0 || d > max)
        return false;
    *out = d;
    return true;
}

static ftrack_status parse_fsync(json_object *v, const char *origin, fth_journal_options *o,
                                 ftrack_error *err)
{
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (strcmp(s, "every") == 0)
        o->fsync = FTH_FSYNC_EVERY;
    else if (strcmp(s, "batched") == 0)
        o->fsync = FTH_FSYNC_BATCHED;
    else if (strcmp(s, "off") == 0)
        o->fsync = FTH_FSYNC_OFF;
    else
        return bad(err, origin, "journal.fsync must be \"every\", \"batched\" or \"off\"");
    return FTRACK_OK;
}

static ftrack_status parse_bytes(json_object *v, const char *origin, const char *key, double min,
                                 uint64_t *out, ftrack_error *err)
{
    double d;
    if (!positive_number(v, 1e15, &d) || d < min) {
        char msg[160];
        snprintf(msg, sizeof(msg), "journal.%s must be a number of bytes, at least %.0f", key, min);
        return bad(err, origin, msg);
    }
    *out = (uint64_t)d;
    return FTRACK_OK;
}

static ftrack_status parse_seconds(json_object *v, const char *origin, const char *key, double max,
                                   double *out, ftrack_error *err)
{
    if (positive_number(v, max, out))
        return FTRACK_OK;
    char msg[160];
    snprintf(msg, sizeof(msg), "journal.%s must be a positive number of seconds", key);
    return bad(err, origin, msg);
}

static ftrack_status parse_key(const char *key, json_object *v, const char *origin,
                               fth_journal_options *o, ftrack_error *err)
{
    if (strcmp(key, "fsync") == 0)
        return parse_fsync(v, origin, o, err);
    if (strcmp(key, "max_bytes") == 0)
        return parse_bytes(v, origin, key, 1024 * 1024, &o->max_bytes, err);
    if (strcmp(key, "segment_bytes") == 0)
        return parse_bytes(v, origin, key, 65536, &o->segment_bytes, err);
    if (strcmp(key, "max_age") == 0)
        return parse_seconds(v, origin, key, 10 * 365 * 86400.0, &o->max_age, err);
    if (strcmp(key, "dedup_window") == 0)
        return parse_seconds(v, origin, key, 365 * 86400.0, &o->dedup_window, err);
    if (strcmp(key, "compact_interval") == 0) {
        double d;
        if (!positive_number(v, 86400.0, &d) || d < 1 || d != floor(d))
            return bad(err, origin,
                       "journal.compact_interval must be a whole number of seconds, at least 1");
        o->compact_interval = d;
        return FTRACK_OK;
    }
    char msg[256];
    snprintf(msg, sizeof(msg),
             "journal: unknown key \"%s\" (known: fsync, max_bytes, max_age, dedup_window, "
             "segment_bytes, compact_interval)",
             key);
    return bad(err, origin, msg);
}

ftrack_status fth_journal_options_parse(json_object *value, const char *origin,
                                        fth_journal_options *o, ftrack_error *err)
{
    if (!json_object_is_type(value, json_type_object))
        return bad(err, origin, "\"journal\" must be an object");
    json_object_object_foreach(value, key, v)
    {
        ftrack_status st = parse_key(key, v, origin, o, err);
        if (st != FTRACK_OK)
            return st;
    }
    return FTRACK_OK;
}

/* ---- open and close ------------------------------------------------------------------------ */

static ftrack_status take_lock(fth_journal *j, ftrack_error *err)
{
    if (mkdir(j->dir, 0700) != 0 && errno != EEXIST)
        return fti_error(err, FTRACK_ERR_IO, "cannot create the journal directory %s: %s", j->dir,
                         strerror(errno));
    j->dir_fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *lock_path = fti_asprintf("%s/lock", j->dir);
    j->lock_fd = lock_path ? open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
    free(lock_path);
    if (j->dir_fd < 0 || j->lock_fd < 0)
        return fti_error(err, FTRACK_ERR_IO, "cannot open the journal %s: %s", j->dir,
                         strerror(errno));
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return fti_error(err, FTRACK_ERR_IO,
                         "the journal %s is in use by another ftrack-host (one host per data "
                         "dir)",
                         j->dir);
    return FTRACK_OK;
}

static ftrack_status import_old(fth_journal *j, ftrack_error *err)
{
    const char *old = j->options.migrate_from;
    if (!old || access(old, F_OK) != 0)
        return FTRACK_OK;
    return fth_journal_import(j, old, err);
}

ftrack_status fth_journal_open(const fth_journal_options *options, fth_journal **out,
                               ftrack_error *err)
{
    *out = NULL;
    fth_journal *j = calloc(1, sizeof(*j));
    if (!j)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    j->options = *options;
    j->options.migrate_from = NULL; /* borrowed: not kept past open */
    j->dir_fd = j->lock_fd = -1;
    j->next_seq = 1;
    /* Held for about a microsecond at a time by the network thread (appends) and the workers
     * (marks): spinning briefly beats a sleep and a wake-up in the kernel when they meet. */
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&j->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    j->dir = fti_strdup(options->path);
    ftrack_status st = j->dir && fth_jstate_init(j)
                           ? take_lock(j, err)
                           : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    if (st == FTRACK_OK)
        st = fth_journal_recover(j, err);
    if (st == FTRACK_OK && !fth_jlog_new_head(j, 0))
        st = fti_error(err, FTRACK_ERR_IO, "cannot write the journal %s: %s", j->dir,
                       strerror(errno));
    j->options.migrate_from = options->migrate_from;
    if (st == FTRACK_OK)
        st = import_old(j, err);
    j->options.migrate_from = NULL;
    if (st != FTRACK_OK) {
        fth_journal_close(j);
        return st;
    }
    *out = j;
    return FTRACK_OK;
}

void fth_journal_close(fth_journal *j)
{
    if (!j)
        return;
    fth_jlog_close_all(j);
    fth_jstate_free(j);
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    if (j->dir_fd >= 0)
        close(j->dir_fd);
    pthread_mutex_destroy(&j->lock);
    free(j->dir);
    free(j);
}

/* ---- writing ------------------------------------------------------------------------------- */

/* An EVENT record: `targets` (n) and the texts; where its text landed in *seg and *text_off. */
static bool write_event(fth_journal *j, uint8_t flags, int64_t seq, double received, const char *id,
                        const char *topic, const char *text, size_t len, const jrec_target *targets,
                        size_t n, uint64_t *seg, uint64_t *text_off)
{
    size_t id_len = strlen(id), topic_len = strlen(topic);
    if (id_len == 0 || id_len >= FTRACK_ID_MAX || topic_len > UINT16_MAX || len > UINT32_MAX ||
        n > UINT16_MAX)
        return false;
    jrec_event ev = {received, (uint32_t)len, (uint16_t)id_len, (uint16_t)topic_len, (uint16_t)n,
                     {0}};
    jpart parts[] = {{&ev, sizeof(ev)},
                     {targets, n * sizeof(*targets)},
                     {id, id_len},
                     {topic, topic_len},
                     {text, len}};
    uint64_t payload;
    if (!fth_jlog_append(j, REC_EVENT, flags, 0, seq, parts, 5, seg, &payload))
        return false;
    *text_off = payload + JREC_EVENT_FIXED + n * JREC_TARGET + id_len + topic_len;
    return true;
}

bool fth_journal_mark(fth_journal *j, uint8_t type, const jinstance *in, int64_t seq)
{
    return fth_jlog_append(j, type, 0, in->num, seq, NULL, 0, NULL, NULL);
}

/* The pending deliveries of `ev` as targets (caller frees); NULL with *n 0 when none. */
static jrec_target *pending_targets(fth_journal *j, const jevent *ev, size_t extra, size_t *n)
{
    jrec_target *t = calloc((size_t)ev->ninsts + extra + 1, sizeof(*t));
    *n = 0;
    for (uint16_t i = 0; t && i < ev->ninsts; i++) {
        jinstance *in = fth_jstate_instance_num(j, ev->insts[i]);
        jdelivery *d = fth_jstate_find(in, ev->seq);
        if (d)
            t[(*n)++] = (jrec_target){in->num, d->attempts, d->replayed ? TARGET_REPLAYED : 0};
    }
    return t;
}

bool fth_journal_write_moved(fth_journal *j, jevent *ev, const char *text, size_t len,
                             const jrec_target *extra, size_t nextra)
{
    size_t n;
    jrec_target *t = pending_targets(j, ev, nextra, &n);
    if (!t)
        return false;
    if (nextra)
        memcpy(&t[n], extra, nextra * sizeof(*extra));
    uint64_t seg, off;
    bool ok = write_event(j, REC_MOVED, ev->seq, ev->received, ev->id, ev->topic, text, len, t,
                          n + nextra, &seg, &off);
    free(t);
    if (!ok)
        return false;
    fth_jstate_move(j, ev, seg, off);
    ev->text_len = (uint32_t)len;
    return true;
}

/* The delivery just added (NULL: it was not) carries routing's match, unless it has one. */
static void keep_match(jdelivery *d, ftrack_hub_match *match)
{
    if (d && !d->match)
        d->match = ftrack_hub_match_ref(match);
}

/* A new event for the instances of `ins` (n, NULL ones skipped): one record. */
static bool add_new_event(fth_journal *j, const char *id, const char *topic, const char *text,
                          size_t len, ftrack_hub_match *match, jinstance **ins, size_t n)
{
    jrec_target small[16], *t = n <= 16 ? small : calloc(n, sizeof(*t));
    if (!t)
        return false;
    size_t targets = 0;
    for (size_t i = 0; i < n; i++)
        if (ins[i])
            t[targets++] = (jrec_target){ins[i]->num, 0, 0};
    int64_t seq = j->next_seq++; /* taken even if what follows fails: never written twice */
    double now = fti_wall_now();
    uint64_t seg = 0, off = 0;
    bool ok = targets && write_event(j, 0, seq, now, id, topic, text, len, t, targets, &seg, &off);
    if (t != small)
        free(t);
    jevent *ev =
        ok ? fth_jstate_add_event(j, seq, id, strlen(id), topic, strlen(topic), now) : NULL;
    if (!ev)
        return false;
    ev->seg = seg;
    ev->text_off = off;
    ev->text_len = (uint32_t)len;
    for (size_t i = 0; i < n; i++)
        if (ins[i])
            keep_match(fth_jstate_add(j, ins[i], ev, 0, false, false), match);
    return true;
}

/* One more instance for a known event: a small record while the event's own is still on
 * disk; otherwise the event is written again (its segment was deleted once nothing in it
 * was pending). */
static fth_append_result add_known_event(fth_journal *j, jevent *ev, jinstance *in,
                                         const char *text, size_t len, ftrack_hub_match *match)
{
    if (fth_jstate_event_has(ev, in->num))
        return FTH_APPEND_DUPLICATE;
    if (fth_jlog_segment(j, ev->seg)) {
        if (!fth_journal_mark(j, REC_DELIVERY, in, ev->seq))
            return FTH_APPEND_FAILED;
    } else {
        jrec_target t = {in->num, 0, 0};
        if (!fth_journal_write_moved(j, ev, text, len, &t, 1))
            return FTH_APPEND_FAILED;
    }
    jdelivery *d = fth_jstate_add(j, in, ev, 0, false, false);
    keep_match(d, match);
    return d ? FTH_APPEND_ADDED : FTH_APPEND_FAILED;
}

void fth_journal_append_event(fth_journal *j, const char *id, const char *topic, const char *text,
                              size_t len, ftrack_hub_match *match, const char *const *instances,
                              fth_append_result *results, size_t n)
{
    jinstance *small[16], **ins = n <= 16 ? small : calloc(n, sizeof(*ins));
    for (size_t i = 0; i < n; i++)
        results[i] = FTH_APPEND_FAILED;
    if (!ins || n == 0)
        return;
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < n; i++)
        ins[i] = fth_jstate_instance(j, instances[i]); /* NULL (out of memory): FAILED */
    jevent *ev = fth_jstate_event_by_id(j, id);
    if (ev) { /* known already: another road, a replay */
        for (size_t i = 0; i < n; i++)
            if (ins[i])
                results[i] = add_known_event(j, ev, ins[i], text, len, match);
    } else if (add_new_event(j, id, topic, text, len, match, ins, n)) {
        for (size_t i = 0; i < n; i++)
            if (ins[i])
                results[i] = FTH_APPEND_ADDED;
    }
    for (size_t i = 0; i < n; i++)
        j->duplicates += results[i] == FTH_APPEND_DUPLICATE;
    pthread_mutex_unlock(&j->lock);
    if (ins != small)
        free(ins);
}

fth_append_result fth_journal_append(fth_journal *j, const char *instance, const char *id,
                                     const char *topic, const char *text, size_t len)
{
    fth_append_result r;
    fth_journal_append_event(j, id, topic, text, len, NULL, &instance, &r, 1);
    return r;
}

/* ---- handing out ------------------------------------------------------------------------- */

bool fth_journal_fill_entry(fth_journal *j, const jdelivery *d, fth_journal_entry *out)
{
    memset(out, 0, sizeof(*out));
    const jevent *ev = d->ev;
    if (!(out->text = fth_jstate_text(j, ev)))
        return false;
    out->len = ev->text_len;
    out->seq = ev->seq;
    out->attempts = d->attempts;
    out->redelivery = d->replayed || d->started_earlier;
    fti_strlcpy(out->id, ev->id, sizeof(out->id));
    fti_strlcpy(out->topic, ev->topic, sizeof(out->topic));
    out->match = ftrack_hub_match_ref(d->match);
    return true;
}

/* A pending delivery whose text cannot be read (its record damaged on disk since) cannot be
 * delivered: it is reported once and given up, so the ones behind it flow. */
static void give_up_unreadable(fth_journal *j, jinstance *in, jdelivery *d)
{
    ftrack_log_event(FTRACK_LOG_ERROR, "journal", d->ev->id, d->ev->topic,
                     "plugin instance '%s': event %s cannot be read back from the journal "
                     "(segment %016llx): skipped",
                     in->name, d->ev->id, (unsigned long long)d->ev->seg);
    j->write_errors++;
    fth_journal_mark(j, REC_FINISHED, in, d->ev->seq);
    fth_jstate_remove(j, in, d);
}

static bool next_locked(fth_journal *j, jinstance *in, fth_journal_entry *out)
{
    bool found = false;
    while (in && in->count && !found) {
        jdelivery *d = &in->q[in->head];
        found = fth_journal_fill_entry(j, d, out);
        if (!found)
            give_up_unreadable(j, in, d);
    }
    return found;
}

/* Written before the callback runs: a crash inside it counts as an attempt. */
static void start_locked(fth_journal *j, jinstance *in, int64_t seq)
{
    jdelivery *d = fth_jstate_find(in, seq);
    if (d && fth_journal_mark(j, REC_STARTED, in, seq)) {
        d->attempts++;
        d->started_earlier = false;
    }
}

bool fth_journal_next(fth_journal *j, const char *instance, fth_journal_entry *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&j->lock);
    bool found = next_locked(j, fth_jstate_instance(j, instance), out);
    pthread_mutex_unlock(&j->lock);
    return found;
}

bool fth_journal_begin(fth_journal *j, const char *instance, fth_journal_entry *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&j->lock);
    jinstance *in = fth_jstate_instance(j, instance);
    bool found = next_locked(j, in, out);
    if (found)
        start_locked(j, in, out->seq);
    pthread_mutex_unlock(&j->lock);
    if (found)
        fth_crash_guard_dispatching(instance, out->id, out->topic);
    return found;
}

void fth_journal_entry_clear(fth_journal_entry *e)
{
    if (!e)
        return;
    free(e->text);
    ftrack_hub_match_unref(e->match);
    memset(e, 0, sizeof(*e));
}

void fth_journal_started(fth_journal *j, const char *instance, const fth_journal_entry *e)
{
    fth_crash_guard_dispatching(instance, e->id, e->topic);
    pthread_mutex_lock(&j->lock);
    start_locked(j, fth_jstate_instance(j, instance), e->seq);
    pthread_mutex_unlock(&j->lock);
}

void fth_journal_finished(fth_journal *j, const char *instance, const fth_journal_entry *e)
{
    fth_crash_guard_idle();
    pthread_mutex_lock(&j->lock);
    jinstance *in = fth_jstate_instance(j, instance);
    jdelivery *d = fth_jstate_find(in, e->seq);
    if (d) {
        fth_journal_mark(j, REC_FINISHED, in, e->seq);
        fth_jstate_remove(j, in, d);
    }
    pthread_mutex_unlock(&j->lock);
}

ftrack_status fth_journal_requeue(fth_journal *j, const char *instance, const char *id,
                                  const char *topic, const char *text, ftrack_error *err)
{
    pthread_mutex_lock(&j->lock);
    jinstance *in = fth_jstate_instance(j, instance);
    jevent *ev = fth_jstate_event_by_id(j, id);
    bool ok = in != NULL;
    if (ok && ev && fth_jlog_segment(j, ev->seg)) {
        jdelivery *d = fth_jstate_find(in, ev->seq);
        ok = fth_journal_mark(j, REC_REQUEUE, in, ev->seq) &&
             (d || fth_jstate_add(j, in, ev, 0, true, true));
        if (ok && (d = fth_jstate_find(in, ev->seq))) {
            d->attempts = 0;
            d->replayed = true;
            d->started_earlier = false;
        }
    } else if (ok && ev) {
        jrec_target t = {in->num, 0, TARGET_REPLAYED};
        jdelivery *d = fth_jstate_find(in, ev->seq);
        if (d)
            fth_jstate_remove(j, in, d);
        ok = fth_journal_write_moved(j, ev, text, strlen(text), &t, 1) &&
             fth_jstate_add(j, in, ev, 0, true, true);
    } else if (ok) {
        ok = add_new_event(j, id, topic, text, strlen(text), NULL, &in, 1);
        jdelivery *d = ok ? fth_jstate_find(in, fth_jstate_event_by_id(j, id)->seq) : NULL;
        if (d)
            d->replayed = true;
        /* A REQUEUE mark records the flag for the next open. */
        ok = d && fth_journal_mark(j, REC_REQUEUE, in, d->ev->seq);
    }
    pthread_mutex_unlock(&j->lock);
    return ok ? FTRACK_OK
              : fti_error(err, FTRACK_ERR_IO, "the journal %s cannot be written", j->dir);
}

/* ---- sync and stats ------------------------------------------------------------------------ */

void fth_journal_sync(fth_journal *j)
{
    if (!j)
        return;
    if (j->options.fsync != FTH_FSYNC_BATCHED)
        return;
    /* Appends go on while the disk works: only the collecting holds the lock. */
    jlog_sync p;
    pthread_mutex_lock(&j->lock);
    fth_jlog_sync_collect(j, &p);
    pthread_mutex_unlock(&j->lock);
    unsigned errors = fth_jlog_sync_run(&p);
    if (!errors)
        return;
    pthread_mutex_lock(&j->lock);
    j->write_errors += errors;
    pthread_mutex_unlock(&j->lock);
}

void fth_journal_get_stats(fth_journal *j, fth_journal_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    out->pending = j->pending;
    for (size_t i = 0; i < j->nsegs; i++)
        out->bytes += j->segs[i].used;
    out->segments = j->nsegs;
    out->written = j->written;
    out->evicted = j->evicted;
    out->expired = j->expired;
    out->duplicates = j->duplicates;
    out->write_errors = j->write_errors;
    out->corrupt = j->corrupt;
    pthread_mutex_unlock(&j->lock);
}

uint64_t fth_journal_pending(fth_journal *j, const char *instance)
{
    pthread_mutex_lock(&j->lock);
    jinstance *in = fth_jstate_instance(j, instance);
    uint64_t n = in ? in->count : 0;
    pthread_mutex_unlock(&j->lock);
    return n;
}
