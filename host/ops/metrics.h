/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_METRICS_H
#define FTH_METRICS_H
/*
 * The host's metrics, served as Prometheus text on /metrics (health.h) and documented in
 * docs/operations.md.
 *
 * Threads. Every function is safe from any thread: counters and histogram buckets are
 * atomics, the registry of series is under one mutex that is taken only to create a series
 * or to render. Counting is lock-free once you hold an fth_instance_metrics pointer, so
 * workers and the hub's network thread may count on their hot paths.
 *
 * Ownership. The registry is process-wide (metrics belong to the process, as the log does).
 * An fth_instance_metrics pointer stays valid until fth_metrics_reset() (tests only): the
 * series of an instance removed at reload are kept, so counters never go backwards and a
 * worker that outlives its instance can still count. Names are copied.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counters kept per plugin instance (label instance="<name>"). Exposed as
 * ftrack_host_events_<name>_total. */
typedef enum fth_metric {
    FTH_METRIC_RECEIVED,          /* events taken from the instance's queue */
    FTH_METRIC_DISPATCHED,        /* events whose callbacks ran to the end (any outcome) */
    FTH_METRIC_REPLIED,           /* replies published for the instance's callbacks */
    FTH_METRIC_FAILED,            /* handler attempts that failed (each retry counts) */
    FTH_METRIC_RETRIED,           /* attempts beyond the first */
    FTH_METRIC_DEAD_LETTERED,     /* events given up on and written to the dead-letter store */
    FTH_METRIC_DROPPED,           /* events refused because the queue was full (and not spilled) */
    FTH_METRIC_SPILLED,           /* events the full queue spilled to the journal */
    FTH_METRIC_REPLAYED,          /* dead letters handed back by `ftrack-host replay` */
    FTH_METRIC_DISCARDED,         /* events still queued when the drain at shutdown ended */
    FTH_METRIC_DEADLINE_EXCEEDED, /* dispatches that ran past failure.deadline (a hung one
                                     counts when the watchdog notices it, not at its end) */
    FTH_METRIC_COUNT
} fth_metric;

/* Process-wide counters (no labels). Exposed as ftrack_host_<name>_total. */
typedef enum fth_global_metric {
    FTH_GLOBAL_RECONNECTS,      /* hub connections after the first */
    FTH_GLOBAL_DISCONNECTS,     /* hub connections lost */
    FTH_GLOBAL_RELOADS,         /* SIGHUP reloads applied */
    FTH_GLOBAL_RELOAD_FAILURES, /* SIGHUP reloads refused (bad configuration) */
    /* Queue mode (docs/scale-out.md) */
    FTH_GLOBAL_QUEUE_PUBLISHED,         /* events this ingest added to the stream */
    FTH_GLOBAL_QUEUE_DUPLICATES,        /* events already added (by another ingest) */
    FTH_GLOBAL_QUEUE_ACKED,             /* stream entries acknowledged by this worker */
    FTH_GLOBAL_QUEUE_CLAIMED,           /* entries claimed from a dead or slow worker */
    FTH_GLOBAL_QUEUE_REDIS_DISCONNECTS, /* Redis connections lost */
    FTH_GLOBAL_QUEUE_REDIS_RECONNECTS,  /* Redis connections made again after a loss */
    FTH_GLOBAL_COUNT
} fth_global_metric;

/* Process-wide gauges (no labels). Exposed as ftrack_host_<name>. */
typedef enum fth_gauge {
    FTH_GAUGE_HUB_CONNECTED,      /* 1 when connected to the event hub */
    FTH_GAUGE_PLUGIN_INSTANCES,   /* instances running */
    FTH_GAUGE_JOURNAL_BYTES,      /* size of the journal on disk */
    FTH_GAUGE_JOURNAL_EVENTS,     /* events in the journal not yet acknowledged */
    FTH_GAUGE_DEAD_LETTERS,       /* events in the dead-letter store */
    FTH_GAUGE_START_TIME_SECONDS, /* process start, Unix seconds */
    FTH_GAUGE_COUNT
} fth_gauge;

typedef struct fth_instance_metrics fth_instance_metrics;

/* The series of instance `name` (plugin `plugin`, may be NULL), created on first use. NULL
 * only when out of memory; every function below accepts NULL and then does nothing. */
fth_instance_metrics *fth_metrics_instance(const char *name, const char *plugin);
/* As fth_metrics_instance(name, NULL) but never creates: NULL when unknown. */
fth_instance_metrics *fth_metrics_find(const char *name);

void fth_metrics_add(fth_instance_metrics *m, fth_metric which, uint64_t n);
uint64_t fth_metrics_get(const fth_instance_metrics *m, fth_metric which);
/* One handler run (all callbacks of one event) took `seconds`. */
void fth_metrics_observe_latency(fth_instance_metrics *m, double seconds);
/* Events waiting in the instance's queue (a gauge, set by whoever knows). */
void fth_metrics_set_queue_depth(fth_instance_metrics *m, uint64_t depth);
/* Whether the instance runs now (removed at reload, failed register: false). */
void fth_metrics_set_running(fth_instance_metrics *m, bool running);
/* Whether the failure policy paused the instance (docs/reliability.md). */
void fth_metrics_set_paused(fth_instance_metrics *m, bool paused);

void fth_metrics_global_add(fth_global_metric which, uint64_t n);
uint64_t fth_metrics_global_get(fth_global_metric which);
void fth_metrics_gauge_set(fth_gauge which, double value);
double fth_metrics_gauge_get(fth_gauge which);

/* Called on the rendering thread just before each render, so gauges that are cheaper to read
 * than to keep (queue depths) can be refreshed. One hook; NULL removes it. */
typedef void (*fth_metrics_collect_fn)(void *user_data);
void fth_metrics_set_collector(fth_metrics_collect_fn fn, void *user_data);

/* The whole registry in Prometheus text exposition format 0.0.4. Caller frees; NULL when out
 * of memory. */
char *fth_metrics_render(void);

/* Forget every series (tests). No other thread may hold an fth_instance_metrics pointer. */
void fth_metrics_reset(void);
#endif
