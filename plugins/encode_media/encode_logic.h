/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ENCODE_MEDIA_LOGIC_H
#define ENCODE_MEDIA_LOGIC_H
/*
 * The encode-media trigger's logic, apart from the plugin glue (plugin.c) so unit tests can
 * drive it without a host: configuration, rules, reading candidates out of events, the
 * bookkeeping that keeps the plugin from re-triggering on its own outputs, and the events and
 * replies it builds.
 *
 * Threads. The config is read-only after parsing. An encode_registry is shared by the plugin's
 * worker thread and its job follower, so it locks; everything else runs on one thread.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/common.h>

#define ENCODE_ACTION_IDENTIFIER "ftrack.host.encode-media"
#define ENCODE_DEFAULT_RESULT_TOPIC "ftrack.host.encode-media.result"
#define ENCODE_OUTPUT_PREFIX "ftrackreview-"
#define ENCODE_MAX_JOBS_LIMIT 1000
#define ENCODE_TIMEOUT_LIMIT 86400.0

typedef struct encode_list {
    char **items; /* owned */
    size_t count;
} encode_list;

typedef struct encode_config {
    encode_list file_types;      /* lower case, each with its leading dot; empty: any */
    encode_list component_names; /* exact names; empty: any */
    encode_list projects;        /* project names or ids; empty: any */
    bool keep_original;
    double job_timeout; /* seconds a job is followed */
    char *result_topic; /* owned */
    bool offer_action;
    bool ignore_own_user;
    int max_jobs; /* jobs followed at once */
} encode_config;

/* Read the plugin's arguments (borrowed). Lists are comma-separated strings or JSON arrays of
 * strings. Bad values are FTRACK_ERR_CONFIG naming the parameter. */
ftrack_status encode_config_from_args(json_object *args, encode_config *cfg, ftrack_error *err);
void encode_config_clear(encode_config *cfg);

/* ---- Rules ------------------------------------------------------------------------------------
 */

/* Why a component was not taken, or NULL when it matches the file type and name rules
 * (project rules are checked apart, they need queries). Never matches an encode output. */
const char *encode_component_refusal(const encode_config *cfg, const char *name,
                                     const char *file_type);
/* True when no project rule is set, or the project's id or name is listed. */
bool encode_project_matches(const encode_config *cfg, const char *project_id,
                            const char *project_name);

/* ---- Events -----------------------------------------------------------------------------------
 */

typedef enum encode_candidate_kind {
    ENCODE_CANDIDATE_COMPONENT, /* id is a component's */
    ENCODE_CANDIDATE_VERSION,   /* id is an AssetVersion's: encode its components */
    ENCODE_CANDIDATE_LOCATION   /* id is a ComponentLocation's: encode its component */
} encode_candidate_kind;

typedef struct encode_candidate {
    encode_candidate_kind kind;
    char *id;         /* owned */
    char *project_id; /* owned; from the event's parents, NULL when it does not say */
} encode_candidate;

typedef struct encode_candidates {
    encode_candidate *items;
    size_t count;
} encode_candidates;

/* What an ftrack.update event's data (borrowed) asks for: added FileComponents and
 * AssetVersions (entity_type, or the legacy entityType "component"/"assetversion"), and added
 * ComponentLocations (a component's data arriving in a location after its creation). */
void encode_candidates_from_update(json_object *data, encode_candidates *out);
/* ftrack.location.component-added: data.component_id. */
void encode_candidates_from_component_added(json_object *data, encode_candidates *out);
/* An action's data.selection: the assetversion entries. */
void encode_candidates_from_selection(json_object *data, encode_candidates *out);
void encode_candidates_clear(encode_candidates *c);

/* ---- Actions and results ----------------------------------------------------------------------
 */

/* The discover reply (new) when the selection holds an AssetVersion, else NULL. */
json_object *encode_discover_reply(json_object *data);

/* The result event's data (new). outputs may be NULL; message may be NULL. */
json_object *encode_result_data(const char *component_id, const char *version_id,
                                const char *job_id, const char *status, json_object *outputs,
                                const char *message);

/* The "output" list of an encode Job's data (a JSON string or object, borrowed): a new array,
 * NULL when absent. */
json_object *encode_job_outputs(json_object *job_data);
/* The job's error text (new string), NULL when none. */
char *encode_job_error(json_object *job_data);

/* ---- Bookkeeping ------------------------------------------------------------------------------
 */

/* A bounded set of recently seen ids (oldest forgotten first). Thread-safe. */
typedef struct encode_registry {
    pthread_mutex_t lock;
    char **ids;
    size_t cap, count, next;
} encode_registry;

bool encode_registry_init(encode_registry *r, size_t capacity);
void encode_registry_destroy(encode_registry *r);
/* Add; false when already present. */
bool encode_registry_add(encode_registry *r, const char *id);
bool encode_registry_has(encode_registry *r, const char *id);

#endif
