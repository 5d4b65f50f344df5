/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host test-plugin PLUGIN [--events FILE] [--plugin-arg KEY=VALUE]... [--config FILE]
 * [--seed SEED.json] [--expect FILE]`: load one plugin as the host would, feed it recorded
 * events one by one on a hub of its own that no other client reaches, and print one JSON
 * line per event: what happened, the reply, what it published and the ftrack.update events
 * its commits caused. Everything a run generates (ids, times) is derived from the recording,
 * so two runs print the same bytes. Exit 0: every event handled (and --expect matched);
 * 1: an event failed, matched no subscriber or was unreadable, register failed, or the output
 * differs from --expect; 2: usage errors (arguments, a file that is not a plugin, a refused
 * instance, unreadable files). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ftrack/ftrack.h>
#include <ftrack/host.h>
#include <ftrack/plugin_loader.h>
#include "cli/cli.h"
#include "common/internal.h"
#include "config/host_options.h"
#include "runtime/plugin_host.h"
#include "cli/test_plugin.h"

#define QUEUE_CAPACITY 1000
#define FAKE_SOURCE_ID "test-plugin"

typedef struct tp_args {
    const char *plugin;
    const char *events; /* NULL: standard input */
    const char *config_path;
    const char *seed;
    const char *expect;
    json_object *text_arguments; /* --plugin-arg values */
    fth_config config;
} tp_args;

/* One running instance of the plugin. */
typedef struct tp_instance {
    const fth_plan_instance *plan;
    ftrack_hub_queue *queue;
    ftrack_plugin_context *context;
    void *state;
} tp_instance;

typedef struct tp_run {
    ftrack_session *session;
    ftrack_hub *hub;
    fth_tp_studio *studio;
    tp_instance *instances;
    size_t instance_count;
    json_object *outgoing; /* what the plugin published during the current dispatch */
    fth_tp_ids ids;
    json_object *lines; /* every output line, for --expect */
    bool all_handled;
} tp_run;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ftrack-host test-plugin PLUGIN [--events FILE] [--plugin-arg KEY=VALUE]...\n"
            "                               [--config FILE] [--seed SEED.json] [--expect FILE]\n"
            "\n"
            "Load one plugin (a native .so) as ftrack-host would and feed it the recorded events\n"
            "of FILE (one JSON event a line, as `ftrack-host record` writes) in order, on a hub\n"
            "of its own that no other client can reach. Prints one JSON line per event: its\n"
            "id and topic, the outcome (handled, failed, no subscriber matched), the replies,\n"
            "the events the plugin published and the ftrack.update events its commits caused.\n"
            "\n"
            "options:\n"
            "  --events FILE           the recording (default: standard input)\n"
            "  --plugin-arg KEY=VALUE  a plugin argument, as for ftrack-host (repeatable)\n"
            "  --config FILE           a host configuration file (plugin arguments, instances)\n"
            "  --seed SEED.json        entities for the plugin's session's /api (default: none)\n"
            "  --expect FILE           compare with a saved output; \"" FTH_TP_ANY "\" in it matches\n"
            "                          any value\n"
            "  --help                  this text\n"
            "\n"
            "Exit 0 when every event was handled (and the output matched --expect), 1 otherwise,\n"
            "2 for usage errors.\n");
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* 0 to go on, -1 after --help, else an exit code. */
static int parse_args(int argc, char **argv, tp_args *a)
{
    static const struct option options[] = {
        {"events", required_argument, NULL, 'e'}, {"plugin-arg", required_argument, NULL, 'a'},
        {"config", required_argument, NULL, 'c'}, {"seed", required_argument, NULL, 's'},
        {"expect", required_argument, NULL, 'x'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0; /* GNU: start afresh, and let PLUGIN come before or after the options */
    opterr = 0;
    int c, rc;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'e':
            a->events = optarg;
            break;
        case 'a':
            if ((rc = fth_add_plugin_arg(a->text_arguments, optarg)) != FTH_OPTIONS_OK)
                return rc == FTH_OPTIONS_INVALID ? FTH_EXIT_USAGE : FTH_EXIT_FAILURE;
            break;
        case 'c':
            a->config_path = optarg;
            break;
        case 's':
            a->seed = optarg;
            break;
        case 'x':
            a->expect = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return fth_cli_usage_error("test-plugin", usage, "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return fth_cli_usage_error("test-plugin", usage, "expected the PLUGIN to test");
    if (optind + 1 < argc)
        return fth_cli_usage_error("test-plugin", usage, "unexpected argument '%s'",
                                   argv[optind + 1]);
    a->plugin = argv[optind];
    if (ends_with(a->plugin, ".py"))
        return fth_cli_usage_error("test-plugin", usage,
                                   "%s is a Python plugin file: test-plugin runs native plugins "
                                   "(.so) only for now",
                                   a->plugin);
    if (!ends_with(a->plugin, ".so"))
        return fth_cli_usage_error("test-plugin", usage,
                                   "PLUGIN must be a plugin's shared object (.so), got '%s'",
                                   a->plugin);
    return FTH_EXIT_OK;
}

static int load_config(tp_args *a)
{
    if (!a->config_path)
        return FTH_EXIT_OK;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_config_load(a->config_path, &a->config, &err) == FTRACK_OK)
        return FTH_EXIT_OK;
    fprintf(stderr, "ftrack-host test-plugin: %s\n", err.message);
    return FTH_EXIT_USAGE;
}

/* ---- Loading: the plugin alone on a plugin path of its own, planned as the host plans ---- */

/* The loader scans folders; a private folder holding only a link to PLUGIN makes it load that
 * one file, with the host's checks and argument filtering. */
static int plan_plugin(const tp_args *a, fth_plan *plan)
{
    struct stat st;
    if (stat(a->plugin, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "ftrack-host test-plugin: %s: %s\n", a->plugin,
                errno ? strerror(errno) : "not a regular file");
        return FTH_EXIT_USAGE;
    }
    char real[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    char *dir = fti_asprintf("%s/ftrack-test-plugin.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    const char *base = strrchr(a->plugin, '/') ? strrchr(a->plugin, '/') + 1 : a->plugin;
    char *link = NULL;
    int rc = FTH_EXIT_USAGE;
    if (!realpath(a->plugin, real) || !dir || !mkdtemp(dir)) {
        fprintf(stderr, "ftrack-host test-plugin: cannot prepare %s: %s\n", a->plugin,
                strerror(errno));
        free(dir);
        return rc;
    }
    link = fti_asprintf("%s/%s", dir, base);
    if (link && symlink(real, link) == 0) {
        fth_plan_options po = {.plugin_paths = dir,
                               .text_arguments = a->text_arguments,
                               .config = a->config_path ? &a->config : NULL};
        ftrack_error err;
        ftrack_error_clear(&err);
        rc = fth_plan_build(&po, plan, &err) == FTRACK_OK ? FTH_EXIT_OK : FTH_EXIT_FAILURE;
        if (rc)
            fprintf(stderr, "ftrack-host test-plugin: %s\n", err.message);
    } else {
        fprintf(stderr, "ftrack-host test-plugin: cannot prepare %s: %s\n", a->plugin,
                strerror(errno));
    }
    if (link)
        unlink(link);
    rmdir(dir);
    free(link);
    free(dir);
    return rc;
}

/* Says why the plan cannot be run. */
static int check_plan(const tp_args *a, fth_plan *plan)
{
    const char *why = ftrack_plugin_set_count(plan->set)
                          ? ftrack_plugin_set_refusal(plan->set, 0)
                          : "it was not loaded";
    if (why) {
        /* The loader's message names the private link; name the user's file instead. */
        const char *link = ftrack_plugin_set_path(plan->set, 0);
        const char *at = link ? strstr(why, link) : NULL;
        fprintf(stderr, "ftrack-host test-plugin: %s is not a plugin ftrack-host can load: ",
                a->plugin);
        if (at)
            fprintf(stderr, "%.*s%s%s\n", (int)(at - why), why, a->plugin, at + strlen(link));
        else
            fprintf(stderr, "%s\n", why);
        return FTH_EXIT_USAGE;
    }
    for (size_t i = 0; i < plan->instance_count; i++)
        plan->instances[i].path = a->plugin; /* log the file the user named */
    fth_plan_log(plan);
    size_t runnable = 0;
    for (size_t i = 0; i < plan->instance_count; i++)
        runnable += !plan->instances[i].refusal;
    if (runnable)
        return FTH_EXIT_OK;
    fprintf(stderr, "ftrack-host test-plugin: no instance of %s can run (see above)\n", a->plugin);
    return FTH_EXIT_USAGE;
}

/* ---- Running ---------------------------------------------------------------------------- */

static bool capture_outgoing(const char *event_json, size_t len, void *user_data)
{
    tp_run *r = user_data;
    (void)len;
    json_object *event = json_tokener_parse(event_json);
    if (!event)
        return false;
    json_object_array_add(r->outgoing, event);
    return true;
}

static int open_session(tp_run *r, const char *seed)
{
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_tp_studio_start(seed, &r->studio, &err) != FTRACK_OK) {
        fprintf(stderr, "ftrack-host test-plugin: cannot start the embedded /api%s%s: %s\n",
                seed ? " with " : "", seed ? seed : "", err.message);
        return seed ? FTH_EXIT_USAGE : FTH_EXIT_FAILURE;
    }
    ftrack_session_options so;
    ftrack_session_options_init(&so);
    so.server_url = fth_tp_studio_url(r->studio);
    so.api_user = fth_tp_studio_user(r->studio);
    so.api_key = fth_tp_studio_key(r->studio);
    so.discover_plugins = false;
    so.auto_connect_event_hub = false;
    so.lazy_schemas = true;
    if (ftrack_session_open(&so, &r->session, &err) != FTRACK_OK) {
        fprintf(stderr, "ftrack-host test-plugin: cannot open the session: %s\n", err.message);
        return FTH_EXIT_FAILURE;
    }
    /* The plugin's hub never connects: its subscriptions stay local, its publishes are
     * captured, and events reach it only from the recording. */
    r->hub = ftrack_session_hub(r->session);
    ftrack_hub_set_local_subscriptions(r->hub, true);
    ftrack_hub_set_outgoing(r->hub, capture_outgoing, r);
    return FTH_EXIT_OK;
}

static int register_instance(tp_run *r, tp_instance *inst)
{
    ftrack_error err;
    ftrack_error_clear(&err);
    if (ftrack_hub_queue_new(r->hub, inst->plan->name, QUEUE_CAPACITY, &inst->queue, &err) !=
            FTRACK_OK ||
        !(inst->context = ftrack_plugin_context_new(inst->plan->name, r->session))) {
        fprintf(stderr, "ftrack-host test-plugin: %s\n", err.message[0] ? err.message : "out of memory");
        return FTH_EXIT_FAILURE;
    }
    json_object *args = json_tokener_parse(inst->plan->arguments_json);
    ftrack_hub_bind_thread(r->hub, inst->queue);
    ftrack_status st =
        inst->plan->descriptor->register_fn(inst->context, r->session, args, &inst->state, &err);
    json_object_put(args);
    if (st == FTRACK_OK)
        return FTH_EXIT_OK;
    fprintf(stderr, "ftrack-host test-plugin: plugin instance '%s' failed to register: %s\n",
            inst->plan->name, err.message[0] ? err.message : ftrack_strerror(st));
    return FTH_EXIT_FAILURE;
}

static int start_instances(tp_run *r, const fth_plan *plan)
{
    r->instances = calloc(plan->instance_count, sizeof(*r->instances));
    if (!r->instances)
        return FTH_EXIT_FAILURE;
    for (size_t i = 0; i < plan->instance_count; i++) {
        if (plan->instances[i].refusal)
            continue;
        tp_instance *inst = &r->instances[r->instance_count++];
        inst->plan = &plan->instances[i];
        int rc = register_instance(r, inst);
        if (rc)
            return rc;
    }
    return FTH_EXIT_OK;
}

static void stop_instances(tp_run *r)
{
    for (size_t i = 0; i < r->instance_count; i++) {
        tp_instance *inst = &r->instances[i];
        if (!inst->queue)
            continue;
        ftrack_hub_bind_thread(r->hub, inst->queue);
        if (inst->context && inst->plan->descriptor->unregister_fn)
            inst->plan->descriptor->unregister_fn(inst->context, inst->state);
        ftrack_hub_bind_thread(r->hub, NULL);
        ftrack_hub_queue_free(inst->queue);
        ftrack_plugin_context_free(inst->context);
    }
    free(r->instances);
    r->instances = NULL;
}

/* ---- One event -------------------------------------------------------------------------- */

static void print_line(tp_run *r, json_object *line)
{
    fputs(json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE),
          stdout);
    fputc('\n', stdout);
    fflush(stdout);
    json_object_array_add(r->lines, line);
}

/* An event the run made gets an id from the recorded event's: "<id>-<n>", and its time. */
static void derive(json_object *event, const char *recorded_id, json_object *recorded_sent,
                   const char *kind, size_t n)
{
    char *id = fti_asprintf("%s-%s%zu", recorded_id ? recorded_id : "event", kind, n);
    if (id)
        json_object_object_add(event, "id", json_object_new_string(id));
    free(id);
    json_object *source = NULL;
    if (json_object_object_get_ex(event, "source", &source) &&
        json_object_is_type(source, json_type_object) &&
        json_object_object_get_ex(source, "id", NULL))
        json_object_object_add(source, "id", json_object_new_string(FAKE_SOURCE_ID));
    /* The machine's name, which the SDK puts in the source of what it publishes. */
    if (json_object_is_type(source, json_type_object) &&
        json_object_object_get_ex(source, "host", NULL))
        json_object_object_add(source, "host", json_object_new_string(FAKE_SOURCE_ID));
    if (json_object_object_get_ex(event, "sent", NULL))
        json_object_object_add(event, "sent", json_object_get(recorded_sent));
}

/* Split what the plugin published into replies to `recorded_id` and other events. */
static void add_outgoing(json_object *line, json_object *outgoing, const char *recorded_id,
                         json_object *recorded_sent)
{
    json_object *replies = json_object_new_array(), *published = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(outgoing); i++) {
        json_object *ev = json_object_array_get_idx(outgoing, i);
        const char *topic = fti_json_string(ev, "topic");
        const char *to = fti_json_string(ev, "inReplyToEvent");
        json_object *data = NULL;
        if (topic && strcmp(topic, "ftrack.meta.reply") == 0 && to && recorded_id &&
            strcmp(to, recorded_id) == 0) {
            json_object_object_get_ex(ev, "data", &data);
            json_object_array_add(replies, json_object_get(data));
            continue;
        }
        derive(ev, recorded_id, recorded_sent, "", json_object_array_length(published) + 1);
        json_object_array_add(published, json_object_get(ev));
    }
    json_object_object_add(line, "replies", replies);
    json_object_object_add(line, "published", published);
}

static bool add_updates(tp_run *r, json_object *line, const char *recorded_id,
                        json_object *recorded_sent)
{
    ftrack_error err;
    ftrack_error_clear(&err);
    json_object *updates = fth_tp_studio_updates(r->studio, &err);
    if (!updates) {
        fprintf(stderr, "ftrack-host test-plugin: %s\n", err.message);
        return false;
    }
    for (size_t i = 0; i < json_object_array_length(updates); i++)
        derive(json_object_array_get_idx(updates, i), recorded_id, recorded_sent, "update-",
               i + 1);
    json_object_object_add(line, "updates", updates);
    return true;
}

static const char *outcome_of(ftrack_status st, const ftrack_dispatch_result *res,
                              const ftrack_delivery_outcome *o)
{
    if (st != FTRACK_OK || o->failures || res->reply_failures)
        return "failed";
    return res->callbacks ? "handled" : "no subscriber matched";
}

static void run_instance(tp_run *r, tp_instance *inst, const char *text, size_t len,
                         json_object *event, unsigned long number)
{
    const char *id = fti_json_string(event, "id");
    json_object *sent = json_object_object_get(event, "sent");
    json_object *line = json_object_new_object();
    json_object_object_add(line, "line", json_object_new_int64((int64_t)number));
    json_object_object_add(line, "event", id ? json_object_new_string(id) : NULL);
    json_object_object_add(line, "topic", json_object_get(json_object_object_get(event, "topic")));
    json_object_object_add(line, "instance", json_object_new_string(inst->plan->name));

    ftrack_delivery_outcome outcome;
    ftrack_delivery delivery;
    ftrack_delivery_init(&delivery, &outcome);
    ftrack_dispatch_result res = {.size = sizeof(res)};
    ftrack_error err;
    ftrack_error_clear(&err);
    r->outgoing = json_object_new_array();
    ftrack_hub_bind_thread(r->hub, inst->queue);
    ftrack_status st = ftrack_hub_queue_dispatch(inst->queue, text, len, &delivery, &res, &err);
    const char *what = outcome_of(st, &res, &outcome);
    json_object_object_add(line, "outcome", json_object_new_string(what));
    if (st != FTRACK_OK)
        json_object_object_add(line, "message", json_object_new_string(err.message));
    else if (outcome.failures)
        json_object_object_add(line, "message", json_object_new_string(outcome.message));
    else if (res.reply_failures)
        json_object_object_add(line, "message",
                               json_object_new_string("a reply could not be published"));
    add_outgoing(line, r->outgoing, id, sent);
    json_object_put(r->outgoing);
    r->outgoing = NULL;
    if (!add_updates(r, line, id, sent)) {
        json_object_object_add(line, "outcome", json_object_new_string("failed"));
        what = "failed";
    }
    fth_tp_normalize(&r->ids, &line);
    if (strcmp(what, "handled") != 0)
        r->all_handled = false;
    print_line(r, line);
}

/* A line that is not an event: said on stderr, named in the output, and the run goes on. */
static void unreadable(tp_run *r, const char *events, unsigned long number, const char *why)
{
    fprintf(stderr, "ftrack-host test-plugin: %s line %lu: %s; skipped\n", events, number, why);
    json_object *line = json_object_new_object();
    json_object_object_add(line, "line", json_object_new_int64((int64_t)number));
    json_object_object_add(line, "outcome", json_object_new_string("unreadable"));
    json_object_object_add(line, "message", json_object_new_string(why));
    r->all_handled = false;
    print_line(r, line);
}

static void run_line(tp_run *r, const char *events, char *text, size_t len, unsigned long number)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    if (strspn(text, " \t") == len)
        return;
    enum json_tokener_error jerr = json_tokener_success;
    json_object *event = json_tokener_parse_verbose(text, &jerr);
    if (!event || jerr != json_tokener_success) {
        char why[160];
        snprintf(why, sizeof(why), "not JSON (%s)",
                 jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "null");
        unreadable(r, events, number, why);
        json_object_put(event);
        return;
    }
    if (!json_object_is_type(event, json_type_object) || !fti_json_string(event, "topic")) {
        unreadable(r, events, number, "not an event (a JSON object with a string topic)");
        json_object_put(event);
        return;
    }
    for (size_t i = 0; i < r->instance_count; i++)
        run_instance(r, &r->instances[i], text, len, event, number);
    json_object_put(event);
}

/* The whole recording, read first: its text is also what tells generated ids from recorded
 * ones. */
static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = !path || strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return NULL;
    char *text = read_all(f, len);
    if (f != stdin)
        fclose(f);
    return text;
}

static void feed(tp_run *r, const char *events, char *text)
{
    unsigned long number = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        run_line(r, events, line, strlen(line), ++number);
        line = next;
    }
}

static int run(tp_args *a, const fth_plan *plan)
{
    const char *events = a->events ? a->events : "standard input";
    size_t events_len = 0, seed_len = 0;
    char *recording = read_file(a->events, &events_len);
    if (!recording) {
        fprintf(stderr, "ftrack-host test-plugin: cannot read %s: %s\n", events, strerror(errno));
        return FTH_EXIT_USAGE;
    }
    char *seed = a->seed ? read_file(a->seed, &seed_len) : NULL;
    if (a->seed && !seed) {
        fprintf(stderr, "ftrack-host test-plugin: cannot read --seed %s: %s\n", a->seed,
                strerror(errno));
        free(recording);
        return FTH_EXIT_USAGE;
    }
    /* Recorded and seeded ids are kept; others are the run's own. */
    char *known = fti_asprintf("%s\n%s", recording, seed ? seed : "");
    tp_run r = {.lines = json_object_new_array(), .all_handled = true};
    fth_tp_ids_init(&r.ids, known, known ? strlen(known) : 0);
    int rc = open_session(&r, a->seed);
    if (!rc)
        rc = start_instances(&r, plan);
    if (!rc) {
        feed(&r, events, recording);
        rc = r.all_handled ? FTH_EXIT_OK : FTH_EXIT_FAILURE;
        if (a->expect && fth_tp_expect(a->expect, r.lines, stderr) != 0)
            rc = FTH_EXIT_FAILURE;
    }
    stop_instances(&r);
    if (r.session)
        ftrack_session_free(r.session);
    fth_tp_studio_stop(r.studio);
    fth_tp_ids_clear(&r.ids);
    json_object_put(r.lines);
    free(known);
    free(seed);
    free(recording);
    return rc;
}

int fth_cmd_test_plugin(int argc, char **argv)
{
    tp_args a = {.text_arguments = json_object_new_object()};
    fth_config_init(&a.config);
    fth_plan plan = {0};
    int rc = parse_args(argc, argv, &a);
    if (!rc)
        rc = load_config(&a);
    if (!rc)
        rc = plan_plugin(&a, &plan);
    if (!rc)
        rc = check_plan(&a, &plan);
    if (!rc)
        rc = run(&a, &plan);
    fth_plan_clear(&plan);
    fth_config_clear(&a.config);
    json_object_put(a.text_arguments);
    return rc < 0 ? FTH_EXIT_OK : rc;
}
