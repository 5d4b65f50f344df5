/* SPDX-License-Identifier: Apache-2.0 */
/* The SDK's one-per-need helpers (common/internal.h, ftrack/common.h): random ids and their
 * shapes, growable arrays and text, ISO 8601 time text, and ftrack_error_set. */
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
#include <ftrack/ftrack.h>

#include "common/internal.h"

static void assert_hex(const char *s, size_t n)
{
    assert_int_equal(strlen(s), n);
    for (size_t i = 0; i < n; i++)
        assert_non_null(strchr("0123456789abcdef", s[i]));
}

static void test_uuid_hex_shape_and_uniqueness(void **state)
{
    (void)state;
    enum { N = 200 };
    static char ids[N][33];
    for (size_t i = 0; i < N; i++) {
        fti_uuid_hex(ids[i]);
        assert_hex(ids[i], 32);
        assert_int_equal(ids[i][12], '4');                   /* version 4 */
        assert_non_null(strchr("89ab", ids[i][16]));         /* RFC 4122 variant */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    char pub[33];
    ftrack_uuid_hex(pub); /* the public name gives the same shape */
    assert_hex(pub, 32);
    assert_int_equal(pub[12], '4');
}

static void test_uuid_dashed_shape(void **state)
{
    (void)state;
    char a[37], b[37];
    fti_uuid_dashed(a);
    fti_uuid_dashed(b);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(a[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", a[i]));
    }
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));
}

/* A forked child must not hand out the ids its parent's batch still holds. */
static void test_ids_differ_after_fork(void **state)
{
    (void)state;
    char first[33];
    fti_uuid_hex(first); /* fills this thread's batch */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[33];
        fti_uuid_hex(id);
        ssize_t w = write(fds[1], id, 32);
        _exit(w == 32 ? 0 : 1);
    }
    close(fds[1]);
    char child[33] = "";
    assert_int_equal(read(fds[0], child, 32), 32);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    char parent[33];
    fti_uuid_hex(parent); /* the id the parent's batch gives next */
    assert_string_not_equal(child, parent);
}

static void test_random_hex_and_unit(void **state)
{
    (void)state;
    char a[65], b[65], odd[8];
    fti_random_hex(a, 64);
    fti_random_hex(b, 64);
    assert_hex(a, 64);
    assert_string_not_equal(a, b);
    fti_random_hex(odd, 7);
    assert_hex(odd, 7);
    double sum = 0;
    for (int i = 0; i < 1000; i++) {
        double u = fti_random_unit();
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    assert_true(sum > 400 && sum < 600); /* mean 0.5; 1000 draws stay far inside this */
}

static void test_array_reserve(void **state)
{
    (void)state;
    int *items = NULL;
    size_t cap = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(fti_array_reserve(&items, &cap, (size_t)i + 1, sizeof(*items)));
        assert_true(cap >= (size_t)i + 1);
        items[i] = i;
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(items[i], i);
    assert_int_equal(cap, 1024); /* doubled from 8 */
    size_t before = cap;
    assert_true(fti_array_reserve(&items, &cap, 10, sizeof(*items))); /* fits: unchanged */
    assert_int_equal(cap, before);
    /* A size that would overflow fails and keeps the array. */
    assert_false(fti_array_reserve(&items, &cap, SIZE_MAX / 2, sizeof(*items)));
    assert_int_equal(cap, before);
    assert_int_equal(items[999], 999);
    free(items);
}

static void test_buf(void **state)
{
    (void)state;
    fti_buf b = {0};
    assert_true(fti_buf_add(&b, "ab", 2));
    assert_true(fti_buf_addf(&b, "-%d-%s", 42, "x"));
    assert_string_equal(b.data, "ab-42-x");
    assert_int_equal(b.len, 7);
    for (int i = 0; i < 1000; i++)
        assert_true(fti_buf_add(&b, "0123456789", 10));
    assert_int_equal(b.len, 10007);
    assert_int_equal(strlen(b.data), 10007);
    char *text = fti_buf_take(&b);
    assert_non_null(text);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_memory_equal(text, "ab-42-x0123456789", 17);
    free(text);

    fti_buf empty = {0};
    assert_null(fti_buf_take(&empty)); /* nothing added: nothing to take */

    fti_buf failed = {0};
    assert_true(fti_buf_add(&failed, "x", 1));
    assert_false(fti_buf_reserve(&failed, SIZE_MAX)); /* would overflow */
    assert_true(failed.failed);
    assert_false(fti_buf_add(&failed, "y", 1)); /* sticky */
    assert_null(fti_buf_take(&failed));
    fti_buf_free(&failed);
}

static void test_time_iso8601(void **state)
{
    (void)state;
    char out[FTRACK_TIME_TEXT_MAX];
    ftrack_time_iso8601(1735725601.25, 0, out, sizeof(out));
    assert_string_equal(out, "2025-01-01T10:00:01Z");
    ftrack_time_iso8601(1735725601.25, 3, out, sizeof(out));
    assert_string_equal(out, "2025-01-01T10:00:01.250Z");
    ftrack_time_iso8601(1735725601.25, 6, out, sizeof(out));
    assert_string_equal(out, "2025-01-01T10:00:01.250000Z");
    /* Truncated, never rounded into the next second. */
    ftrack_time_iso8601(1735725601.9996, 3, out, sizeof(out));
    assert_string_equal(out, "2025-01-01T10:00:01.999Z");
    ftrack_time_iso8601(0, 3, out, sizeof(out));
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    char small[8];
    ftrack_time_iso8601(0, 3, small, sizeof(small));
    assert_string_equal(small, "1970-01"); /* always terminated */
}

static void test_error_set(void **state)
{
    (void)state;
    ftrack_error err;
    ftrack_error_clear(&err);
    err.http_status = 500;
    snprintf(err.server_content, sizeof(err.server_content), "old");
    assert_int_equal(ftrack_error_set(&err, FTRACK_ERR_CONFIG, "bad %s: %d", "tag", 7),
                     FTRACK_ERR_CONFIG);
    assert_int_equal(err.code, FTRACK_ERR_CONFIG);
    assert_string_equal(err.message, "bad tag: 7");
    assert_int_equal(err.http_status, 0); /* every other field cleared */
    assert_int_equal(err.position, -1);
    assert_string_equal(err.server_content, "");
    assert_int_equal(ftrack_error_set(NULL, FTRACK_ERR_IO, "x"), FTRACK_ERR_IO);
    char long_arg[2 * FTRACK_ERROR_MESSAGE_MAX];
    memset(long_arg, 'a', sizeof(long_arg) - 1);
    long_arg[sizeof(long_arg) - 1] = '\0';
    ftrack_error_set(&err, FTRACK_ERR_INTERNAL, "%s", long_arg);
    assert_int_equal(strlen(err.message), FTRACK_ERROR_MESSAGE_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_hex_shape_and_uniqueness),
        cmocka_unit_test(test_uuid_dashed_shape),
        cmocka_unit_test(test_ids_differ_after_fork),
        cmocka_unit_test(test_random_hex_and_unit),
        cmocka_unit_test(test_array_reserve),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_time_iso8601),
        cmocka_unit_test(test_error_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
