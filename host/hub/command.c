/* SPDX-License-Identifier: Apache-2.0 */
/* The hub's command line: run the embedded event hub alone until SIGINT/SIGTERM. Shared by
 * `ftrack-host hub` and `ftrack-hub`, which differ only in the name they print (prog). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ftrack/ftrack.h>
#include <stdarg.h>
#include "common/internal.h"
#include "hub_server.h"

enum { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2 };

static void usage(FILE *out, const char *prog)
{
    int pad = (int)strlen("usage: ") + (int)strlen(prog) + 1;
    fprintf(out,
            "usage: %s [--listen HOST:PORT] [--data-dir DIR] [--heartbeat SECONDS]\n"
            "%*s[--store file|memory] [--seed FILE.json] [--user-keys FILE]\n"
            "%*s[--ffmpeg PATH] [--encode-timeout SECONDS] [--log-format text|json]\n"
            "\n", prog, pad, "", pad, "");
    fprintf(out,
            "Run the embedded ftrack event hub: the socket.io event server and POST /api.\n"
            "  --listen HOST:PORT   address to listen on (default 127.0.0.1:9090; port 0 picks\n"
            "                       a free one; IPv6 as [::1]:PORT)\n"
            "  --data-dir DIR       the hub's state folder (default $XDG_STATE_HOME/ftrack-host\n"
            "                       or ~/.local/state/ftrack-host)\n"
            "  --heartbeat SECONDS  interval of the heartbeats sent to clients (default 10)\n"
            "  --store file|memory  keep /api's entities in DIR/hub.sqlite (default) or in memory\n"
            "  --seed FILE.json     load these entities at start (projects, users, statuses...);\n"
            "                       ones that already exist are kept as they are\n"
            "  --ffmpeg PATH        the ffmpeg encode_media runs (default: ffmpeg on PATH)\n"
            "  --encode-timeout SECONDS  time limit of one encode_media job (default 600)\n"
            "  --log-format FORMAT  text (default) or json: every line on stderr one JSON object\n"
            "  --tls-cert FILE      serve https and wss with this PEM certificate (chain)...\n"
            "  --tls-key FILE       ...and its PEM private key\n"
            "  --public-url URL     the address clients use when it differs from the listen\n"
            "                       address (behind a reverse proxy): upload URLs use it\n"
            "  --user-keys FILE     write the API key of every other user in the store (the\n"
            "                       seeded ones) to FILE as JSON {username: key}, mode 0600\n"
            "  --max-connections N  connections served at once; more wait until one closes\n"
            "                       (default 256)\n"
            "  --max-api-body BYTES largest POST /api body (default 8M; K, M, G suffixes)\n"
            "  --max-upload BYTES   largest component file uploaded (default 4G)\n"
            "  --client-timeout SECONDS  time a request's head and body may take to arrive\n"
            "                       (default 30)\n"
            "\n"
            "The user is FTRACK_API_USER (else the login user), the key FTRACK_API_KEY or\n"
            "FTRACK_APIKEY; without one a key is generated and kept in DIR/api-key (mode 0600).\n"
            "When ready it prints a line with its URL on stderr.\n");
}

/* Split HOST:PORT ("[v6]:PORT", ":PORT" and "PORT" too) into a numeric host and a port. */
static bool parse_listen(const char *arg, char *host, size_t hostlen, int *port)
{
    const char *colon;
    char name[256] = "";
    if (arg[0] == '[') {
        const char *close = strchr(arg, ']');
        if (!close || close[1] != ':' || (size_t)(close - arg - 1) >= sizeof(name))
            return false;
        memcpy(name, arg + 1, (size_t)(close - arg - 1));
        name[close - arg - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(arg, ':');
        if (colon && memchr(arg, ':', (size_t)(colon - arg)))
            return false; /* a bare IPv6 address needs brackets */
        size_t n = colon ? (size_t)(colon - arg) : 0;
        if (n >= sizeof(name))
            return false;
        memcpy(name, arg, n);
        name[n] = '\0';
    }
    const char *ps = colon ? colon + 1 : arg;
    char *end = NULL;
    errno = 0;
    long p = strtol(ps, &end, 10);
    if (!*ps || *end || errno || p < 0 || p > 65535)
        return false;
    *port = (int)p;
    if (!name[0]) {
        snprintf(host, hostlen, "127.0.0.1");
        return true;
    }
    /* lws binds numeric addresses; resolve a name like "localhost" once here. */
    struct addrinfo hints = {
        .ai_flags = AI_PASSIVE, .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res)
        return false;
    int rc = getnameinfo(res->ai_addr, res->ai_addrlen, host, (socklen_t)hostlen, NULL, 0,
                         NI_NUMERICHOST);
    freeaddrinfo(res);
    return rc == 0;
}

/* BYTES with an optional K, M or G (powers of 1024). */
static bool parse_bytes(const char *s, size_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *s == '-' || errno || end == s || v == 0)
        return false;
    int shift = 0;
    if (*end) {
        const char *units = "KMG", *u = strchr(units, *end);
        if (!u || end[1])
            return false;
        shift = 10 * (int)(u - units + 1);
    }
    if (v > (SIZE_MAX >> shift))
        return false;
    *out = (size_t)(v << shift);
    return true;
}

static bool parse_seconds(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v > 0) || v > 3600)
        return false;
    *out = v;
    return true;
}

typedef struct hub_args {
    char host[256];
    int port;
    const char *data_dir;
    double heartbeat;
    bool memory_store;
    const char *seed_file;
    const char *user_keys_file;
    const char *ffmpeg;
    double encode_timeout;
    bool json; /* --log-format json */
    const char *tls_cert, *tls_key, *public_url;
    int max_connections;
    size_t max_api_body, max_upload;
    double client_timeout;
} hub_args;

/* --log-format json: every record as one JSON line on stderr, as ftrack-host writes them. */
static void json_sink(const ftrack_log_record *record, void *user_data)
{
    (void)user_data;
    char line[8192];
    fti_log_json(record, fti_wall_now(), false, line, sizeof(line));
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

/* A line for whoever reads stderr: "PROG: <message>" as it always was, or one JSON record.
 * A command-line mistake (`mistake`) is followed by a blank line and the usage in text, by
 * "(see --help)" in JSON. */
static void vsay(const hub_args *a, const char *prog, ftrack_log_level level, bool mistake,
                 const char *fmt, va_list ap)
{
    char message[2048];
    vsnprintf(message, sizeof(message), fmt, ap);
    if (a->json) {
        if (mistake)
            fti_strlcpy(message + strnlen(message, sizeof(message) - 16), " (see --help)", 16);
        ftrack_log_record r = {level, "hub", NULL, NULL, message};
        json_sink(&r, NULL);
        return;
    }
    fprintf(stderr, "%s: %s\n%s", prog, message, mistake ? "\n" : "");
    if (mistake)
        usage(stderr, prog);
    fflush(stderr);
}

static void say(const hub_args *a, const char *prog, ftrack_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(const hub_args *a, const char *prog, ftrack_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(a, prog, level, false, fmt, ap);
    va_end(ap);
}

static int usage_error(const hub_args *a, const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage_error(const hub_args *a, const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(a, prog, FTRACK_LOG_ERROR, true, fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

static int parse_args(int argc, char **argv, const char *prog, hub_args *a)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'},
        {"heartbeat", required_argument, NULL, 'b'},
        {"store", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"ffmpeg", required_argument, NULL, 'f'},
        {"encode-timeout", required_argument, NULL, 't'},
        {"log-format", required_argument, NULL, 'L'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"public-url", required_argument, NULL, 'P'},
        {"user-keys", required_argument, NULL, 'k'},
        {"max-connections", required_argument, NULL, 'M'},
        {"max-api-body", required_argument, NULL, 'B'},
        {"max-upload", required_argument, NULL, 'U'},
        {"client-timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    snprintf(a->host, sizeof(a->host), "127.0.0.1");
    a->port = 9090;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (!parse_listen(optarg, a->host, sizeof(a->host), &a->port)) {
                say(a, prog, FTRACK_LOG_ERROR, "--listen wants HOST:PORT, got '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'd':
            a->data_dir = optarg;
            break;
        case 'b':
            if (!parse_seconds(optarg, &a->heartbeat)) {
                say(a, prog, FTRACK_LOG_ERROR, "--heartbeat wants seconds (0-3600], got '%s'",
                    optarg);
                return EXIT_USAGE;
            }
            break;
        case 's':
            if (strcmp(optarg, "memory") != 0 && strcmp(optarg, "file") != 0) {
                say(a, prog, FTRACK_LOG_ERROR, "--store wants file or memory, got '%s'", optarg);
                return EXIT_USAGE;
            }
            a->memory_store = strcmp(optarg, "memory") == 0;
            break;
        case 'S':
            a->seed_file = optarg;
            break;
        case 'f':
            a->ffmpeg = optarg;
            break;
        case 'k':
            a->user_keys_file = optarg;
            break;
        case 't':
            if (!parse_seconds(optarg, &a->encode_timeout)) {
                say(a, prog, FTRACK_LOG_ERROR, "--encode-timeout wants seconds (0-3600], got '%s'",
                    optarg);
                return EXIT_USAGE;
            }
            break;
        case 'L':
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0) {
                say(a, prog, FTRACK_LOG_ERROR, "--log-format wants text or json, got '%s'",
                    optarg);
                return EXIT_USAGE;
            }
            break; /* a->json was read before parsing */
        case 'C':
            a->tls_cert = optarg;
            break;
        case 'K':
            a->tls_key = optarg;
            break;
        case 'P':
            a->public_url = optarg;
            break;
        case 'M': {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (!*optarg || *end || n < 1 || n > 65536)
                return usage_error(a, prog, "--max-connections wants 1-65536, got '%s'", optarg);
            a->max_connections = (int)n;
            break;
        }
        case 'B':
        case 'U':
            if (!parse_bytes(optarg, c == 'B' ? &a->max_api_body : &a->max_upload))
                return usage_error(a, prog, "%s wants a size in bytes (K, M, G allowed), got '%s'",
                                   c == 'B' ? "--max-api-body" : "--max-upload", optarg);
            break;
        case 'T':
            if (!parse_seconds(optarg, &a->client_timeout))
                return usage_error(a, prog, "--client-timeout wants seconds (0-3600], got '%s'",
                                   optarg);
            break;
        case 'h':
            usage(stdout, prog);
            return -1;
        default:
            return usage_error(a, prog, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(a, prog, "unexpected argument '%s'", argv[optind]);
    return EXIT_OK;
}

static void announce(const hub_args *a, const char *prog, const fhub_server *srv,
                     const fhub_credentials *creds)
{
    const char *nl = a->json ? " " : "\n"; /* three lines for a terminal, one record for a log */
    if (creds->key_file)
        say(a, prog, FTRACK_LOG_INFO,
            "%s API key in %s (readable only by you); to use it:%s"
            "  export FTRACK_API_USER=\"%s\"%s"
            "  export FTRACK_API_KEY=\"$(cat '%s')\"",
            creds->generated ? "generated an" : "using the", creds->key_file, nl, creds->api_user,
            nl, creds->key_file);
    say(a, prog, FTRACK_LOG_INFO, "ready at %s (user %s)", fhub_server_url(srv),
        creds->api_user);
}

int fhub_command(int argc, char **argv, const char *prog)
{
    hub_args a = {0};
    a.json = fti_args_want_json_logs(argc, argv, NULL);
    if (a.json)
        ftrack_log_set_sink(json_sink, NULL);
    int rc = parse_args(argc, argv, prog, &a);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;

    char *data_dir = a.data_dir ? strdup(a.data_dir) : fhub_default_data_dir();
    ftrack_error err;
    ftrack_error_clear(&err);
    fhub_credentials creds;
    if (fhub_credentials_resolve(data_dir, &creds, &err) != FTRACK_OK) {
        say(&a, prog, FTRACK_LOG_ERROR, "%s", err.message);
        free(data_dir);
        return EXIT_USAGE;
    }

    /* Block the signals before the service thread starts so only sigwait() sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    fhub_server_config cfg;
    fhub_server_config_init(&cfg);
    cfg.listen_host = a.host;
    cfg.port = a.port;
    cfg.api_user = creds.api_user;
    cfg.api_key = creds.api_key;
    cfg.heartbeat_interval = a.heartbeat;
    cfg.data_dir = data_dir;
    cfg.memory_store = a.memory_store;
    cfg.seed_file = a.seed_file;
    cfg.user_keys_file = a.user_keys_file;
    cfg.ffmpeg = a.ffmpeg;
    cfg.encode_timeout = a.encode_timeout;
    cfg.tls_cert = a.tls_cert;
    cfg.tls_key = a.tls_key;
    cfg.public_url = a.public_url;
    cfg.max_connections = a.max_connections;
    cfg.max_api_body = a.max_api_body;
    cfg.max_upload = a.max_upload;
    cfg.client_timeout = a.client_timeout;
    fhub_server *srv = NULL;
    if (fhub_server_start(&cfg, &srv, &err) != FTRACK_OK) {
        say(&a, prog, FTRACK_LOG_ERROR, "%s", err.message);
        fhub_credentials_clear(&creds);
        free(data_dir);
        return err.code == FTRACK_ERR_CONFIG ? EXIT_USAGE : EXIT_FAILURE_;
    }
    announce(&a, prog, srv, &creds);

    int sig = 0;
    sigwait(&set, &sig);
    ftrack_log(FTRACK_LOG_INFO, "hub", "stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fhub_server_stop(srv);
    fhub_credentials_clear(&creds);
    free(data_dir);
    return EXIT_OK;
}
