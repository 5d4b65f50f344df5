/* SPDX-License-Identifier: Apache-2.0 */
/* The encode-media trigger: the plugin glue around encode_logic.c (see README.md).
 *
 * Events and actions run on the instance's worker thread (the host's). Jobs are followed on a
 * thread of our own, so a slow transcode never holds up the event queue; it polls each Job with
 * backoff until done, failed or encode_media_job_timeout, then publishes the result event. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftrack/ftrack.h>

#include "encode_logic.h"

#define REGISTRY_CAPACITY 4096
#define POLL_FIRST 0.2
#define POLL_MAX 5.0
#define FOLLOWER_TICK 0.2
/* How long an event waits for a free job slot before its delivery is failed, to be retried
 * later by the host's failure policy: well inside the default 60 s deadline. */
#define HOLD_MAX 20.0

static const ftrack_plugin_param encode_params[] = {
    {"encode_media_file_types", FTRACK_PARAM_STRING, false,
     "\".mov,.mp4,.m4v,.mxf,.avi,.mkv,.webm\"", "comma-separated file types to encode; empty: any"},
    {"encode_media_component_names", FTRACK_PARAM_STRING, false, "\"\"",
     "comma-separated component names to encode (e.g. \"main\"); empty: any"},
    {"encode_media_projects", FTRACK_PARAM_STRING, false, "\"\"",
     "comma-separated project names or ids whose media is encoded; empty: every project"},
    {"encode_media_keep_original", FTRACK_PARAM_BOOL, false, "true",
     "keep the source component on its version (encode_media's keep_original)"},
    {"encode_media_job_timeout", FTRACK_PARAM_DOUBLE, false, "900",
     "seconds a job is followed before its result is published as timeout"},
    {"encode_media_max_jobs", FTRACK_PARAM_INT, false, "16",
     "jobs followed at once; beyond that new media waits for a slot (its event is retried "
     "later when none frees up within 20 s)"},
    {"encode_media_result_topic", FTRACK_PARAM_STRING, false, "\"" ENCODE_DEFAULT_RESULT_TOPIC "\"",
     "topic of the result event published per job"},
    {"encode_media_action", FTRACK_PARAM_BOOL, false, "true",
     "offer the \"Encode media\" action on selected versions"},
    {"encode_media_ignore_own_user", FTRACK_PARAM_BOOL, false, "true",
     "ignore changes made by the host's own API user"},
};

typedef struct pending_job {
    char *job_id;
    char *component_id;
    char *version_id;
    double deadline, next_poll, delay;
    struct pending_job *next;
} pending_job;

typedef struct encode_state {
    ftrack_plugin_context *ctx;
    ftrack_session *session;
    encode_config cfg;
    encode_registry handled; /* components we asked to encode (no second trigger) */
    encode_registry outputs; /* our jobs' output components (never encoded) */

    pthread_mutex_t lock; /* guards jobs, job_count, stop */
    pthread_cond_t cond;
    pthread_cond_t room; /* a followed job ended: a slot is free */
    bool held;           /* this event found no slot: its delivery fails, to come back */
    pending_job *jobs;
    int job_count;
    bool stop;
    pthread_t follower;
    bool follower_started;
} encode_state;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Publishing results ------------------------------------------------------------------- */

static void publish_result(encode_state *st, const char *component_id, const char *version_id,
                           const char *job_id, const char *status, json_object *outputs,
                           const char *message)
{
    json_object *data =
        encode_result_data(component_id, version_id, job_id, status, outputs, message);
    ftrack_event *event = ftrack_event_new(st->cfg.result_topic, data);
    ftrack_error err;
    if (!event ||
        ftrack_hub_publish(ftrack_session_hub(st->session), event, NULL, &err) != FTRACK_OK)
        ftrack_plugin_log(st->ctx, FTRACK_LOG_WARNING, "cannot publish the result of job %s: %s",
                          job_id ? job_id : "-", event ? err.message : "out of memory");
    ftrack_event_free(event);
}

/* ---- Following jobs (the follower thread) ---------------------------------------------------- */

static void job_free(pending_job *job)
{
    if (!job)
        return;
    free(job->job_id);
    free(job->component_id);
    free(job->version_id);
    free(job);
}

static void remember_outputs(encode_state *st, json_object *outputs)
{
    for (size_t i = 0; i < json_object_array_length(outputs); i++) {
        json_object *id =
            json_object_object_get(json_object_array_get_idx(outputs, i), "component_id");
        if (json_object_is_type(id, json_type_string))
            encode_registry_add(&st->outputs, json_object_get_string(id));
    }
}

/* Poll one job once. True when it is finished (result published). */
static bool poll_job(encode_state *st, pending_job *job)
{
    char expression[160];
    snprintf(expression, sizeof(expression), "select id, status, data from Job where id is \"%s\"",
             job->job_id);
    ftrack_entity *entity = NULL;
    ftrack_error err;
    char *status = NULL;
    json_object *data = NULL;
    bool finished = false;
    if (ftrack_session_query_first(st->session, expression, &entity, &err) != FTRACK_OK ||
        !entity) {
        ftrack_plugin_log(st->ctx, FTRACK_LOG_WARNING, "cannot read job %s: %s", job->job_id,
                          entity ? err.message : "no such job");
    } else {
        ftrack_entity_get_string(entity, "status", &status, NULL);
        ftrack_entity_get(entity, "data", &data, NULL);
    }
    json_object *outputs = encode_job_outputs(data);
    remember_outputs(st, outputs);
    if (status && (strcmp(status, "done") == 0 || strcmp(status, "failed") == 0)) {
        char *why = strcmp(status, "failed") == 0 ? encode_job_error(data) : NULL;
        ftrack_plugin_log(st->ctx,
                          strcmp(status, "done") == 0 ? FTRACK_LOG_INFO : FTRACK_LOG_WARNING,
                          "job %s for component %s: %s%s%s", job->job_id, job->component_id, status,
                          why ? ": " : "", why ? why : "");
        publish_result(st, job->component_id, job->version_id, job->job_id, status, outputs, why);
        free(why);
        finished = true;
    } else if (now_seconds() >= job->deadline) {
        ftrack_plugin_log(st->ctx, FTRACK_LOG_WARNING,
                          "job %s for component %s: still %s after "
                          "%.0f s, no longer followed",
                          job->job_id, job->component_id, status ? status : "unknown",
                          st->cfg.job_timeout);
        publish_result(st, job->component_id, job->version_id, job->job_id, "timeout", outputs,
                       "the job did not finish in time");
        finished = true;
    }
    json_object_put(outputs);
    json_object_put(data);
    free(status);
    ftrack_entity_free(entity);
    return finished;
}

/* The first job due for a poll, or NULL; *wait gets the time to the next one. */
static pending_job *due_job(encode_state *st, double *wait)
{
    double now = now_seconds();
    *wait = FOLLOWER_TICK;
    for (pending_job *j = st->jobs; j; j = j->next) {
        if (j->next_poll <= now)
            return j;
        if (j->next_poll - now < *wait)
            *wait = j->next_poll - now;
    }
    return NULL;
}

static void unlink_job(encode_state *st, pending_job *job)
{
    for (pending_job **p = &st->jobs; *p; p = &(*p)->next) {
        if (*p == job) {
            *p = job->next;
            st->job_count--;
            pthread_cond_broadcast(&st->room);
            return;
        }
    }
}

static void *follower_main(void *arg)
{
    encode_state *st = arg;
    /* Results are published from here; they need no replies, so this thread stays unbound. */
    ftrack_session_set_record_operations(st->session, false);
    pthread_mutex_lock(&st->lock);
    while (!st->stop) {
        double wait = 0;
        pending_job *job = due_job(st, &wait);
        if (!job) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            double t = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + wait;
            until.tv_sec = (time_t)t;
            until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
            pthread_cond_timedwait(&st->cond, &st->lock, &until);
            continue;
        }
        /* Only this thread removes jobs, so `job` stays valid while we poll unlocked. */
        pthread_mutex_unlock(&st->lock);
        bool finished = poll_job(st, job);
        pthread_mutex_lock(&st->lock);
        if (finished) {
            unlink_job(st, job);
            job_free(job);
        } else {
            job->next_poll = now_seconds() + job->delay;
            job->delay = job->delay * 1.5 < POLL_MAX ? job->delay * 1.5 : POLL_MAX;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

static bool follow(encode_state *st, const char *job_id, const char *component_id,
                   const char *version_id)
{
    pending_job *job = calloc(1, sizeof(*job));
    if (!job)
        return false;
    job->job_id = strdup(job_id);
    job->component_id = strdup(component_id);
    job->version_id = version_id ? strdup(version_id) : NULL;
    if (!job->job_id || !job->component_id || (version_id && !job->version_id)) {
        job_free(job);
        return false;
    }
    double now = now_seconds();
    job->deadline = now + st->cfg.job_timeout;
    job->next_poll = now + POLL_FIRST;
    job->delay = POLL_FIRST;
    pthread_mutex_lock(&st->lock);
    job->next = st->jobs;
    st->jobs = job;
    st->job_count++;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
    return true;
}

/* Wait up to HOLD_MAX for fewer than max_jobs followed jobs; false when none ended in time. */
static bool wait_for_room(encode_state *st)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)HOLD_MAX;
    pthread_mutex_lock(&st->lock);
    while (!st->stop && st->job_count >= st->cfg.max_jobs)
        if (pthread_cond_timedwait(&st->room, &st->lock, &until) == ETIMEDOUT)
            break;
    bool room = st->job_count < st->cfg.max_jobs;
    pthread_mutex_unlock(&st->lock);
    return room;
}

/* ---- Deciding and encoding (the worker thread) ------------------------------------------------
 */

static char *string_attr(ftrack_entity *e, const char *attr)
{
    char *value = NULL;
    if (e)
        ftrack_entity_get_string(e, attr, &value, NULL);
    return value;
}

/* `select <attr> from <type> where id is "<id>"`, one string attribute, or NULL. */
static char *lookup(encode_state *st, const char *type, const char *id, const char *attr)
{
    if (!id || strchr(id, '"'))
        return NULL;
    char expression[256];
    snprintf(expression, sizeof(expression), "select id, %s from %s where id is \"%s\"", attr, type,
             id);
    ftrack_entity *e = NULL;
    if (ftrack_session_query_first(st->session, expression, &e, NULL) != FTRACK_OK)
        return NULL;
    char *value = string_attr(e, attr);
    ftrack_entity_free(e);
    return value;
}

/* The project of a version: AssetVersion → Asset → context → its project (or the context
 * itself when it is the project). */
static char *project_of_version(encode_state *st, const char *version_id)
{
    char *asset_id = lookup(st, "AssetVersion", version_id, "asset_id");
    char *context_id = lookup(st, "Asset", asset_id, "context_id");
    free(asset_id);
    char *project_id = lookup(st, "TypedContext", context_id, "project_id");
    if (!project_id) {
        char *name = lookup(st, "Project", context_id, "name");
        if (name)
            project_id = context_id ? strdup(context_id) : NULL;
        free(name);
    }
    free(context_id);
    return project_id;
}

/* encode_media reads the data from the server location; a component announced before its
 * upload finished is taken up again when its ComponentLocation is added. */
static bool in_server_location(encode_state *st, const char *component_id)
{
    char expression[256];
    snprintf(expression, sizeof(expression),
             "select id from ComponentLocation where component_id is \"%s\" and location_id is "
             "\"%s\"",
             component_id, FTRACK_SERVER_LOCATION_ID);
    ftrack_entity *e = NULL;
    ftrack_error err;
    if (ftrack_session_query_first(st->session, expression, &e, &err) != FTRACK_OK) {
        ftrack_plugin_log(st->ctx, FTRACK_LOG_WARNING, "cannot read the locations of %s: %s",
                          component_id, err.message);
        return false;
    }
    bool found = e != NULL;
    ftrack_entity_free(e);
    return found;
}

static bool project_allowed(encode_state *st, const char *version_id, const char *hint)
{
    if (!st->cfg.projects.count)
        return true;
    char *project_id = hint ? strdup(hint) : version_id ? project_of_version(st, version_id) : NULL;
    char *name = project_id ? lookup(st, "Project", project_id, "name") : NULL;
    bool ok = project_id && encode_project_matches(&st->cfg, project_id, name);
    free(project_id);
    free(name);
    return ok;
}

/* Encode one component (an entity with id, name, file_type, version_id). True when a job was
 * started. `explicit`: asked for through the action, so an earlier trigger does not stop it. */
static bool consider(encode_state *st, ftrack_entity *component, const char *project_hint,
                     bool explicit_request)
{
    const char *id = ftrack_entity_id(component);
    if (encode_registry_has(&st->outputs, id))
        return false;
    if (!explicit_request && encode_registry_has(&st->handled, id))
        return false;
    char *name = string_attr(component, "name");
    char *file_type = string_attr(component, "file_type");
    char *version_id = string_attr(component, "version_id");
    bool started = false;
    const char *refusal = encode_component_refusal(&st->cfg, name, file_type);
    if (!refusal && !in_server_location(st, id))
        refusal = "its data is not in the server location yet";
    if (!refusal && !project_allowed(st, version_id, project_hint))
        refusal = "its project is not listed";
    /* Full: hold this event until a followed job ends; still full, its delivery fails and the
     * host retries it later. New media is never dropped for want of a slot. */
    if (!refusal && !wait_for_room(st)) {
        st->held = true;
        refusal = "held: encode_media_max_jobs jobs are being followed";
    }
    if (refusal) {
        ftrack_plugin_log(st->ctx, FTRACK_LOG_DEBUG, "component %s (%s%s) skipped: %s", id,
                          name ? name : "?", file_type ? file_type : "", refusal);
        goto done;
    }
    encode_registry_add(&st->handled, id);
    ftrack_entity *job = NULL;
    ftrack_error err;
    if (ftrack_session_encode_media(st->session, id, version_id, st->cfg.keep_original, &job,
                                    &err) != FTRACK_OK) {
        ftrack_plugin_log(st->ctx, FTRACK_LOG_ERROR, "encode_media of component %s failed: %s", id,
                          err.message);
        publish_result(st, id, version_id, NULL, "failed", NULL, err.message);
        goto done;
    }
    ftrack_plugin_log(st->ctx, FTRACK_LOG_INFO, "encoding component %s (%s%s): job %s", id,
                      name ? name : "?", file_type ? file_type : "", ftrack_entity_id(job));
    started = follow(st, ftrack_entity_id(job), id, version_id);
    if (!started)
        ftrack_plugin_log(st->ctx, FTRACK_LOG_ERROR, "out of memory following job %s",
                          ftrack_entity_id(job));
    ftrack_entity_free(job);
done:
    free(name);
    free(file_type);
    free(version_id);
    return started;
}

#define COMPONENT_FIELDS "select id, name, file_type, version_id from FileComponent where "

static int consider_query(encode_state *st, const char *condition, const char *id,
                          const char *project_hint, bool explicit_request)
{
    if (strchr(id, '"'))
        return 0;
    char expression[256];
    snprintf(expression, sizeof(expression), COMPONENT_FIELDS "%s is \"%s\"", condition, id);
    ftrack_entity_list *list = NULL;
    ftrack_error err;
    if (ftrack_session_query_all(st->session, expression, &list, &err) != FTRACK_OK) {
        ftrack_plugin_log(st->ctx, FTRACK_LOG_WARNING, "cannot read components (%s %s): %s",
                          condition, id, err.message);
        return 0;
    }
    int started = 0;
    for (size_t i = 0; i < list->count; i++)
        started += consider(st, list->items[i], project_hint, explicit_request) ? 1 : 0;
    ftrack_entity_list_free(list);
    return started;
}

static int consider_candidates(encode_state *st, encode_candidates *c, bool explicit_request)
{
    int started = 0;
    for (size_t i = 0; i < c->count; i++) {
        encode_candidate *cand = &c->items[i];
        if (cand->kind == ENCODE_CANDIDATE_LOCATION) {
            char *component_id = lookup(st, "ComponentLocation", cand->id, "component_id");
            if (component_id && !encode_registry_has(&st->outputs, component_id) &&
                (explicit_request || !encode_registry_has(&st->handled, component_id)))
                started +=
                    consider_query(st, "id", component_id, cand->project_id, explicit_request);
            free(component_id);
        } else if (cand->kind == ENCODE_CANDIDATE_COMPONENT) {
            if (encode_registry_has(&st->outputs, cand->id) ||
                (!explicit_request && encode_registry_has(&st->handled, cand->id)))
                continue;
            started += consider_query(st, "id", cand->id, cand->project_id, explicit_request);
        } else {
            started +=
                consider_query(st, "version_id", cand->id, cand->project_id, explicit_request);
        }
    }
    return started;
}

/* ---- Callbacks --------------------------------------------------------------------------------
 */

/* After an automatic trigger: an event that found no free slot fails its delivery, so the
 * host's failure policy brings it back (and dead-letters it in the end) instead of the media
 * going unencoded. */
static void fail_if_held(encode_state *st, const ftrack_delivery *delivery)
{
    if (!st->held)
        return;
    st->held = false;
    ftrack_delivery_fail(delivery,
                         "held: %d encode jobs are being followed (encode_media_max_jobs); the "
                         "event is retried later",
                         st->cfg.max_jobs);
}

static json_object *on_update(ftrack_event *event, const ftrack_delivery *delivery, void *ud)
{
    encode_candidates c = {0};
    encode_candidates_from_update(ftrack_event_data(event), &c);
    consider_candidates(ud, &c, false);
    encode_candidates_clear(&c);
    fail_if_held(ud, delivery);
    return NULL;
}

static json_object *on_component_added(ftrack_event *event, const ftrack_delivery *delivery,
                                       void *ud)
{
    encode_candidates c = {0};
    encode_candidates_from_component_added(ftrack_event_data(event), &c);
    consider_candidates(ud, &c, false);
    encode_candidates_clear(&c);
    fail_if_held(ud, delivery);
    return NULL;
}

static json_object *on_discover(ftrack_event *event, const ftrack_delivery *delivery, void *ud)
{
    (void)delivery;
    (void)ud;
    return encode_discover_reply(ftrack_event_data(event));
}

static json_object *on_launch(ftrack_event *event, const ftrack_delivery *delivery, void *ud)
{
    (void)delivery;
    encode_candidates c = {0};
    encode_candidates_from_selection(ftrack_event_data(event), &c);
    int started = consider_candidates(ud, &c, true);
    size_t versions = c.count;
    encode_candidates_clear(&c);
    char message[160];
    if (started > 0)
        snprintf(message, sizeof(message), "Encoding %d component(s) of %zu version(s).", started,
                 versions);
    else
        snprintf(message, sizeof(message), "Nothing to encode in the %zu selected version(s).",
                 versions);
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "success", json_object_new_boolean(started > 0));
    json_object_object_add(reply, "message", json_object_new_string(message));
    return reply;
}

/* ---- Register / unregister --------------------------------------------------------------------
 */

static void state_free(encode_state *st)
{
    if (!st)
        return;
    if (st->follower_started) {
        pthread_mutex_lock(&st->lock);
        st->stop = true;
        pthread_cond_signal(&st->cond);
        pthread_cond_broadcast(&st->room);
        pthread_mutex_unlock(&st->lock);
        pthread_join(st->follower, NULL);
    }
    int abandoned = 0;
    while (st->jobs) {
        pending_job *next = st->jobs->next;
        job_free(st->jobs);
        st->jobs = next;
        abandoned++;
    }
    if (abandoned)
        ftrack_plugin_log(st->ctx, FTRACK_LOG_WARNING, "stopping with %d job(s) still running",
                          abandoned);
    encode_registry_destroy(&st->handled);
    encode_registry_destroy(&st->outputs);
    encode_config_clear(&st->cfg);
    pthread_cond_destroy(&st->cond);
    pthread_cond_destroy(&st->room);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static ftrack_status subscribe(encode_state *st, const char *expression, ftrack_hub_callback cb,
                               bool ignore_own_user, ftrack_error *err)
{
    ftrack_subscribe_options o;
    ftrack_subscribe_options_init(&o);
    o.ignore_own_user = ignore_own_user;
    return ftrack_hub_subscribe(ftrack_session_hub(st->session), expression, cb, st, &o, NULL, err);
}

static ftrack_status encode_register(ftrack_plugin_context *ctx, ftrack_session *session,
                                     json_object *arguments, void **state, ftrack_error *err)
{
    encode_state *st = calloc(1, sizeof(*st));
    if (!st)
        return FTRACK_ERR_NO_MEMORY;
    st->ctx = ctx;
    st->session = session;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->cond, NULL);
    pthread_cond_init(&st->room, NULL);
    ftrack_status rc = encode_config_from_args(arguments, &st->cfg, err);
    if (rc == FTRACK_OK && (!encode_registry_init(&st->handled, REGISTRY_CAPACITY) ||
                            !encode_registry_init(&st->outputs, REGISTRY_CAPACITY)))
        rc = FTRACK_ERR_NO_MEMORY;
    bool own = st->cfg.ignore_own_user;
    if (rc == FTRACK_OK)
        rc = subscribe(st, "topic=ftrack.update", on_update, own, err);
    if (rc == FTRACK_OK)
        rc = subscribe(st, "topic=ftrack.location.component-added", on_component_added, own, err);
    if (rc == FTRACK_OK && st->cfg.offer_action)
        rc = subscribe(st, "topic=ftrack.action.discover", on_discover, false, err);
    if (rc == FTRACK_OK && st->cfg.offer_action)
        rc = subscribe(
            st, "topic=ftrack.action.launch and data.actionIdentifier=" ENCODE_ACTION_IDENTIFIER,
            on_launch, false, err);
    if (rc == FTRACK_OK) {
        int e = pthread_create(&st->follower, NULL, follower_main, st);
        st->follower_started = e == 0;
        if (e != 0) {
            rc = FTRACK_ERR_INTERNAL;
            if (err) {
                err->code = rc;
                snprintf(err->message, sizeof(err->message), "cannot start the job follower: %s",
                         strerror(e));
            }
        }
    }
    if (rc != FTRACK_OK) {
        state_free(st);
        return rc;
    }
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "encoding %zu file type(s), %s, %s; results on %s%s",
                      st->cfg.file_types.count,
                      st->cfg.component_names.count ? "listed component names" : "any name",
                      st->cfg.projects.count ? "listed projects" : "every project",
                      st->cfg.result_topic, st->cfg.offer_action ? "; action offered" : "");
    *state = st;
    return FTRACK_OK;
}

static void encode_unregister(ftrack_plugin_context *ctx, void *state)
{
    (void)ctx;
    state_free(state);
}

FTRACK_PLUGIN("encode_media", "1.0.0",
              "Encodes new media for review (encode_media) and publishes each job's result",
              encode_params, encode_register, encode_unregister)
