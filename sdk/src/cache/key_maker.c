/* SPDX-License-Identifier: Apache-2.0 */
/* Key makers (Python's KeyMaker family): the string one of ftrack_api.cache, and a canonical
 * JSON one for keys that must not depend on the order of an object's members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_internal.h"
#include "common/internal.h"

/* Compact, and '/' as itself: the forms a person reading a key expects. */
#define PLAIN_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

typedef struct key_maker {
    ftrack_key_maker base;
} key_maker;

static void key_maker_destroy(ftrack_key_maker *maker)
{
    free(maker);
}

/* ---- String key maker --------------------------------------------------------------------- */

static ftrack_status string_key(ftrack_key_maker *maker, json_object *const *items, size_t count,
                                char **key, ftrack_error *err)
{
    (void)maker;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory making a cache key");
    ftrack_status status = FTRACK_OK;
    for (size_t i = 0; i < count && status == FTRACK_OK; i++) {
        const char *text;
        size_t n;
        if (json_object_is_type(items[i], json_type_string)) {
            /* Python's str() of a string is the string itself. */
            text = json_object_get_string(items[i]);
            n = (size_t)json_object_get_string_len(items[i]);
            if (memchr(text, '\0', n))
                status = fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                                   "string key maker: item %zu contains a NUL byte", i);
        } else {
            text = json_object_to_json_string_length(items[i], PLAIN_FLAGS, &n);
            if (!text)
                status = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory making a cache key");
        }
        if (status == FTRACK_OK && n && fwrite(text, 1, n, out) != n)
            status = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory making a cache key");
    }
    if (fclose(out) != 0 && status == FTRACK_OK)
        status = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory making a cache key");
    if (status != FTRACK_OK) {
        free(buf);
        return status;
    }
    *key = buf;
    return FTRACK_OK;
}

static const ftrack_key_maker_vtable string_vtable = {
    .size = sizeof(ftrack_key_maker_vtable),
    .name = "string",
    .key = string_key,
    .destroy = key_maker_destroy,
};

/* ---- Canonical JSON key maker ------------------------------------------------------------- */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool canonical_copy(json_object *src, json_object **out);

/* A new object with src's members in key order: json-c prints members in insertion order. */
static bool canonical_object(json_object *src, json_object **out)
{
    size_t n = (size_t)json_object_object_length(src);
    const char **names = calloc(n ? n : 1, sizeof(*names));
    json_object *obj = json_object_new_object();
    bool ok = names && obj;
    size_t i = 0;
    struct json_object_iter it;
    if (ok) {
        json_object_object_foreachC(src, it)
        {
            if (i < n)
                names[i++] = it.key;
        }
        qsort(names, i, sizeof(*names), compare_names);
    }
    for (size_t j = 0; ok && j < i; j++) {
        json_object *child = NULL;
        ok = canonical_copy(json_object_object_get(src, names[j]), &child);
        if (ok &&
            json_object_object_add_ex(obj, names[j], child, JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
            json_object_put(child);
            ok = false;
        }
    }
    free(names);
    if (!ok) {
        json_object_put(obj);
        return false;
    }
    *out = obj;
    return true;
}

static bool canonical_array(json_object *src, json_object **out)
{
    size_t n = json_object_array_length(src);
    json_object *arr = json_object_new_array_ext((int)(n ? n : 1));
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        json_object *child = NULL;
        ok = canonical_copy(json_object_array_get_idx(src, i), &child);
        if (ok && json_object_array_add(arr, child) != 0) {
            json_object_put(child);
            ok = false;
        }
    }
    if (!ok) {
        json_object_put(arr);
        return false;
    }
    *out = arr;
    return true;
}

/* *out: a canonical copy of src (NULL for JSON null). false: out of memory. */
static bool canonical_copy(json_object *src, json_object **out)
{
    *out = NULL;
    switch (json_object_get_type(src)) {
    case json_type_null:
        return true;
    case json_type_object:
        return canonical_object(src, out);
    case json_type_array:
        return canonical_array(src, out);
    case json_type_double:
        /* A parsed double prints its original text ("1.50"); print it from its value. */
        *out = json_object_new_double(json_object_get_double(src));
        return *out != NULL;
    case json_type_boolean:
    case json_type_int:
    case json_type_string:
        /* These print from their value alone; share them rather than copy. */
        *out = json_object_get(src);
        return true;
    }
    return false;
}

static ftrack_status json_key(ftrack_key_maker *maker, json_object *const *items, size_t count,
                              char **key, ftrack_error *err)
{
    (void)maker;
    *key = NULL;
    json_object *list = json_object_new_array_ext((int)(count ? count : 1));
    bool ok = list != NULL;
    for (size_t i = 0; ok && i < count; i++) {
        json_object *copy = NULL;
        ok = canonical_copy(items[i], &copy);
        if (ok && json_object_array_add(list, copy) != 0) {
            json_object_put(copy);
            ok = false;
        }
    }
    size_t n = 0;
    const char *text = ok ? json_object_to_json_string_length(list, PLAIN_FLAGS, &n) : NULL;
    /* The array's text without its brackets: items joined by ','. */
    if (text && n >= 2 && text[0] == '[' && text[n - 1] == ']')
        *key = strndup(text + 1, n - 2);
    json_object_put(list);
    if (!*key)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory making a cache key");
    return FTRACK_OK;
}

static const ftrack_key_maker_vtable json_vtable = {
    .size = sizeof(ftrack_key_maker_vtable),
    .name = "canonical JSON",
    .key = json_key,
    .destroy = key_maker_destroy,
};

static ftrack_status key_maker_new(const ftrack_key_maker_vtable *vtable, ftrack_key_maker **out,
                                   ftrack_error *err)
{
    if (!out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "key maker: out is NULL");
    key_maker *km = calloc(1, sizeof(*km));
    *out = km ? &km->base : NULL;
    if (!km)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory creating a key maker");
    km->base.vtable = vtable;
    return FTRACK_OK;
}

ftrack_status ftrack_string_key_maker_new(ftrack_key_maker **out, ftrack_error *err)
{
    return key_maker_new(&string_vtable, out, err);
}

ftrack_status ftrack_json_key_maker_new(ftrack_key_maker **out, ftrack_error *err)
{
    return key_maker_new(&json_vtable, out, err);
}
