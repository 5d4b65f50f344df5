/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The persistent cache: one SQLite database file with one table (key TEXT PRIMARY KEY,
 * value BLOB), in WAL mode.
 *
 * Why SQLite rather than LMDB: SQLite is already a dependency (the hub's entity store uses it),
 * the cache is one ordinary file (LMDB wants a lock file or a directory beside it), its file
 * locking keeps several processes consistent with no setup (readers never block the writer in
 * WAL mode), and it grows on demand where LMDB needs its map size chosen up front and fails
 * with MDB_MAP_FULL when the guess was too small.
 *
 * Threads: one connection per cache, opened without SQLite's own mutex; our mutex serialises
 * every use of the connection and its prepared statements (a statement is stepped and reset
 * as one unit), and keeps sqlite3_errmsg() paired with the failure that set it.
 */
#include <pthread.h>
#include <regex.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_internal.h"
#include "common/internal.h"

/* How long a statement waits for another connection's write lock before giving up. */
#define BUSY_TIMEOUT_MS 10000

typedef struct file_cache {
    ftrack_cache base;
    pthread_mutex_t lock;
    sqlite3 *db;
    char *path;
    sqlite3_stmt *get;
    sqlite3_stmt *set;
    sqlite3_stmt *remove;
    sqlite3_stmt *keys;
    sqlite3_stmt *clear_all;
    sqlite3_stmt *clear_matching;
} file_cache;

static const char *const SCHEMA_SQL =
    "PRAGMA journal_mode = WAL;"
    /* A cache may lose its last writes on power loss, never its consistency. */
    "PRAGMA synchronous = NORMAL;"
    "CREATE TABLE IF NOT EXISTS cache ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value BLOB NOT NULL"
    ") WITHOUT ROWID;";

static ftrack_status db_error(file_cache *fc, ftrack_error *err, int rc, const char *doing,
                              const char *key)
{
    ftrack_status code = (rc & 0xff) == SQLITE_NOMEM ? FTRACK_ERR_NO_MEMORY : FTRACK_ERR_IO;
    const char *why = fc->db ? sqlite3_errmsg(fc->db) : sqlite3_errstr(rc);
    if (!key)
        return fti_error(err, code, "cache file '%s': %s failed: %s", fc->path, doing, why);
    char buf[96];
    return fti_error(err, code, "cache file '%s': %s '%s' failed: %s", fc->path, doing,
                     fti_cache_key_for_message(key, buf, sizeof(buf)), why);
}

static void finish(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

static ftrack_status file_get(ftrack_cache *cache, const char *key, void **value, size_t *size,
                              ftrack_error *err)
{
    file_cache *fc = (file_cache *)cache;
    ftrack_status status = FTRACK_OK;
    pthread_mutex_lock(&fc->lock);
    sqlite3_bind_text(fc->get, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(fc->get);
    if (rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(fc->get, 0);
        size_t n = (size_t)sqlite3_column_bytes(fc->get, 0);
        unsigned char *copy = malloc(n + 1);
        if (copy) {
            if (n)
                memcpy(copy, blob, n);
            copy[n] = '\0';
            *value = copy;
            *size = n;
        } else {
            status = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory copying a cached value");
        }
    } else if (rc == SQLITE_DONE) {
        status = FTRACK_ERR_NOT_FOUND;
    } else {
        status = db_error(fc, err, rc, "reading key", key);
    }
    finish(fc->get);
    pthread_mutex_unlock(&fc->lock);
    return status;
}

static ftrack_status file_set(ftrack_cache *cache, const char *key, const void *value, size_t size,
                              ftrack_error *err)
{
    file_cache *fc = (file_cache *)cache;
    ftrack_status status = FTRACK_OK;
    pthread_mutex_lock(&fc->lock);
    sqlite3_bind_text(fc->set, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_bind_blob64(fc->set, 2, value, size, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(fc->set);
    if (rc != SQLITE_DONE)
        status = db_error(fc, err, rc, "writing key", key);
    finish(fc->set);
    pthread_mutex_unlock(&fc->lock);
    return status;
}

static ftrack_status file_remove(ftrack_cache *cache, const char *key, ftrack_error *err)
{
    file_cache *fc = (file_cache *)cache;
    ftrack_status status = FTRACK_OK;
    pthread_mutex_lock(&fc->lock);
    sqlite3_bind_text(fc->remove, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(fc->remove);
    if (rc != SQLITE_DONE)
        status = db_error(fc, err, rc, "removing key", key);
    else if (sqlite3_changes(fc->db) == 0)
        status = FTRACK_ERR_NOT_FOUND;
    finish(fc->remove);
    pthread_mutex_unlock(&fc->lock);
    return status;
}

static ftrack_status file_keys(ftrack_cache *cache, char ***keys, size_t *count, ftrack_error *err)
{
    file_cache *fc = (file_cache *)cache;
    fti_key_list list = {0};
    ftrack_status status = FTRACK_OK;
    pthread_mutex_lock(&fc->lock);
    int rc;
    while ((rc = sqlite3_step(fc->keys)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(fc->keys, 0);
        if (!key || !fti_key_list_add(&list, key)) {
            status = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory listing cache keys");
            break;
        }
    }
    if (status == FTRACK_OK && rc != SQLITE_DONE)
        status = db_error(fc, err, rc, "listing keys", NULL);
    finish(fc->keys);
    pthread_mutex_unlock(&fc->lock);
    if (status == FTRACK_OK) {
        *keys = fti_key_list_finish(&list, count);
        if (!*keys)
            status = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory listing cache keys");
    }
    fti_key_list_free(&list);
    return status;
}

static ftrack_status file_clear(ftrack_cache *cache, const char *pattern, ftrack_error *err)
{
    file_cache *fc = (file_cache *)cache;
    sqlite3_stmt *stmt = pattern ? fc->clear_matching : fc->clear_all;
    ftrack_status status = FTRACK_OK;
    pthread_mutex_lock(&fc->lock);
    if (pattern)
        sqlite3_bind_text(stmt, 1, pattern, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE)
        status = db_error(fc, err, rc, "clearing keys", NULL);
    finish(stmt);
    pthread_mutex_unlock(&fc->lock);
    return status;
}

static void file_close(file_cache *fc)
{
    sqlite3_finalize(fc->get);
    sqlite3_finalize(fc->set);
    sqlite3_finalize(fc->remove);
    sqlite3_finalize(fc->keys);
    sqlite3_finalize(fc->clear_all);
    sqlite3_finalize(fc->clear_matching);
    sqlite3_close(fc->db);
    pthread_mutex_destroy(&fc->lock);
    free(fc->path);
    free(fc);
}

static void file_destroy(ftrack_cache *cache)
{
    file_close((file_cache *)cache);
}

static const ftrack_cache_vtable file_vtable = {
    .size = sizeof(ftrack_cache_vtable),
    .name = "file",
    .get = file_get,
    .set = file_set,
    .remove = file_remove,
    .keys = file_keys,
    .clear = file_clear,
    .destroy = file_destroy,
};

static void free_regex(void *p)
{
    regfree(p);
    free(p);
}

/* ftrack_regexp(pattern, key): true when the pattern finds a match in the key. The compiled
 * pattern is kept as auxiliary data, so a DELETE compiles it once, not once per row. */
static void regexp_function(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    regex_t *re = sqlite3_get_auxdata(ctx, 0);
    if (!re) {
        const char *pattern = (const char *)sqlite3_value_text(argv[0]);
        re = pattern ? malloc(sizeof(*re)) : NULL;
        if (!re) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        if (regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
            free(re);
            sqlite3_result_error(ctx, "invalid cache key pattern", -1);
            return;
        }
        /* On failure SQLite frees it at once, so it is used from auxdata or not at all. */
        sqlite3_set_auxdata(ctx, 0, re, free_regex);
        re = sqlite3_get_auxdata(ctx, 0);
        if (!re) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    const char *key = (const char *)sqlite3_value_text(argv[1]);
    sqlite3_result_int(ctx, key && regexec(re, key, 0, NULL, 0) == 0);
}

static int prepare(file_cache *fc, const char *sql, sqlite3_stmt **stmt)
{
    return sqlite3_prepare_v3(fc->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
}

/* Set the journal mode and create the table. Two processes creating one file at once can get
 * SQLITE_BUSY here without the busy handler being asked (a journal-mode change, or WAL
 * recovery, does not wait), so retry for as long as the busy timeout would have waited. The
 * statements are idempotent. */
static int apply_schema(sqlite3 *db)
{
    double deadline = fti_now() + BUSY_TIMEOUT_MS / 1000.0;
    for (;;) {
        int rc = sqlite3_exec(db, SCHEMA_SQL, NULL, NULL, NULL);
        int primary = rc & 0xff;
        if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) || fti_now() >= deadline)
            return rc;
        /* 5-24 ms, jittered so two processes do not retry in step. */
        sqlite3_sleep(5 + (int)((long long)(fti_now() * 1e6) % 20));
    }
}

static ftrack_status file_open(file_cache *fc, ftrack_error *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(fc->path, &fc->db, flags, NULL);
    if (rc != SQLITE_OK)
        return db_error(fc, err, rc, "opening", NULL);
    sqlite3_extended_result_codes(fc->db, 1);
    sqlite3_busy_timeout(fc->db, BUSY_TIMEOUT_MS);
    rc = apply_schema(fc->db);
    if (rc != SQLITE_OK)
        return db_error(fc, err, rc, "opening", NULL);
    rc = sqlite3_create_function(fc->db, "ftrack_regexp", 2,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                 regexp_function, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = prepare(fc, "SELECT value FROM cache WHERE key = ?1", &fc->get);
    if (rc == SQLITE_OK)
        rc = prepare(fc,
                     "INSERT INTO cache (key, value) VALUES (?1, ?2) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     &fc->set);
    if (rc == SQLITE_OK)
        rc = prepare(fc, "DELETE FROM cache WHERE key = ?1", &fc->remove);
    if (rc == SQLITE_OK)
        rc = prepare(fc, "SELECT key FROM cache", &fc->keys);
    if (rc == SQLITE_OK)
        rc = prepare(fc, "DELETE FROM cache", &fc->clear_all);
    if (rc == SQLITE_OK)
        rc = prepare(fc, "DELETE FROM cache WHERE ftrack_regexp(?1, key)", &fc->clear_matching);
    if (rc != SQLITE_OK)
        return db_error(fc, err, rc, "opening (is it an ftrack cache file?)", NULL);
    return FTRACK_OK;
}

ftrack_status ftrack_file_cache_new(const char *path, ftrack_cache **out, ftrack_error *err)
{
    if (!out || !path || !*path)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_file_cache_new: path and out must be given");
    *out = NULL;
    file_cache *fc = calloc(1, sizeof(*fc));
    if (fc)
        fc->path = strdup(path);
    if (!fc || !fc->path) {
        free(fc);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory creating a file cache");
    }
    fc->base.vtable = &file_vtable;
    pthread_mutex_init(&fc->lock, NULL);
    ftrack_status status = file_open(fc, err);
    if (status != FTRACK_OK) {
        file_close(fc);
        return status;
    }
    *out = &fc->base;
    return FTRACK_OK;
}
