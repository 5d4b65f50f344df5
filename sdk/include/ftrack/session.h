/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_SESSION_H
#define FTRACK_SESSION_H
/*
 * A session: the connection to one ftrack server (protocol §1-§3).
 *
 * Resolution (protocol §1.1): each of server URL, API key and user comes from the options,
 * else the environment (FTRACK_SERVER; FTRACK_API_KEY then FTRACK_APIKEY; FTRACK_API_USER),
 * the user finally from the login name. A missing value is FTRACK_ERR_CONFIG with a message
 * naming the option and the variable. Trailing slashes of the URL are stripped.
 *
 * Threads. A session may be used from many threads at once. The auto-populate and
 * record-operations flags and the recorded operations belong to the calling thread, so one
 * thread's commit never sends another thread's operations.
 *
 * Ownership. Options are read during ftrack_session_open() and copied. JSON passed in is
 * borrowed unless a function says "takes"; JSON handed out is new and owned by the caller.
 */
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/hub.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ftrack_session ftrack_session;
struct ftrack_cache;      /* ftrack/cache.h */
struct ftrack_key_maker;  /* ftrack/cache.h */

typedef struct ftrack_session_options {
    size_t size;                   /* sizeof(ftrack_session_options) */
    const char *server_url;        /* NULL: FTRACK_SERVER */
    const char *api_key;           /* NULL: FTRACK_API_KEY, then FTRACK_APIKEY */
    const char *api_user;          /* NULL: FTRACK_API_USER, then the login user */
    bool auto_populate;            /* default true (initial value for every thread) */
    bool record_operations;        /* default true (initial value for every thread) */
    const char *plugin_paths;      /* ':'-separated; NULL: FTRACK_EVENT_PLUGIN_PATH */
    bool discover_plugins;         /* default true; a host turns it off and loads plugins itself */
    json_object *plugin_arguments; /* object, borrowed and copied; NULL: {} */
    const char *schema_cache_path; /* folder; NULL: FTRACK_API_SCHEMA_CACHE_PATH, else a temp dir */
    bool schema_cache_disabled;    /* always fetch schemas */
    struct ftrack_cache *cache;    /* placed beneath the session's memory cache; borrowed */
    struct ftrack_key_maker *key_maker; /* NULL: the string key maker; borrowed */
    bool auto_connect_event_hub;   /* default false */
    bool check_server;             /* default true: query_server_information at open */
    double timeout;                /* seconds per /api request; 0 → 60 */
    const char *ca_bundle;         /* NULL: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE,
                                      else the system's CAs */
    bool insecure_skip_verify;     /* default false; true (tests only) logs a warning */
    bool strict_api;               /* value of the ftrack-strict-api header; default false */
    const char *const *headers;    /* extra "Name: value" headers, NULL-terminated, or NULL */
    int max_retries;               /* retries for 429/503/unsent requests; < 0 → 3 */
    /* default false: load the schemas at open, as ftrack's Python client does. true: load them
     * on first use (the first query, create or entity lookup), so a long-running process that
     * may never query (ftrack-host) does not keep them in memory. Added after max_retries;
     * callers built against an older header get false. */
    bool lazy_schemas;
} ftrack_session_options;

FTRACK_API void ftrack_session_options_init(ftrack_session_options *options);

/* Resolve the three connection values as ftrack_session_open() would, without opening
 * anything. Each out pointer receives a string to free with ftrack_free(). */
FTRACK_API ftrack_status ftrack_session_resolve(const ftrack_session_options *options,
                                                char **server_url, char **api_key,
                                                char **api_user, ftrack_error *err);

/* Open a session: resolve, then (with check_server) ask query_server_information and check
 * the version (>= 3.3.11 or "dev"), then load schemas (unless lazy_schemas), then (with
 * auto_connect_event_hub) start connecting the event hub in the background. */
FTRACK_API ftrack_status ftrack_session_open(const ftrack_session_options *options,
                                             ftrack_session **out, ftrack_error *err);
/* Idempotent. Later calls that need the server fail with FTRACK_ERR_CLOSED. */
FTRACK_API void ftrack_session_close(ftrack_session *session);
/* Close and free. NULL is accepted. */
FTRACK_API void ftrack_session_free(ftrack_session *session);
FTRACK_API bool ftrack_session_closed(const ftrack_session *session);

/* Borrowed strings, valid for the session's life. */
FTRACK_API const char *ftrack_session_server_url(const ftrack_session *session);
FTRACK_API const char *ftrack_session_api_user(const ftrack_session *session);
/* The session's event hub (created at open, connected only when asked). Borrowed. */
FTRACK_API ftrack_hub *ftrack_session_hub(ftrack_session *session);
/* A new copy of query_server_information's result (NULL before it was asked). */
FTRACK_API json_object *ftrack_session_server_information(ftrack_session *session);
/* A new copy of the plugin arguments given at open (an object). */
FTRACK_API json_object *ftrack_session_plugin_arguments(ftrack_session *session);

/* Send one batch of operations (a JSON array, borrowed) to {server}/api and store the
 * results (a new JSON array, same order) in *results. Server error objects become
 * FTRACK_ERR_SERVER (FTRACK_ERR_AUTH for credential errors) with err->server_exception and
 * err->server_content; a body that is not JSON is FTRACK_ERR_BAD_RESPONSE; a timeout
 * FTRACK_ERR_TIMEOUT; a refused connection FTRACK_ERR_NETWORK. */
FTRACK_API ftrack_status ftrack_session_call(ftrack_session *session, json_object *operations,
                                             json_object **results, ftrack_error *err);

/* The session's cache: a layered cache with the session's own memory cache on top and the
 * user's cache (options.cache) beneath it. Borrowed, valid until the session is freed. */
FTRACK_API struct ftrack_cache *ftrack_session_cache(ftrack_session *session);

/* Per-thread flags (see above). */
FTRACK_API void ftrack_session_set_auto_populate(ftrack_session *session, bool value);
FTRACK_API bool ftrack_session_auto_populate(ftrack_session *session);
FTRACK_API void ftrack_session_set_record_operations(ftrack_session *session, bool value);
FTRACK_API bool ftrack_session_record_operations(ftrack_session *session);

/* ---- Authentication on its own (the SDK's SessionAuthentication) ------------------------ */

/* The two authentication headers (`ftrack-api-key`, `ftrack-user`) as a new JSON object of
 * header name to value, e.g. {"ftrack-api-key": "...", "ftrack-user": "..."}; add them to any
 * request to the server to authenticate it. NULL strings count as empty. The caller owns the
 * object (json_object_put); it holds the key: do not log it. NULL when out of memory. */
FTRACK_API json_object *ftrack_auth_headers(const char *api_user, const char *api_key);

#ifdef __cplusplus
}
#endif
#endif
