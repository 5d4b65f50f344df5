/* SPDX-License-Identifier: Apache-2.0 */
/* The host's configuration file (docs/config.md). Unknown keys are errors: in a file that
 * steers a daemon, an unknown key can only be a typo that would otherwise be ignored. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "config/config.h"
#include "scale/queue_mode.h"

#define CONFIG_FILE_MAX (4 * 1024 * 1024)
#define INSTANCE_NAME_MAX 64
#define QUEUE_CAPACITY_MAX 10000000

void fth_config_init(fth_config *config)
{
    memset(config, 0, sizeof(*config));
    config->drain_timeout = -1;
}

static bool valid_instance_name(const char *name)
{
    if (!*name || strlen(name) > INSTANCE_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return false;
    return true;
}

static ftrack_status bad(ftrack_error *err, const char *origin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ftrack_status bad(ftrack_error *err, const char *origin, const char *fmt, ...)
{
    char what[FTRACK_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return fti_error(err, FTRACK_ERR_CONFIG, "%s: %s", origin, what);
}

static ftrack_status parse_capacity(json_object *v, const char *origin, const char *key,
                                    size_t *out, ftrack_error *err)
{
    int64_t n = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || n < 1 || n > QUEUE_CAPACITY_MAX)
        return bad(err, origin, "\"%s\" must be an integer from 1 to %d", key, QUEUE_CAPACITY_MAX);
    *out = (size_t)n;
    return FTRACK_OK;
}

static ftrack_status parse_paths(json_object *v, const char *origin, fth_config *c,
                                 ftrack_error *err)
{
    if (json_object_is_type(v, json_type_string)) {
        c->plugin_paths = fti_strdup(json_object_get_string(v));
        return c->plugin_paths ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    if (!json_object_is_type(v, json_type_array))
        return bad(err, origin, "\"plugin_paths\" must be a list of folders (or one string)");
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(v, i);
        if (!json_object_is_type(item, json_type_string))
            return bad(err, origin, "\"plugin_paths\" item %zu is not a string", i + 1);
    }
    c->plugin_paths = fti_json_join(v, ":");
    if (!c->plugin_paths)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    return FTRACK_OK;
}

static ftrack_status parse_instance(const char *name, json_object *v, const char *origin,
                                    fth_config_instance *inst, ftrack_error *err)
{
    if (!valid_instance_name(name))
        return bad(err, origin,
                   "plugins: \"%s\" is not a valid instance name (1-%d characters "
                   "of a-z, 0-9, _ and -)",
                   name, INSTANCE_NAME_MAX);
    if (!json_object_is_type(v, json_type_object))
        return bad(err, origin, "plugins.%s must be an object", name);
    inst->enabled = true;
    inst->name = fti_strdup(name);
    const char *plugin = name;
    json_object_object_foreach(v, key, value)
    {
        if (strcmp(key, "plugin") == 0) {
            if (!json_object_is_type(value, json_type_string) ||
                !valid_instance_name(json_object_get_string(value)))
                return bad(err, origin, "plugins.%s.plugin must be a plugin name", name);
            plugin = json_object_get_string(value);
        } else if (strcmp(key, "arguments") == 0) {
            if (!json_object_is_type(value, json_type_object))
                return bad(err, origin, "plugins.%s.arguments must be an object", name);
            inst->arguments = value;
            char where[128];
            snprintf(where, sizeof(where), "plugins.%s.arguments", name);
            ftrack_status sst = fth_config_read_secret_files(value, origin, where, err);
            if (sst != FTRACK_OK)
                return sst;
        } else if (strcmp(key, "enabled") == 0) {
            if (!json_object_is_type(value, json_type_boolean))
                return bad(err, origin, "plugins.%s.enabled must be true or false", name);
            inst->enabled = json_object_get_boolean(value);
        } else if (strcmp(key, "queue_capacity") == 0) {
            char label[128];
            snprintf(label, sizeof(label), "plugins.%s.queue_capacity", name);
            ftrack_status st = parse_capacity(value, origin, label, &inst->queue_capacity, err);
            if (st != FTRACK_OK)
                return st;
        } else {
            ftrack_status rel =
                fth_config_parse_rel_instance_key(name, key, value, origin, inst, err);
            if (rel != FTRACK_ERR_NOT_FOUND) {
                if (rel != FTRACK_OK)
                    return rel;
                continue;
            }
            return bad(err, origin,
                       "plugins.%s: unknown key \"%s\" (known: plugin, arguments, "
                       "enabled, queue_capacity, " FTH_CONFIG_REL_INSTANCE_KEYS ")",
                       name, key);
        }
    }
    if (inst->unjournaled && inst->isolated)
        return bad(err, origin,
                   "plugins.%s: \"journal\": false cannot be combined with an isolated "
                   "instance (retrying the event a crashed child was handling needs the journal)",
                   name);
    inst->plugin = fti_strdup(plugin);
    if (!inst->name || !inst->plugin)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    return FTRACK_OK;
}

static ftrack_status parse_plugins(json_object *v, const char *origin, fth_config *c,
                                   ftrack_error *err)
{
    if (!json_object_is_type(v, json_type_object))
        return bad(err, origin, "\"plugins\" must be an object of instances by name");
    size_t n = (size_t)json_object_object_length(v);
    c->instances = calloc(n ? n : 1, sizeof(*c->instances));
    if (!c->instances)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    json_object_object_foreach(v, key, value)
    {
        ftrack_status st =
            parse_instance(key, value, origin, &c->instances[c->instance_count++], err);
        if (st != FTRACK_OK)
            return st;
    }
    return FTRACK_OK;
}

static ftrack_status parse_key(const char *key, json_object *value, const char *origin,
                               fth_config *c, ftrack_error *err)
{
    if (strcmp(key, "arguments") == 0) {
        if (!json_object_is_type(value, json_type_object))
            return bad(err, origin, "\"arguments\" must be an object");
        c->arguments = value;
        return fth_config_read_secret_files(value, origin, "arguments", err);
    }
    if (strcmp(key, "plugin_paths") == 0)
        return parse_paths(value, origin, c, err);
    if (strcmp(key, "plugins") == 0)
        return parse_plugins(value, origin, c, err);
    if (strcmp(key, "queue_capacity") == 0)
        return parse_capacity(value, origin, key, &c->queue_capacity, err);
    if (strcmp(key, "drain_timeout") == 0) {
        double d = json_object_get_double(value);
        bool number = json_object_is_type(value, json_type_double) ||
                      json_object_is_type(value, json_type_int);
        if (!number || !isfinite(d) || d < 0 || d > 3600)
            return bad(err, origin, "\"drain_timeout\" must be a number of seconds from 0 to 3600");
        c->drain_timeout = d;
        return FTRACK_OK;
    }
    if (strcmp(key, "log_level") == 0) {
        if (!json_object_is_type(value, json_type_string) ||
            !ftrack_log_level_parse(json_object_get_string(value), &c->log_level))
            return bad(err, origin, "\"log_level\" must be debug, info, warning or error");
        c->has_log_level = true;
        return FTRACK_OK;
    }
    if (strcmp(key, "python_plugins") == 0) {
        if (!json_object_is_type(value, json_type_boolean))
            return bad(err, origin, "\"python_plugins\" must be true or false");
        c->python_plugins = json_object_get_boolean(value);
        return FTRACK_OK;
    }
    if (strcmp(key, "python") == 0) {
        if (!json_object_is_type(value, json_type_string) || !*json_object_get_string(value))
            return bad(err, origin, "\"python\" must be the path or name of a Python interpreter");
        free(c->python);
        c->python = fti_strdup(json_object_get_string(value));
        return c->python ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    ftrack_status ops = fth_config_parse_ops_key(key, value, origin, c, err);
    if (ops != FTRACK_ERR_NOT_FOUND)
        return ops;
    ftrack_status rel = fth_config_parse_rel_key(key, value, origin, c, err);
    if (rel != FTRACK_ERR_NOT_FOUND)
        return rel;
    ftrack_status queue = fth_config_parse_queue_key(key, value, origin, c, err);
    if (queue != FTRACK_ERR_NOT_FOUND)
        return queue;
    return bad(err, origin,
               "unknown key \"%s\" (known: arguments, plugins, plugin_paths, "
               "queue_capacity, drain_timeout, log_level, " FTH_CONFIG_OPS_KEYS
               ", " FTH_CONFIG_REL_KEYS ", queue, python_plugins, python)",
               key);
}

ftrack_status fth_config_parse(json_object *document, const char *origin, fth_config *config,
                               ftrack_error *err)
{
    fth_config_init(config);
    if (!json_object_is_type(document, json_type_object))
        return bad(err, origin, "the configuration must be a JSON object");
    config->document = json_object_get(document);
    json_object_object_foreach(document, key, value)
    {
        ftrack_status st = parse_key(key, value, origin, config, err);
        if (st != FTRACK_OK) {
            fth_config_clear(config);
            return st;
        }
    }
    return FTRACK_OK;
}

static char *read_file(const char *path, ftrack_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fti_error(err, FTRACK_ERR_IO, "cannot read configuration %s: %s", path, strerror(errno));
        return NULL;
    }
    /* Grown as the file is read rather than CONFIG_FILE_MAX up front: glibc serves a 4 MiB
     * block with mmap and, once it is freed, raises its mmap and trim thresholds to match,
     * so the heap of the whole process would then never be given back. */
    size_t cap = 0, n = 0;
    char *buf = NULL;
    bool oom = false;
    while (!oom && n == cap && cap <= CONFIG_FILE_MAX) {
        cap = cap ? (cap * 2 > CONFIG_FILE_MAX + 1 ? CONFIG_FILE_MAX + 1 : cap * 2) : 16384;
        char *grown = realloc(buf, cap + 1);
        oom = !grown;
        if (grown) {
            buf = grown;
            n += fread(buf + n, 1, cap - n, f);
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (oom || failed || n > CONFIG_FILE_MAX) {
        free(buf);
        fti_error(err, FTRACK_ERR_IO, "cannot read configuration %s: %s", path,
                  failed ? "read error" : "larger than 4 MiB or out of memory");
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

ftrack_status fth_config_load(const char *path, fth_config *config, ftrack_error *err)
{
    fth_config_init(config);
    char *text = read_file(path, err);
    if (!text)
        return err ? err->code : FTRACK_ERR_IO;
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok) {
        free(text);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    json_object *doc = json_tokener_parse_ex(tok, text, (int)strlen(text));
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    ftrack_status st;
    if (e != json_tokener_success) {
        size_t line = 1;
        for (size_t i = 0; i < end && text[i]; i++)
            line += text[i] == '\n';
        st = fti_error(err, FTRACK_ERR_CONFIG, "%s: not valid JSON (line %zu: %s)", path, line,
                       e == json_tokener_continue ? "unexpected end of file"
                                                  : json_tokener_error_desc(e));
    } else {
        while (text[end] == ' ' || text[end] == '\n' || text[end] == '\t' || text[end] == '\r')
            end++;
        st = text[end] ? fti_error(err, FTRACK_ERR_CONFIG, "%s: text after the JSON object", path)
                       : fth_config_parse(doc, path, config, err);
    }
    json_object_put(doc);
    free(text);
    return st;
}

void fth_config_clear(fth_config *config)
{
    if (!config)
        return;
    for (size_t i = 0; i < config->instance_count; i++) {
        free(config->instances[i].name);
        free(config->instances[i].plugin);
    }
    free(config->instances);
    free(config->plugin_paths);
    free(config->health_listen);
    free(config->api_key_file);
    free(config->ca_file);
    free(config->tls_cert);
    free(config->tls_key);
    free(config->public_url);
    free(config->python);
    json_object_put(config->document);
    fth_config_init(config);
}

size_t fth_config_instances_of(const fth_config *config, const char *plugin,
                               const fth_config_instance **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; config && i < config->instance_count; i++)
        if (strcmp(config->instances[i].plugin, plugin) == 0 && n < max)
            out[n++] = &config->instances[i];
    return n;
}
