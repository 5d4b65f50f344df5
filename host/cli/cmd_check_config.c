/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host check-config FILE`: validate a configuration file and report every problem,
 * each with its key path and line, then what the plugins would make of it. Exit 0 when
 * there is none, 2 otherwise.
 *
 * Every problem, not the first: the file is checked one key (and one instance key) at a
 * time through the same parser the host uses, so the rules cannot drift apart. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/ftrack.h>
#include "cli/cli.h"
#include "common/internal.h"
#include "config/config.h"
#include "config/host_options.h"
#include "runtime/plugin_host.h"

#define ORIGIN "@"
#define FILE_MAX (4 * 1024 * 1024)

typedef struct checker {
    const char *path;
    const char *text;
    size_t problems;
} checker;

/* The line of the key at `keys` (nested, in order), found by scanning for each quoted key
 * after the previous one; 0 when not found. */
static size_t line_of(const char *text, const char *const *keys, size_t n)
{
    const char *at = text;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(keys[i]);
        const char *hit = NULL;
        for (const char *p = strchr(at, '"'); p; p = strchr(p + 1, '"')) {
            if (strncmp(p + 1, keys[i], len) != 0 || p[len + 1] != '"')
                continue;
            const char *q = p + len + 2;
            while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
                q++;
            if (*q == ':') {
                hit = p;
                break;
            }
        }
        if (!hit)
            return 0;
        at = hit + 1;
    }
    size_t line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

static void report(checker *c, const char *const *keys, size_t n, const char *message)
{
    char where[512] = "";
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(where);
        snprintf(where + used, sizeof(where) - used, "%s%s", i ? "." : "", keys[i]);
    }
    if (strncmp(message, ORIGIN ": ", strlen(ORIGIN) + 2) == 0)
        message += strlen(ORIGIN) + 2;
    size_t line = n ? line_of(c->text, keys, n) : 0;
    if (line)
        printf("%s:%zu: %s: %s\n", c->path, line, n ? where : "(top)", message);
    else
        printf("%s: %s: %s\n", c->path, n ? where : "(top)", message);
    c->problems++;
}

/* Parse {k0: {k1: {... value}}} through the host's parser; report a failure at keys. */
static bool check_piece(checker *c, const char *const *keys, size_t n, json_object *value)
{
    json_object *doc = json_object_get(value);
    for (size_t i = n; i-- > 0;) {
        json_object *wrap = json_object_new_object();
        json_object_object_add(wrap, keys[i], doc);
        doc = wrap;
    }
    fth_config config;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = fth_config_parse(doc, ORIGIN, &config, &err);
    json_object_put(doc);
    if (st == FTRACK_OK) {
        fth_config_clear(&config);
        return true;
    }
    report(c, keys, n, err.message);
    return false;
}

static void check_instances(checker *c, json_object *plugins)
{
    json_object_object_foreach(plugins, name, inst)
    {
        const char *keys[3] = {"plugins", name, NULL};
        json_object *empty = json_object_new_object();
        bool named = check_piece(c, keys, 2, empty);
        json_object_put(empty);
        if (!named)
            continue;
        if (!json_object_is_type(inst, json_type_object)) {
            check_piece(c, keys, 2, inst);
            continue;
        }
        json_object_object_foreach(inst, key, value)
        {
            keys[2] = key;
            check_piece(c, keys, 3, value);
        }
    }
}

static void check_keys(checker *c, json_object *doc)
{
    json_object_object_foreach(doc, key, value)
    {
        const char *keys[1] = {key};
        if (strcmp(key, "plugins") == 0 && json_object_is_type(value, json_type_object))
            check_instances(c, value);
        else
            check_piece(c, keys, 1, value);
    }
}

/* An instance the file names explicitly: refusing it is the file's fault, even when none
 * of its plugin's parameters were given. */
static bool has_entry(const fth_config *config, const char *name)
{
    for (size_t i = 0; config && i < config->instance_count; i++)
        if (strcmp(config->instances[i].name, name) == 0)
            return true;
    return false;
}

/* What the plugins would make of it: instances refused for their arguments, entries that
 * name no loaded plugin. */
static void check_plugins(checker *c, fth_host_options *o, json_object *doc)
{
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_config_parse(doc, ORIGIN, &o->config, &err) != FTRACK_OK) {
        report(c, NULL, 0, err.message);
        return;
    }
    char *paths = fth_resolve_plugin_paths(o);
    fth_plan plan;
    fth_plan_options po = {.plugin_paths = paths,
                           .text_arguments = o->text_arguments,
                           .config = &o->config};
    fth_python_settings(o, &o->config, &po.python_plugins, &po.python);
    if (!paths || fth_plan_build(&po, &plan, &err) != FTRACK_OK) {
        free(paths);
        report(c, NULL, 0, paths ? err.message : "out of memory");
        return;
    }
    for (size_t i = 0; i < plan.instance_count; i++) {
        const fth_plan_instance *inst = &plan.instances[i];
        if (!inst->refusal || (inst->unconfigured && !has_entry(&o->config, inst->name)))
            continue;
        const char *keys[2] = {"plugins", inst->name};
        bool listed = line_of(c->text, keys, 2) != 0;
        char message[FTRACK_ERROR_MESSAGE_MAX + 128];
        snprintf(message, sizeof(message), "plugin instance '%s' would be refused: %s", inst->name,
                 inst->refusal);
        report(c, keys, listed ? 2 : 0, message);
    }
    for (size_t i = 0; i < plan.note_count; i++)
        report(c, NULL, 0, plan.notes[i]);
    size_t accepted = plan.instance_count - plan.refused_instances;
    if (c->problems == 0)
        printf("%s: ok (%zu plugin instance%s would run from %s)\n", c->path, accepted,
               accepted == 1 ? "" : "s", paths);
    fth_plan_clear(&plan);
    free(paths);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ftrack-host check-config [options] FILE\n"
            "       ftrack-host check-config [options] --config FILE\n\n"
            "Check a configuration file and report every problem, one line each:\n"
            "  FILE:LINE: KEY.PATH: what is wrong\n"
            "then load the plugins (as the host would) and report every instance the\n"
            "file would get refused (wrong, missing or unknown arguments) and every entry\n"
            "that names no plugin. Connects nowhere. Exits 0 when the file is fine, 2\n"
            "otherwise.\n\n"
            "options:\n"
            "  --plugin-path PATHS    ':'-separated folders to scan instead of the file's\n"
            "                         plugin_paths (and FTRACK_EVENT_PLUGIN_PATH)\n"
            "  --plugin-arg KEY=VALUE a command-line argument the host would get (repeatable)\n"
            "  --no-plugins           check the file only; do not load plugins\n"
            "  --help                 this text\n");
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, FILE_MAX, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static int check_file(const char *path, fth_host_options *o, bool plugins)
{
    checker c = {path, NULL, 0};
    char *text = read_all(path);
    if (!text) {
        printf("%s: cannot read the file\n", path);
        return FTH_EXIT_USAGE;
    }
    c.text = text;
    fth_config probe;
    ftrack_error err;
    ftrack_error_clear(&err);
    /* Syntax first, with the host's own loader (it reports the line). */
    ftrack_status st = fth_config_load(path, &probe, &err);
    if (st == FTRACK_OK)
        fth_config_clear(&probe);
    json_object *doc = json_tokener_parse(text);
    if (!doc || !json_object_is_type(doc, json_type_object)) {
        printf("%s\n", err.message[0] ? err.message : "not a JSON object");
        json_object_put(doc);
        free(text);
        return FTH_EXIT_USAGE;
    }
    check_keys(&c, doc);
    if (c.problems == 0 && plugins)
        check_plugins(&c, o, doc);
    else if (c.problems == 0)
        printf("%s: ok\n", path);
    else
        printf("%s: %zu problem%s\n", path, c.problems, c.problems == 1 ? "" : "s");
    json_object_put(doc);
    free(text);
    return c.problems ? FTH_EXIT_USAGE : FTH_EXIT_OK;
}

int fth_cmd_check_config(int argc, char **argv)
{
    bool plugins = true;
    /* Pull out our own flag, hand the rest to the shared option parser. */
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest)
        return FTH_EXIT_FAILURE;
    int n = 0, files = 0;
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--no-plugins") == 0)
            plugins = false;
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9, files++;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[++i], files++; /* as the host takes its file: same words, same check */
        else if (i > 0 && argv[i][0] != '-' && strcmp(argv[i - 1], "--plugin-path") != 0 &&
                 strcmp(argv[i - 1], "--plugin-arg") != 0)
            file = argv[i], files++;
        else
            rest[n++] = argv[i];
    }
    /* The FILE argument is the configuration here, not FTRACK_HOST_CONFIG. */
    unsetenv("FTRACK_HOST_CONFIG");
    fth_host_options o;
    int rc = fth_cli_exit_code(fth_host_options_parse(n, rest, FTH_OPTIONS_PLUGINS, &o));
    free(rest);
    if (rc == 0 && o.help) {
        usage(stdout);
    } else if (rc == 0 && (files != 1 || o.config_path)) {
        fprintf(stderr, "ftrack-host check-config: give one FILE (see --help)\n");
        rc = FTH_EXIT_USAGE;
    } else if (rc == 0) {
        ftrack_log_set_level(FTRACK_LOG_ERROR); /* plugin loading chatter is not the report */
        rc = check_file(file, &o, plugins);
    }
    fth_host_options_clear(&o);
    return rc;
}
