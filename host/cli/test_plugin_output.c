/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host test-plugin`: deterministic output lines and the --expect comparison
 * (test_plugin.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "cli/test_plugin.h"

#define DIFFS_PER_LINE 5
#define VALUE_SHOWN 160

void fth_tp_ids_init(fth_tp_ids *ids, const char *known, size_t known_len)
{
    ids->map = json_object_new_object();
    ids->known = known;
    ids->known_len = known_len;
    ids->next = 0;
}

void fth_tp_ids_clear(fth_tp_ids *ids)
{
    json_object_put(ids->map);
    ids->map = NULL;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* A uuid (8-4-4-4-12) or 32 hex digits: what ftrack and this SDK use as ids. */
static bool looks_like_id(const char *s, size_t n)
{
    if (n == 32)
        return all_hex(s, n);
    if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
        return false;
    return all_hex(s, 8) && all_hex(s + 9, 4) && all_hex(s + 14, 4) && all_hex(s + 19, 4) &&
           all_hex(s + 24, 12);
}

static json_object *placeholder(fth_tp_ids *ids, const char *s, size_t n)
{
    if (!looks_like_id(s, n) || (ids->known && memmem(ids->known, ids->known_len, s, n)))
        return NULL;
    json_object *p = NULL;
    if (!json_object_object_get_ex(ids->map, s, &p)) {
        char name[32];
        snprintf(name, sizeof(name), "generated-id-%u", ++ids->next);
        p = json_object_new_string(name);
        json_object_object_add(ids->map, s, p);
    }
    return json_object_get(p);
}

void fth_tp_normalize(fth_tp_ids *ids, json_object **value)
{
    json_object *v = *value;
    switch (json_object_get_type(v)) {
    case json_type_string: {
        json_object *p = placeholder(ids, json_object_get_string(v),
                                     (size_t)json_object_get_string_len(v));
        if (p) {
            json_object_put(v);
            *value = p;
        }
        return;
    }
    case json_type_object: {
        json_object_object_foreach(v, key, child)
        {
            json_object *c = json_object_get(child);
            fth_tp_normalize(ids, &c);
            if (c != child)
                json_object_object_add(v, key, c);
            else
                json_object_put(c);
        }
        return;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *child = json_object_array_get_idx(v, i);
            json_object *c = json_object_get(child);
            fth_tp_normalize(ids, &c);
            if (c != child)
                json_object_array_put_idx(v, i, c);
            else
                json_object_put(c);
        }
        return;
    default:
        return;
    }
}

/* ---- --expect ------------------------------------------------------------------------- */

typedef struct diff_state {
    FILE *report;
    unsigned shown;
    unsigned total;
} diff_state;

static void show_value(FILE *out, json_object *v)
{
    const char *text = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE)
                         : "null";
    size_t n = strlen(text);
    if (n > VALUE_SHOWN)
        fprintf(out, "%.*s...", VALUE_SHOWN, text);
    else
        fputs(text, out);
}

static void differ(diff_state *d, const char *path, const char *what, json_object *want,
                   json_object *got)
{
    d->total++;
    if (!d->report || d->shown++ >= DIFFS_PER_LINE)
        return; /* counting only, or enough shown */
    fprintf(d->report, "    at %s: %s", path[0] ? path : "(the whole line)", what);
    if (strcmp(what, "differs") == 0) {
        fputs("\n      expected ", d->report);
        show_value(d->report, want);
        fputs("\n      got      ", d->report);
        show_value(d->report, got);
    }
    fputc('\n', d->report);
}

static void compare(diff_state *d, const char *path, json_object *want, json_object *got);

static void compare_objects(diff_state *d, const char *path, json_object *want, json_object *got)
{
    json_object_object_foreach(want, key, wv)
    {
        char *sub = fti_asprintf("%s%s%s", path, path[0] ? "." : "", key);
        json_object *gv = NULL;
        if (!json_object_object_get_ex(got, key, &gv))
            differ(d, sub ? sub : key, "missing (expected it)", wv, NULL);
        else
            compare(d, sub ? sub : key, wv, gv);
        free(sub);
    }
    json_object_object_foreach(got, gkey, gval)
    {
        (void)gval;
        if (!json_object_object_get_ex(want, gkey, NULL)) {
            char *sub = fti_asprintf("%s%s%s", path, path[0] ? "." : "", gkey);
            differ(d, sub ? sub : gkey, "present, but not expected", NULL, gval);
            free(sub);
        }
    }
}

static void compare_arrays(diff_state *d, const char *path, json_object *want, json_object *got)
{
    size_t nw = json_object_array_length(want), ng = json_object_array_length(got);
    for (size_t i = 0; i < nw && i < ng; i++) {
        char *sub = fti_asprintf("%s[%zu]", path, i);
        compare(d, sub ? sub : path, json_object_array_get_idx(want, i),
                json_object_array_get_idx(got, i));
        free(sub);
    }
    if (nw != ng) {
        char what[96];
        snprintf(what, sizeof(what), "%zu item%s, expected %zu", ng, ng == 1 ? "" : "s", nw);
        differ(d, path, what, want, got);
    }
}

static void compare(diff_state *d, const char *path, json_object *want, json_object *got)
{
    if (json_object_is_type(want, json_type_string) &&
        strcmp(json_object_get_string(want), FTH_TP_ANY) == 0)
        return;
    if (json_object_get_type(want) != json_object_get_type(got)) {
        differ(d, path, "differs", want, got);
        return;
    }
    if (json_object_is_type(want, json_type_object))
        compare_objects(d, path, want, got);
    else if (json_object_is_type(want, json_type_array))
        compare_arrays(d, path, want, got);
    else if (!json_object_equal(want, got))
        differ(d, path, "differs", want, got);
}

static const char *line_name(json_object *line, char *buf, size_t size)
{
    const char *id = fti_json_string(line, "event");
    const char *topic = fti_json_string(line, "topic");
    snprintf(buf, size, "event %s (%s)", id ? id : "?", topic ? topic : "no topic");
    return buf;
}

/* The expected lines, or NULL after saying why. */
static json_object *read_expected(const char *path, FILE *report)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(report, "ftrack-host test-plugin: cannot read --expect %s\n", path);
        return NULL;
    }
    json_object *lines = json_object_new_array();
    char *text = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long number = 0;
    while ((n = getline(&text, &cap, f)) > 0) {
        number++;
        if (strspn(text, " \t\r\n") == (size_t)n)
            continue;
        json_object *o = json_tokener_parse(text);
        if (!json_object_is_type(o, json_type_object)) {
            fprintf(report, "ftrack-host test-plugin: --expect %s line %lu is not a JSON object\n",
                    path, number);
            json_object_put(o);
            json_object_put(lines);
            lines = NULL;
            break;
        }
        json_object_array_add(lines, o);
    }
    free(text);
    fclose(f);
    return lines;
}

int fth_tp_expect(const char *path, json_object *lines, FILE *report)
{
    json_object *want = read_expected(path, report);
    if (!want)
        return 2;
    size_t nw = json_object_array_length(want), ng = json_object_array_length(lines);
    unsigned differing = 0;
    char name[160];
    for (size_t i = 0; i < nw || i < ng; i++) {
        json_object *w = i < nw ? json_object_array_get_idx(want, i) : NULL;
        json_object *g = i < ng ? json_object_array_get_idx(lines, i) : NULL;
        if (!g || !w) {
            if (!differing++)
                fprintf(report, "ftrack-host test-plugin: the output differs from %s:\n", path);
            fprintf(report, "  output line %zu, %s: %s\n", i + 1,
                    line_name(g ? g : w, name, sizeof(name)),
                    g ? "not in the expected output" : "expected, but the run printed no such line");
            continue;
        }
        /* Count first, so the line's header comes before its differences. */
        diff_state d = {NULL, 0, 0};
        compare(&d, "", w, g);
        if (!d.total)
            continue;
        if (!differing++)
            fprintf(report, "ftrack-host test-plugin: the output differs from %s:\n", path);
        fprintf(report, "  output line %zu, %s:\n", i + 1, line_name(g, name, sizeof(name)));
        d = (diff_state){report, 0, 0};
        compare(&d, "", w, g);
        if (d.total > DIFFS_PER_LINE)
            fprintf(report, "    (%u more difference%s on this line)\n", d.total - DIFFS_PER_LINE,
                    d.total - DIFFS_PER_LINE == 1 ? "" : "s");
    }
    json_object_put(want);
    return differing ? 1 : 0;
}
