/* SPDX-License-Identifier: Apache-2.0 */
/* The cache interface and its implementations: protocol §12's test_cache.py cases run against
 * every cache kind (memory, bounded memory, layered, file, a user-supplied vtable), then the
 * layered cache's own behaviour, the memory cache's bound, and use from four threads. */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <ftrack/ftrack.h>

#include "test_support.h"

static char temp_dir[] = "/tmp/ftrack-cache-test-XXXXXX";
static int file_counter;

/* ---- A user-supplied cache: a locked linked list with no clear of its own ---------------- */

typedef struct toy_item {
    struct toy_item *next;
    char *key;
    void *value;
    size_t size;
} toy_item;

typedef struct toy_cache {
    ftrack_cache base;
    pthread_mutex_t lock;
    toy_item *items;
    bool phantom_key; /* keys() also reports "missing", which cannot be removed */
    bool fail_set;    /* set() fails with FTRACK_ERR_IO and no message */
} toy_cache;

static toy_item **toy_find(toy_cache *tc, const char *key)
{
    toy_item **link = &tc->items;
    while (*link && strcmp((*link)->key, key) != 0)
        link = &(*link)->next;
    return link;
}

static ftrack_status toy_get(ftrack_cache *cache, const char *key, void **value, size_t *size,
                             ftrack_error *err)
{
    (void)err;
    toy_cache *tc = (toy_cache *)cache;
    ftrack_status status = FTRACK_ERR_NOT_FOUND;
    pthread_mutex_lock(&tc->lock);
    toy_item *it = *toy_find(tc, key);
    if (it) {
        /* Deliberately without a trailing NUL: the SDK must add it. */
        *value = malloc(it->size ? it->size : 1);
        memcpy(*value, it->value, it->size);
        *size = it->size;
        status = FTRACK_OK;
    }
    pthread_mutex_unlock(&tc->lock);
    return status;
}

static ftrack_status toy_set(ftrack_cache *cache, const char *key, const void *value, size_t size,
                             ftrack_error *err)
{
    (void)err;
    toy_cache *tc = (toy_cache *)cache;
    if (tc->fail_set)
        return FTRACK_ERR_IO;
    void *copy = malloc(size ? size : 1);
    memcpy(copy, value, size);
    pthread_mutex_lock(&tc->lock);
    toy_item *it = *toy_find(tc, key);
    if (!it) {
        it = calloc(1, sizeof(*it));
        it->key = strdup(key);
        it->next = tc->items;
        tc->items = it;
    }
    free(it->value);
    it->value = copy;
    it->size = size;
    pthread_mutex_unlock(&tc->lock);
    return FTRACK_OK;
}

static void toy_item_free(toy_item *it)
{
    free(it->key);
    free(it->value);
    free(it);
}

static ftrack_status toy_remove(ftrack_cache *cache, const char *key, ftrack_error *err)
{
    (void)err;
    toy_cache *tc = (toy_cache *)cache;
    pthread_mutex_lock(&tc->lock);
    toy_item **link = toy_find(tc, key);
    toy_item *it = *link;
    if (it)
        *link = it->next;
    pthread_mutex_unlock(&tc->lock);
    if (!it)
        return FTRACK_ERR_NOT_FOUND;
    toy_item_free(it);
    return FTRACK_OK;
}

static ftrack_status toy_keys(ftrack_cache *cache, char ***keys, size_t *count, ftrack_error *err)
{
    (void)err;
    toy_cache *tc = (toy_cache *)cache;
    pthread_mutex_lock(&tc->lock);
    size_t n = tc->phantom_key ? 1 : 0;
    for (toy_item *it = tc->items; it; it = it->next)
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    size_t i = 0;
    if (tc->phantom_key)
        out[i++] = strdup("missing");
    for (toy_item *it = tc->items; it; it = it->next)
        out[i++] = strdup(it->key);
    pthread_mutex_unlock(&tc->lock);
    *keys = out;
    *count = n;
    return FTRACK_OK;
}

static void toy_destroy(ftrack_cache *cache)
{
    toy_cache *tc = (toy_cache *)cache;
    while (tc->items) {
        toy_item *next = tc->items->next;
        toy_item_free(tc->items);
        tc->items = next;
    }
    pthread_mutex_destroy(&tc->lock);
    free(tc);
}

static const ftrack_cache_vtable toy_vtable = {
    .size = sizeof(ftrack_cache_vtable),
    .name = "toy",
    .get = toy_get,
    .set = toy_set,
    .remove = toy_remove,
    .keys = toy_keys,
    .clear = NULL, /* the SDK's default clear */
    .destroy = toy_destroy,
};

static toy_cache *toy_new(void)
{
    toy_cache *tc = calloc(1, sizeof(*tc));
    tc->base.vtable = &toy_vtable;
    pthread_mutex_init(&tc->lock, NULL);
    return tc;
}

/* ---- Fixtures ----------------------------------------------------------------------------- */

typedef struct fixture {
    const char *kind;
    ftrack_cache *cache;
    char path[256];
} fixture;

static fixture memory_fixture = {.kind = "memory"};
static fixture bounded_fixture = {.kind = "bounded"};
static fixture layered_fixture = {.kind = "layered"};
static fixture layered_file_fixture = {.kind = "layered-file"};
static fixture file_fixture = {.kind = "file"};
static fixture toy_fixture = {.kind = "toy"};

static void new_file_path(fixture *f)
{
    snprintf(f->path, sizeof(f->path), "%s/cache-%d.sqlite", temp_dir, ++file_counter);
}

static void remove_file(const char *path)
{
    char buf[300];
    unlink(path);
    snprintf(buf, sizeof(buf), "%s-wal", path);
    unlink(buf);
    snprintf(buf, sizeof(buf), "%s-shm", path);
    unlink(buf);
}

static int setup(void **state)
{
    fixture *f = *state;
    f->cache = NULL;
    if (strcmp(f->kind, "memory") == 0) {
        ASSERT_OK(ftrack_memory_cache_new(0, &f->cache, E));
    } else if (strcmp(f->kind, "bounded") == 0) {
        ASSERT_OK(ftrack_memory_cache_new(100, &f->cache, E));
    } else if (strcmp(f->kind, "layered") == 0) {
        ftrack_cache *layers[2];
        ASSERT_OK(ftrack_memory_cache_new(0, &layers[0], E));
        ASSERT_OK(ftrack_memory_cache_new(0, &layers[1], E));
        ASSERT_OK(ftrack_layered_cache_new(layers, 2, true, &f->cache, E));
    } else if (strcmp(f->kind, "layered-file") == 0) {
        ftrack_cache *layers[2];
        new_file_path(f);
        ASSERT_OK(ftrack_memory_cache_new(0, &layers[0], E));
        ASSERT_OK(ftrack_file_cache_new(f->path, &layers[1], E));
        ASSERT_OK(ftrack_layered_cache_new(layers, 2, true, &f->cache, E));
    } else if (strcmp(f->kind, "file") == 0) {
        new_file_path(f);
        ASSERT_OK(ftrack_file_cache_new(f->path, &f->cache, E));
    } else if (strcmp(f->kind, "toy") == 0) {
        f->cache = &toy_new()->base;
    }
    assert_non_null(f->cache);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ftrack_cache_free(f->cache);
    f->cache = NULL;
    if (f->path[0])
        remove_file(f->path);
    f->path[0] = '\0';
    return 0;
}

/* The cached value of `key` as a string (fails the test when missing). Free with free(). */
static char *get_string(ftrack_cache *cache, const char *key)
{
    void *value = NULL;
    size_t size = 0;
    ASSERT_OK(ftrack_cache_get(cache, key, &value, &size, E));
    assert_int_equal(strlen(value), size);
    return value;
}

static void assert_value(ftrack_cache *cache, const char *key, const char *expected)
{
    char *got = get_string(cache, key);
    assert_string_equal(got, expected);
    free(got);
}

static void assert_missing(ftrack_cache *cache, const char *key)
{
    void *value = (void *)1;
    ftrack_error err;
    assert_int_equal(ftrack_cache_get(cache, key, &value, NULL, &err), FTRACK_ERR_NOT_FOUND);
    assert_null(value);
    assert_int_equal(err.code, FTRACK_ERR_NOT_FOUND);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The keys, sorted and joined by ',' (so a test compares one string). */
static char *sorted_keys(ftrack_cache *cache)
{
    char **keys = NULL;
    size_t count = 99;
    ASSERT_OK(ftrack_cache_keys(cache, &keys, &count, E));
    assert_non_null(keys);
    size_t n = 0;
    while (keys[n])
        n++;
    assert_int_equal(n, count);
    qsort(keys, count, sizeof(*keys), compare_strings);
    size_t len = 1;
    for (size_t i = 0; i < count; i++)
        len += strlen(keys[i]) + 1;
    char *joined = calloc(1, len);
    assert_non_null(joined);
    size_t at = 0;
    for (size_t i = 0; i < count; i++)
        at += (size_t)snprintf(joined + at, len - at, "%s%s", i ? "," : "", keys[i]);
    ftrack_cache_keys_free(keys);
    return joined;
}

static void assert_keys(ftrack_cache *cache, const char *expected)
{
    char *got = sorted_keys(cache);
    assert_string_equal(got, expected);
    free(got);
}

static void set_string(ftrack_cache *cache, const char *key, const char *value)
{
    ASSERT_OK(ftrack_cache_set_string(cache, key, value, E));
}

/* ---- protocol §12: every cache kind ------------------------------------------------------- */

static void test_get(void **state)
{
    fixture *f = *state;
    set_string(f->cache, "key", "value");
    assert_value(f->cache, "key", "value");
}

static void test_get_missing_key(void **state)
{
    fixture *f = *state;
    void *value = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_cache_get(f->cache, "key", &value, NULL, &err), FTRACK_ERR_NOT_FOUND);
    assert_null(value);
    char expected[128];
    snprintf(expected, sizeof(expected), "key 'key' not found in the %s cache",
             ftrack_cache_name(f->cache));
    assert_string_equal(err.message, expected);
}

static void test_set(void **state)
{
    fixture *f = *state;
    assert_missing(f->cache, "key");
    set_string(f->cache, "key", "value");
    assert_value(f->cache, "key", "value");
    set_string(f->cache, "key", "another value");
    assert_value(f->cache, "key", "another value");
    assert_keys(f->cache, "key");
}

static void test_remove(void **state)
{
    fixture *f = *state;
    set_string(f->cache, "key", "value");
    ASSERT_OK(ftrack_cache_remove(f->cache, "key", E));
    assert_missing(f->cache, "key");
}

static void test_remove_missing_key(void **state)
{
    fixture *f = *state;
    ftrack_error err;
    assert_int_equal(ftrack_cache_remove(f->cache, "key", &err), FTRACK_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "key 'key' not found"));
}

static void test_keys(void **state)
{
    fixture *f = *state;
    assert_keys(f->cache, "");
    set_string(f->cache, "a", "a_value");
    set_string(f->cache, "b", "b_value");
    set_string(f->cache, "c", "c_value");
    assert_keys(f->cache, "a,b,c");
}

static void test_clear(void **state)
{
    fixture *f = *state;
    set_string(f->cache, "a", "a_value");
    set_string(f->cache, "b", "b_value");
    set_string(f->cache, "c", "c_value");
    assert_keys(f->cache, "a,b,c");
    ASSERT_OK(ftrack_cache_clear(f->cache, NULL, E));
    assert_keys(f->cache, "");
    assert_missing(f->cache, "a");
}

static void test_clear_using_pattern(void **state)
{
    fixture *f = *state;
    set_string(f->cache, "matching_key", "value");
    set_string(f->cache, "another_matching_key", "value");
    set_string(f->cache, "key_not_matching", "value");
    ASSERT_OK(ftrack_cache_clear(f->cache, ".*matching_key$", E));
    assert_keys(f->cache, "key_not_matching");
}

/* re.search, not re.match: an unanchored pattern matches anywhere in the key. */
static void test_clear_pattern_searches(void **state)
{
    fixture *f = *state;
    set_string(f->cache, "('User', ['1'])", "u1");
    set_string(f->cache, "('Task', ['2'])", "t2");
    set_string(f->cache, "('Task', ['3'])", "t3");
    ASSERT_OK(ftrack_cache_clear(f->cache, "Task", E));
    assert_keys(f->cache, "('User', ['1'])");
    ASSERT_OK(ftrack_cache_clear(f->cache, "^User", E)); /* anchored: no match */
    assert_keys(f->cache, "('User', ['1'])");
    ASSERT_OK(ftrack_cache_clear(f->cache, "\\['[0-9]+'\\]", E));
    assert_keys(f->cache, "");
}

static void test_clear_invalid_pattern(void **state)
{
    fixture *f = *state;
    set_string(f->cache, "a", "1");
    ftrack_error err;
    assert_int_equal(ftrack_cache_clear(f->cache, "(unclosed", &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "invalid cache key pattern '(unclosed'"));
    assert_keys(f->cache, "a");
}

/* Values are bytes: NUL bytes inside survive, an empty value is a value, and a NUL follows. */
static void test_binary_values(void **state)
{
    fixture *f = *state;
    const unsigned char bytes[] = {'a', 0, 0xff, 'b', 0};
    ASSERT_OK(ftrack_cache_set(f->cache, "bin", bytes, sizeof(bytes), E));
    ASSERT_OK(ftrack_cache_set(f->cache, "empty", NULL, 0, E));
    unsigned char *value = NULL;
    size_t size = 0;
    ASSERT_OK(ftrack_cache_get(f->cache, "bin", (void **)&value, &size, E));
    assert_int_equal(size, sizeof(bytes));
    assert_memory_equal(value, bytes, sizeof(bytes));
    assert_int_equal(value[size], 0);
    ftrack_free(value);
    ASSERT_OK(ftrack_cache_get(f->cache, "empty", (void **)&value, &size, E));
    assert_int_equal(size, 0);
    assert_string_equal((char *)value, "");
    ftrack_free(value);
}

static void test_unusual_keys(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"", "with space", "ünïcødé", "{\"a\":1},\"x\"", "('User', ['1'])"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
        set_string(f->cache, keys[i], keys[i]);
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
        assert_value(f->cache, keys[i], keys[i]);
    char *all = sorted_keys(f->cache);
    assert_string_equal(all, ",('User', ['1']),with space,{\"a\":1},\"x\",ünïcødé");
    free(all);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    ftrack_error err;
    void *value = NULL;
    assert_int_equal(ftrack_cache_get(f->cache, NULL, &value, NULL, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    assert_string_equal(err.message, "ftrack_cache_get: key and value must not be NULL");
    assert_int_equal(ftrack_cache_set(f->cache, "k", NULL, 3, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_string_equal(err.message, "ftrack_cache_set: value is NULL but size is 3");
    assert_int_equal(ftrack_cache_remove(f->cache, NULL, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_int_equal(ftrack_cache_keys(f->cache, NULL, NULL, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_int_equal(ftrack_cache_get(NULL, "k", &value, NULL, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_string_equal(err.message, "ftrack_cache_get: cache is NULL");
    /* err may be NULL. */
    assert_int_equal(ftrack_cache_get(f->cache, "k", &value, NULL, NULL), FTRACK_ERR_NOT_FOUND);
}

#define COMMON_TESTS(fx)                                                                           \
    cmocka_unit_test_prestate_setup_teardown(test_get, setup, teardown, &fx),                      \
        cmocka_unit_test_prestate_setup_teardown(test_get_missing_key, setup, teardown, &fx),      \
        cmocka_unit_test_prestate_setup_teardown(test_set, setup, teardown, &fx),                  \
        cmocka_unit_test_prestate_setup_teardown(test_remove, setup, teardown, &fx),               \
        cmocka_unit_test_prestate_setup_teardown(test_remove_missing_key, setup, teardown, &fx),   \
        cmocka_unit_test_prestate_setup_teardown(test_keys, setup, teardown, &fx),                 \
        cmocka_unit_test_prestate_setup_teardown(test_clear, setup, teardown, &fx),                \
        cmocka_unit_test_prestate_setup_teardown(test_clear_using_pattern, setup, teardown, &fx),  \
        cmocka_unit_test_prestate_setup_teardown(test_clear_pattern_searches, setup, teardown,     \
                                                 &fx),                                             \
        cmocka_unit_test_prestate_setup_teardown(test_clear_invalid_pattern, setup, teardown,      \
                                                 &fx),                                             \
        cmocka_unit_test_prestate_setup_teardown(test_binary_values, setup, teardown, &fx),        \
        cmocka_unit_test_prestate_setup_teardown(test_unusual_keys, setup, teardown, &fx),         \
        cmocka_unit_test_prestate_setup_teardown(test_bad_arguments, setup, teardown, &fx)

/* ---- The default clear (a user cache without one) ----------------------------------------- */

/* Python's test_clear_encountering_missing_key: a key that cannot be removed is skipped. */
static void test_clear_encountering_missing_key(void **state)
{
    (void)state;
    toy_cache *tc = toy_new();
    tc->phantom_key = true;
    assert_keys(&tc->base, "missing");
    ASSERT_OK(ftrack_cache_clear(&tc->base, NULL, E));
    assert_keys(&tc->base, "missing");
    ftrack_cache_free(&tc->base);
}

static void test_incomplete_vtable(void **state)
{
    (void)state;
    static const ftrack_cache_vtable half = {
        .size = sizeof(ftrack_cache_vtable), .name = "half", .get = toy_get};
    ftrack_cache cache = {.vtable = &half};
    ftrack_error err;
    assert_int_equal(ftrack_cache_set_string(&cache, "k", "v", &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "the half cache's vtable is incomplete"));
    static const ftrack_cache_vtable old = {.size = 8, .name = "old"};
    cache.vtable = &old;
    assert_int_equal(ftrack_cache_clear(&cache, NULL, &err), FTRACK_ERR_INVALID_ARGUMENT);
    ftrack_cache_free(NULL); /* accepted */
}

/* ---- Layered cache ------------------------------------------------------------------------ */

static void new_memory_layers(ftrack_cache **layers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ASSERT_OK(ftrack_memory_cache_new(0, &layers[i], E));
}

static void free_layers(ftrack_cache **layers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ftrack_cache_free(layers[i]);
}

static void test_layered_cache_propagates_value_on_get(void **state)
{
    (void)state;
    ftrack_cache *layers[3], *cache;
    new_memory_layers(layers, 3);
    ASSERT_OK(ftrack_layered_cache_new(layers, 3, false, &cache, E));
    set_string(layers[1], "key", "value");
    assert_value(cache, "key", "value");
    assert_value(layers[0], "key", "value");
    assert_missing(layers[2], "key");
    ftrack_cache_free(cache);
    free_layers(layers, 3); /* borrowed: still ours */
}

static void test_layered_cache_remove_at_depth(void **state)
{
    (void)state;
    ftrack_cache *layers[2], *cache;
    new_memory_layers(layers, 2);
    ASSERT_OK(ftrack_layered_cache_new(layers, 2, true, &cache, E));
    set_string(layers[1], "key", "value");
    ASSERT_OK(ftrack_cache_remove(cache, "key", E));
    assert_keys(cache, "");
    assert_missing(layers[1], "key");
    ftrack_error err;
    assert_int_equal(ftrack_cache_remove(cache, "key", &err), FTRACK_ERR_NOT_FOUND);
    assert_string_equal(err.message, "key 'key' not found in the layered cache");
    ftrack_cache_free(cache);
}

static void test_layered_cache_set_writes_every_layer(void **state)
{
    (void)state;
    ftrack_cache *layers[3], *cache;
    new_memory_layers(layers, 3);
    ASSERT_OK(ftrack_layered_cache_new(layers, 3, true, &cache, E));
    set_string(cache, "key", "value");
    for (size_t i = 0; i < 3; i++)
        assert_value(layers[i], "key", "value");
    assert_int_equal(ftrack_layered_cache_count(cache), 3);
    assert_ptr_equal(ftrack_layered_cache_layer(cache, 2), layers[2]);
    assert_null(ftrack_layered_cache_layer(cache, 3));
    assert_null(ftrack_layered_cache_layer(layers[0], 0));
    ftrack_cache_free(cache);
}

static void test_layered_cache_keys_union(void **state)
{
    (void)state;
    ftrack_cache *layers[3], *cache;
    new_memory_layers(layers, 3);
    ASSERT_OK(ftrack_layered_cache_new(layers, 3, true, &cache, E));
    set_string(layers[0], "a", "1");
    set_string(layers[0], "shared", "1");
    set_string(layers[1], "b", "2");
    set_string(layers[1], "shared", "2");
    set_string(layers[2], "shared", "3");
    set_string(layers[2], "c", "3");
    size_t count = 0;
    char **keys = NULL;
    ASSERT_OK(ftrack_cache_keys(cache, &keys, &count, E));
    assert_int_equal(count, 4);
    ftrack_cache_keys_free(keys);
    assert_keys(cache, "a,b,c,shared");
    /* The shallowest layer wins a read. */
    assert_value(cache, "shared", "1");
    ftrack_cache_free(cache);
}

static void test_layered_cache_clear_every_layer(void **state)
{
    (void)state;
    ftrack_cache *layers[2], *cache;
    new_memory_layers(layers, 2);
    ASSERT_OK(ftrack_layered_cache_new(layers, 2, true, &cache, E));
    set_string(layers[0], "drop_1", "x");
    set_string(layers[1], "drop_2", "x");
    set_string(layers[1], "keep", "x");
    ASSERT_OK(ftrack_cache_clear(cache, "^drop_", E));
    assert_keys(layers[0], "");
    assert_keys(layers[1], "keep");
    ASSERT_OK(ftrack_cache_clear(cache, NULL, E));
    assert_keys(cache, "");
    ftrack_cache_free(cache);
}

static void test_layered_cache_layer_failure(void **state)
{
    (void)state;
    ftrack_cache *layers[2], *cache;
    ftrack_error err;
    /* A failing deep layer fails the set, naming the layer. */
    toy_cache *failing = toy_new();
    failing->fail_set = true;
    ASSERT_OK(ftrack_memory_cache_new(0, &layers[0], E));
    layers[1] = &failing->base;
    ASSERT_OK(ftrack_layered_cache_new(layers, 2, true, &cache, E));
    assert_int_equal(ftrack_cache_set_string(cache, "key", "v", &err), FTRACK_ERR_IO);
    assert_string_equal(err.message, "layered cache: layer 1 (toy): toy cache: set 'key' failed: "
                                     "input/output error");
    ftrack_cache_free(cache);

    /* A fill that fails fails the get and hands out nothing. */
    failing = toy_new();
    failing->fail_set = true;
    layers[0] = &failing->base;
    ASSERT_OK(ftrack_memory_cache_new(0, &layers[1], E));
    set_string(layers[1], "deep", "v");
    ASSERT_OK(ftrack_layered_cache_new(layers, 2, true, &cache, E));
    void *value = (void *)1;
    assert_int_equal(ftrack_cache_get(cache, "deep", &value, NULL, &err), FTRACK_ERR_IO);
    assert_null(value);
    assert_string_equal(err.message, "layered cache: filling layer 0 (toy): toy cache: set "
                                     "'deep' failed: input/output error");
    ftrack_cache_free(cache);
}

static void test_layered_cache_bad_arguments(void **state)
{
    (void)state;
    ftrack_cache *layers[2] = {NULL, NULL}, *cache = NULL;
    ftrack_error err;
    ASSERT_OK(ftrack_memory_cache_new(0, &layers[0], E));
    assert_int_equal(ftrack_layered_cache_new(layers, 2, true, &cache, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    assert_string_equal(err.message, "ftrack_layered_cache_new: layer 1 is NULL");
    assert_null(cache);
    ftrack_cache_free(layers[0]); /* still the caller's after a failure */
    /* No layers at all: a cache that holds nothing. */
    ASSERT_OK(ftrack_layered_cache_new(NULL, 0, false, &cache, E));
    assert_missing(cache, "k");
    ASSERT_OK(ftrack_cache_set_string(cache, "k", "v", E));
    assert_keys(cache, "");
    ftrack_cache_free(cache);
}

/* ---- Memory cache bound ------------------------------------------------------------------- */

static void test_memory_cache_evicts_least_recently_used(void **state)
{
    (void)state;
    ftrack_cache *cache;
    ASSERT_OK(ftrack_memory_cache_new(2, &cache, E));
    set_string(cache, "a", "1");
    set_string(cache, "b", "2");
    free(get_string(cache, "a")); /* a is now the most recent */
    set_string(cache, "c", "3");  /* evicts b */
    assert_keys(cache, "a,c");
    assert_int_equal(ftrack_memory_cache_count(cache), 2);
    set_string(cache, "a", "1b"); /* replacing does not evict */
    assert_keys(cache, "a,c");
    set_string(cache, "d", "4"); /* evicts c */
    assert_keys(cache, "a,d");
    assert_value(cache, "a", "1b");
    ftrack_cache_free(cache);
}

static void test_memory_cache_many_keys(void **state)
{
    (void)state;
    ftrack_cache *cache;
    char key[32], value[32];
    ASSERT_OK(ftrack_memory_cache_new(0, &cache, E));
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        set_string(cache, key, value);
    }
    assert_int_equal(ftrack_memory_cache_count(cache), 5000);
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "k%d", i);
        ASSERT_OK(ftrack_cache_remove(cache, key, E));
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        if (i % 2)
            assert_value(cache, key, value);
        else
            assert_missing(cache, key);
    }
    ASSERT_OK(ftrack_cache_clear(cache, "^k[0-9]*1$", E));
    assert_int_equal(ftrack_memory_cache_count(cache), 2000);
    assert_int_equal(ftrack_memory_cache_count(NULL), 0);
    ftrack_cache_free(cache);
}

/* ---- Four threads ------------------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 400

typedef struct worker {
    ftrack_cache *cache;
    ftrack_cache *shallow; /* a layered cache's layer 0, cleared now and then, or NULL */
    int id;
    test_failures failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char key[64], value[64];
    for (int i = 0; i < ROUNDS; i++) {
        ftrack_error err;
        /* Own keys: what a thread writes it reads back exactly. */
        snprintf(key, sizeof(key), "own-%d-%d", w->id, i);
        snprintf(value, sizeof(value), "value-%d-%d", w->id, i);
        if (ftrack_cache_set_string(w->cache, key, value, &err) != FTRACK_OK)
            test_failure_note(&w->failures, "set %s: %s", key, err.message);
        void *got = NULL;
        if (ftrack_cache_get(w->cache, key, &got, NULL, &err) != FTRACK_OK)
            test_failure_note(&w->failures, "get %s: %s", key, err.message);
        else if (strcmp(got, value) != 0)
            test_failure_note(&w->failures, "get %s returned %s", key, (char *)got);
        free(got);
        if (i % 3 == 0 && ftrack_cache_remove(w->cache, key, &err) != FTRACK_OK)
            test_failure_note(&w->failures, "remove %s: %s", key, err.message);
        /* Shared keys: every thread writes them; a read sees some thread's whole value. */
        snprintf(key, sizeof(key), "shared-%d", i % 16);
        snprintf(value, sizeof(value), "shared-%d-by-%d", i % 16, w->id);
        if (ftrack_cache_set_string(w->cache, key, value, &err) != FTRACK_OK)
            test_failure_note(&w->failures, "set %s: %s", key, err.message);
        got = NULL;
        ftrack_status s = ftrack_cache_get(w->cache, key, &got, NULL, &err);
        if (s == FTRACK_OK && strncmp(got, key, strlen(key)) != 0)
            test_failure_note(&w->failures, "get %s returned %s", key, (char *)got);
        else if (s != FTRACK_OK && s != FTRACK_ERR_NOT_FOUND)
            test_failure_note(&w->failures, "get %s: %s", key, err.message);
        free(got);
        if (i % 50 == 0 && ftrack_cache_clear(w->cache, "^shared-1", &err) != FTRACK_OK)
            test_failure_note(&w->failures, "clear %s: %s", "^shared-1", err.message);
        if (w->shallow && i % 7 == 0)
            ftrack_cache_clear(w->shallow, NULL, NULL); /* so reads fill it again */
        char **keys = NULL;
        if (i % 40 == 0) {
            if (ftrack_cache_keys(w->cache, &keys, NULL, &err) != FTRACK_OK)
                test_failure_note(&w->failures, "keys: %s", err.message);
            ftrack_cache_keys_free(keys);
        }
    }
    return NULL;
}

static void run_threads(ftrack_cache *cache, ftrack_cache *shallow)
{
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){.cache = cache, .shallow = shallow, .id = t};
        assert_int_equal(pthread_create(&threads[t], NULL, work, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        if (workers[t].failures.count)
            fail_msg("thread %d: %d failures, first: %s", t, workers[t].failures.count,
                     workers[t].failures.why);
    }
    /* Every own key not removed is there: THREADS * (ROUNDS - ROUNDS/3 rounded up). */
    char **keys = NULL;
    size_t count = 0;
    ASSERT_OK(ftrack_cache_keys(cache, &keys, &count, E));
    size_t own = 0;
    for (size_t i = 0; i < count; i++)
        own += strncmp(keys[i], "own-", 4) == 0;
    ftrack_cache_keys_free(keys);
    assert_int_equal(own, THREADS * (ROUNDS - (ROUNDS + 2) / 3));
}

/* After concurrent use, a layered cache's shallow layer never disagrees with the deep one. */
static void assert_layers_agree(ftrack_cache *shallow, ftrack_cache *deep)
{
    char **keys = NULL;
    ASSERT_OK(ftrack_cache_keys(shallow, &keys, NULL, E));
    for (char **k = keys; *k; k++) {
        char *a = get_string(shallow, *k);
        char *b = get_string(deep, *k);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    ftrack_cache_keys_free(keys);
}

/* Linearisable reads: once a set of the layered cache has returned, no read that starts after
 * it returns an older value, even while reads refill a shallow layer that others clear. A fill
 * racing a set (miss above, read below, set both, write the old value above) breaks this. */
typedef struct stale_check {
    ftrack_cache *cache;
    ftrack_cache *shallow;
    atomic_long done; /* the last value whose set has returned */
    atomic_bool stop;
    atomic_long stale;
} stale_check;

static void *stale_writer(void *arg)
{
    stale_check *sc = arg;
    char value[32];
    for (long i = 1; i <= 20000; i++) {
        snprintf(value, sizeof(value), "%ld", i);
        if (ftrack_cache_set_string(sc->cache, "counter", value, NULL) != FTRACK_OK)
            atomic_fetch_add(&sc->stale, 1000000);
        atomic_store(&sc->done, i);
    }
    atomic_store(&sc->stop, true);
    return NULL;
}

static void *stale_reader(void *arg)
{
    stale_check *sc = arg;
    while (!atomic_load(&sc->stop)) {
        ftrack_cache_remove(sc->shallow, "counter", NULL); /* the next read fills it */
        long before = atomic_load(&sc->done);
        void *got = NULL;
        if (ftrack_cache_get(sc->cache, "counter", &got, NULL, NULL) == FTRACK_OK &&
            strtol(got, NULL, 10) < before)
            atomic_fetch_add(&sc->stale, 1);
        free(got);
    }
    return NULL;
}

static void test_layered_cache_never_serves_stale_values(void **state)
{
    (void)state;
    ftrack_cache *layers[2];
    stale_check sc = {0};
    new_memory_layers(layers, 2);
    ASSERT_OK(ftrack_layered_cache_new(layers, 2, true, &sc.cache, E));
    sc.shallow = layers[0];
    pthread_t threads[THREADS];
    pthread_create(&threads[0], NULL, stale_writer, &sc);
    for (int t = 1; t < THREADS; t++)
        pthread_create(&threads[t], NULL, stale_reader, &sc);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    assert_int_equal(atomic_load(&sc.stale), 0);
    assert_value(sc.cache, "counter", "20000");
    ftrack_cache_free(sc.cache);
}

static void test_threads_memory(void **state)
{
    (void)state;
    ftrack_cache *cache;
    ASSERT_OK(ftrack_memory_cache_new(0, &cache, E));
    run_threads(cache, NULL);
    ftrack_cache_free(cache);
}

static void test_threads_layered(void **state)
{
    (void)state;
    ftrack_cache *layers[2], *cache;
    new_memory_layers(layers, 2);
    ASSERT_OK(ftrack_layered_cache_new(layers, 2, false, &cache, E));
    run_threads(cache, layers[0]);
    assert_layers_agree(layers[0], layers[1]);
    ftrack_cache_free(cache);
    free_layers(layers, 2);
}

static void test_threads_layered_file(void **state)
{
    (void)state;
    fixture f = {.kind = "layered-file"};
    ftrack_cache *layers[2], *cache;
    new_file_path(&f);
    ASSERT_OK(ftrack_memory_cache_new(0, &layers[0], E));
    ASSERT_OK(ftrack_file_cache_new(f.path, &layers[1], E));
    ASSERT_OK(ftrack_layered_cache_new(layers, 2, false, &cache, E));
    run_threads(cache, layers[0]);
    assert_layers_agree(layers[0], layers[1]);
    ftrack_cache_free(cache);
    free_layers(layers, 2);
    remove_file(f.path);
}

static void test_threads_toy(void **state)
{
    (void)state;
    toy_cache *tc = toy_new();
    run_threads(&tc->base, NULL);
    ftrack_cache_free(&tc->base);
}

int main(void)
{
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest memory[] = {COMMON_TESTS(memory_fixture)};
    const struct CMUnitTest bounded[] = {COMMON_TESTS(bounded_fixture)};
    const struct CMUnitTest layered[] = {COMMON_TESTS(layered_fixture)};
    const struct CMUnitTest layered_file[] = {COMMON_TESTS(layered_file_fixture)};
    const struct CMUnitTest file[] = {COMMON_TESTS(file_fixture)};
    const struct CMUnitTest toy[] = {COMMON_TESTS(toy_fixture)};
    const struct CMUnitTest specific[] = {
        cmocka_unit_test(test_clear_encountering_missing_key),
        cmocka_unit_test(test_incomplete_vtable),
        cmocka_unit_test(test_layered_cache_propagates_value_on_get),
        cmocka_unit_test(test_layered_cache_remove_at_depth),
        cmocka_unit_test(test_layered_cache_set_writes_every_layer),
        cmocka_unit_test(test_layered_cache_keys_union),
        cmocka_unit_test(test_layered_cache_clear_every_layer),
        cmocka_unit_test(test_layered_cache_layer_failure),
        cmocka_unit_test(test_layered_cache_bad_arguments),
        cmocka_unit_test(test_memory_cache_evicts_least_recently_used),
        cmocka_unit_test(test_memory_cache_many_keys),
        cmocka_unit_test(test_layered_cache_never_serves_stale_values),
        cmocka_unit_test(test_threads_memory),
        cmocka_unit_test(test_threads_layered),
        cmocka_unit_test(test_threads_layered_file),
        cmocka_unit_test(test_threads_toy),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("memory", memory, NULL, NULL);
    failed += cmocka_run_group_tests_name("bounded memory", bounded, NULL, NULL);
    failed += cmocka_run_group_tests_name("layered", layered, NULL, NULL);
    failed += cmocka_run_group_tests_name("layered over file", layered_file, NULL, NULL);
    failed += cmocka_run_group_tests_name("file", file, NULL, NULL);
    failed += cmocka_run_group_tests_name("user-supplied", toy, NULL, NULL);
    failed += cmocka_run_group_tests_name("specific", specific, NULL, NULL);
    rmdir(temp_dir);
    return failed ? 1 : 0;
}
