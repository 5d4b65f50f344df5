/* SPDX-License-Identifier: Apache-2.0 */
/* The session: open, close, getters, calls and per-thread state (protocol §1). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "plugin/discover.h"
#include "session/session_internal.h"

#define MIN_SERVER_MAJOR 3
#define MIN_SERVER_MINOR 3
#define MIN_SERVER_PATCH 11
/* The session's memory cache is bounded: a host's session lives as long as the daemon, and
 * everything in it can be fetched again. */
#define MEMORY_CACHE_MAX_ENTRIES 65536

/* ---- Per-thread state -------------------------------------------------------------------
 *
 * Each thread gets a process-unique id on first use (pthread_t values are reused, which would
 * hand a new thread a dead one's recorded operations). A process-wide key with a destructor
 * lets an exiting thread drop its state from every live session, so the lists stay as long as
 * the number of threads alive. Lock order: live_lock, then a session's threads_lock. */

static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static ftrack_session *live_sessions;
static atomic_uint_fast64_t next_thread_id = 1;
static _Thread_local uint64_t this_thread_id;

static uint64_t current_thread_id(void)
{
    if (this_thread_id == 0)
        this_thread_id = atomic_fetch_add(&next_thread_id, 1);
    return this_thread_id;
}

static void thread_state_free(fti_thread_state *state)
{
    if (!state)
        return;
    json_object_put(state->recorded_operations);
    free(state);
}

static fti_thread_state *unlink_state(ftrack_session *session, uint64_t id)
{
    for (fti_thread_state **p = &session->threads; *p; p = &(*p)->next) {
        if ((*p)->thread_id == id) {
            fti_thread_state *found = *p;
            *p = found->next;
            return found;
        }
    }
    return NULL;
}

static void on_thread_exit(void *value)
{
    (void)value;
    uint64_t id = this_thread_id;
    pthread_mutex_lock(&live_lock);
    for (ftrack_session *s = live_sessions; s; s = s->next_live) {
        pthread_mutex_lock(&s->threads_lock);
        fti_thread_state *state = unlink_state(s, id);
        pthread_mutex_unlock(&s->threads_lock);
        thread_state_free(state);
    }
    pthread_mutex_unlock(&live_lock);
}

static void make_exit_key(void)
{
    pthread_key_create(&exit_key, on_thread_exit);
}

static void register_live(ftrack_session *session)
{
    pthread_once(&exit_key_once, make_exit_key);
    pthread_mutex_lock(&live_lock);
    session->next_live = live_sessions;
    live_sessions = session;
    pthread_mutex_unlock(&live_lock);
}

static void unregister_live(ftrack_session *session)
{
    pthread_mutex_lock(&live_lock);
    for (ftrack_session **p = &live_sessions; *p; p = &(*p)->next_live) {
        if (*p == session) {
            *p = session->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

static fti_thread_state *find_state(ftrack_session *session, uint64_t id)
{
    for (fti_thread_state *s = session->threads; s; s = s->next) {
        if (s->thread_id == id)
            return s;
    }
    return NULL;
}

fti_thread_state *fti_session_thread_state(ftrack_session *session)
{
    uint64_t id = current_thread_id();
    pthread_mutex_lock(&session->threads_lock);
    fti_thread_state *state = find_state(session, id);
    pthread_mutex_unlock(&session->threads_lock);
    if (state)
        return state;

    state = calloc(1, sizeof(*state));
    json_object *ops = json_object_new_array();
    if (!state || !ops) {
        free(state);
        json_object_put(ops);
        return NULL;
    }
    state->thread_id = id;
    state->auto_populate = session->default_auto_populate;
    state->record_operations = session->default_record_operations;
    state->recorded_operations = ops;
    /* Only this thread adds its own id, so no one raced us to it. */
    pthread_mutex_lock(&session->threads_lock);
    state->next = session->threads;
    session->threads = state;
    pthread_mutex_unlock(&session->threads_lock);
    pthread_setspecific(exit_key, (void *)1);
    return state;
}

json_object *fti_session_recorded_operations(ftrack_session *session)
{
    fti_thread_state *state = fti_session_thread_state(session);
    return state ? state->recorded_operations : NULL;
}

void ftrack_session_set_auto_populate(ftrack_session *session, bool value)
{
    fti_thread_state *state = session ? fti_session_thread_state(session) : NULL;
    if (state)
        state->auto_populate = value;
}

bool ftrack_session_auto_populate(ftrack_session *session)
{
    if (!session)
        return false;
    fti_thread_state *state = fti_session_thread_state(session);
    return state ? state->auto_populate : session->default_auto_populate;
}

void ftrack_session_set_record_operations(ftrack_session *session, bool value)
{
    fti_thread_state *state = session ? fti_session_thread_state(session) : NULL;
    if (state)
        state->record_operations = value;
}

bool ftrack_session_record_operations(ftrack_session *session)
{
    if (!session)
        return false;
    fti_thread_state *state = fti_session_thread_state(session);
    return state ? state->record_operations : session->default_record_operations;
}

/* ---- Version check ------------------------------------------------------------------------ */

/* Parse "<digits>.<digits>.<digits>" at p; false when p does not start one. */
static bool parse_triple(const char *p, long v[3])
{
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p))
            return false;
        char *end;
        v[i] = strtol(p, &end, 10);
        p = end;
        if (i < 2 && *p++ != '.')
            return false;
    }
    return true;
}

/* The first \d+\.\d+\.\d+ in text, as Python's re.search finds it. */
static bool find_version(const char *text, long v[3])
{
    for (const char *p = text; *p; p++) {
        if (parse_triple(p, v))
            return true;
    }
    return false;
}

ftrack_status fti_session_check_version(json_object *server_information, ftrack_error *err)
{
    json_object *version = NULL;
    if (!json_object_is_type(server_information, json_type_object) ||
        !json_object_object_get_ex(server_information, "version", &version) ||
        !json_object_is_type(version, json_type_string) || json_object_get_string_len(version) == 0)
        return fti_error(err, FTRACK_ERR_COMPATIBILITY, "Could not determine server version.");
    const char *text = json_object_get_string(version);
    if (strcmp(text, "dev") == 0)
        return FTRACK_OK;
    long v[3];
    if (!find_version(text, v))
        return FTRACK_OK; /* e.g. "3.4": accepted, as the Python client does */
    const long min[3] = {MIN_SERVER_MAJOR, MIN_SERVER_MINOR, MIN_SERVER_PATCH};
    for (int i = 0; i < 3; i++) {
        if (v[i] > min[i])
            return FTRACK_OK;
        if (v[i] < min[i])
            return fti_error(err, FTRACK_ERR_COMPATIBILITY,
                             "Server version %s incompatible with this version of the API "
                             "which requires a server version >= %d.%d.%d.",
                             text, MIN_SERVER_MAJOR, MIN_SERVER_MINOR, MIN_SERVER_PATCH);
    }
    return FTRACK_OK;
}

/* ---- Calls -------------------------------------------------------------------------------- */

ftrack_status fti_session_check_open(const ftrack_session *session, ftrack_error *err)
{
    if (!session)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No session.");
    if (atomic_load(&session->closed))
        return fti_error(err, FTRACK_ERR_CLOSED, "Connection closed.");
    return FTRACK_OK;
}

ftrack_status ftrack_session_call(ftrack_session *session, json_object *operations,
                                  json_object **results, ftrack_error *err)
{
    if (results)
        *results = NULL;
    ftrack_status status = fti_session_check_open(session, err);
    if (status != FTRACK_OK)
        return status;
    return fti_http_call(session->http, operations, results, err);
}

json_object *fti_operation_new(const char *action)
{
    json_object *op = json_object_new_object();
    if (op)
        json_object_object_add(op, "action", json_object_new_string(action));
    return op;
}

ftrack_status fti_session_call_one(ftrack_session *session, json_object *op, json_object **results,
                                   ftrack_error *err)
{
    *results = NULL;
    json_object *ops = json_object_new_array();
    if (!op || !ops) {
        json_object_put(op);
        json_object_put(ops);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    }
    json_object_array_add(ops, op);
    ftrack_status status = ftrack_session_call(session, ops, results, err);
    json_object_put(ops);
    return status;
}

static ftrack_status query_server_information(ftrack_session *session, ftrack_error *err)
{
    json_object *op = fti_operation_new("query_server_information");
    if (!op)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object *results = NULL;
    ftrack_status status = fti_session_call_one(session, op, &results, err);
    if (status != FTRACK_OK)
        return status;
    json_object *info = json_object_get(json_object_array_get_idx(results, 0));
    json_object_put(results);
    status = fti_session_check_version(info, err);
    if (status != FTRACK_OK) {
        json_object_put(info);
        return status;
    }
    pthread_mutex_lock(&session->info_lock);
    json_object_put(session->server_information);
    session->server_information = info;
    pthread_mutex_unlock(&session->info_lock);
    return FTRACK_OK;
}

/* ---- Open / close --------------------------------------------------------------------------- */

static void free_headers(char **headers)
{
    for (char **h = headers; h && *h; h++)
        free(*h);
    free(headers);
}

/* The custom headers plus ftrack-strict-api, shared by the /api client and the hub. */
static ftrack_status build_headers(ftrack_session *session, const ftrack_session_options *o,
                                   ftrack_error *err)
{
    size_t n = 0;
    for (const char *const *h = o->headers; h && *h; h++) {
        if (!fti_http_header_valid(*h))
            return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                             "Invalid extra header (expected \"Name: value\" on one line).");
        n++;
    }
    char **headers = calloc(n + 2, sizeof(char *));
    if (!headers)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    for (size_t i = 0; i < n; i++) {
        headers[i] = fti_strdup(o->headers[i]);
        if (!headers[i]) {
            free_headers(headers);
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
        }
    }
    headers[n] = fti_strdup(o->strict_api ? "ftrack-strict-api: true" : "ftrack-strict-api: false");
    if (!headers[n]) {
        free_headers(headers);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    }
    session->headers = headers;
    return FTRACK_OK;
}

static ftrack_status create_http(ftrack_session *session, const ftrack_session_options *o,
                                 ftrack_error *err)
{
    fti_http_config config = {
        .server_url = session->server_url,
        .api_user = session->api_user,
        .api_key = session->api_key,
        .ca_bundle = o->ca_bundle,
        .insecure_skip_verify = o->insecure_skip_verify,
        .strict_api = o->strict_api,
        .headers = o->headers,
        .timeout = o->timeout,
        .max_retries = o->max_retries,
    };
    return fti_http_new(&config, &session->http, err);
}

static ftrack_status create_hub(ftrack_session *session, const ftrack_session_options *o,
                                ftrack_error *err)
{
    ftrack_hub_options hub_options;
    ftrack_hub_options_init(&hub_options);
    hub_options.server_url = session->server_url;
    hub_options.api_user = session->api_user;
    hub_options.api_key = session->api_key;
    hub_options.ca_bundle = o->ca_bundle;
    hub_options.insecure_skip_verify = o->insecure_skip_verify;
    hub_options.headers = (const char *const *)session->headers;
    return ftrack_hub_new(&hub_options, &session->hub, err);
}

static ftrack_status copy_plugin_arguments(ftrack_session *session, const ftrack_session_options *o,
                                           ftrack_error *err)
{
    if (o->plugin_arguments && !json_object_is_type(o->plugin_arguments, json_type_object))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "plugin_arguments must be a JSON object.");
    session->plugin_arguments = NULL;
    if (o->plugin_arguments &&
        json_object_deep_copy(o->plugin_arguments, &session->plugin_arguments, NULL) != 0)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory copying plugin_arguments.");
    if (!session->plugin_arguments)
        session->plugin_arguments = json_object_new_object();
    return session->plugin_arguments ? FTRACK_OK
                                     : fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
}

static ftrack_status copy_settings(ftrack_session *session, const ftrack_session_options *o,
                                   ftrack_error *err)
{
    ftrack_status status =
        ftrack_session_resolve(o, &session->server_url, &session->api_key, &session->api_user, err);
    if (status != FTRACK_OK)
        return status;
    session->plugin_paths = fti_resolve_plugin_paths(o);
    session->schema_cache_path = fti_resolve_schema_cache_path(o);
    if ((!session->plugin_paths && (o->plugin_paths || getenv("FTRACK_EVENT_PLUGIN_PATH"))) ||
        (!session->schema_cache_path && !o->schema_cache_disabled))
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    session->cache = o->cache;
    session->key_maker = o->key_maker;
    session->default_auto_populate = o->auto_populate;
    session->default_record_operations = o->record_operations;
    session->check_server = o->check_server;
    status = copy_plugin_arguments(session, o, err);
    if (status != FTRACK_OK)
        return status;
    return build_headers(session, o, err);
}

/* Python's layering (protocol §9): our memory cache on top, the user's beneath it. */
static ftrack_status create_caches(ftrack_session *session, ftrack_error *err)
{
    if (!session->key_maker) {
        ftrack_status status = ftrack_string_key_maker_new(&session->own_key_maker, err);
        if (status != FTRACK_OK)
            return status;
        session->key_maker = session->own_key_maker;
    }
    ftrack_status status = ftrack_memory_cache_new(MEMORY_CACHE_MAX_ENTRIES, &session->memory_cache,
                                                   err);
    if (status != FTRACK_OK)
        return status;
    ftrack_cache *layers[2] = {session->memory_cache, session->cache};
    return ftrack_layered_cache_new(layers, session->cache ? 2 : 1, false,
                                    &session->layered_cache, err);
}

static ftrack_status start(ftrack_session *session, const ftrack_session_options *o,
                           ftrack_error *err)
{
    ftrack_status status = copy_settings(session, o, err);
    if (status == FTRACK_OK)
        status = create_caches(session, err);
    if (status == FTRACK_OK)
        status = create_http(session, o, err);
    if (status == FTRACK_OK)
        status = create_hub(session, o, err);
    if (status == FTRACK_OK && o->check_server)
        status = query_server_information(session, err);
    if (status == FTRACK_OK && o->check_server && !o->lazy_schemas)
        status = fti_session_load_schemas(session, err);
    if (status == FTRACK_OK && o->auto_connect_event_hub)
        status = ftrack_hub_connect(session->hub, err);
    if (status == FTRACK_OK && o->discover_plugins) {
        status = fti_plugin_discover_for_session(session, session->plugin_paths,
                                                 session->plugin_arguments, err);
        if (status != FTRACK_OK)
            fti_error_prefix(err, "Plugin discovery failed");
        session->plugins_discovered = status == FTRACK_OK;
    }
    return status;
}

ftrack_status ftrack_session_open(const ftrack_session_options *options, ftrack_session **out,
                                  ftrack_error *err)
{
    if (!out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No place for the session.");
    *out = NULL;
    ftrack_session_options o;
    fti_session_options_copy(options, &o);
    ftrack_session *session = calloc(1, sizeof(*session));
    if (!session)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    pthread_mutex_init(&session->info_lock, NULL);
    pthread_mutex_init(&session->schema_lock, NULL);
    pthread_mutex_init(&session->threads_lock, NULL);
    pthread_mutex_init(&session->cache_lock, NULL);
    atomic_init(&session->closed, false);
    register_live(session);
    ftrack_status status = start(session, &o, err);
    if (status != FTRACK_OK) {
        if (session->api_key)
            fti_error_scrub(err, session->api_key);
        ftrack_session_free(session);
        return status;
    }
    *out = session;
    return FTRACK_OK;
}

void ftrack_session_close(ftrack_session *session)
{
    if (!session)
        return;
    if (atomic_exchange(&session->closed, true)) {
        ftrack_log(FTRACK_LOG_DEBUG, "session", "Session already closed.");
        return;
    }
    /* Plugins go first, while the hub they subscribed on is still whole. */
    if (session->plugins_discovered)
        fti_plugin_release_for_session(session);
    session->plugins_discovered = false;
    if (session->hub)
        ftrack_hub_disconnect(session->hub, true, NULL);
    /* As Python's close(): only the top (memory) layer is cleared; the user's cache keeps
     * what it holds for the next session. */
    if (session->memory_cache)
        ftrack_cache_clear(session->memory_cache, NULL, NULL);
}

bool ftrack_session_closed(const ftrack_session *session)
{
    return !session || atomic_load(&session->closed);
}

static void wipe_free(char *secret)
{
    if (secret)
        explicit_bzero(secret, strlen(secret));
    free(secret);
}

void ftrack_session_free(ftrack_session *session)
{
    if (!session)
        return;
    ftrack_session_close(session);
    unregister_live(session);
    ftrack_hub_free(session->hub);
    fti_http_free(session->http);
    /* No other thread may use the session now, so freeing their states is safe. */
    for (fti_thread_state *s = session->threads; s;) {
        fti_thread_state *next = s->next;
        thread_state_free(s);
        s = next;
    }
    /* The layered cache borrows its layers, so it goes first. */
    ftrack_cache_free(session->layered_cache);
    ftrack_cache_free(session->memory_cache);
    ftrack_key_maker_free(session->own_key_maker);
    json_object_put(session->server_information);
    json_object_put(session->schemas);
    json_object_put(session->plugin_arguments);
    free_headers(session->headers);
    free(session->server_url);
    free(session->api_user);
    wipe_free(session->api_key);
    free(session->plugin_paths);
    free(session->schema_cache_path);
    pthread_mutex_destroy(&session->info_lock);
    pthread_mutex_destroy(&session->schema_lock);
    pthread_mutex_destroy(&session->threads_lock);
    pthread_mutex_destroy(&session->cache_lock);
    free(session);
}

/* ---- Getters -------------------------------------------------------------------------------- */

const char *ftrack_session_server_url(const ftrack_session *session)
{
    return session ? session->server_url : NULL;
}

const char *ftrack_session_api_user(const ftrack_session *session)
{
    return session ? session->api_user : NULL;
}

ftrack_cache *ftrack_session_cache(ftrack_session *session)
{
    return session ? session->layered_cache : NULL;
}

ftrack_hub *ftrack_session_hub(ftrack_session *session)
{
    return session ? session->hub : NULL;
}

/* Deep copies read the source only, but take the lock so a copy never sees a half-set field. */
static json_object *copy_locked(ftrack_session *session, json_object *const *field)
{
    json_object *copy = NULL;
    pthread_mutex_lock(&session->info_lock);
    if (*field && json_object_deep_copy(*field, &copy, NULL) != 0)
        copy = NULL;
    pthread_mutex_unlock(&session->info_lock);
    return copy;
}

json_object *ftrack_session_server_information(ftrack_session *session)
{
    return session ? copy_locked(session, &session->server_information) : NULL;
}

json_object *ftrack_session_plugin_arguments(ftrack_session *session)
{
    return session ? copy_locked(session, &session->plugin_arguments) : NULL;
}
