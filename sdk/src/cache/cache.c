/* SPDX-License-Identifier: Apache-2.0 */
/* The cache interface: argument checks, default messages and the default clear, so each
 * implementation (ours or a user's) only does its own work. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_internal.h"
#include "common/internal.h"

/* Every field up to and including `destroy` is required of a vtable; later fields may be
 * appended, and an older vtable's smaller size then tells us it lacks them. */
#define FTI_CACHE_VTABLE_MIN_SIZE                                                                  \
    (offsetof(ftrack_cache_vtable, destroy) + sizeof(((ftrack_cache_vtable *)0)->destroy))
#define FTI_KEY_MAKER_VTABLE_MIN_SIZE                                                              \
    (offsetof(ftrack_key_maker_vtable, destroy) + sizeof(((ftrack_key_maker_vtable *)0)->destroy))

ftrack_status fti_cache_regcomp(regex_t *re, const char *pattern, ftrack_error *err)
{
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc == 0)
        return FTRACK_OK;
    char why[128];
    regerror(rc, re, why, sizeof(why));
    return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "invalid cache key pattern '%s': %s",
                     pattern, why);
}

bool fti_cache_key_matches(const regex_t *re, const char *key)
{
    return regexec(re, key, 0, NULL, 0) == 0;
}

bool fti_key_list_take(fti_key_list *list, char *key)
{
    if (!key)
        return false;
    /* Keep one spare slot for the terminating NULL. */
    if (list->count + 1 >= list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 16;
        char **items = reallocarray(list->items, capacity, sizeof(*items));
        if (!items) {
            free(key);
            return false;
        }
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = key;
    list->items[list->count] = NULL;
    return true;
}

bool fti_key_list_add(fti_key_list *list, const char *key)
{
    return fti_key_list_take(list, strdup(key));
}

char **fti_key_list_finish(fti_key_list *list, size_t *count)
{
    char **items = list->items;
    if (!items)
        items = calloc(1, sizeof(*items));
    if (count)
        *count = items ? list->count : 0;
    list->items = NULL;
    list->count = 0;
    list->capacity = 0;
    return items;
}

void fti_key_list_free(fti_key_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
    list->capacity = 0;
}

const char *fti_cache_key_for_message(const char *key, char *buf, size_t size)
{
    size_t limit = size < 84 ? size : 84;
    if (strlen(key) < limit)
        return key;
    if (limit < 4)
        return "...";
    memcpy(buf, key, limit - 4);
    memcpy(buf + limit - 4, "...", 4);
    return buf;
}

void ftrack_cache_keys_free(char **keys)
{
    if (!keys)
        return;
    for (char **k = keys; *k; k++)
        free(*k);
    free(keys);
}

const char *ftrack_cache_name(const ftrack_cache *cache)
{
    if (!cache || !cache->vtable || !cache->vtable->name)
        return "unnamed";
    return cache->vtable->name;
}

static ftrack_status check_cache(const ftrack_cache *cache, const char *op, ftrack_error *err)
{
    if (!cache)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_cache_%s: cache is NULL", op);
    const ftrack_cache_vtable *vt = cache->vtable;
    if (!vt)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_cache_%s: cache has no vtable",
                         op);
    if (vt->size < FTI_CACHE_VTABLE_MIN_SIZE || !vt->get || !vt->set || !vt->remove || !vt->keys ||
        !vt->destroy)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_cache_%s: the %s cache's vtable is incomplete (size %zu, "
                         "get, set, remove, keys and destroy are required)",
                         op, ftrack_cache_name(cache), vt->size);
    return FTRACK_OK;
}

/* Pass an implementation's failure on, writing a message when it left none. */
static ftrack_status failed(const ftrack_cache *cache, ftrack_status status, const char *op,
                            const char *key, const ftrack_error *inner, ftrack_error *err)
{
    if (status == FTRACK_OK)
        status = FTRACK_ERR_INTERNAL;
    if (inner->message[0]) {
        if (err) {
            *err = *inner;
            err->code = status;
        }
        return status;
    }
    char buf[96];
    const char *shown = key ? fti_cache_key_for_message(key, buf, sizeof(buf)) : NULL;
    if (status == FTRACK_ERR_NOT_FOUND && shown)
        return fti_error(err, status, "key '%s' not found in the %s cache", shown,
                         ftrack_cache_name(cache));
    if (shown)
        return fti_error(err, status, "%s cache: %s '%s' failed: %s", ftrack_cache_name(cache), op,
                         shown, ftrack_strerror(status));
    return fti_error(err, status, "%s cache: %s failed: %s", ftrack_cache_name(cache), op,
                     ftrack_strerror(status));
}

ftrack_status ftrack_cache_get(ftrack_cache *cache, const char *key, void **value, size_t *size,
                               ftrack_error *err)
{
    if (value)
        *value = NULL;
    if (size)
        *size = 0;
    ftrack_status status = check_cache(cache, "get", err);
    if (status != FTRACK_OK)
        return status;
    if (!key || !value)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_cache_get: key and value must not be NULL");
    ftrack_error inner;
    ftrack_error_clear(&inner);
    void *got = NULL;
    size_t n = 0;
    status = cache->vtable->get(cache, key, &got, &n, &inner);
    if (status != FTRACK_OK)
        return failed(cache, status, "get", key, &inner, err);
    if (!got && n)
        return fti_error(err, FTRACK_ERR_INTERNAL, "%s cache: get returned no buffer for %zu bytes",
                         ftrack_cache_name(cache), n);
    /* The promised trailing NUL, whatever the implementation allocated. */
    char *buf = n < SIZE_MAX ? realloc(got, n + 1) : NULL;
    if (!buf) {
        free(got);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory copying a cached value");
    }
    buf[n] = '\0';
    *value = buf;
    if (size)
        *size = n;
    return FTRACK_OK;
}

ftrack_status ftrack_cache_set(ftrack_cache *cache, const char *key, const void *value, size_t size,
                               ftrack_error *err)
{
    ftrack_status status = check_cache(cache, "set", err);
    if (status != FTRACK_OK)
        return status;
    if (!key)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_cache_set: key is NULL");
    if (!value && size)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_cache_set: value is NULL but size is %zu", size);
    ftrack_error inner;
    ftrack_error_clear(&inner);
    status = cache->vtable->set(cache, key, value ? value : "", size, &inner);
    if (status != FTRACK_OK)
        return failed(cache, status, "set", key, &inner, err);
    return FTRACK_OK;
}

ftrack_status ftrack_cache_set_string(ftrack_cache *cache, const char *key, const char *value,
                                      ftrack_error *err)
{
    if (!value)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_cache_set_string: value is NULL");
    return ftrack_cache_set(cache, key, value, strlen(value), err);
}

ftrack_status ftrack_cache_remove(ftrack_cache *cache, const char *key, ftrack_error *err)
{
    ftrack_status status = check_cache(cache, "remove", err);
    if (status != FTRACK_OK)
        return status;
    if (!key)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_cache_remove: key is NULL");
    ftrack_error inner;
    ftrack_error_clear(&inner);
    status = cache->vtable->remove(cache, key, &inner);
    if (status != FTRACK_OK)
        return failed(cache, status, "remove", key, &inner, err);
    return FTRACK_OK;
}

ftrack_status ftrack_cache_keys(ftrack_cache *cache, char ***keys, size_t *count, ftrack_error *err)
{
    if (keys)
        *keys = NULL;
    if (count)
        *count = 0;
    ftrack_status status = check_cache(cache, "keys", err);
    if (status != FTRACK_OK)
        return status;
    if (!keys)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_cache_keys: keys is NULL");
    ftrack_error inner;
    ftrack_error_clear(&inner);
    char **got = NULL;
    size_t n = 0;
    status = cache->vtable->keys(cache, &got, &n, &inner);
    if (status != FTRACK_OK)
        return failed(cache, status, "keys", NULL, &inner, err);
    if (!got)
        return fti_error(err, FTRACK_ERR_INTERNAL, "%s cache: keys returned no array",
                         ftrack_cache_name(cache));
    *keys = got;
    if (count)
        *count = n;
    return FTRACK_OK;
}

/* Python's Cache.clear: list, filter, remove; a key that vanished meanwhile is fine. */
static ftrack_status clear_by_keys(ftrack_cache *cache, const regex_t *re, ftrack_error *err)
{
    char **keys = NULL;
    ftrack_status status = ftrack_cache_keys(cache, &keys, NULL, err);
    if (status != FTRACK_OK)
        return status;
    for (char **k = keys; *k; k++) {
        if (re && !fti_cache_key_matches(re, *k))
            continue;
        ftrack_error inner;
        status = ftrack_cache_remove(cache, *k, &inner);
        if (status != FTRACK_OK && status != FTRACK_ERR_NOT_FOUND) {
            if (err)
                *err = inner;
            break;
        }
        status = FTRACK_OK;
    }
    ftrack_cache_keys_free(keys);
    return status;
}

ftrack_status ftrack_cache_clear(ftrack_cache *cache, const char *pattern, ftrack_error *err)
{
    ftrack_status status = check_cache(cache, "clear", err);
    if (status != FTRACK_OK)
        return status;
    regex_t re;
    if (pattern) {
        status = fti_cache_regcomp(&re, pattern, err);
        if (status != FTRACK_OK)
            return status;
    }
    if (cache->vtable->clear) {
        ftrack_error inner;
        ftrack_error_clear(&inner);
        status = cache->vtable->clear(cache, pattern, &inner);
        if (status != FTRACK_OK)
            status = failed(cache, status, "clear", NULL, &inner, err);
    } else {
        status = clear_by_keys(cache, pattern ? &re : NULL, err);
    }
    if (pattern)
        regfree(&re);
    return status;
}

void ftrack_cache_free(ftrack_cache *cache)
{
    if (cache && cache->vtable && cache->vtable->destroy)
        cache->vtable->destroy(cache);
}

/* ---- Key makers --------------------------------------------------------------------------- */

ftrack_status ftrack_key_maker_key(ftrack_key_maker *maker, json_object *const *items, size_t count,
                                   char **key, ftrack_error *err)
{
    if (key)
        *key = NULL;
    if (!maker || !key || (count && !items))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_key_maker_key: maker, key and items must not be NULL");
    const ftrack_key_maker_vtable *vt = maker->vtable;
    if (!vt || vt->size < FTI_KEY_MAKER_VTABLE_MIN_SIZE || !vt->key || !vt->destroy)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_key_maker_key: the key maker's vtable is incomplete");
    ftrack_error inner;
    ftrack_error_clear(&inner);
    char *made = NULL;
    ftrack_status status = vt->key(maker, items, count, &made, &inner);
    if (status == FTRACK_OK && !made)
        status = FTRACK_ERR_INTERNAL;
    if (status != FTRACK_OK) {
        free(made);
        if (inner.message[0] && err) {
            *err = inner;
            err->code = status;
            return status;
        }
        return fti_error(err, status, "%s key maker failed: %s", vt->name ? vt->name : "unnamed",
                         ftrack_strerror(status));
    }
    *key = made;
    return FTRACK_OK;
}

void ftrack_key_maker_free(ftrack_key_maker *maker)
{
    if (maker && maker->vtable && maker->vtable->destroy)
        maker->vtable->destroy(maker);
}
