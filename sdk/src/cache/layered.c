/* SPDX-License-Identifier: Apache-2.0 */
/* The layered cache (Python's LayeredCache). Its own read-write lock makes "miss in a shallow
 * layer, hit deeper, fill the shallow ones" atomic with respect to writers, so a fill can never
 * write back a value a concurrent set has just replaced. Hits in the shallowest layer, the
 * common case, only take the lock for reading. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_internal.h"
#include "common/internal.h"

typedef struct layered_cache {
    ftrack_cache base;
    pthread_rwlock_t lock;
    ftrack_cache **layers;
    size_t count;
    bool owns_layers;
} layered_cache;

static const ftrack_cache_vtable layered_vtable;

/* Keep the first real failure of a loop that goes on past it. */
static void remember(ftrack_status *first, ftrack_error *first_err, ftrack_status status,
                     const ftrack_error *e)
{
    if (status == FTRACK_OK || *first != FTRACK_OK)
        return;
    *first = status;
    *first_err = *e;
}

static ftrack_status fill_shallower(layered_cache *lc, size_t hit, const char *key,
                                    const void *value, size_t size, ftrack_error *err)
{
    for (size_t i = 0; i < hit; i++) {
        ftrack_status status = ftrack_cache_set(lc->layers[i], key, value, size, err);
        if (status != FTRACK_OK) {
            fti_error_prefix(err, "layered cache: filling layer %zu (%s)", i,
                             ftrack_cache_name(lc->layers[i]));
            return status;
        }
    }
    return FTRACK_OK;
}

static ftrack_status layered_get_locked(layered_cache *lc, const char *key, void **value,
                                        size_t *size, ftrack_error *err)
{
    for (size_t i = 0; i < lc->count; i++) {
        ftrack_status status = ftrack_cache_get(lc->layers[i], key, value, size, err);
        if (status == FTRACK_ERR_NOT_FOUND)
            continue;
        if (status != FTRACK_OK) {
            fti_error_prefix(err, "layered cache: layer %zu (%s)", i,
                             ftrack_cache_name(lc->layers[i]));
            return status;
        }
        status = fill_shallower(lc, i, key, *value, *size, err);
        if (status != FTRACK_OK) {
            free(*value);
            *value = NULL;
        }
        return status;
    }
    ftrack_error_clear(err); /* the dispatcher names the layered cache in its own message */
    return FTRACK_ERR_NOT_FOUND;
}

static ftrack_status layered_get(ftrack_cache *cache, const char *key, void **value, size_t *size,
                                 ftrack_error *err)
{
    layered_cache *lc = (layered_cache *)cache;
    if (lc->count == 0)
        return FTRACK_ERR_NOT_FOUND;
    pthread_rwlock_rdlock(&lc->lock);
    ftrack_status status = ftrack_cache_get(lc->layers[0], key, value, size, err);
    pthread_rwlock_unlock(&lc->lock);
    if (status != FTRACK_OK && status != FTRACK_ERR_NOT_FOUND)
        fti_error_prefix(err, "layered cache: layer 0 (%s)", ftrack_cache_name(lc->layers[0]));
    if (status != FTRACK_ERR_NOT_FOUND)
        return status;
    pthread_rwlock_wrlock(&lc->lock);
    status = layered_get_locked(lc, key, value, size, err);
    pthread_rwlock_unlock(&lc->lock);
    return status;
}

static ftrack_status layered_set(ftrack_cache *cache, const char *key, const void *value,
                                 size_t size, ftrack_error *err)
{
    layered_cache *lc = (layered_cache *)cache;
    ftrack_status status = FTRACK_OK;
    pthread_rwlock_wrlock(&lc->lock);
    for (size_t i = 0; i < lc->count && status == FTRACK_OK; i++) {
        status = ftrack_cache_set(lc->layers[i], key, value, size, err);
        if (status != FTRACK_OK)
            fti_error_prefix(err, "layered cache: layer %zu (%s)", i,
                             ftrack_cache_name(lc->layers[i]));
    }
    pthread_rwlock_unlock(&lc->lock);
    return status;
}

static ftrack_status layered_remove(ftrack_cache *cache, const char *key, ftrack_error *err)
{
    layered_cache *lc = (layered_cache *)cache;
    ftrack_status first = FTRACK_OK;
    bool found = false;
    pthread_rwlock_wrlock(&lc->lock);
    /* Go on past a failing layer: a key left in one layer is better than in several. */
    for (size_t i = 0; i < lc->count; i++) {
        ftrack_error e;
        ftrack_status status = ftrack_cache_remove(lc->layers[i], key, &e);
        if (status == FTRACK_OK) {
            found = true;
        } else if (status != FTRACK_ERR_NOT_FOUND) {
            fti_error_prefix(&e, "layered cache: layer %zu (%s)", i,
                             ftrack_cache_name(lc->layers[i]));
            remember(&first, err, status, &e);
        }
    }
    pthread_rwlock_unlock(&lc->lock);
    if (first != FTRACK_OK)
        return first;
    return found ? FTRACK_OK : FTRACK_ERR_NOT_FOUND;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort, then drop neighbours that repeat. */
static void dedupe(fti_key_list *list)
{
    if (list->count < 2)
        return;
    qsort(list->items, list->count, sizeof(*list->items), compare_keys);
    size_t kept = 1;
    for (size_t i = 1; i < list->count; i++) {
        if (strcmp(list->items[i], list->items[kept - 1]) == 0)
            free(list->items[i]);
        else
            list->items[kept++] = list->items[i];
    }
    list->count = kept;
    list->items[kept] = NULL;
}

static ftrack_status gather_keys(layered_cache *lc, fti_key_list *all, ftrack_error *err)
{
    for (size_t i = 0; i < lc->count; i++) {
        char **keys = NULL;
        ftrack_status status = ftrack_cache_keys(lc->layers[i], &keys, NULL, err);
        if (status != FTRACK_OK) {
            fti_error_prefix(err, "layered cache: layer %zu (%s)", i,
                             ftrack_cache_name(lc->layers[i]));
            return status;
        }
        bool ok = true;
        for (char **k = keys; *k; k++) {
            if (ok)
                ok = fti_key_list_take(all, *k);
            else
                free(*k);
        }
        free(keys);
        if (!ok)
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory listing cache keys");
    }
    return FTRACK_OK;
}

static ftrack_status layered_keys(ftrack_cache *cache, char ***keys, size_t *count,
                                  ftrack_error *err)
{
    layered_cache *lc = (layered_cache *)cache;
    fti_key_list all = {0};
    pthread_rwlock_rdlock(&lc->lock);
    ftrack_status status = gather_keys(lc, &all, err);
    pthread_rwlock_unlock(&lc->lock);
    if (status != FTRACK_OK) {
        fti_key_list_free(&all);
        return status;
    }
    dedupe(&all);
    *keys = fti_key_list_finish(&all, count);
    if (!*keys)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory listing cache keys");
    return FTRACK_OK;
}

static ftrack_status layered_clear(ftrack_cache *cache, const char *pattern, ftrack_error *err)
{
    layered_cache *lc = (layered_cache *)cache;
    ftrack_status first = FTRACK_OK;
    pthread_rwlock_wrlock(&lc->lock);
    for (size_t i = 0; i < lc->count; i++) {
        ftrack_error e;
        ftrack_status status = ftrack_cache_clear(lc->layers[i], pattern, &e);
        if (status != FTRACK_OK) {
            fti_error_prefix(&e, "layered cache: layer %zu (%s)", i,
                             ftrack_cache_name(lc->layers[i]));
            remember(&first, err, status, &e);
        }
    }
    pthread_rwlock_unlock(&lc->lock);
    return first;
}

static void layered_destroy(ftrack_cache *cache)
{
    layered_cache *lc = (layered_cache *)cache;
    if (lc->owns_layers) {
        for (size_t i = 0; i < lc->count; i++)
            ftrack_cache_free(lc->layers[i]);
    }
    free(lc->layers);
    pthread_rwlock_destroy(&lc->lock);
    free(lc);
}

static const ftrack_cache_vtable layered_vtable = {
    .size = sizeof(ftrack_cache_vtable),
    .name = "layered",
    .get = layered_get,
    .set = layered_set,
    .remove = layered_remove,
    .keys = layered_keys,
    .clear = layered_clear,
    .destroy = layered_destroy,
};

ftrack_status ftrack_layered_cache_new(ftrack_cache *const *layers, size_t count, bool take_layers,
                                       ftrack_cache **out, ftrack_error *err)
{
    if (!out || (count && !layers))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_layered_cache_new: out and layers must not be NULL");
    *out = NULL;
    for (size_t i = 0; i < count; i++) {
        if (!layers[i])
            return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                             "ftrack_layered_cache_new: layer %zu is NULL", i);
    }
    layered_cache *lc = calloc(1, sizeof(*lc));
    if (lc && count)
        lc->layers = calloc(count, sizeof(*lc->layers));
    if (!lc || (count && !lc->layers)) {
        free(lc);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory creating a layered cache");
    }
    if (count)
        memcpy(lc->layers, layers, count * sizeof(*layers));
    lc->base.vtable = &layered_vtable;
    lc->count = count;
    lc->owns_layers = take_layers;
    pthread_rwlock_init(&lc->lock, NULL);
    *out = &lc->base;
    return FTRACK_OK;
}

ftrack_cache *ftrack_layered_cache_layer(ftrack_cache *cache, size_t index)
{
    if (!cache || cache->vtable != &layered_vtable)
        return NULL;
    layered_cache *lc = (layered_cache *)cache;
    return index < lc->count ? lc->layers[index] : NULL;
}

size_t ftrack_layered_cache_count(ftrack_cache *cache)
{
    if (!cache || cache->vtable != &layered_vtable)
        return 0;
    return ((layered_cache *)cache)->count;
}
