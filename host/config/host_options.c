/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line options of `ftrack-host` and `ftrack-host plugins` (host_options.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/internal.h"
#include "config/host_options.h"
#include "ops/logging.h"

enum {
    OPT_PLUGIN_PATH = 1000,
    OPT_PLUGIN_ARG,
    OPT_CONFIG,
    OPT_LOG_LEVEL,
    OPT_LISTEN,
    OPT_REQUIRE_SERVER,
    OPT_DRAIN_TIMEOUT,
    OPT_HELP,
    OPT_DATA_DIR,
    OPT_LOG_FORMAT,
    OPT_HEALTH_LISTEN,
    OPT_API_KEY_FILE,
    OPT_QUEUE_MODE,
    OPT_QUEUE_REDIS,
    OPT_QUEUE_CONSUMER,
    OPT_CA_FILE,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_PUBLIC_URL,
    OPT_PYTHON_PLUGINS,
    OPT_PYTHON,
};

void fth_host_options_usage(FILE *out, int which)
{
    if (which == FTH_OPTIONS_RUN)
        fprintf(out,
                "usage: ftrack-host [run] [options]\n\n"
                "Connect to ftrack's event hub (FTRACK_SERVER, FTRACK_API_USER, FTRACK_API_KEY),\n"
                "load the plugins on the plugin path and dispatch events to them. Without\n"
                "FTRACK_SERVER it starts the embedded event hub and connects to that.\n\n");
    else
        fprintf(out,
                "usage: ftrack-host plugins [options]\n\n"
                "List the plugins that would load, with their parameters, and why any file or\n"
                "instance would be refused. Connects nowhere. Exits 1 when anything would be\n"
                "refused.\n\n");
    fprintf(out, "options:\n"
                 "  --plugin-path PATHS    ':'-separated folders to scan (repeatable; replaces\n"
                 "                         FTRACK_EVENT_PLUGIN_PATH and the shipped plugins)\n"
                 "  --plugin-arg KEY=VALUE a plugin argument (repeatable); each plugin receives\n"
                 "                         the ones it declares, converted to their types\n"
                 "  --config FILE          JSON configuration (docs/config.md)\n"
                 "  --log-level LEVEL      debug, info, warning or error (default info)\n"
                 "  --python-plugins       also run the .py plugins written for ftrack's Python\n"
                 "                         client, each isolated (docs/python-plugins.md)\n"
                 "  --python PATH          their interpreter, which must import ftrack_api\n"
                 "                         (default python3)\n");
    if (which == FTH_OPTIONS_RUN)
        fprintf(out, "  --listen HOST:PORT     embedded hub address (default 127.0.0.1:9090)\n"
                     "  --data-dir DIR         state folder: journal, dead letters, control\n"
                     "                         socket, embedded hub (default\n"
                     "                         $XDG_STATE_HOME/ftrack-host); one host each\n"
                     "  --require-server       fail when FTRACK_SERVER is unset instead of\n"
                     "                         starting the embedded hub\n"
                     "  --drain-timeout SECS   at SIGTERM/SIGINT, time to finish queued events\n"
                     "                         (default 5)\n"
                     "  --health-listen HOST:PORT  serve /healthz, /readyz, /metrics and a status\n"
                     "                         page over HTTP (off unless set; port 0 picks one)\n"
                     "  --api-key-file FILE    read FTRACK_API_KEY from FILE (keeps the key out\n"
                     "                         of the environment and the configuration)\n"
                     "  --log-format FORMAT    text (default) or json (one JSON object a line)\n"
                     "  --ca-file FILE         PEM CAs that verify FTRACK_SERVER's certificate\n"
                     "                         (default: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE,\n"
                     "                         SSL_CERT_FILE, else the system's store)\n"
                     "  --tls-cert FILE --tls-key FILE  the embedded hub serves https and wss\n"
                     "  --public-url URL       the embedded hub's address as clients see it\n"
                     "                         (behind a reverse proxy)\n"
                     "  --queue-mode MODE      off (default), ingest or worker: share the work of\n"
                     "                         several hosts through Redis (docs/scale-out.md)\n"
                     "  --queue-redis HOST:PORT  the Redis of queue mode (default 127.0.0.1:6379)\n"
                     "  --queue-consumer NAME  this worker's consumer name (default host-pid)\n");
    fprintf(out, "  --help                 this text\n");
    if (which == FTH_OPTIONS_RUN)
        fprintf(out, "\nEvery option can also be set in the environment as FTRACK_HOST_<NAME>\n"
                     "(FTRACK_HOST_LOG_LEVEL=debug, FTRACK_HOST_REQUIRE_SERVER=1, ...) and most in\n"
                     "the --config file; a flag wins over the environment, which wins over the\n"
                     "file. Signals: SIGTERM/SIGINT drain and stop, SIGHUP reloads the\n"
                     "configuration. See ftrack-host(1) and docs/operations.md.\n");
}

static bool append_path(fth_host_options *o, const char *path)
{
    char *joined =
        o->plugin_paths ? fti_asprintf("%s:%s", o->plugin_paths, path) : fti_strdup(path);
    if (!joined)
        return false;
    free(o->plugin_paths);
    o->plugin_paths = joined;
    return true;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    fth_logging_say(FTRACK_LOG_ERROR, "host", "ftrack-host: ", "%s%s(see --help)", message,
                    fth_logging_is_json() ? " " : "\n");
    return FTH_OPTIONS_INVALID;
}

int fth_add_plugin_arg(json_object *text_arguments, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return usage_error("--plugin-arg wants KEY=VALUE, got '%s'", arg);
    char *key = fti_strndup(arg, (size_t)(eq - arg));
    if (!key)
        return FTH_OPTIONS_FAILED;
    json_object_object_add(text_arguments, key, json_object_new_string(eq + 1));
    free(key);
    return 0;
}

static int add_text_argument(fth_host_options *o, const char *arg)
{
    return fth_add_plugin_arg(o->text_arguments, arg);
}

static int parse_drain(fth_host_options *o, const char *arg)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(arg, &end);
    if (errno || !end || *end || end == arg || !isfinite(d) || d < 0 || d > 3600)
        return usage_error("--drain-timeout wants seconds from 0 to 3600, got '%s'", arg);
    o->drain_timeout = d;
    return 0;
}

/* A string option: the last occurrence wins. */
static int set_text(char **field, const char *arg)
{
    free(*field);
    *field = fti_strdup(arg);
    return 0;
}

static int set_listen(char **field, const char *flag, const char *arg)
{
    char *host = NULL;
    int port = 0;
    if (!fth_parse_listen(arg, &host, &port))
        return usage_error("%s wants HOST:PORT, got '%s'", flag, arg);
    free(host);
    return set_text(field, arg);
}

static int handle_option(fth_host_options *o, int c, const char *arg)
{
    switch (c) {
    case OPT_PLUGIN_PATH:
        return append_path(o, arg) ? 0 : FTH_OPTIONS_FAILED;
    case OPT_PLUGIN_ARG:
        return add_text_argument(o, arg);
    case OPT_CONFIG:
        return set_text(&o->config_path, arg);
    case OPT_LOG_LEVEL:
        if (!ftrack_log_level_parse(arg, &o->log_level))
            return usage_error("--log-level wants debug, info, warning or error, got '%s'", arg);
        o->has_log_level = true;
        return 0;
    case OPT_LISTEN:
        return set_listen(&o->listen, "--listen", arg);
    case OPT_REQUIRE_SERVER:
        o->require_server = true;
        return 0;
    case OPT_DRAIN_TIMEOUT:
        return parse_drain(o, arg);
    case OPT_HELP:
        o->help = true;
        return 0;
    case OPT_DATA_DIR:
        return set_text(&o->data_dir, arg);
    case OPT_LOG_FORMAT: {
        fth_log_format f;
        if (!fth_log_format_parse(arg, &f))
            return usage_error("--log-format wants text or json, got '%s'", arg);
        o->log_format = (int)f;
        o->has_log_format = true;
        return 0;
    }
    case OPT_HEALTH_LISTEN:
        return set_listen(&o->health_listen, "--health-listen", arg);
    case OPT_API_KEY_FILE:
        return set_text(&o->api_key_file, arg);
    case OPT_QUEUE_MODE:
        return set_text(&o->queue_mode, arg); /* checked by queue_mode.c */
    case OPT_QUEUE_REDIS:
        return set_text(&o->queue_redis, arg);
    case OPT_QUEUE_CONSUMER:
        return set_text(&o->queue_consumer, arg);
    case OPT_CA_FILE:
        return set_text(&o->ca_file, arg);
    case OPT_TLS_CERT:
        return set_text(&o->tls_cert, arg);
    case OPT_TLS_KEY:
        return set_text(&o->tls_key, arg);
    case OPT_PUBLIC_URL:
        return set_text(&o->public_url, arg);
    case OPT_PYTHON_PLUGINS:
        o->has_python_plugins = o->python_plugins = true;
        return 0;
    case OPT_PYTHON:
        if (!*arg)
            return usage_error("--python wants the path or name of a Python interpreter");
        return set_text(&o->python, arg);
    default:
        return FTH_OPTIONS_INVALID;
    }
}

/* FTRACK_HOST_<NAME> for every option no flag gave (flag > environment > file > default). */
static const struct {
    const char *variable;
    int option;
    bool run_only;
} env_options[] = {
    {"FTRACK_HOST_CONFIG", OPT_CONFIG, false},
    {"FTRACK_HOST_PLUGIN_PATH", OPT_PLUGIN_PATH, false},
    {"FTRACK_HOST_LOG_LEVEL", OPT_LOG_LEVEL, false},
    {"FTRACK_HOST_LOG_FORMAT", OPT_LOG_FORMAT, true},
    {"FTRACK_HOST_LISTEN", OPT_LISTEN, true},
    {"FTRACK_HOST_DATA_DIR", OPT_DATA_DIR, true},
    {"FTRACK_HOST_REQUIRE_SERVER", OPT_REQUIRE_SERVER, true},
    {"FTRACK_HOST_DRAIN_TIMEOUT", OPT_DRAIN_TIMEOUT, true},
    {"FTRACK_HOST_HEALTH_LISTEN", OPT_HEALTH_LISTEN, true},
    {"FTRACK_HOST_API_KEY_FILE", OPT_API_KEY_FILE, true},
    {"FTRACK_HOST_QUEUE_MODE", OPT_QUEUE_MODE, true},
    {"FTRACK_HOST_QUEUE_REDIS", OPT_QUEUE_REDIS, true},
    {"FTRACK_HOST_QUEUE_CONSUMER", OPT_QUEUE_CONSUMER, true},
    {"FTRACK_HOST_CA_FILE", OPT_CA_FILE, true},
    {"FTRACK_HOST_TLS_CERT", OPT_TLS_CERT, true},
    {"FTRACK_HOST_TLS_KEY", OPT_TLS_KEY, true},
    {"FTRACK_HOST_PUBLIC_URL", OPT_PUBLIC_URL, true},
    {"FTRACK_HOST_PYTHON_PLUGINS", OPT_PYTHON_PLUGINS, false},
    {"FTRACK_HOST_PYTHON", OPT_PYTHON, false},
};

static bool option_given(const fth_host_options *o, int option)
{
    switch (option) {
    case OPT_CONFIG:
        return o->config_path != NULL;
    case OPT_PLUGIN_PATH:
        return o->plugin_paths != NULL;
    case OPT_LOG_LEVEL:
        return o->has_log_level;
    case OPT_LOG_FORMAT:
        return o->has_log_format;
    case OPT_LISTEN:
        return o->listen != NULL;
    case OPT_DATA_DIR:
        return o->data_dir != NULL;
    case OPT_REQUIRE_SERVER:
        return o->require_server;
    case OPT_DRAIN_TIMEOUT:
        return o->drain_timeout >= 0;
    case OPT_HEALTH_LISTEN:
        return o->health_listen != NULL;
    case OPT_API_KEY_FILE:
        return o->api_key_file != NULL;
    case OPT_QUEUE_MODE:
        return o->queue_mode != NULL;
    case OPT_QUEUE_REDIS:
        return o->queue_redis != NULL;
    case OPT_QUEUE_CONSUMER:
        return o->queue_consumer != NULL;
    case OPT_CA_FILE:
        return o->ca_file != NULL;
    case OPT_TLS_CERT:
        return o->tls_cert != NULL;
    case OPT_TLS_KEY:
        return o->tls_key != NULL;
    case OPT_PUBLIC_URL:
        return o->public_url != NULL;
    case OPT_PYTHON_PLUGINS:
        return o->has_python_plugins;
    case OPT_PYTHON:
        return o->python != NULL;
    default:
        return true;
    }
}

static int env_flag(const char *variable, const char *value, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (strcasecmp(value, yes[i]) == 0)
            return *out = true, 0;
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (strcasecmp(value, no[i]) == 0)
            return *out = false, 0;
    return usage_error("%s wants 1 or 0 (true/false, yes/no, on/off), got '%s'", variable, value);
}

/* FTRACK_HOST_PLUGIN_ARG_<KEY>=VALUE is --plugin-arg key=VALUE (key lower-cased). */
static int env_plugin_args(fth_host_options *o)
{
    static const char prefix[] = "FTRACK_HOST_PLUGIN_ARG_";
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, prefix, sizeof(prefix) - 1) != 0)
            continue;
        const char *key = *e + sizeof(prefix) - 1, *eq = strchr(key, '=');
        if (!eq || eq == key)
            continue;
        char *name = fti_strndup(key, (size_t)(eq - key));
        if (!name)
            return FTH_OPTIONS_FAILED;
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (!json_object_object_get_ex(o->text_arguments, name, NULL))
            json_object_object_add(o->text_arguments, name, json_object_new_string(eq + 1));
        free(name);
    }
    return 0;
}

int fth_host_options_apply_env(fth_host_options *o, int which)
{
    for (size_t i = 0; i < sizeof(env_options) / sizeof(env_options[0]); i++) {
        const char *value = getenv(env_options[i].variable);
        if (!value || (env_options[i].run_only && which != FTH_OPTIONS_RUN) ||
            option_given(o, env_options[i].option))
            continue;
        int rc;
        if (env_options[i].option == OPT_REQUIRE_SERVER) {
            bool on = false;
            rc = env_flag(env_options[i].variable, value, &on);
            o->require_server = on;
        } else if (env_options[i].option == OPT_PYTHON_PLUGINS) {
            rc = env_flag(env_options[i].variable, value, &o->python_plugins);
            o->has_python_plugins = true;
        } else if (!*value) {
            continue; /* set but empty: as if unset */
        } else {
            rc = handle_option(o, env_options[i].option, value);
        }
        if (rc) {
            fth_logging_say(FTRACK_LOG_ERROR, "host", "ftrack-host: ",
                            "(from the environment variable %s)", env_options[i].variable);
            return rc;
        }
    }
    return env_plugin_args(o);
}

int fth_host_options_parse(int argc, char **argv, int which, fth_host_options *o)
{
    memset(o, 0, sizeof(*o));
    fth_config_init(&o->config);
    o->drain_timeout = -1;
    o->text_arguments = json_object_new_object();
    static const struct option run_options[] = {
        {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},
        {"plugin-arg", required_argument, NULL, OPT_PLUGIN_ARG},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"help", no_argument, NULL, OPT_HELP},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"require-server", no_argument, NULL, OPT_REQUIRE_SERVER},
        {"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"health-listen", required_argument, NULL, OPT_HEALTH_LISTEN},
        {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
        {"queue-mode", required_argument, NULL, OPT_QUEUE_MODE},
        {"queue-redis", required_argument, NULL, OPT_QUEUE_REDIS},
        {"queue-consumer", required_argument, NULL, OPT_QUEUE_CONSUMER},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"public-url", required_argument, NULL, OPT_PUBLIC_URL},
        {"python-plugins", no_argument, NULL, OPT_PYTHON_PLUGINS},
        {"python", required_argument, NULL, OPT_PYTHON},
        {NULL, 0, NULL, 0},
    };
    static const struct option plugins_options[] = {
        {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},
        {"plugin-arg", required_argument, NULL, OPT_PLUGIN_ARG},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"help", no_argument, NULL, OPT_HELP},
        {"python-plugins", no_argument, NULL, OPT_PYTHON_PLUGINS},
        {"python", required_argument, NULL, OPT_PYTHON},
        {NULL, 0, NULL, 0},
    };
    const struct option *table = which == FTH_OPTIONS_RUN ? run_options : plugins_options;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", table, NULL)) != -1) {
        if (c == 'h')
            c = OPT_HELP;
        if (c == '?' || c == ':') {
            const char *bad = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
            return usage_error("unknown option or missing value: %s", bad);
        }
        int rc = handle_option(o, c, optarg);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!o->text_arguments)
        return FTH_OPTIONS_FAILED;
    int env_rc = fth_host_options_apply_env(o, which);
    if (env_rc)
        return env_rc;
    if (o->help || !o->config_path)
        return 0;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_config_load(o->config_path, &o->config, &err) != FTRACK_OK) {
        fth_logging_say(FTRACK_LOG_ERROR, "host", "ftrack-host: ", "%s", err.message);
        return FTH_OPTIONS_INVALID;
    }
    return 0;
}

bool fth_host_options_want_json_logs(int argc, char **argv)
{
    return fti_args_want_json_logs(argc, argv, "FTRACK_HOST_LOG_FORMAT");
}

void fth_host_options_clear(fth_host_options *o)
{
    free(o->plugin_paths);
    json_object_put(o->text_arguments);
    free(o->config_path);
    fth_config_clear(&o->config);
    free(o->listen);
    free(o->data_dir);
    free(o->health_listen);
    free(o->api_key_file);
    free(o->queue_mode);
    free(o->queue_redis);
    free(o->queue_consumer);
    free(o->ca_file);
    free(o->tls_cert);
    free(o->tls_key);
    free(o->public_url);
    free(o->python);
    memset(o, 0, sizeof(*o));
}

/* The build root is the shipped plugin folder's parent; an executable below it runs from
 * the build tree. */
bool fth_running_from_build_tree(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char root[PATH_MAX];
    fti_strlcpy(root, FTRACK_BUILD_PLUGIN_DIR, sizeof(root));
    char *slash = strrchr(root, '/');
    if (!slash || slash == root)
        return false;
    *slash = '\0';
    size_t len = strlen(root);
    return strncmp(exe, root, len) == 0 && exe[len] == '/';
}

char *fth_resolve_plugin_paths(const fth_host_options *o)
{
    if (o->plugin_paths)
        return fti_strdup(o->plugin_paths);
    if (o->config.plugin_paths)
        return fti_strdup(o->config.plugin_paths);
    const char *env = getenv("FTRACK_EVENT_PLUGIN_PATH");
    if (env)
        return fti_strdup(env);
    return fti_strdup(fth_running_from_build_tree() ? FTRACK_BUILD_PLUGIN_DIR
                                                    : FTRACK_INSTALLED_PLUGIN_DIR);
}

void fth_python_settings(const fth_host_options *o, const fth_config *config, bool *enabled,
                         const char **python)
{
    *enabled = o->has_python_plugins ? o->python_plugins : config && config->python_plugins;
    *python = o->python ? o->python : config ? config->python : NULL;
}
