/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host record [--expression EXPR] [--out FILE] [--count N] [--duration SECONDS]`:
 * subscribe to the event hub in FTRACK_SERVER and write each event received as one JSON line,
 * the bytes the server sent, so `ftrack-host test-plugin` can feed them to a plugin later.
 * Ends after --count events, after --duration seconds, or on SIGINT/SIGTERM, and says how
 * many events it wrote. Exit 0 on a clean end, 1 when writing failed or events were lost,
 * 2 for usage, connection or credential errors. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/ftrack.h>
#include <ftrack/host.h>
#include "cli/cli.h"
#include "common/internal.h"

#define QUEUE_CAPACITY 100000
#define TAKE_TIMEOUT 0.2
#define REDACTED "<redacted>"
#define PROBE_TOPIC "ftrack.record.probe"
#define PROBE_TIMEOUT 10.0

typedef struct record_args {
    const char *expression;
    const char *out;
    unsigned long count; /* 0: no limit */
    double duration;     /* 0: no limit */
} record_args;

/* Set by the signal handler, read by the loop: a signal handler can only reach a global. */
static volatile sig_atomic_t stop_requested;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ftrack-host record [--expression EXPR] [--out FILE] [--count N]\n"
            "                          [--duration SECONDS]\n"
            "\n"
            "Subscribe to the event hub in FTRACK_SERVER (credentials from FTRACK_API_USER and\n"
            "FTRACK_API_KEY) and write each event received as one JSON line, as the server sent\n"
            "it, for `ftrack-host test-plugin --events FILE`.\n"
            "\n"
            "options:\n"
            "  --expression EXPR   which events to record (default: topic=*)\n"
            "  --out FILE          where to write (default: standard output; appends to FILE)\n"
            "  --count N           stop after N events\n"
            "  --duration SECONDS  stop after this long\n"
            "  --help              this text\n"
            "\n"
            "Ctrl-C ends the recording; the number of events written goes to standard error.\n");
}

static bool parse_count(const char *text, unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *end || errno || v == 0 || text[0] == '-')
        return false;
    *out = v;
    return true;
}

static bool parse_seconds(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno || !(v > 0) || v > 31 * 86400.0)
        return false;
    *out = v;
    return true;
}

/* 0 to go on, -1 after --help, else an exit code. */
static int parse_args(int argc, char **argv, record_args *a)
{
    static const struct option options[] = {
        {"expression", required_argument, NULL, 'e'}, {"out", required_argument, NULL, 'o'},
        {"count", required_argument, NULL, 'c'},      {"duration", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    a->expression = "topic=*";
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'e':
            a->expression = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'c':
            if (!parse_count(optarg, &a->count))
                return fth_cli_usage_error("record", usage, "--count wants a positive number, got '%s'",
                                           optarg);
            break;
        case 'd':
            if (!parse_seconds(optarg, &a->duration))
                return fth_cli_usage_error("record", usage, "--duration wants seconds, got '%s'",
                                           optarg);
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return fth_cli_usage_error("record", usage, "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
    }
    if (optind != argc)
        return fth_cli_usage_error("record", usage, "unexpected argument '%s'", argv[optind]);
    ftrack_expression *expr = NULL;
    ftrack_error err;
    if (ftrack_expression_compile(a->expression, &expr, &err) != FTRACK_OK)
        return fth_cli_usage_error("record", usage, "--expression: %s", err.message);
    ftrack_expression_free(expr);
    return FTH_EXIT_OK;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_overflow(ftrack_hub_queue *queue, const char *text, size_t len, void *user_data)
{
    (void)queue;
    (void)text;
    (void)len;
    atomic_fetch_add((atomic_ulong *)user_data, 1); /* the network thread: count only */
}

/* One line: the server's bytes, with line breaks (only possible as whitespace between JSON
 * tokens) made spaces, and the API key, should an event carry it, replaced. */
static bool write_event(FILE *out, char *text, size_t len, const char *key, unsigned long *redacted)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' || text[i] == '\r')
            text[i] = ' ';
    size_t key_len = key ? strlen(key) : 0;
    const char *p = text;
    const char *hit;
    while (key_len && (hit = memmem(p, len - (size_t)(p - text), key, key_len))) {
        fwrite(p, 1, (size_t)(hit - p), out);
        fputs(REDACTED, out);
        p = hit + key_len;
        (*redacted)++;
    }
    fwrite(p, 1, len - (size_t)(p - text), out);
    fputc('\n', out);
    return fflush(out) == 0 && !ferror(out);
}

/* The subscription is live once an event published after it comes back: a probe addressed
 * (by target) to a subscription of our own, so no other client receives it. */
typedef struct probe {
    char token[33];
    bool confirmed;
    double deadline;
} probe;

static ftrack_status send_probe(ftrack_hub *hub, ftrack_hub_queue *queue, probe *p,
                                ftrack_error *err)
{
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.queue = queue;
    char id[FTRACK_ID_MAX];
    ftrack_status st = ftrack_hub_subscribe(hub, "topic=" PROBE_TOPIC, fth_cli_no_callback, NULL, &so,
                                            id, err);
    if (st != FTRACK_OK)
        return st;
    fth_cli_random_hex(p->token);
    json_object *data = json_object_new_object();
    json_object_object_add(data, "token", json_object_new_string(p->token));
    ftrack_event *event = ftrack_event_new(PROBE_TOPIC, data);
    if (!event)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    char *target = fti_asprintf("id=%s", id);
    ftrack_event_set_target(event, target);
    st = ftrack_hub_publish(hub, event, NULL, err);
    free(target);
    ftrack_event_free(event);
    p->deadline = fti_now() + PROBE_TIMEOUT;
    return st;
}

static ftrack_hub_queue *subscribe(ftrack_hub *hub, const char *expression, probe *p,
                                   atomic_ulong *lost)
{
    ftrack_hub_queue *queue = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (ftrack_hub_queue_new(hub, "record", QUEUE_CAPACITY, &queue, &err) != FTRACK_OK) {
        fprintf(stderr, "ftrack-host record: %s\n", err.message);
        return NULL;
    }
    ftrack_hub_queue_set_overflow(queue, on_overflow, lost);
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.queue = queue;
    if (ftrack_hub_subscribe(hub, expression, fth_cli_no_callback, NULL, &so, NULL, &err) !=
            FTRACK_OK ||
        send_probe(hub, queue, p, &err) != FTRACK_OK) {
        fprintf(stderr, "ftrack-host record: cannot subscribe: %s\n", err.message);
        ftrack_hub_queue_free(queue);
        return NULL;
    }
    return queue;
}

/* True when `text` is our probe (not recorded); the first one says the recording is on. */
static bool is_probe(probe *p, const char *text, size_t len, const char *expression,
                     const char *where)
{
    if (p->confirmed || !memmem(text, len, p->token, strlen(p->token)))
        return false;
    p->confirmed = true;
    fprintf(stderr, "ftrack-host record: recording '%s' to %s\n", expression, where);
    return true;
}

/* An event this client made itself (the SDK's ftrack.meta.connected and disconnected, told
 * to local subscribers only, and the probe): not something the server sent. */
static bool is_own(const char *text, size_t len, const char *hub_id)
{
    json_tokener *tok = json_tokener_new();
    json_object *event = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    json_object *source = NULL;
    const char *id = json_object_object_get_ex(event, "source", &source)
                         ? fti_json_string(source, "id")
                         : NULL;
    bool own = id && strcmp(id, hub_id) == 0;
    json_object_put(event);
    if (tok)
        json_tokener_free(tok);
    return own;
}

static void check_probe_late(probe *p, const char *expression, const char *where)
{
    if (p->confirmed || fti_now() < p->deadline)
        return;
    p->confirmed = true;
    fprintf(stderr,
            "ftrack-host record: recording '%s' to %s (the server has not confirmed the "
            "subscription yet: events sent right now may be missed)\n",
            expression, where);
}

static int record(ftrack_hub *hub, FILE *out, const record_args *a, const char *where)
{
    probe p = {.confirmed = false};
    atomic_ulong lost_events = 0;
    ftrack_hub_queue *queue = subscribe(hub, a->expression, &p, &lost_events);
    if (!queue)
        return FTH_EXIT_USAGE;
    double end = a->duration > 0 ? fti_now() + a->duration : 0;
    unsigned long written = 0, redacted = 0;
    bool write_failed = false;
    while (!stop_requested && !write_failed && (!a->count || written < a->count)) {
        double wait = TAKE_TIMEOUT;
        if (end) {
            double left = end - fti_now();
            if (left <= 0)
                break;
            wait = left < wait ? left : wait;
        }
        size_t len = 0;
        char *text = ftrack_hub_queue_take(queue, wait, &len);
        check_probe_late(&p, a->expression, where);
        if (!text)
            continue;
        if (is_probe(&p, text, len, a->expression, where) ||
            is_own(text, len, ftrack_hub_id(hub))) {
            ftrack_free(text);
            continue;
        }
        write_failed = !write_event(out, text, len, fth_cli_api_key(), &redacted);
        written += !write_failed;
        ftrack_free(text);
    }
    ftrack_hub_queue_free(queue);
    unsigned long lost = atomic_load(&lost_events);
    fprintf(stderr, "ftrack-host record: %lu event%s recorded to %s\n", written,
            written == 1 ? "" : "s", where);
    if (redacted)
        fprintf(stderr, "ftrack-host record: the API key appeared %lu time%s in events and was "
                        "written as " REDACTED "\n",
                redacted, redacted == 1 ? "" : "s");
    if (write_failed)
        fprintf(stderr, "ftrack-host record: cannot write to %s: %s\n", where, strerror(errno));
    if (lost)
        fprintf(stderr, "ftrack-host record: %lu event%s lost: they came faster than they could "
                        "be written\n",
                lost, lost == 1 ? "" : "s");
    return write_failed || lost ? FTH_EXIT_FAILURE : FTH_EXIT_OK;
}

int fth_cmd_record(int argc, char **argv)
{
    record_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != FTH_EXIT_OK)
        return rc < 0 ? FTH_EXIT_OK : rc;
    FILE *out = stdout;
    const char *where = "standard output";
    if (a.out && strcmp(a.out, "-") != 0) {
        if (!(out = fopen(a.out, "a"))) {
            fprintf(stderr, "ftrack-host record: cannot open %s: %s\n", a.out, strerror(errno));
            return FTH_EXIT_USAGE;
        }
        where = a.out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_hub *hub = fth_cli_connect_hub("record", &err);
    if (!hub) {
        if (out != stdout)
            fclose(out);
        return FTH_EXIT_USAGE;
    }
    rc = record(hub, out, &a, where);
    ftrack_hub_free(hub);
    if (out != stdout && fclose(out) != 0 && rc == FTH_EXIT_OK)
        rc = FTH_EXIT_FAILURE;
    return rc;
}
