/* SPDX-License-Identifier: Apache-2.0 */
/* Isolated plugin instances, the host's side (isolation.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "isolation/isolation.h"
#include "ops/logging.h"
#include "ops/metrics.h"

#define REGISTER_TIMEOUT 30.0
#define STOP_TIMEOUT 5.0
#define RESTART_MIN 0.5
#define RESTART_MAX 30.0
#define RESTART_FLOOR 0.05
#define CHILD_FD 3

extern char **environ;
/* A child is cut off (killed, restarted) when it sends more than this many lines that are not
 * protocol messages, or unexpected ones, while one event is handled. */
#define MAX_STRAY_LINES 100
#define STRAY_LINES_LOGGED 5
#define MAX_SUBSCRIPTIONS 1000
/* Log lines from a child: LOG_RATE a second on average, bursts of LOG_BURST. */
#define LOG_RATE 50.0
#define LOG_BURST 200.0

typedef struct proxy {
    fth_isolation *iso;
    char parent_id[FTRACK_ID_MAX]; /* the subscriber id in the host's hub */
    char child_id[FTRACK_ID_MAX];  /* the id the current child uses */
    char *expression;
} proxy;

struct fth_isolation {
    char *instance;
    char *plugin_path;
    char **command; /* argv of an external program, or NULL: ftrack-host's child mode */
    char *arguments_json;
    char uid[33]; /* this instance's id, the same for every child it starts (init message) */
    double deadline;
    double restart_min, restart_max;
    ftrack_hub *hub;
    ftrack_plugin_context *ctx;
    pid_t pid; /* 0: no child */
    int fd;
    fth_lines lines;
    proxy **proxies;
    size_t proxy_count;
    unsigned starts;
    unsigned failures_in_row; /* crashes/hangs since the last good result: the backoff */
    double next_start;        /* monotonic: no start before */
    uint64_t seq;
    double log_tokens, log_refilled; /* the child's log-line budget */
    unsigned long log_dropped;
};

static pthread_mutex_t creds_lock = PTHREAD_MUTEX_INITIALIZER;
static char *creds_server, *creds_user, *creds_key, *creds_ca_file;

void fth_isolation_set_credentials(const char *server_url, const char *api_user,
                                   const char *api_key, const char *ca_file)
{
    pthread_mutex_lock(&creds_lock);
    free(creds_server);
    free(creds_user);
    free(creds_ca_file);
    creds_ca_file = fti_strdup(ca_file);
    if (creds_key)
        explicit_bzero(creds_key, strlen(creds_key));
    free(creds_key);
    creds_server = fti_strdup(server_url);
    creds_user = fti_strdup(api_user);
    creds_key = fti_strdup(api_key);
    pthread_mutex_unlock(&creds_lock);
}

/* ---- the child process --------------------------------------------------------------------- */

ftrack_status fth_isolation_new(const fth_isolation_spec *spec, fth_isolation **out,
                                ftrack_error *err)
{
    *out = NULL;
    fth_isolation *iso = calloc(1, sizeof(*iso));
    if (!iso || !(iso->instance = fti_strdup(spec->instance)) ||
        !(iso->plugin_path = fti_strdup(spec->plugin_path))) {
        if (iso)
            free(iso->instance);
        free(iso);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    size_t argc = 0;
    while (spec->command && spec->command[argc])
        argc++;
    if (argc) {
        iso->command = calloc(argc + 1, sizeof(char *));
        for (size_t i = 0; iso->command && i < argc; i++)
            iso->command[i] = fti_strdup(spec->command[i]);
    }
    iso->deadline = spec->deadline > 0 ? spec->deadline : 60;
    iso->restart_min = spec->restart_delay > RESTART_FLOOR ? spec->restart_delay : RESTART_MIN;
    iso->restart_max = spec->restart_max_delay > 0 ? spec->restart_max_delay : RESTART_MAX;
    iso->fd = -1;
    ftrack_uuid_hex(iso->uid);
    fth_lines_init(&iso->lines, -1);
    *out = iso;
    return FTRACK_OK;
}

static const char *signal_name(int sig)
{
    const char *d = sigdescr_np(sig);
    return d ? d : "unknown signal";
}

/* Reap the child (waiting up to `wait` seconds) and describe how it ended. */
static void reap(fth_isolation *iso, double wait, char *why, size_t why_size)
{
    if (!iso->pid)
        return;
    int status = 0;
    double until = fti_now() + wait;
    pid_t r;
    while ((r = waitpid(iso->pid, &status, WNOHANG)) == 0 && fti_now() < until)
        usleep(10000);
    if (r == 0) {
        kill(iso->pid, SIGKILL);
        r = waitpid(iso->pid, &status, 0);
    }
    if (why && r == iso->pid) {
        if (WIFSIGNALED(status))
            snprintf(why, why_size, "killed by signal %d (%s)", WTERMSIG(status),
                     signal_name(WTERMSIG(status)));
        else
            snprintf(why, why_size, "exited with status %d", WEXITSTATUS(status));
    }
    iso->pid = 0;
    if (iso->fd >= 0)
        close(iso->fd);
    iso->fd = -1;
    fth_lines_clear(&iso->lines);
}

static bool exe_path(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0)
        return false;
    out[n] = '\0';
    return true;
}

static ftrack_status spawn(fth_isolation *iso, ftrack_error *err)
{
    char exe[PATH_MAX];
    int sv[2];
    if (!exe_path(exe, sizeof(exe)))
        return fti_error(err, FTRACK_ERR_IO, "cannot find the ftrack-host executable");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return fti_error(err, FTRACK_ERR_IO, "socketpair: %s", strerror(errno));
    /* The child gets the key in its init message (a "command" program not at all), never
     * through its environment, which other processes of the user can read. */
    char **env = fti_env_without_secrets(environ);
    pid_t parent = getpid();
    pid_t pid = env ? fork() : -1;
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        free(env);
        return fti_error(err, FTRACK_ERR_IO, "fork: %s", env ? strerror(errno) : "out of memory");
    }
    if (pid == 0) {
        /* The child dies with the host, so a killed host leaves no orphan plugins. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (dup2(sv[1], CHILD_FD) < 0)
            _exit(127);
        if (iso->command) {
            execvpe(iso->command[0], iso->command, env);
            _exit(127);
        }
        char *argv[] = {"ftrack-host", "run", "--isolated-child", NULL};
        execve(exe, argv, env);
        _exit(127);
    }
    free(env);
    close(sv[1]);
    iso->pid = pid;
    iso->fd = sv[0];
    fth_lines_init(&iso->lines, sv[0]);
    iso->starts++;
    return FTRACK_OK;
}

static json_object *init_message(fth_isolation *iso)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "type", json_object_new_string("init"));
    json_object_object_add(m, "protocol", json_object_new_int(1));
    json_object_object_add(m, "instance", json_object_new_string(iso->instance));
    json_object_object_add(m, "instance_id", json_object_new_string(iso->uid));
    json_object_object_add(m, "plugin", json_object_new_string(iso->plugin_path));
    json_object *args = iso->arguments_json ? json_tokener_parse(iso->arguments_json) : NULL;
    json_object_object_add(m, "arguments", args ? args : json_object_new_object());
    if (fth_logging_is_json()) /* the child writes to our stderr: its lines must parse too */
        json_object_object_add(m, "log_format", json_object_new_string("json"));
    pthread_mutex_lock(&creds_lock);
    if (creds_server)
        json_object_object_add(m, "server_url", json_object_new_string(creds_server));
    if (creds_user)
        json_object_object_add(m, "api_user", json_object_new_string(creds_user));
    if (creds_key)
        json_object_object_add(m, "api_key", json_object_new_string(creds_key));
    if (creds_ca_file)
        json_object_object_add(m, "ca_file", json_object_new_string(creds_ca_file));
    pthread_mutex_unlock(&creds_lock);
    return m;
}

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static void log_dropped_say(fth_isolation *iso)
{
    if (!iso->log_dropped)
        return;
    ftrack_log(FTRACK_LOG_WARNING, "isolation",
               "plugin instance '%s': dropped %lu log lines from its child (more than %.0f a "
               "second)",
               iso->instance, iso->log_dropped, LOG_RATE);
    iso->log_dropped = 0;
}

/* Token bucket for the child's log lines, so a child cannot flood the host's log; what it
 * drops is counted and said once the child is under the rate again. */
static bool log_allowed(fth_isolation *iso)
{
    double now = fti_now();
    if (iso->log_refilled == 0)
        iso->log_tokens = LOG_BURST;
    else
        iso->log_tokens += (now - iso->log_refilled) * LOG_RATE;
    if (iso->log_tokens > LOG_BURST)
        iso->log_tokens = LOG_BURST;
    iso->log_refilled = now;
    if (iso->log_tokens < 1) {
        iso->log_dropped++;
        return false;
    }
    iso->log_tokens -= 1;
    log_dropped_say(iso);
    return true;
}

/* Messages a child may send at any time: log lines and publishes. True when handled. */
static bool handle_async(fth_isolation *iso, json_object *m, const char *type)
{
    if (strcmp(type, "log") == 0) {
        if (!log_allowed(iso))
            return true;
        ftrack_log_level level = FTRACK_LOG_INFO;
        const char *ltext = str_of(m, "level");
        if (ltext)
            ftrack_log_level_parse(ltext, &level);
        const char *msg = str_of(m, "message");
        ftrack_plugin_log(iso->ctx, level, "%s", msg ? msg : "");
        return true;
    }
    if (strcmp(type, "publish") == 0) {
        json_object *ev = NULL;
        ftrack_event *event = NULL;
        ftrack_error err;
        ftrack_error_clear(&err);
        if (json_object_object_get_ex(m, "event", &ev) &&
            ftrack_event_from_json(ev, false, &event, &err) == FTRACK_OK)
            ftrack_hub_publish(iso->hub, event, NULL, &err);
        if (err.code != FTRACK_OK)
            ftrack_log(FTRACK_LOG_WARNING, "isolation",
                       "plugin instance '%s': a publish from its child failed: %s", iso->instance,
                       err.message[0] ? err.message : "no event");
        ftrack_event_free(event);
        return true;
    }
    return false;
}

/* Read the child's register outcome: its subscriptions (array, new) or an error. */
static ftrack_status read_registration(fth_isolation *iso, json_object **subs, ftrack_error *err)
{
    *subs = json_object_new_array();
    double until = fti_now() + REGISTER_TIMEOUT;
    for (;;) {
        bool eof = false;
        char *line = fth_lines_read(&iso->lines, until - fti_now(), &eof);
        if (!line)
            return fti_error(err, FTRACK_ERR_PLUGIN, "its child %s",
                             eof ? "ended before it registered" : "did not register within 30 s");
        json_object *m = json_tokener_parse(line);
        free(line);
        const char *type = str_of(m, "type");
        ftrack_status st = FTRACK_ERR_INTERNAL; /* keep reading */
        if (!type)
            st = fti_error(err, FTRACK_ERR_PLUGIN,
                           "its child sent a line that is not a "
                           "protocol message");
        else if (strcmp(type, "subscribe") == 0 &&
                 json_object_array_length(*subs) >= MAX_SUBSCRIPTIONS)
            st = fti_error(err, FTRACK_ERR_PLUGIN, "its child announced more than %d subscriptions",
                           MAX_SUBSCRIPTIONS);
        else if (strcmp(type, "subscribe") == 0)
            json_object_array_add(*subs, json_object_get(m));
        else if (strcmp(type, "ready") == 0)
            st = FTRACK_OK;
        else if (strcmp(type, "error") == 0)
            st = fti_error(err, FTRACK_ERR_PLUGIN, "%s",
                           str_of(m, "message") ? str_of(m, "message") : "register failed");
        else
            handle_async(iso, m, type);
        json_object_put(m);
        if (st != FTRACK_ERR_INTERNAL)
            return st;
    }
}

/* Start a child and read its registration. */
static ftrack_status start_child(fth_isolation *iso, json_object **subs, ftrack_error *err)
{
    ftrack_status st = spawn(iso, err);
    if (st != FTRACK_OK)
        return st;
    json_object *init = init_message(iso);
    bool sent = fth_lines_write_until(iso->fd, init, fti_now() + REGISTER_TIMEOUT);
    json_object_put(init);
    st = sent ? read_registration(iso, subs, err)
              : fti_error(err, FTRACK_ERR_PLUGIN, "its child ended at once");
    if (st != FTRACK_OK) {
        json_object_put(*subs);
        *subs = NULL;
        char why[128] = "";
        reap(iso, 1.0, why, sizeof(why));
        if (why[0] && err)
            fti_error_prefix(err, "child %s", why);
    }
    return st;
}

static json_object *proxy_callback(ftrack_event *event, const ftrack_delivery *delivery,
                                   void *user_data);

static ftrack_status add_proxy(fth_isolation *iso, json_object *sub, ftrack_error *err)
{
    const char *expression = str_of(sub, "expression");
    const char *child_id = str_of(sub, "id");
    if (!expression || !child_id)
        return fti_error(err, FTRACK_ERR_PLUGIN,
                         "its child announced a subscription without "
                         "an expression or id");
    proxy *p = calloc(1, sizeof(*p));
    proxy **grown = realloc(iso->proxies, (iso->proxy_count + 1) * sizeof(*grown));
    if (!p || !grown || !(p->expression = fti_strdup(expression))) {
        free(p);
        if (grown)
            iso->proxies = grown;
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    iso->proxies = grown;
    p->iso = iso;
    fti_strlcpy(p->child_id, child_id, sizeof(p->child_id));
    ftrack_subscribe_options o;
    ftrack_subscribe_options_init(&o);
    json_object *v;
    if (json_object_object_get_ex(sub, "subscriber", &v) &&
        json_object_is_type(v, json_type_object))
        o.subscriber = v;
    if (json_object_object_get_ex(sub, "priority", &v) && json_object_is_type(v, json_type_int))
        o.priority = json_object_get_int(v);
    if (json_object_object_get_ex(sub, "ignore_own_user", &v))
        o.ignore_own_user = json_object_get_boolean(v);
    ftrack_status st =
        ftrack_hub_subscribe(iso->hub, expression, proxy_callback, p, &o, p->parent_id, err);
    if (st != FTRACK_OK) {
        free(p->expression);
        free(p);
        return st;
    }
    iso->proxies[iso->proxy_count++] = p;
    return FTRACK_OK;
}

ftrack_status fth_isolation_register(fth_isolation *iso, ftrack_plugin_context *ctx,
                                     ftrack_hub *hub, const char *arguments_json, ftrack_error *err)
{
    iso->ctx = ctx;
    iso->hub = hub;
    free(iso->arguments_json);
    iso->arguments_json = fti_strdup(arguments_json);
    json_object *subs = NULL;
    ftrack_status st = start_child(iso, &subs, err);
    if (st != FTRACK_OK)
        return st;
    size_t n = json_object_array_length(subs);
    for (size_t i = 0; st == FTRACK_OK && i < n; i++)
        st = add_proxy(iso, json_object_array_get_idx(subs, i), err);
    json_object_put(subs);
    if (st == FTRACK_OK)
        ftrack_log(FTRACK_LOG_INFO, "isolation",
                   "plugin instance '%s' runs isolated in process %d (%zu subscription%s)",
                   iso->instance, (int)iso->pid, n, n == 1 ? "" : "s");
    return st;
}

/* A restarted child: map its subscriptions onto the proxies, in order. */
static bool remap(fth_isolation *iso, json_object *subs)
{
    size_t n = json_object_array_length(subs);
    if (n != iso->proxy_count)
        ftrack_log(FTRACK_LOG_WARNING, "isolation",
                   "plugin instance '%s': its restarted child subscribed %zu times, the first "
                   "%zu; only matching positions are served",
                   iso->instance, n, iso->proxy_count);
    for (size_t i = 0; i < iso->proxy_count; i++) {
        const char *id = i < n ? str_of(json_object_array_get_idx(subs, i), "id") : NULL;
        fti_strlcpy(iso->proxies[i]->child_id, id ? id : "", sizeof(iso->proxies[i]->child_id));
    }
    return true;
}

/* The next start waits restart_min * 2^(failures in a row - 1), at most restart_max. */
static void schedule_restart(fth_isolation *iso)
{
    unsigned n = iso->failures_in_row ? iso->failures_in_row - 1 : 0;
    double d = iso->restart_min * pow(2.0, n > 20 ? 20.0 : (double)n);
    iso->next_start = fti_now() + (d < iso->restart_max ? d : iso->restart_max);
}

static void child_lost(fth_isolation *iso, const char *what, char *why, size_t why_size);

/* Whether the child has ended, without reaping it (reap() does, and says how). */
static bool child_exited(const fth_isolation *iso)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    return waitid(P_PID, (id_t)iso->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == iso->pid;
}

/* Make sure a child runs (restarting one with backoff); false with *why when none does. A
 * child that ended between events is restarted before the next event is sent, so that event
 * does not pay for it. */
static bool ensure_child(fth_isolation *iso, char *why, size_t why_size)
{
    if (iso->pid && child_exited(iso))
        child_lost(iso, "its child ended between events", why, why_size);
    if (iso->pid)
        return true;
    double wait = iso->next_start - fti_now();
    if (wait > 0)
        usleep((useconds_t)(wait * 1e6));
    ftrack_error err;
    ftrack_error_clear(&err);
    json_object *subs = NULL;
    if (start_child(iso, &subs, &err) != FTRACK_OK) {
        iso->failures_in_row++;
        schedule_restart(iso);
        snprintf(why, why_size, "its child could not be restarted: %.300s", err.message);
        return false;
    }
    remap(iso, subs);
    json_object_put(subs);
    ftrack_log(FTRACK_LOG_WARNING, "isolation",
               "plugin instance '%s': child restarted as process %d (start %u)", iso->instance,
               (int)iso->pid, iso->starts);
    return true;
}

/* The child crashed or hung: log it, and schedule the next start with backoff. */
static void child_lost(fth_isolation *iso, const char *what, char *why, size_t why_size)
{
    log_dropped_say(iso);
    char how[128] = "";
    reap(iso, 0.5, how, sizeof(how));
    iso->failures_in_row++;
    schedule_restart(iso);
    snprintf(why, why_size, "%s (child %s)", what, how[0] ? how : "gone");
    ftrack_log(FTRACK_LOG_ERROR, "isolation", "plugin instance '%s': %s; restarting it in %.1f s",
               iso->instance, why, iso->next_start - fti_now());
}

static json_object *event_message(proxy *p, ftrack_event *event, const ftrack_delivery *d)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "type", json_object_new_string("event"));
    json_object_object_add(m, "seq", json_object_new_int64((int64_t)++p->iso->seq));
    json_object_object_add(m, "subscriber", json_object_new_string(p->child_id));
    json_object_object_add(m, "attempt", json_object_new_int64(d->attempt));
    json_object_object_add(m, "redelivery", json_object_new_boolean(d->redelivery));
    json_object_object_add(m, "event", json_object_get(ftrack_event_json(event)));
    return m;
}

/* Kill a child that broke its deadline and count it. */
static void kill_late_child(fth_isolation *iso)
{
    kill(iso->pid, SIGKILL);
    fth_metrics_add(fth_metrics_find(iso->instance), FTH_METRIC_DEADLINE_EXCEEDED, 1);
}

/* A line that is not the awaited result nor a log or publish: logged (the first few), and
 * false once there are too many for this event: the child is then cut off. */
static bool stray_line(fth_isolation *iso, const char *type, unsigned *strays)
{
    if (++*strays <= STRAY_LINES_LOGGED)
        ftrack_log(FTRACK_LOG_WARNING, "isolation",
                   "plugin instance '%s': ignored a message from its child (%s)", iso->instance,
                   type ? type : "not a protocol message");
    return *strays <= MAX_STRAY_LINES;
}

/* Wait until `until` for the result of event `seq`. Returns the result message (new) or NULL
 * with *why. */
static json_object *await_result(fth_isolation *iso, int64_t seq, double until, char *why,
                                 size_t why_size)
{
    unsigned strays = 0;
    for (;;) {
        bool eof = false;
        char *line = fth_lines_read(&iso->lines, until - fti_now(), &eof);
        if (!line) {
            if (!eof)
                kill_late_child(iso);
            child_lost(iso,
                       eof ? "its child ended while handling an event"
                           : "its child did not answer within the deadline and was killed",
                       why, why_size);
            return NULL;
        }
        json_object *m = json_tokener_parse(line);
        free(line);
        const char *type = str_of(m, "type");
        json_object *v;
        if (type && strcmp(type, "result") == 0 && json_object_object_get_ex(m, "seq", &v) &&
            json_object_get_int64(v) == seq) {
            log_dropped_say(iso);
            return m;
        }
        bool handled = type && handle_async(iso, m, type);
        json_object_put(m);
        if (!handled && !stray_line(iso, type, &strays)) {
            kill(iso->pid, SIGKILL);
            char what[160];
            snprintf(what, sizeof(what),
                     "its child sent more than %d messages that are not protocol messages or "
                     "not expected while handling one event; cut off",
                     MAX_STRAY_LINES);
            child_lost(iso, what, why, why_size);
            return NULL;
        }
    }
}

static json_object *proxy_callback(ftrack_event *event, const ftrack_delivery *delivery,
                                   void *user_data)
{
    proxy *p = user_data;
    fth_isolation *iso = p->iso;
    char why[FTRACK_ERROR_MESSAGE_MAX - 64];
    if (!ensure_child(iso, why, sizeof(why))) {
        ftrack_delivery_fail(delivery, "%s", why);
        return NULL;
    }
    if (!p->child_id[0]) {
        ftrack_delivery_fail(delivery, "its child no longer has this subscription");
        return NULL;
    }
    json_object *m = event_message(p, event, delivery);
    int64_t seq = (int64_t)iso->seq;
    /* One deadline for taking the event and answering it: a child that stops reading is
     * killed like one that stops answering. */
    double until = fti_now() + iso->deadline;
    bool sent = fth_lines_write_until(iso->fd, m, until);
    bool late = !sent && errno == ETIMEDOUT;
    json_object_put(m);
    json_object *result = sent ? await_result(iso, seq, until, why, sizeof(why)) : NULL;
    if (late)
        kill_late_child(iso);
    if (!sent)
        child_lost(iso,
                   late ? "its child did not read an event within the deadline and was killed"
                        : "its child ended before it received an event",
                   why, sizeof(why));
    if (!result) {
        ftrack_delivery_fail(delivery, "%s", why);
        return NULL;
    }
    json_object *v, *reply = NULL;
    bool ok = json_object_object_get_ex(result, "ok", &v) && json_object_get_boolean(v);
    if (!ok) {
        const char *e = str_of(result, "error");
        ftrack_delivery_fail(delivery, "%s", e ? e : "the child reported a failure");
    } else {
        iso->failures_in_row = 0;
    }
    if (json_object_object_get_ex(result, "stop", &v) && json_object_get_boolean(v))
        ftrack_event_stop(event);
    if (json_object_object_get_ex(result, "reply", &v) && v)
        reply = json_object_get(v);
    json_object_put(result);
    return reply;
}

void fth_isolation_unregister(fth_isolation *iso)
{
    if (!iso || !iso->pid)
        return;
    json_object *m = json_object_new_object();
    json_object_object_add(m, "type", json_object_new_string("stop"));
    fth_lines_write_until(iso->fd, m, fti_now() + STOP_TIMEOUT);
    json_object_put(m);
    reap(iso, STOP_TIMEOUT, NULL, 0);
}

void fth_isolation_free(fth_isolation *iso)
{
    if (!iso)
        return;
    if (iso->pid) {
        kill(iso->pid, SIGKILL);
        reap(iso, 1.0, NULL, 0);
    }
    for (size_t i = 0; i < iso->proxy_count; i++) {
        free(iso->proxies[i]->expression);
        free(iso->proxies[i]);
    }
    free(iso->proxies);
    fth_lines_clear(&iso->lines);
    for (size_t i = 0; iso->command && iso->command[i]; i++)
        free(iso->command[i]);
    free(iso->command);
    free(iso->arguments_json);
    free(iso->plugin_path);
    free(iso->instance);
    free(iso);
}

static ftrack_status external_register(ftrack_plugin_context *context, ftrack_session *session,
                                       json_object *arguments, void **state, ftrack_error *err)
{
    (void)context;
    (void)session;
    (void)arguments;
    (void)state;
    return fti_error(err, FTRACK_ERR_PLUGIN, "a \"command\" instance only runs isolated");
}

static const ftrack_plugin_descriptor_v1 external_descriptor = {
    FTRACK_PLUGIN_ABI_VERSION,
    (uint32_t)sizeof(ftrack_plugin_descriptor_v1),
    "external",
    "1",
    "a program of any language speaking the child protocol (docs/reliability.md)",
    NULL,
    0,
    external_register,
    NULL,
    {0, 0, 0, 0}};

const ftrack_plugin_descriptor_v1 *fth_isolation_external_descriptor(void)
{
    return &external_descriptor;
}

unsigned fth_isolation_starts(const fth_isolation *iso)
{
    return iso ? iso->starts : 0;
}
