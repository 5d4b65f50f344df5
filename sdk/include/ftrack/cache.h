/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_CACHE_H
#define FTRACK_CACHE_H
/*
 * Caches and key makers (protocol §9, ftrack_api.cache).
 *
 * A cache maps a key (a NUL-terminated string) to a value (a byte string: pointer + size).
 * Every cache stores bytes, so a memory cache, the file cache and a user's own cache all hold
 * the same thing; the session serialises entities to JSON text before caching them, as the
 * Python client's SerialisedCache does for its FileCache.
 *
 * The interface is a small vtable (struct ftrack_cache_vtable) so users can plug their own
 * cache: embed `struct ftrack_cache` as the first member of your struct, point it at a static
 * vtable, and pass the address to the session (ftrack_session_options.cache). Callers always
 * go through the ftrack_cache_*() functions, which check arguments, fill in error messages an
 * implementation left empty and provide a default `clear`.
 *
 * Built-in caches:
 *   - memory:  a hash map, optionally bounded (least recently used entry evicted first);
 *   - layered: ordered layers, index 0 the shallowest; reads fill the shallower layers,
 *              writes go to every layer (Python's LayeredCache);
 *   - file:    persistent, one SQLite database file (Python's FileCache).
 *
 * Errors: ftrack_cache_get() and ftrack_cache_remove() return FTRACK_ERR_NOT_FOUND for a
 * missing key (Python's KeyError); a pattern that does not compile is
 * FTRACK_ERR_INVALID_ARGUMENT; a failing file is FTRACK_ERR_IO.
 *
 * Threads. A session shares its cache between all the threads that use it, so every built-in
 * cache is safe to call from any number of threads at once: the memory and layered caches
 * lock internally, the file cache serialises its own use of its SQLite connection, and
 * several file caches (in one process or many) may open the same file, SQLite's file locking
 * keeping them consistent. A user-supplied cache given to a session must be thread-safe too.
 *
 * Ownership:
 *   - keys and values passed in are borrowed for the call (a cache copies what it keeps);
 *   - a value returned by ftrack_cache_get() is a new malloc'ed copy the caller frees with
 *     ftrack_free(); it is always followed by one NUL byte not counted in its size, so JSON
 *     text can be read in place as a C string;
 *   - a key list returned by ftrack_cache_keys() is freed with ftrack_cache_keys_free();
 *   - every cache a *_cache_new() makes is freed with ftrack_cache_free(), every key maker
 *     with ftrack_key_maker_free() (both accept NULL, both go through the vtable's destroy);
 *   - a layered cache borrows its layers unless it was told to take them.
 */
#include <json-c/json.h>
#include <ftrack/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The cache interface ------------------------------------------------------------------ */

struct ftrack_cache;

/*
 * What an implementation provides. The ftrack_cache_*() functions have already checked their
 * arguments (non-NULL cache and key, a pattern that compiles) before calling in. `err` is
 * never NULL; an implementation may leave its message empty and the SDK writes one.
 * Every buffer an implementation hands out must come from malloc(): the SDK frees it with
 * free().
 */
typedef struct ftrack_cache_vtable {
    size_t size;      /* sizeof(struct ftrack_cache_vtable) the implementation was built with */
    const char *name; /* short, for messages: "memory", "file", "my studio cache" */
    /* Store a malloc'ed copy of the value in *value and its size in *size, or return
     * FTRACK_ERR_NOT_FOUND. */
    ftrack_status (*get)(struct ftrack_cache *cache, const char *key, void **value, size_t *size,
                         ftrack_error *err);
    /* Insert or replace. `value` is non-NULL (possibly with size 0). */
    ftrack_status (*set)(struct ftrack_cache *cache, const char *key, const void *value,
                         size_t size, ftrack_error *err);
    /* Remove, or return FTRACK_ERR_NOT_FOUND. */
    ftrack_status (*remove)(struct ftrack_cache *cache, const char *key, ftrack_error *err);
    /* A snapshot of the keys: a malloc'ed array of *count malloc'ed strings followed by a NULL
     * entry, in any order. */
    ftrack_status (*keys)(struct ftrack_cache *cache, char ***keys, size_t *count,
                          ftrack_error *err);
    /* Optional (NULL: the SDK lists the keys and removes the matching ones, ignoring keys
     * that vanish meanwhile, as Python's Cache.clear does). Remove every key, or with a
     * pattern only the keys where the POSIX extended regular expression finds a match. */
    ftrack_status (*clear)(struct ftrack_cache *cache, const char *pattern, ftrack_error *err);
    /* Free everything, the struct included. */
    void (*destroy)(struct ftrack_cache *cache);
} ftrack_cache_vtable;

struct ftrack_cache {
    const ftrack_cache_vtable *vtable;
};
typedef struct ftrack_cache ftrack_cache;

/* Look a key up. On success *value is a new copy (free with ftrack_free(); one NUL byte
 * follows it) and *size its length (size may be NULL). On failure *value is NULL.
 * A missing key is FTRACK_ERR_NOT_FOUND. */
FTRACK_API ftrack_status ftrack_cache_get(ftrack_cache *cache, const char *key, void **value,
                                          size_t *size, ftrack_error *err);
/* Insert or replace. value may be NULL only when size is 0. */
FTRACK_API ftrack_status ftrack_cache_set(ftrack_cache *cache, const char *key, const void *value,
                                          size_t size, ftrack_error *err);
/* Convenience: set a NUL-terminated string (stored without its NUL). */
FTRACK_API ftrack_status ftrack_cache_set_string(ftrack_cache *cache, const char *key,
                                                 const char *value, ftrack_error *err);
/* Remove a key. A missing key is FTRACK_ERR_NOT_FOUND. */
FTRACK_API ftrack_status ftrack_cache_remove(ftrack_cache *cache, const char *key,
                                             ftrack_error *err);
/* A snapshot of the keys, in no particular order: *keys receives a NULL-terminated array
 * (free with ftrack_cache_keys_free()), *count its length (count may be NULL). */
FTRACK_API ftrack_status ftrack_cache_keys(ftrack_cache *cache, char ***keys, size_t *count,
                                           ftrack_error *err);
FTRACK_API void ftrack_cache_keys_free(char **keys);
/*
 * Remove every key (pattern NULL), or only the keys in which the POSIX extended regular
 * expression `pattern` finds a match anywhere (Python's re.search; anchor with ^ and $ to
 * match whole keys). Keys that vanish while clearing are not an error. Python patterns that
 * are also valid EREs behave alike, except that $ matches only at the very end (Python's also
 * before a final newline); EREs have no \d, lazy quantifiers or lookaround (use [0-9] etc.).
 */
FTRACK_API ftrack_status ftrack_cache_clear(ftrack_cache *cache, const char *pattern,
                                            ftrack_error *err);
/* The vtable's name ("memory", "layered", "file", ...). Never NULL. */
FTRACK_API const char *ftrack_cache_name(const ftrack_cache *cache);
/* Destroy a cache through its vtable. NULL is accepted. */
FTRACK_API void ftrack_cache_free(ftrack_cache *cache);

/* ---- Built-in caches ---------------------------------------------------------------------- */

/* An in-memory cache. max_entries 0: unbounded (Python's MemoryCache); otherwise setting a new
 * key when full evicts the least recently used entry (get and set count as a use). Bound any
 * cache that lives as long as a daemon; never bound one that holds the only copy of data. */
FTRACK_API ftrack_status ftrack_memory_cache_new(size_t max_entries, ftrack_cache **out,
                                                 ftrack_error *err);
/* Number of entries in a memory cache (0 for any other cache). */
FTRACK_API size_t ftrack_memory_cache_count(ftrack_cache *cache);

/*
 * A layered cache over `count` caches, layers[0] the shallowest (the array is copied):
 *   get:    tries each layer in order; on a hit, sets the value into every shallower layer
 *           (they all missed) and returns it; NOT_FOUND when every layer misses;
 *   set:    sets every layer, shallowest first, stopping at the first failure;
 *   remove: removes from every layer; NOT_FOUND only if no layer had the key;
 *   keys:   the union of the layers' keys, without duplicates;
 *   clear:  clears every layer (with the same pattern).
 * take_layers false: the layers are borrowed and must outlive the layered cache; true: the
 * layered cache frees them when it is freed (on failure they stay the caller's).
 * While a layered cache exists, change its layers only through it (clearing a layer directly
 * is fine), so a concurrent fill never writes a stale value back.
 */
FTRACK_API ftrack_status ftrack_layered_cache_new(ftrack_cache *const *layers, size_t count,
                                                  bool take_layers, ftrack_cache **out,
                                                  ftrack_error *err);
/* The layer at `index` (borrowed), or NULL when out of range or not a layered cache. */
FTRACK_API ftrack_cache *ftrack_layered_cache_layer(ftrack_cache *cache, size_t index);
FTRACK_API size_t ftrack_layered_cache_count(ftrack_cache *cache);

/*
 * A persistent cache in one SQLite database file at `path` (created when missing, with
 * mode 0644 less the umask; its folder must exist). ":memory:" gives a private in-memory
 * database. The values survive closing and reopening, and several caches, in one process or
 * many, may use one file at once. A file that is not such a cache is FTRACK_ERR_IO.
 */
FTRACK_API ftrack_status ftrack_file_cache_new(const char *path, ftrack_cache **out,
                                               ftrack_error *err);

/* ---- Key makers --------------------------------------------------------------------------- */

/*
 * A key maker turns a list of JSON values into a cache key (Python's KeyMaker.key(*items)).
 * The items are borrowed (json-c may cache their serialisation inside them, as
 * json_object_to_json_string() always does, so do not share them between threads while a
 * key is made). NULL items are JSON null.
 */
struct ftrack_key_maker;

typedef struct ftrack_key_maker_vtable {
    size_t size; /* sizeof(struct ftrack_key_maker_vtable) the implementation was built with */
    const char *name;
    /* Store a new malloc'ed NUL-terminated key in *key. items is non-NULL when count > 0. */
    ftrack_status (*key)(struct ftrack_key_maker *maker, json_object *const *items, size_t count,
                         char **key, ftrack_error *err);
    /* Free everything, the struct included. */
    void (*destroy)(struct ftrack_key_maker *maker);
} ftrack_key_maker_vtable;

struct ftrack_key_maker {
    const ftrack_key_maker_vtable *vtable;
};
typedef struct ftrack_key_maker ftrack_key_maker;

/* Make a key: *key receives a new string to free with ftrack_free(). */
FTRACK_API ftrack_status ftrack_key_maker_key(ftrack_key_maker *maker, json_object *const *items,
                                              size_t count, char **key, ftrack_error *err);
/* Destroy a key maker through its vtable. NULL is accepted. */
FTRACK_API void ftrack_key_maker_free(ftrack_key_maker *maker);

/*
 * Python's StringKeyMaker: the items' string forms joined with no separator. A JSON string's
 * string form is its raw text; any other value's is its compact JSON text (json-c's plain
 * form, '/' unescaped). So ({}, {}) → "{}{}" and ("a", 1) → "a1". Like Python's, it can make
 * one key from different lists (("ab") and ("a", "b")). A string containing a NUL byte is
 * FTRACK_ERR_INVALID_ARGUMENT.
 */
FTRACK_API ftrack_status ftrack_string_key_maker_new(ftrack_key_maker **out, ftrack_error *err);

/*
 * A canonical JSON key maker: each item as canonical JSON text (compact, object members sorted
 * by key bytewise, doubles re-printed from their value so "1.50" and "1.5" agree), items
 * joined by ','. Equal JSON values (json_object_equal) give equal keys whatever their member
 * order, and different lists give different keys: compact JSON never has a ',' outside a
 * string, array or object, so each top-level ',' is a separator and no escaping is needed —
 * the key is the canonical text of the items' JSON array without its brackets.
 * Example: ({"b": 1, "a": [true, null]}, "x") → {"a":[true,null],"b":1},"x"
 */
FTRACK_API ftrack_status ftrack_json_key_maker_new(ftrack_key_maker **out, ftrack_error *err);

#ifdef __cplusplus
}
#endif
#endif
