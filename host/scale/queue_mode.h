/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_QUEUE_MODE_H
#define FTH_QUEUE_MODE_H
/*
 * Queue mode (docs/scale-out.md): several hosts share the work through Redis Streams.
 *
 *   ingest  subscribes at the event hub on behalf of the workers' plugins (the union of the
 *           subscriptions the workers registered in Redis, with their subscriber metadata)
 *           and adds each event to the stream once (deduplicated by event id in Redis, so
 *           several ingest hosts do not double it). It runs no plugins.
 *   worker  runs the plugins; their subscriptions stay local (never announced to the hub:
 *           ftrack_hub_set_local_subscriptions). Each plugin instance reads the stream in a
 *           consumer group of its own (`<group>:<instance>`), dispatches on its worker thread,
 *           acknowledges (XACK) after the plugin handled the event, and claims (XAUTOCLAIM)
 *           what a dead worker left pending after `claim_idle`. Replies and publishes go
 *           through the worker's own hub connection.
 *
 * Threads. Configuration, start and stop: main thread. A consumer runs on its instance's
 * worker thread (runtime/workers.c) and owns its Redis connection; the ingest runs one thread of its
 * own. Process-wide, like the journal: one queue mode per process.
 *
 * Ownership. fth_queue_options owns its strings (fth_queue_options_clear). Consumers are
 * owned by their worker (fth_queue_consumer_free after the worker's thread ended).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/host.h>
#include <ftrack/session.h>
#include "delivery/deadletter.h"
#include "delivery/failure.h"
#include "delivery/strategy.h"
#include "ops/metrics.h"

struct fth_host_options;

typedef enum fth_queue_role { FTH_QUEUE_OFF, FTH_QUEUE_INGEST, FTH_QUEUE_WORKER } fth_queue_role;

typedef struct fth_queue_options {
    fth_queue_role mode;
    char *redis;         /* "HOST:PORT" (default 127.0.0.1:6379) or "unix:/path" */
    char *password_file; /* Redis AUTH password read from this file, or NULL */
    char *stream;        /* stream key (prefix of every key used), default "ftrack-host:events" */
    char *group;         /* consumer group prefix, default "ftrack-host" */
    char *consumer;      /* this worker's consumer name, default "<hostname>-<pid>" */
    unsigned partitions; /* streams the events are spread over, 1 – 256 (default 1) */
    char **ordered;      /* instance names that want per-entity order */
    size_t ordered_count;
    double claim_idle;       /* seconds before a pending event is claimed (default 60) */
    double dedup_ttl;        /* seconds an event id is remembered by ingest (default 86400) */
    long long max_length;    /* approximate stream length cap (XADD MAXLEN ~), default 1000000 */
    unsigned batch;          /* entries read per XREADGROUP (default 16) */
    double subscription_ttl; /* registry entries not refreshed for this long are dropped
                                (default 86400) */
} fth_queue_options;

void fth_queue_options_init(fth_queue_options *o);
void fth_queue_options_clear(fth_queue_options *o);
/* Apply a configuration "queue" object (borrowed) over *o. FTRACK_ERR_CONFIG naming `origin`
 * and the key for an unknown key or a bad value. */
ftrack_status fth_queue_options_parse(json_object *value, const char *origin, fth_queue_options *o,
                                      ftrack_error *err);
/* "off", "ingest", "worker" → role; false for anything else. */
bool fth_queue_role_parse(const char *text, fth_queue_role *out);
/* The stream key of partition p (into buf; "<stream>" with one partition, else
 * "<stream>:<p>"). */
const char *fth_queue_stream_key(const fth_queue_options *o, unsigned p, char *buf, size_t size);
/* Which partition an event goes to: by the id of its first entity (data.entities[0].entityId,
 * else data.entityId), else its event id. `event` is the parsed wire event (borrowed). */
unsigned fth_queue_partition_of(json_object *event, unsigned partitions);
/* The registry key of one subscription: a hex SHA-1 of the expression and the subscriber
 * metadata without its id (so the same plugin on several workers registers once). */
bool fth_queue_subscription_key(const char *expression, json_object *metadata, char out[41]);

/* config.c hook: the "queue" key (checked, borrowed into config->queue). FTRACK_ERR_NOT_FOUND
 * for other keys. */
struct fth_config;
ftrack_status fth_config_parse_queue_key(const char *key, json_object *value, const char *origin,
                                         struct fth_config *config, ftrack_error *err);

/* ---- the process's queue mode (cmd_run.c) ------------------------------------------------ */

/* Resolve the options: flags and FTRACK_HOST_QUEUE_* (already in `options`) over the file's
 * "queue". Returns 0, or FTH_OPTIONS_INVALID after logging the problem. */
int fth_queue_mode_configure(const struct fth_host_options *options);
fth_queue_role fth_queue_mode_role(void);
const fth_queue_options *fth_queue_mode_options(void);
/* After the session opened (without connecting its hub): a worker keeps its subscriptions
 * local, then connects. Nothing for the other roles. */
ftrack_status fth_queue_mode_session_opened(ftrack_session *session, ftrack_error *err);
/* Ingest: start the thread that keeps the hub subscriptions in line with the registry and
 * moves events into the stream. */
ftrack_status fth_queue_ingest_start(ftrack_hub *hub, ftrack_error *err);
/* Stop the ingest (what it holds in memory is written first, for a few seconds at most) and
 * forget the configuration. Safe when never started. */
void fth_queue_mode_stop(void);

/* ---- worker side (runtime/workers.c) ------------------------------------------------------------ */

typedef struct fth_queue_consumer fth_queue_consumer;

typedef struct fth_queue_consumer_spec {
    const char *instance;          /* copied */
    ftrack_hub_queue *queue;       /* the instance's queue (borrowed) */
    fth_instance_metrics *metrics; /* borrowed, may be NULL */
    fth_deadletter *deadletter;    /* borrowed, may be NULL (then failures are only logged) */
    fth_failure_policy policy;
    atomic_bool *stopping; /* the worker's stop flag (borrowed) */
    fth_inbox *inbox;      /* the worker's inbox (borrowed): retry waits sleep on it */
} fth_queue_consumer_spec;

/* True when this process is a worker: runtime/workers.c then creates a consumer per instance. */
bool fth_queue_worker_enabled(void);
/* The Redis password (queue.password_file), or NULL. Borrowed. */
const char *fth_queue_mode_password(void);
ftrack_status fth_queue_consumer_new(const fth_queue_consumer_spec *spec, fth_queue_consumer **out,
                                     ftrack_error *err);
/* The Redis strategy for the worker loop (delivery/strategy.h): each step registers the instance's
 * subscriptions, sends the stream read (blocking in Redis until the consumer's next timer: the
 * loop sleeps on the Redis connection and the inbox meanwhile), dispatches, acknowledges,
 * claims, and dispatches what arrives on the instance's own queue (replies, local events),
 * until *stopping; then the read still blocked is ended (CLIENT UNBLOCK) and its finish
 * acknowledges what it can and hands leases over. Runs on the instance's worker thread, after
 * register. */
fth_delivery fth_queue_consumer_delivery(fth_queue_consumer *c);
void fth_queue_consumer_free(fth_queue_consumer *c);
#endif
