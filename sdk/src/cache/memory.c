/* SPDX-License-Identifier: Apache-2.0 */
/* The memory cache: a chained hash map with an LRU list, behind one mutex.
 * json-c's lh_table is not thread-safe, never shrinks its probe chains after deletions and has
 * no recency order, so a small map of our own fits a long-lived, bounded, shared cache better. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_internal.h"
#include "common/internal.h"

#define INITIAL_BUCKETS 16

typedef struct entry {
    struct entry *next;  /* bucket chain */
    struct entry *newer; /* LRU list, towards the most recently used */
    struct entry *older;
    uint64_t hash;
    unsigned char *value; /* size bytes + a NUL */
    size_t size;
    char key[];
} entry;

typedef struct memory_cache {
    ftrack_cache base;
    pthread_mutex_t lock;
    entry **buckets;
    size_t bucket_count; /* a power of two */
    size_t count;
    size_t max_entries; /* 0: unbounded */
    entry *newest;
    entry *oldest;
} memory_cache;

static const ftrack_cache_vtable memory_vtable;

static uint64_t hash_key(const char *key)
{
    /* FNV-1a: keys are ids and entity identities, not attacker-chosen flood material. */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static entry *entry_new(const char *key, const void *value, size_t size)
{
    size_t key_len = strlen(key);
    if (size == SIZE_MAX)
        return NULL;
    entry *e = calloc(1, sizeof(*e) + key_len + 1);
    if (!e)
        return NULL;
    e->value = malloc(size + 1);
    if (!e->value) {
        free(e);
        return NULL;
    }
    memcpy(e->key, key, key_len + 1);
    memcpy(e->value, value, size);
    e->value[size] = '\0';
    e->size = size;
    e->hash = hash_key(key);
    return e;
}

static void entry_free(entry *e)
{
    if (!e)
        return;
    free(e->value);
    free(e);
}

static void lru_unlink(memory_cache *mc, entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        mc->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        mc->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push_newest(memory_cache *mc, entry *e)
{
    e->older = mc->newest;
    e->newer = NULL;
    if (mc->newest)
        mc->newest->newer = e;
    mc->newest = e;
    if (!mc->oldest)
        mc->oldest = e;
}

static void lru_touch(memory_cache *mc, entry *e)
{
    if (mc->newest == e)
        return;
    lru_unlink(mc, e);
    lru_push_newest(mc, e);
}

/* The link pointing at the entry for `key` (or at the NULL ending its chain). */
static entry **find_link(memory_cache *mc, const char *key, uint64_t hash)
{
    entry **link = &mc->buckets[hash & (mc->bucket_count - 1)];
    while (*link && ((*link)->hash != hash || strcmp((*link)->key, key) != 0))
        link = &(*link)->next;
    return link;
}

static void unlink_entry(memory_cache *mc, entry **link)
{
    entry *e = *link;
    *link = e->next;
    lru_unlink(mc, e);
    mc->count--;
    entry_free(e);
}

/* Doubling is best effort: a failed allocation leaves longer chains, not an error. */
static void maybe_grow(memory_cache *mc)
{
    if (mc->count <= mc->bucket_count / 4 * 3 || mc->bucket_count > SIZE_MAX / 2 / sizeof(entry *))
        return;
    size_t n = mc->bucket_count * 2;
    entry **buckets = calloc(n, sizeof(*buckets));
    if (!buckets)
        return;
    for (size_t i = 0; i < mc->bucket_count; i++) {
        entry *e = mc->buckets[i];
        while (e) {
            entry *next = e->next;
            e->next = buckets[e->hash & (n - 1)];
            buckets[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(mc->buckets);
    mc->buckets = buckets;
    mc->bucket_count = n;
}

static ftrack_status memory_get(ftrack_cache *cache, const char *key, void **value, size_t *size,
                                ftrack_error *err)
{
    memory_cache *mc = (memory_cache *)cache;
    uint64_t hash = hash_key(key);
    pthread_mutex_lock(&mc->lock);
    entry *e = *find_link(mc, key, hash);
    if (!e) {
        pthread_mutex_unlock(&mc->lock);
        return FTRACK_ERR_NOT_FOUND;
    }
    lru_touch(mc, e);
    unsigned char *copy = malloc(e->size + 1);
    if (copy) {
        memcpy(copy, e->value, e->size + 1);
        *size = e->size;
    }
    pthread_mutex_unlock(&mc->lock);
    if (!copy)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory copying a cached value");
    *value = copy;
    return FTRACK_OK;
}

static ftrack_status memory_set(ftrack_cache *cache, const char *key, const void *value,
                                size_t size, ftrack_error *err)
{
    memory_cache *mc = (memory_cache *)cache;
    /* Copy before locking so other threads wait only for the pointer swaps. */
    entry *fresh = entry_new(key, value, size);
    if (!fresh)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory caching a value of %zu bytes",
                         size);
    entry *evicted = NULL;
    pthread_mutex_lock(&mc->lock);
    entry **link = find_link(mc, key, fresh->hash);
    entry *old = *link;
    if (old) {
        unsigned char *v = old->value;
        old->value = fresh->value;
        old->size = fresh->size;
        fresh->value = v;
        lru_touch(mc, old);
        evicted = fresh; /* now holds the old value */
    } else {
        *link = fresh;
        lru_push_newest(mc, fresh);
        mc->count++;
        if (mc->max_entries && mc->count > mc->max_entries) {
            entry *oldest = mc->oldest;
            unlink_entry(mc, find_link(mc, oldest->key, oldest->hash));
        }
        maybe_grow(mc);
    }
    pthread_mutex_unlock(&mc->lock);
    entry_free(evicted);
    return FTRACK_OK;
}

static ftrack_status memory_remove(ftrack_cache *cache, const char *key, ftrack_error *err)
{
    (void)err;
    memory_cache *mc = (memory_cache *)cache;
    uint64_t hash = hash_key(key);
    pthread_mutex_lock(&mc->lock);
    entry **link = find_link(mc, key, hash);
    bool found = *link != NULL;
    if (found)
        unlink_entry(mc, link);
    pthread_mutex_unlock(&mc->lock);
    return found ? FTRACK_OK : FTRACK_ERR_NOT_FOUND;
}

static ftrack_status memory_keys(ftrack_cache *cache, char ***keys, size_t *count,
                                 ftrack_error *err)
{
    memory_cache *mc = (memory_cache *)cache;
    fti_key_list list = {0};
    bool ok = true;
    pthread_mutex_lock(&mc->lock);
    for (entry *e = mc->newest; e && ok; e = e->older)
        ok = fti_key_list_add(&list, e->key);
    pthread_mutex_unlock(&mc->lock);
    if (ok)
        *keys = fti_key_list_finish(&list, count);
    if (!ok || !*keys) {
        fti_key_list_free(&list);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory listing cache keys");
    }
    return FTRACK_OK;
}

static ftrack_status memory_clear(ftrack_cache *cache, const char *pattern, ftrack_error *err)
{
    memory_cache *mc = (memory_cache *)cache;
    regex_t re;
    if (pattern) {
        ftrack_status status = fti_cache_regcomp(&re, pattern, err);
        if (status != FTRACK_OK)
            return status;
    }
    pthread_mutex_lock(&mc->lock);
    for (size_t i = 0; i < mc->bucket_count; i++) {
        entry **link = &mc->buckets[i];
        while (*link) {
            if (!pattern || fti_cache_key_matches(&re, (*link)->key))
                unlink_entry(mc, link);
            else
                link = &(*link)->next;
        }
    }
    pthread_mutex_unlock(&mc->lock);
    if (pattern)
        regfree(&re);
    return FTRACK_OK;
}

static void memory_destroy(ftrack_cache *cache)
{
    memory_cache *mc = (memory_cache *)cache;
    entry *e = mc->newest;
    while (e) {
        entry *older = e->older;
        entry_free(e);
        e = older;
    }
    free(mc->buckets);
    pthread_mutex_destroy(&mc->lock);
    free(mc);
}

static const ftrack_cache_vtable memory_vtable = {
    .size = sizeof(ftrack_cache_vtable),
    .name = "memory",
    .get = memory_get,
    .set = memory_set,
    .remove = memory_remove,
    .keys = memory_keys,
    .clear = memory_clear,
    .destroy = memory_destroy,
};

ftrack_status ftrack_memory_cache_new(size_t max_entries, ftrack_cache **out, ftrack_error *err)
{
    if (!out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_memory_cache_new: out is NULL");
    *out = NULL;
    memory_cache *mc = calloc(1, sizeof(*mc));
    if (mc)
        mc->buckets = calloc(INITIAL_BUCKETS, sizeof(*mc->buckets));
    if (!mc || !mc->buckets) {
        free(mc);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory creating a memory cache");
    }
    mc->base.vtable = &memory_vtable;
    mc->bucket_count = INITIAL_BUCKETS;
    mc->max_entries = max_entries;
    pthread_mutex_init(&mc->lock, NULL);
    *out = &mc->base;
    return FTRACK_OK;
}

size_t ftrack_memory_cache_count(ftrack_cache *cache)
{
    if (!cache || cache->vtable != &memory_vtable)
        return 0;
    memory_cache *mc = (memory_cache *)cache;
    pthread_mutex_lock(&mc->lock);
    size_t n = mc->count;
    pthread_mutex_unlock(&mc->lock);
    return n;
}
