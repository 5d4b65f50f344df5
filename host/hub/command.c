/* The hub's command line: run the embedded event hub alone until SIGINT/SIGTERM. Shared by
 * `ftrack-host hub` and `ftrack-hub`, which differ only in the name they print (prog). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ftrack/ftrack.h>
#include <stdarg.h>
#include "hub_server.h"

enum { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2 };

static void usage(FILE *out, const char *prog)
{
    int pad = (int)strlen("usage: ") + (int)strlen(prog) + 1;
    fprintf(out,
            "usage: %s [--listen HOST:PORT] [--data-dir DIR] [--heartbeat SECONDS]\n"
            "%*s[--store file|memory] [--seed FILE.json] [--ffmpeg PATH]\n"
            "%*s[--encode-timeout SECONDS]\n"
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
    const char *ffmpeg;
    double encode_timeout;
} hub_args;

/* A command-line mistake: "PROG: <message>", a blank line and the usage on stderr. */
static int usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    va_end(ap);
    usage(stderr, prog);
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
                fprintf(stderr, "%s: --listen wants HOST:PORT, got '%s'\n", prog, optarg);
                return EXIT_USAGE;
            }
            break;
        case 'd':
            a->data_dir = optarg;
            break;
        case 'b':
            if (!parse_seconds(optarg, &a->heartbeat)) {
                fprintf(stderr, "%s: --heartbeat wants seconds (0-3600], got '%s'\n", prog,
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 's':
            if (strcmp(optarg, "memory") != 0 && strcmp(optarg, "file") != 0) {
                fprintf(stderr, "%s: --store wants file or memory, got '%s'\n", prog,
                        optarg);
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
        case 't':
            if (!parse_seconds(optarg, &a->encode_timeout)) {
                fprintf(stderr,
                        "%s: --encode-timeout wants seconds (0-3600], got '%s'\n", prog,
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout, prog);
            return -1;
        default:
            return usage_error(prog, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(prog, "unexpected argument '%s'", argv[optind]);
    return EXIT_OK;
}

static void announce(const char *prog, const fth_hub_server *srv, const fth_hub_credentials *creds)
{
    if (creds->key_file) {
        fprintf(stderr,
                "%s: %s API key in %s (readable only by you); to use it:\n"
                "  export FTRACK_API_USER=\"%s\"\n"
                "  export FTRACK_API_KEY=\"$(cat '%s')\"\n",
                prog, creds->generated ? "generated an" : "using the", creds->key_file, creds->api_user,
                creds->key_file);
    }
    fprintf(stderr, "%s: ready at %s (user %s)\n", prog, fth_hub_server_url(srv),
            creds->api_user);
    fflush(stderr);
}

int fth_hub_command(int argc, char **argv, const char *prog)
{
    hub_args a = {0};
    int rc = parse_args(argc, argv, prog, &a);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;

    char *data_dir = a.data_dir ? strdup(a.data_dir) : fth_hub_default_data_dir();
    ftrack_error err;
    ftrack_error_clear(&err);
    fth_hub_credentials creds;
    if (fth_hub_credentials_resolve(data_dir, &creds, &err) != FTRACK_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
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

    fth_hub_server_config cfg;
    fth_hub_server_config_init(&cfg);
    cfg.listen_host = a.host;
    cfg.port = a.port;
    cfg.api_user = creds.api_user;
    cfg.api_key = creds.api_key;
    cfg.heartbeat_interval = a.heartbeat;
    cfg.data_dir = data_dir;
    cfg.memory_store = a.memory_store;
    cfg.seed_file = a.seed_file;
    cfg.ffmpeg = a.ffmpeg;
    cfg.encode_timeout = a.encode_timeout;
    fth_hub_server *srv = NULL;
    if (fth_hub_server_start(&cfg, &srv, &err) != FTRACK_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
        fth_hub_credentials_clear(&creds);
        free(data_dir);
        return EXIT_FAILURE_;
    }
    announce(prog, srv, &creds);

    int sig = 0;
    sigwait(&set, &sig);
    ftrack_log(FTRACK_LOG_INFO, "hub", "stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fth_hub_server_stop(srv);
    fth_hub_credentials_clear(&creds);
    free(data_dir);
    return EXIT_OK;
}
