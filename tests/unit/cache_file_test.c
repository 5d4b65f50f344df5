/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite file cache beyond the common cases of cache_test.c: persistence across close and
 * reopen, several handles and processes on one file, four threads, the file's format, and
 * the errors a person sees for a file that cannot be a cache. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <ftrack/ftrack.h>

#include "test_support.h"

static char temp_dir[] = "/tmp/ftrack-file-cache-test-XXXXXX";
static char path[300];
static int counter;

static void remove_file(const char *p)
{
    char buf[320];
    unlink(p);
    snprintf(buf, sizeof(buf), "%s-wal", p);
    unlink(buf);
    snprintf(buf, sizeof(buf), "%s-shm", p);
    unlink(buf);
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "%s/cache-%d.sqlite", temp_dir, ++counter);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    remove_file(path);
    return 0;
}

static ftrack_cache *open_cache(void)
{
    ftrack_cache *cache = NULL;
    ASSERT_OK(ftrack_file_cache_new(path, &cache, E));
    assert_non_null(cache);
    assert_string_equal(ftrack_cache_name(cache), "file");
    return cache;
}

static void assert_value(ftrack_cache *cache, const char *key, const char *expected)
{
    void *value = NULL;
    size_t size = 0;
    ASSERT_OK(ftrack_cache_get(cache, key, &value, &size, E));
    assert_int_equal(size, strlen(expected));
    assert_string_equal(value, expected);
    ftrack_free(value);
}

static void assert_missing(ftrack_cache *cache, const char *key)
{
    void *value = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_cache_get(cache, key, &value, NULL, &err), FTRACK_ERR_NOT_FOUND);
    assert_null(value);
}

static size_t key_count(ftrack_cache *cache, const char *prefix)
{
    char **keys = NULL;
    size_t count = 0, matching = 0;
    ASSERT_OK(ftrack_cache_keys(cache, &keys, &count, E));
    for (size_t i = 0; i < count; i++)
        matching += strncmp(keys[i], prefix, strlen(prefix)) == 0;
    ftrack_cache_keys_free(keys);
    return matching;
}

/* ---- Persistence -------------------------------------------------------------------------- */

static void test_values_survive_reopen(void **state)
{
    (void)state;
    const unsigned char bytes[] = {0, 1, 2, 0xfe, 0xff, 0};
    ftrack_cache *cache = open_cache();
    ASSERT_OK(ftrack_cache_set_string(cache, "('User', ['1'])", "{\"name\":\"jane\"}", E));
    ASSERT_OK(ftrack_cache_set(cache, "bytes", bytes, sizeof(bytes), E));
    ASSERT_OK(ftrack_cache_set_string(cache, "gone", "x", E));
    ASSERT_OK(ftrack_cache_remove(cache, "gone", E));
    ftrack_cache_free(cache);

    cache = open_cache();
    assert_value(cache, "('User', ['1'])", "{\"name\":\"jane\"}");
    unsigned char *value = NULL;
    size_t size = 0;
    ASSERT_OK(ftrack_cache_get(cache, "bytes", (void **)&value, &size, E));
    assert_int_equal(size, sizeof(bytes));
    assert_memory_equal(value, bytes, sizeof(bytes));
    ftrack_free(value);
    assert_missing(cache, "gone");
    assert_int_equal(key_count(cache, ""), 2);
    ASSERT_OK(ftrack_cache_clear(cache, "^bytes$", E));
    ftrack_cache_free(cache);

    cache = open_cache();
    assert_int_equal(key_count(cache, ""), 1);
    assert_missing(cache, "bytes");
    ASSERT_OK(ftrack_cache_clear(cache, NULL, E));
    ftrack_cache_free(cache);

    cache = open_cache();
    assert_int_equal(key_count(cache, ""), 0);
    ftrack_cache_free(cache);
}

static void test_large_value(void **state)
{
    (void)state;
    size_t size = 4 * 1024 * 1024;
    unsigned char *big = malloc(size);
    for (size_t i = 0; i < size; i++)
        big[i] = (unsigned char)(i * 7 + 3);
    ftrack_cache *cache = open_cache();
    ASSERT_OK(ftrack_cache_set(cache, "big", big, size, E));
    ftrack_cache_free(cache);
    cache = open_cache();
    void *value = NULL;
    size_t got = 0;
    ASSERT_OK(ftrack_cache_get(cache, "big", &value, &got, E));
    assert_int_equal(got, size);
    assert_memory_equal(value, big, size);
    ftrack_free(value);
    ftrack_cache_free(cache);
    free(big);
}

/* The file is what file.c says: WAL mode, one table `cache` (key TEXT PRIMARY KEY, value
 * BLOB), so other tools (the sqlite3 shell) can inspect it. */
static void test_file_format(void **state)
{
    (void)state;
    ftrack_cache *cache = open_cache();
    ASSERT_OK(ftrack_cache_set_string(cache, "k", "v", E));
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT key, typeof(value), value FROM cache", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "k");
    assert_string_equal((const char *)sqlite3_column_text(stmt, 1), "blob");
    assert_int_equal(sqlite3_column_bytes(stmt, 2), 1);
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    ftrack_cache_free(cache);
}

static void test_memory_database(void **state)
{
    (void)state;
    ftrack_cache *a = NULL, *b = NULL;
    ASSERT_OK(ftrack_file_cache_new(":memory:", &a, E));
    ASSERT_OK(ftrack_file_cache_new(":memory:", &b, E));
    ASSERT_OK(ftrack_cache_set_string(a, "k", "v", E));
    assert_value(a, "k", "v");
    assert_missing(b, "k"); /* private to each cache */
    ftrack_cache_free(a);
    ftrack_cache_free(b);
}

/* ---- Several handles, threads and processes on one file ----------------------------------- */

static void test_two_handles_on_one_file(void **state)
{
    (void)state;
    ftrack_cache *a = open_cache();
    ftrack_cache *b = open_cache();
    ASSERT_OK(ftrack_cache_set_string(a, "key", "from a", E));
    assert_value(b, "key", "from a");
    ASSERT_OK(ftrack_cache_set_string(b, "key", "from b", E));
    assert_value(a, "key", "from b");
    ASSERT_OK(ftrack_cache_remove(b, "key", E));
    assert_missing(a, "key");
    ftrack_error err;
    assert_int_equal(ftrack_cache_remove(a, "key", &err), FTRACK_ERR_NOT_FOUND);
    assert_string_equal(err.message, "key 'key' not found in the file cache");
    ASSERT_OK(ftrack_cache_set_string(a, "matching_key", "1", E));
    ASSERT_OK(ftrack_cache_set_string(a, "key_not_matching", "2", E));
    ASSERT_OK(ftrack_cache_clear(b, ".*matching_key$", E));
    assert_int_equal(key_count(a, ""), 1);
    assert_value(a, "key_not_matching", "2");
    ftrack_cache_free(a);
    ftrack_cache_free(b);
}

#define THREADS 4
#define ROUNDS 300

typedef struct worker {
    ftrack_cache *cache; /* shared, or NULL: open one's own on `path` */
    int id;
    test_failures failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    ftrack_error err;
    ftrack_cache *cache = w->cache;
    if (!cache && ftrack_file_cache_new(path, &cache, &err) != FTRACK_OK) {
        test_failure_note(&w->failures, "open: %s", err.message);
        return NULL;
    }
    char key[64], value[64];
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(key, sizeof(key), "own-%d-%d", w->id, i);
        snprintf(value, sizeof(value), "value-%d-%d", w->id, i);
        if (ftrack_cache_set_string(cache, key, value, &err) != FTRACK_OK)
            test_failure_note(&w->failures, "set %s: %s", key, err.message);
        void *got = NULL;
        if (ftrack_cache_get(cache, key, &got, NULL, &err) != FTRACK_OK)
            test_failure_note(&w->failures, "get %s: %s", key, err.message);
        else if (strcmp(got, value) != 0)
            test_failure_note(&w->failures, "get %s returned %s", key, (char *)got);
        free(got);
        if (i % 3 == 0 && ftrack_cache_remove(cache, key, &err) != FTRACK_OK)
            test_failure_note(&w->failures, "remove %s: %s", key, err.message);
        snprintf(key, sizeof(key), "shared-%d", i % 8);
        if (ftrack_cache_set_string(cache, key, value, &err) != FTRACK_OK)
            test_failure_note(&w->failures, "set %s: %s", key, err.message);
        if (i % 60 == 0 && ftrack_cache_clear(cache, "^shared-[0-3]$", &err) != FTRACK_OK)
            test_failure_note(&w->failures, "clear: %s", err.message);
        char **keys = NULL;
        if (i % 50 == 0 && ftrack_cache_keys(cache, &keys, NULL, &err) != FTRACK_OK)
            test_failure_note(&w->failures, "keys: %s", err.message);
        ftrack_cache_keys_free(keys);
    }
    if (!w->cache)
        ftrack_cache_free(cache);
    return NULL;
}

static void run_threads(ftrack_cache *shared)
{
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){.cache = shared, .id = t};
        assert_int_equal(pthread_create(&threads[t], NULL, work, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        if (workers[t].failures.count)
            fail_msg("thread %d: %d failures, first: %s", t, workers[t].failures.count,
                     workers[t].failures.why);
    }
    ftrack_cache *check = open_cache();
    assert_int_equal(key_count(check, "own-"), THREADS * (ROUNDS - ROUNDS / 3));
    ftrack_cache_free(check);
}

static void test_threads_share_one_handle(void **state)
{
    (void)state;
    ftrack_cache *cache = open_cache();
    run_threads(cache);
    ftrack_cache_free(cache);
}

static void test_threads_with_a_handle_each(void **state)
{
    (void)state;
    run_threads(NULL);
}

/* Two processes create and write one file at once; each sees the other's writes afterwards.
 * Both open after the fork: an SQLite connection must not cross a fork. */
static void test_two_processes(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    bool child = pid == 0;
    ftrack_cache *mine = NULL;
    ftrack_error err;
    if (ftrack_file_cache_new(path, &mine, &err) != FTRACK_OK) {
        if (child)
            _exit(2);
        fail_msg("open: %s", err.message);
    }
    char key[64];
    int failures = 0;
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "%s-%d", child ? "child" : "parent", i);
        failures += ftrack_cache_set_string(mine, key, key, NULL) != FTRACK_OK;
        failures += ftrack_cache_set_string(mine, "both", key, NULL) != FTRACK_OK;
    }
    if (child) {
        ftrack_cache_free(mine);
        _exit(failures ? 1 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(failures, 0);
    assert_int_equal(key_count(mine, "child-"), 500);
    assert_int_equal(key_count(mine, "parent-"), 500);
    assert_value(mine, "child-499", "child-499");
    ftrack_cache_free(mine);
}

/* ---- Errors ------------------------------------------------------------------------------- */

static void test_missing_folder(void **state)
{
    (void)state;
    char missing[400];
    snprintf(missing, sizeof(missing), "%s/no/such/folder/cache.sqlite", temp_dir);
    ftrack_cache *cache = (ftrack_cache *)1;
    ftrack_error err;
    assert_int_equal(ftrack_file_cache_new(missing, &cache, &err), FTRACK_ERR_IO);
    assert_null(cache);
    char expected[600];
    snprintf(expected, sizeof(expected),
             "cache file '%s': opening failed: unable to open database file", missing);
    assert_string_equal(err.message, expected);
}

static void test_not_a_database(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database, it is a text file\n", f);
    fclose(f);
    ftrack_cache *cache = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_file_cache_new(path, &cache, &err), FTRACK_ERR_IO);
    assert_null(cache);
    char expected[600];
    snprintf(expected, sizeof(expected), "cache file '%s': opening failed: file is not a database",
             path);
    assert_string_equal(err.message, expected);
}

static void test_other_database(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE cache (id INTEGER, data TEXT)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    ftrack_cache *cache = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_file_cache_new(path, &cache, &err), FTRACK_ERR_IO);
    assert_null(cache);
    assert_non_null(strstr(err.message, "opening (is it an ftrack cache file?) failed: "));
    assert_non_null(strstr(err.message, path));
}

static void test_bad_arguments(void **state)
{
    (void)state;
    ftrack_cache *cache = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_file_cache_new(NULL, &cache, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_string_equal(err.message, "ftrack_file_cache_new: path and out must be given");
    assert_int_equal(ftrack_file_cache_new("", &cache, &err), FTRACK_ERR_INVALID_ARGUMENT);
    assert_int_equal(ftrack_file_cache_new(path, NULL, &err), FTRACK_ERR_INVALID_ARGUMENT);
}

/* A key too long for a message is shortened there, never in the cache. */
static void test_long_key_message(void **state)
{
    (void)state;
    char key[400];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    ftrack_cache *cache = open_cache();
    ftrack_error err;
    assert_int_equal(ftrack_cache_remove(cache, key, &err), FTRACK_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "kkk...' not found in the file cache"));
    assert_true(strlen(err.message) < 140);
    ASSERT_OK(ftrack_cache_set_string(cache, key, "v", E));
    assert_value(cache, key, "v");
    ftrack_cache_free(cache);
}

int main(void)
{
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values_survive_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles_on_one_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_one_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_with_a_handle_each, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_key_message, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("file cache", tests, NULL, NULL);
    rmdir(temp_dir);
    return failed ? 1 : 0;
}
