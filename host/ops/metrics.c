/* SPDX-License-Identifier: Apache-2.0 */
/* Process-wide metrics registry rendered as Prometheus text (metrics.h). */
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "ops/metrics.h"

/* Handler latency buckets (seconds): from a fast in-process callback to a slow HTTP call. */
static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define BUCKETS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

struct fth_instance_metrics {
    struct fth_instance_metrics *next;
    char *name;
    char *plugin;
    atomic_uint_least64_t counters[FTH_METRIC_COUNT];
    atomic_uint_least64_t buckets[BUCKETS + 1]; /* last: above every bound (+Inf only) */
    atomic_uint_least64_t latency_count;
    atomic_uint_least64_t latency_sum_ns;
    atomic_uint_least64_t depth;
    atomic_bool running;
    atomic_bool paused;
};

static const struct {
    const char *name;
    const char *help;
} metric_info[FTH_METRIC_COUNT] = {
    [FTH_METRIC_RECEIVED] = {"received", "Events taken from the instance's queue."},
    [FTH_METRIC_DISPATCHED] = {"dispatched", "Events whose callbacks ran to the end."},
    [FTH_METRIC_REPLIED] = {"replied", "Replies published by the instance's callbacks."},
    [FTH_METRIC_FAILED] = {"failed", "Handler attempts that failed."},
    [FTH_METRIC_RETRIED] = {"retried", "Handler attempts beyond the first."},
    [FTH_METRIC_DEAD_LETTERED] = {"dead_lettered", "Events given up on (dead-lettered)."},
    [FTH_METRIC_DROPPED] = {"dropped", "Events refused because the queue was full."},
    [FTH_METRIC_SPILLED] = {"spilled", "Events a full queue spilled to the journal."},
    [FTH_METRIC_REPLAYED] = {"replayed", "Dead-lettered events handed back by replay."},
    [FTH_METRIC_DISCARDED] = {"discarded", "Events still queued when the shutdown drain ended."},
    [FTH_METRIC_DEADLINE_EXCEEDED] = {"deadline_exceeded",
                                      "Dispatches that ran past their deadline."},
};

static const struct {
    const char *name;
    const char *help;
} global_info[FTH_GLOBAL_COUNT] = {
    [FTH_GLOBAL_RECONNECTS] = {"hub_reconnects", "Event hub connections after the first."},
    [FTH_GLOBAL_DISCONNECTS] = {"hub_disconnects", "Event hub connections lost."},
    [FTH_GLOBAL_RELOADS] = {"reloads", "Configuration reloads applied (SIGHUP)."},
    [FTH_GLOBAL_RELOAD_FAILURES] = {"reload_failures",
                                    "Configuration reloads refused (the old one kept running)."},
    [FTH_GLOBAL_QUEUE_PUBLISHED] = {"queue_published", "Events this ingest added to the stream."},
    [FTH_GLOBAL_QUEUE_DUPLICATES] = {"queue_duplicates",
                                     "Events not added because an ingest already had."},
    [FTH_GLOBAL_QUEUE_ACKED] = {"queue_acked", "Stream entries this worker acknowledged."},
    [FTH_GLOBAL_QUEUE_CLAIMED] = {"queue_claimed", "Stream entries claimed from another worker."},
    [FTH_GLOBAL_QUEUE_REDIS_DISCONNECTS] = {"queue_redis_disconnects", "Redis connections lost."},
    [FTH_GLOBAL_QUEUE_REDIS_RECONNECTS] = {"queue_redis_reconnects",
                                           "Redis connections made again after a loss."},
};

static const struct {
    const char *name;
    const char *help;
} gauge_info[FTH_GAUGE_COUNT] = {
    [FTH_GAUGE_HUB_CONNECTED] = {"hub_connected", "1 when connected to the event hub."},
    [FTH_GAUGE_PLUGIN_INSTANCES] = {"plugin_instances", "Plugin instances running."},
    [FTH_GAUGE_JOURNAL_BYTES] = {"journal_bytes", "Size of the event journal on disk."},
    [FTH_GAUGE_JOURNAL_EVENTS] = {"journal_events", "Events in the journal not yet done."},
    [FTH_GAUGE_DEAD_LETTERS] = {"dead_letters", "Events in the dead-letter store."},
    [FTH_GAUGE_START_TIME_SECONDS] = {"start_time_seconds", "Process start, Unix seconds."},
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static fth_instance_metrics *instances; /* under registry_lock; appended at the tail */
static atomic_uint_least64_t globals[FTH_GLOBAL_COUNT];
static _Atomic double gauges[FTH_GAUGE_COUNT];
static fth_metrics_collect_fn collector; /* under registry_lock */
static void *collector_data;             /* under registry_lock */

static fth_instance_metrics *find_locked(const char *name)
{
    for (fth_instance_metrics *m = instances; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

fth_instance_metrics *fth_metrics_find(const char *name)
{
    if (!name)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    fth_instance_metrics *m = find_locked(name);
    pthread_mutex_unlock(&registry_lock);
    return m;
}

fth_instance_metrics *fth_metrics_instance(const char *name, const char *plugin)
{
    if (!name)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    fth_instance_metrics *m = find_locked(name);
    if (m) {
        if (plugin && !m->plugin)
            m->plugin = fti_strdup(plugin);
        pthread_mutex_unlock(&registry_lock);
        return m;
    }
    m = calloc(1, sizeof(*m));
    if (m) {
        m->name = fti_strdup(name);
        m->plugin = plugin ? fti_strdup(plugin) : NULL;
        if (!m->name) {
            free(m);
            m = NULL;
        }
    }
    if (m) {
        fth_instance_metrics **tail = &instances;
        while (*tail)
            tail = &(*tail)->next;
        *tail = m;
    }
    pthread_mutex_unlock(&registry_lock);
    return m;
}

void fth_metrics_add(fth_instance_metrics *m, fth_metric which, uint64_t n)
{
    if (m && which >= 0 && which < FTH_METRIC_COUNT)
        atomic_fetch_add_explicit(&m->counters[which], n, memory_order_relaxed);
}

uint64_t fth_metrics_get(const fth_instance_metrics *m, fth_metric which)
{
    if (!m || which < 0 || which >= FTH_METRIC_COUNT)
        return 0;
    return atomic_load(&((fth_instance_metrics *)m)->counters[which]);
}

void fth_metrics_observe_latency(fth_instance_metrics *m, double seconds)
{
    if (!m || !(seconds >= 0))
        return;
    size_t i = 0;
    while (i < BUCKETS && seconds > latency_bounds[i])
        i++;
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_ns, (uint64_t)llround(seconds * 1e9),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_count, 1, memory_order_relaxed);
}

void fth_metrics_set_queue_depth(fth_instance_metrics *m, uint64_t depth)
{
    if (m)
        atomic_store(&m->depth, depth);
}

void fth_metrics_set_running(fth_instance_metrics *m, bool running)
{
    if (m)
        atomic_store(&m->running, running);
}

void fth_metrics_set_paused(fth_instance_metrics *m, bool paused)
{
    if (m)
        atomic_store(&m->paused, paused);
}

void fth_metrics_global_add(fth_global_metric which, uint64_t n)
{
    if (which >= 0 && which < FTH_GLOBAL_COUNT)
        atomic_fetch_add_explicit(&globals[which], n, memory_order_relaxed);
}

uint64_t fth_metrics_global_get(fth_global_metric which)
{
    return which >= 0 && which < FTH_GLOBAL_COUNT ? atomic_load(&globals[which]) : 0;
}

void fth_metrics_gauge_set(fth_gauge which, double value)
{
    if (which >= 0 && which < FTH_GAUGE_COUNT)
        atomic_store(&gauges[which], value);
}

double fth_metrics_gauge_get(fth_gauge which)
{
    return which >= 0 && which < FTH_GAUGE_COUNT ? atomic_load(&gauges[which]) : 0;
}

void fth_metrics_set_collector(fth_metrics_collect_fn fn, void *user_data)
{
    pthread_mutex_lock(&registry_lock);
    collector = fn;
    collector_data = user_data;
    pthread_mutex_unlock(&registry_lock);
}

/* ---- Rendering ------------------------------------------------------------------------- */

/* Every line of the exposition is appended to one growing text. */
#define out fti_buf_addf
typedef fti_buf out_buf;

/* Label values escape backslash, double quote and newline (exposition format). Instance
 * names are [a-z0-9_-] already; this keeps a plugin name from breaking the format. */
static void out_label(out_buf *b, const char *value)
{
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\')
            out(b, "\\\\");
        else if (*p == '"')
            out(b, "\\\"");
        else if (*p == '\n')
            out(b, "\\n");
        else
            out(b, "%c", *p);
    }
}

static void out_labels(out_buf *b, const fth_instance_metrics *m)
{
    out(b, "instance=\"");
    out_label(b, m->name);
    out(b, "\",plugin=\"");
    out_label(b, m->plugin ? m->plugin : m->name);
    out(b, "\"");
}

static void render_counters(out_buf *b)
{
    for (int c = 0; c < FTH_METRIC_COUNT; c++) {
        out(b, "# HELP ftrack_host_events_%s_total %s\n", metric_info[c].name, metric_info[c].help);
        out(b, "# TYPE ftrack_host_events_%s_total counter\n", metric_info[c].name);
        for (fth_instance_metrics *m = instances; m; m = m->next) {
            out(b, "ftrack_host_events_%s_total{", metric_info[c].name);
            out_labels(b, m);
            out(b, "} %llu\n", (unsigned long long)atomic_load(&m->counters[c]));
        }
    }
}

static void render_instance_gauges(out_buf *b)
{
    out(b, "# HELP ftrack_host_queue_depth Events waiting in the instance's queue.\n"
           "# TYPE ftrack_host_queue_depth gauge\n");
    for (fth_instance_metrics *m = instances; m; m = m->next) {
        out(b, "ftrack_host_queue_depth{");
        out_labels(b, m);
        out(b, "} %llu\n", (unsigned long long)atomic_load(&m->depth));
    }
    out(b, "# HELP ftrack_host_plugin_running 1 while the plugin instance runs.\n"
           "# TYPE ftrack_host_plugin_running gauge\n");
    for (fth_instance_metrics *m = instances; m; m = m->next) {
        out(b, "ftrack_host_plugin_running{");
        out_labels(b, m);
        out(b, "} %d\n", atomic_load(&m->running) ? 1 : 0);
    }
    out(b, "# HELP ftrack_host_plugin_paused 1 while the failure policy pauses the instance.\n"
           "# TYPE ftrack_host_plugin_paused gauge\n");
    for (fth_instance_metrics *m = instances; m; m = m->next) {
        out(b, "ftrack_host_plugin_paused{");
        out_labels(b, m);
        out(b, "} %d\n", atomic_load(&m->paused) ? 1 : 0);
    }
}

static void render_histograms(out_buf *b)
{
    out(b, "# HELP ftrack_host_handler_seconds Time to run an instance's callbacks for one "
           "event.\n# TYPE ftrack_host_handler_seconds histogram\n");
    for (fth_instance_metrics *m = instances; m; m = m->next) {
        /* Read the buckets first: count and sum may then be a little ahead, never behind, so
         * +Inf (= count) is always >= the last bucket. */
        uint64_t cumulative = 0;
        for (size_t i = 0; i < BUCKETS; i++) {
            cumulative += atomic_load(&m->buckets[i]);
            out(b, "ftrack_host_handler_seconds_bucket{");
            out_labels(b, m);
            out(b, ",le=\"%g\"} %llu\n", latency_bounds[i], (unsigned long long)cumulative);
        }
        cumulative += atomic_load(&m->buckets[BUCKETS]);
        uint64_t count = atomic_load(&m->latency_count);
        if (count < cumulative)
            count = cumulative;
        out(b, "ftrack_host_handler_seconds_bucket{");
        out_labels(b, m);
        out(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)count);
        out(b, "ftrack_host_handler_seconds_sum{");
        out_labels(b, m);
        out(b, "} %.9f\n", (double)atomic_load(&m->latency_sum_ns) / 1e9);
        out(b, "ftrack_host_handler_seconds_count{");
        out_labels(b, m);
        out(b, "} %llu\n", (unsigned long long)count);
    }
}

static void render_globals(out_buf *b)
{
    for (int g = 0; g < FTH_GLOBAL_COUNT; g++)
        out(b,
            "# HELP ftrack_host_%s_total %s\n# TYPE ftrack_host_%s_total counter\n"
            "ftrack_host_%s_total %llu\n",
            global_info[g].name, global_info[g].help, global_info[g].name, global_info[g].name,
            (unsigned long long)atomic_load(&globals[g]));
    for (int g = 0; g < FTH_GAUGE_COUNT; g++)
        out(b, "# HELP ftrack_host_%s %s\n# TYPE ftrack_host_%s gauge\nftrack_host_%s %.17g\n",
            gauge_info[g].name, gauge_info[g].help, gauge_info[g].name, gauge_info[g].name,
            atomic_load(&gauges[g]));
}

char *fth_metrics_render(void)
{
    pthread_mutex_lock(&registry_lock);
    fth_metrics_collect_fn fn = collector;
    void *data = collector_data;
    pthread_mutex_unlock(&registry_lock);
    if (fn)
        fn(data); /* outside the lock: it may create series */
    out_buf b = {0};
    pthread_mutex_lock(&registry_lock);
    render_counters(&b);
    render_instance_gauges(&b);
    render_histograms(&b);
    render_globals(&b);
    pthread_mutex_unlock(&registry_lock);
    return fti_buf_take(&b);
}

void fth_metrics_reset(void)
{
    pthread_mutex_lock(&registry_lock);
    while (instances) {
        fth_instance_metrics *m = instances;
        instances = m->next;
        free(m->name);
        free(m->plugin);
        free(m);
    }
    collector = NULL;
    collector_data = NULL;
    pthread_mutex_unlock(&registry_lock);
    for (int g = 0; g < FTH_GLOBAL_COUNT; g++)
        atomic_store(&globals[g], 0);
    for (int g = 0; g < FTH_GAUGE_COUNT; g++)
        atomic_store(&gauges[g], 0.0);
}
