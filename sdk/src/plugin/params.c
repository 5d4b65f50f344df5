/* SPDX-License-Identifier: Apache-2.0 */
/* Declared parameters and argument filtering (ftrack/plugin_loader.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ftrack/plugin_loader.h>
#include "common/internal.h"
#include "plugin/params.h"

#define PARAM_COUNT_MAX 256
#define PARAM_NAME_MAX 128

const char *ftrack_plugin_param_type_name(ftrack_param_type type)
{
    switch (type) {
    case FTRACK_PARAM_STRING:
        return "string";
    case FTRACK_PARAM_INT:
        return "int";
    case FTRACK_PARAM_DOUBLE:
        return "double";
    case FTRACK_PARAM_BOOL:
        return "bool";
    case FTRACK_PARAM_JSON:
        return "json";
    }
    return "unknown";
}

static bool valid_type(ftrack_param_type type)
{
    return type >= FTRACK_PARAM_STRING && type <= FTRACK_PARAM_JSON;
}

static bool valid_param_name(const char *name)
{
    if (!name || !*name || strlen(name) > PARAM_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

static const char *json_kind(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
        return "a number with a fraction";
    case json_type_int:
        return "an integer";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "a list";
    case json_type_string:
        return "a string";
    }
    return "a value";
}

static const char *expected_kind(ftrack_param_type type)
{
    switch (type) {
    case FTRACK_PARAM_STRING:
        return "a string";
    case FTRACK_PARAM_INT:
        return "an integer";
    case FTRACK_PARAM_DOUBLE:
        return "a number";
    case FTRACK_PARAM_BOOL:
        return "a boolean (true or false)";
    case FTRACK_PARAM_JSON:
        return "JSON";
    }
    return "a value";
}

static bool parse_json_text(const char *text, json_object **out)
{
    json_tokener *tok = json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH);
    if (!tok)
        return false;
    size_t len = strlen(text);
    /* The NUL is passed too: without it a bare number could still continue. */
    json_object *v = json_tokener_parse_ex(tok, text, (int)len + 1);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (e != json_tokener_success) {
        json_object_put(v);
        return false;
    }
    /* Only whitespace may follow the value. */
    for (size_t i = used; i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
            json_object_put(v);
            return false;
        }
    }
    *out = v;
    return true;
}

static bool text_to_int(const char *text, json_object **out)
{
    if (!*text)
        return false;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || *end || end == text)
        return false;
    *out = json_object_new_int64((int64_t)n);
    return *out != NULL;
}

static bool text_to_double(const char *text, json_object **out)
{
    if (!*text)
        return false;
    char *end = NULL;
    errno = 0;
    double d = strtod(text, &end);
    if (errno || *end || end == text || !isfinite(d))
        return false;
    *out = json_object_new_double(d);
    return *out != NULL;
}

static bool text_to_bool(const char *text, json_object **out)
{
    static const char *truthy[] = {"true", "1", "yes", "on"};
    static const char *falsy[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, truthy[i]) == 0 || strcasecmp(text, falsy[i]) == 0) {
            *out = json_object_new_boolean(strcasecmp(text, truthy[i]) == 0);
            return *out != NULL;
        }
    }
    return false;
}

static bool convert_text(const ftrack_plugin_param *p, const char *text, json_object **out,
                         char *reason, size_t size)
{
    bool ok = false;
    switch (p->type) {
    case FTRACK_PARAM_STRING:
        *out = json_object_new_string(text);
        return true;
    case FTRACK_PARAM_INT:
        ok = text_to_int(text, out);
        break;
    case FTRACK_PARAM_DOUBLE:
        ok = text_to_double(text, out);
        break;
    case FTRACK_PARAM_BOOL:
        ok = text_to_bool(text, out);
        break;
    case FTRACK_PARAM_JSON:
        ok = parse_json_text(text, out);
        break;
    }
    if (!ok)
        snprintf(reason, size, "expects %s, and the text given does not convert to one",
                 p->type == FTRACK_PARAM_JSON ? "JSON text" : expected_kind(p->type));
    return ok;
}

static bool check_json(const ftrack_plugin_param *p, json_object *value, json_object **out,
                       char *reason, size_t size)
{
    json_type t = json_object_get_type(value);
    bool ok = false;
    switch (p->type) {
    case FTRACK_PARAM_STRING:
        ok = t == json_type_string;
        break;
    case FTRACK_PARAM_INT:
        ok = t == json_type_int;
        break;
    case FTRACK_PARAM_BOOL:
        ok = t == json_type_boolean;
        break;
    case FTRACK_PARAM_JSON:
        ok = true;
        break;
    case FTRACK_PARAM_DOUBLE:
        if (t == json_type_int) {
            *out = json_object_new_double((double)json_object_get_int64(value));
            return true;
        }
        ok = t == json_type_double;
        break;
    }
    if (!ok) {
        snprintf(reason, size, "expects %s, got %s", expected_kind(p->type), json_kind(value));
        return false;
    }
    *out = json_object_get(value);
    return true;
}

bool fti_plugin_param_convert(const ftrack_plugin_param *p, json_object *value, bool from_text,
                              json_object **out, char *reason, size_t reason_size)
{
    *out = NULL;
    if (from_text && json_object_is_type(value, json_type_string))
        return convert_text(p, json_object_get_string(value), out, reason, reason_size);
    return check_json(p, value, out, reason, reason_size);
}

bool fti_plugin_params_valid(const ftrack_plugin_param *params, size_t count, char *reason,
                             size_t size)
{
    if (count > PARAM_COUNT_MAX) {
        snprintf(reason, size, "%zu parameters (at most %d)", count, PARAM_COUNT_MAX);
        return false;
    }
    if (count && !params) {
        snprintf(reason, size, "a count of %zu but no parameter array", count);
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        const ftrack_plugin_param *p = &params[i];
        if (!valid_param_name(p->name)) {
            snprintf(reason, size, "parameter %zu has no valid name (A-Z, a-z, 0-9, _, - and .)",
                     i + 1);
            return false;
        }
        if (!valid_type(p->type)) {
            snprintf(reason, size, "parameter '%s' has an unknown type %d", p->name, (int)p->type);
            return false;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(params[j].name, p->name) == 0) {
                snprintf(reason, size, "parameter '%s' is declared twice", p->name);
                return false;
            }
        }
        if (!p->default_json)
            continue;
        json_object *def = NULL, *typed = NULL;
        char why[256];
        if (!parse_json_text(p->default_json, &def)) {
            snprintf(reason, size, "the default of parameter '%s' is not JSON text", p->name);
            return false;
        }
        bool ok = check_json(p, def, &typed, why, sizeof(why));
        json_object_put(def);
        json_object_put(typed);
        if (!ok) {
            snprintf(reason, size, "the default of parameter '%s' %s", p->name, why);
            return false;
        }
    }
    return true;
}

void ftrack_plugin_arguments_init(ftrack_plugin_arguments *arguments)
{
    if (!arguments)
        return;
    memset(arguments, 0, sizeof(*arguments));
    arguments->size = sizeof(*arguments);
}

static const ftrack_plugin_param *find_param(const ftrack_plugin_descriptor_v1 *d, const char *name)
{
    for (size_t i = 0; i < d->param_count; i++)
        if (strcmp(d->params[i].name, name) == 0)
            return &d->params[i];
    return NULL;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends `source`'s undeclared keys to names (borrowed key strings). */
static size_t collect_undeclared(const ftrack_plugin_descriptor_v1 *d, json_object *source,
                                 const char **names, size_t n, size_t cap)
{
    if (!json_object_is_type(source, json_type_object))
        return n;
    json_object_object_foreach(source, key, value)
    {
        (void)value;
        if (!find_param(d, key) && n < cap)
            names[n++] = key;
    }
    return n;
}

static json_object *dropped_names(const ftrack_plugin_descriptor_v1 *d,
                                  const ftrack_plugin_arguments *a)
{
    size_t cap = 0;
    if (json_object_is_type(a->shared, json_type_object))
        cap += (size_t)json_object_object_length(a->shared);
    if (json_object_is_type(a->text, json_type_object))
        cap += (size_t)json_object_object_length(a->text);
    json_object *array = json_object_new_array();
    if (!array || cap == 0)
        return array;
    const char **names = calloc(cap, sizeof(*names));
    if (!names) {
        json_object_put(array);
        return NULL;
    }
    size_t n = collect_undeclared(d, a->shared, names, 0, cap);
    n = collect_undeclared(d, a->text, names, n, cap);
    qsort(names, n, sizeof(*names), compare_strings);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            json_object_array_add(array, json_object_new_string(names[i]));
    free(names);
    return array;
}

static ftrack_status check_instance_names(const ftrack_plugin_descriptor_v1 *d,
                                          json_object *instance, ftrack_error *err)
{
    if (!instance)
        return FTRACK_OK;
    if (!json_object_is_type(instance, json_type_object))
        return fti_error(err, FTRACK_ERR_PLUGIN, "the instance's arguments must be an object");
    json_object_object_foreach(instance, key, value)
    {
        (void)value;
        if (find_param(d, key))
            continue;
        char declared[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < d->param_count && used < sizeof(declared); i++) {
            int n = snprintf(declared + used, sizeof(declared) - used, "%s%s", i ? ", " : "",
                             d->params[i].name);
            if (n > 0)
                used += (size_t)n;
        }
        return fti_error(err, FTRACK_ERR_PLUGIN,
                         "the configuration gives argument '%s', which plugin '%s' does not "
                         "declare (it declares: %s)",
                         key, d->name, d->param_count ? declared : "nothing");
    }
    return FTRACK_OK;
}

/* Finds the winning value for one parameter: instance, then text, then shared. *value may be
 * NULL for JSON null. */
static bool lookup(const ftrack_plugin_arguments *a, const char *name, json_object **value,
                   bool *from_text, const char **origin)
{
    *from_text = false;
    if (json_object_is_type(a->instance, json_type_object) &&
        json_object_object_get_ex(a->instance, name, value)) {
        *origin = "the instance's configuration";
        return true;
    }
    if (json_object_is_type(a->text, json_type_object) &&
        json_object_object_get_ex(a->text, name, value)) {
        *from_text = true;
        *origin = "the command line";
        return true;
    }
    if (json_object_is_type(a->shared, json_type_object) &&
        json_object_object_get_ex(a->shared, name, value)) {
        *origin = "the shared arguments";
        return true;
    }
    return false;
}

static ftrack_status fill_param(const ftrack_plugin_descriptor_v1 *d, const ftrack_plugin_param *p,
                                const ftrack_plugin_arguments *a, json_object *out,
                                ftrack_error *err)
{
    bool from_text = false;
    const char *origin = NULL;
    json_object *value = NULL, *typed = NULL;
    if (lookup(a, p->name, &value, &from_text, &origin)) {
        char why[256];
        bool ok = fti_plugin_param_convert(p, value, from_text, &typed, why, sizeof(why));
        if (!ok)
            return fti_error(err, FTRACK_ERR_PLUGIN, "plugin '%s': parameter '%s' (%s) from %s %s",
                             d->name, p->name, ftrack_plugin_param_type_name(p->type), origin, why);
    } else if (p->default_json) {
        if (!parse_json_text(p->default_json, &typed))
            return fti_error(err, FTRACK_ERR_PLUGIN, "plugin '%s': bad default for '%s'", d->name,
                             p->name);
        if (p->type == FTRACK_PARAM_DOUBLE && json_object_is_type(typed, json_type_int)) {
            json_object *dbl = json_object_new_double((double)json_object_get_int64(typed));
            json_object_put(typed);
            typed = dbl;
        }
    } else if (p->required) {
        return fti_error(err, FTRACK_ERR_PLUGIN,
                         "plugin '%s': missing required parameter '%s' (%s%s%s)", d->name, p->name,
                         ftrack_plugin_param_type_name(p->type), p->help ? ": " : "",
                         p->help ? p->help : "");
    } else {
        return FTRACK_OK;
    }
    json_object_object_add(out, p->name, typed);
    return FTRACK_OK;
}

ftrack_status ftrack_plugin_filter_arguments(const ftrack_plugin_descriptor_v1 *descriptor,
                                             const ftrack_plugin_arguments *arguments,
                                             json_object **out, json_object **dropped,
                                             ftrack_error *err)
{
    if (!descriptor || !out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "descriptor and out are required");
    *out = NULL;
    if (dropped)
        *dropped = NULL;
    ftrack_plugin_arguments none;
    ftrack_plugin_arguments_init(&none);
    const ftrack_plugin_arguments *a = arguments ? arguments : &none;
    ftrack_status st = check_instance_names(descriptor, a->instance, err);
    if (st != FTRACK_OK)
        return st;
    json_object *result = json_object_new_object();
    if (!result)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < descriptor->param_count; i++) {
        st = fill_param(descriptor, &descriptor->params[i], a, result, err);
        if (st != FTRACK_OK) {
            json_object_put(result);
            return st;
        }
    }
    if (dropped) {
        *dropped = dropped_names(descriptor, a);
        if (!*dropped) {
            json_object_put(result);
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
        }
    }
    *out = result;
    return FTRACK_OK;
}
