/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log's logic: configuration, the line format, and appending with rotation in a
 * temporary folder. */
#define _GNU_SOURCE /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The plugin's logic is compiled into this test (it is not part of any library). */
#include "../../plugins/audit_log/audit_log_logic.c"

typedef struct tmp {
    char dir[64];
    char path[128];
} tmp;

static int setup(void **state)
{
    tmp *t = calloc(1, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/ftrack-audit-XXXXXX");
    if (!mkdtemp(t->dir))
        return -1;
    snprintf(t->path, sizeof(t->path), "%s/audit.jsonl", t->dir);
    *state = t;
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    tmp *t = *state;
    nftw(t->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(t);
    return 0;
}

/* The whole content of a file, or NULL when it does not exist. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static audit_config config_for(const char *path, long long max_bytes, int keep)
{
    audit_config cfg = {0};
    cfg.path = strdup(path);
    cfg.expression = strdup("topic=*");
    cfg.max_bytes = max_bytes;
    cfg.keep = keep;
    return cfg;
}

/* ---- configuration ----------------------------------------------------------------------- */

static void test_config_defaults(void **state)
{
    (void)state;
    audit_config cfg;
    ftrack_error err;
    json_object *args = json_tokener_parse("{\"audit_log_path\": \"/var/log/x.jsonl\"}");
    assert_int_equal(audit_config_from_args(args, &cfg, &err), FTRACK_OK);
    assert_string_equal(cfg.path, "/var/log/x.jsonl");
    assert_string_equal(cfg.expression, "topic=*");
    assert_int_equal(cfg.max_bytes, 100LL * 1024 * 1024);
    assert_int_equal(cfg.keep, 5);
    assert_false(cfg.fsync_each);
    audit_config_clear(&cfg);
    json_object_put(args);

    args = json_tokener_parse("{\"audit_log_path\": \"p\", \"audit_log_expression\": "
                              "\"topic=ftrack.update\", \"audit_log_max_bytes\": 0, "
                              "\"audit_log_keep\": 0, \"audit_log_fsync\": true}");
    assert_int_equal(audit_config_from_args(args, &cfg, &err), FTRACK_OK);
    assert_string_equal(cfg.expression, "topic=ftrack.update");
    assert_int_equal(cfg.max_bytes, 0);
    assert_int_equal(cfg.keep, 0);
    assert_true(cfg.fsync_each);
    audit_config_clear(&cfg);
    json_object_put(args);
}

static void expect_error(const char *text, const char *needle)
{
    audit_config cfg;
    ftrack_error err;
    json_object *args = json_tokener_parse(text);
    assert_non_null(args);
    assert_int_equal(audit_config_from_args(args, &cfg, &err), FTRACK_ERR_CONFIG);
    if (!strstr(err.message, needle))
        fail_msg("error '%s' does not mention '%s'", err.message, needle);
    assert_null(cfg.path);
    json_object_put(args);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_error("{}", "audit_log_path");
    expect_error("{\"audit_log_path\": \"\"}", "audit_log_path");
    expect_error("{\"audit_log_path\": 7}", "audit_log_path");
    expect_error("{\"audit_log_path\": \"p\", \"audit_log_max_bytes\": -1}", "audit_log_max_bytes");
    expect_error("{\"audit_log_path\": \"p\", \"audit_log_max_bytes\": \"1M\"}",
                 "audit_log_max_bytes");
    expect_error("{\"audit_log_path\": \"p\", \"audit_log_keep\": 100000}", "audit_log_keep");
    expect_error("{\"audit_log_path\": \"p\", \"audit_log_fsync\": \"yes\"}", "audit_log_fsync");
    expect_error("{\"audit_log_path\": \"p\", \"audit_log_expression\": \"\"}",
                 "audit_log_expression");
}

/* ---- format ---------------------------------------------------------------------------- */

static void test_rotated_name(void **state)
{
    (void)state;
    char out[64];
    assert_true(audit_rotated_name("/var/log/a.jsonl", 1, out, sizeof(out)));
    assert_string_equal(out, "/var/log/a.jsonl.1");
    assert_true(audit_rotated_name("a", 12, out, sizeof(out)));
    assert_string_equal(out, "a.12");
    /* volatile: otherwise GCC sees the truncation at compile time and warns. */
    volatile size_t small = 8;
    assert_false(audit_rotated_name("abcdef", 1, out, small)); /* "abcdef.1" needs 9 */
}

static void test_should_rotate(void **state)
{
    (void)state;
    assert_false(audit_should_rotate(0, 1000, 100)); /* never split or skip a line */
    assert_false(audit_should_rotate(50, 50, 100));  /* exactly max fits */
    assert_true(audit_should_rotate(50, 51, 100));
    assert_true(audit_should_rotate(100, 1, 100));
    assert_false(audit_should_rotate(1LL << 40, 1, 0)); /* 0: never rotate */
}

static void test_format_time(void **state)
{
    (void)state;
    char out[32];
    audit_format_time(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    audit_format_time(1700000000.1234, out);
    assert_string_equal(out, "2023-11-14T22:13:20.123Z");
    audit_format_time(1700000000.9999, out);
    assert_string_equal(out, "2023-11-14T22:13:20.999Z");
}

static void test_format_line_keeps_event_bytes(void **state)
{
    (void)state;
    const char *ev = "{\"id\":\"abc\",\"data\":{\"k\":[1,2,{\"z\":\"\\u00e9\"}]},\"topic\":\"t\","
                     "\"sent\":null,\"source\":{},\"target\":\"\",\"inReplyToEvent\":null}";
    size_t len = 0;
    char *line = audit_format_line(ev, strlen(ev), 1700000000.5, &len);
    assert_non_null(line);
    assert_int_equal(len, strlen(line));
    assert_int_equal(line[len - 1], '\n');
    const char *prefix = "{\"received_at\":\"2023-11-14T22:13:20.500Z\",\"event\":";
    assert_memory_equal(line, prefix, strlen(prefix));
    assert_memory_equal(line + strlen(prefix), ev, strlen(ev));
    assert_string_equal(line + strlen(prefix) + strlen(ev), "}\n");
    /* And it is one valid JSON document. */
    json_object *o = json_tokener_parse(line);
    assert_non_null(o);
    json_object *e = NULL;
    assert_true(json_object_object_get_ex(o, "event", &e));
    assert_string_equal(json_object_get_string(json_object_object_get(e, "id")), "abc");
    json_object_put(o);
    free(line);
}

/* ---- the file -------------------------------------------------------------------------- */

static void append_text(audit_log *log, const char *text)
{
    ftrack_error err;
    if (audit_log_append(log, text, strlen(text), &err) != FTRACK_OK)
        fail_msg("append failed: %s", err.message);
}

static void expect_content(const char *path, const char *expected)
{
    char *got = slurp(path);
    if (!expected) {
        if (got)
            fail_msg("%s exists with '%s'", path, got);
        return;
    }
    if (!got)
        fail_msg("%s does not exist", path);
    assert_string_equal(got, expected);
    free(got);
}

static void test_rotation_keeps_n(void **state)
{
    tmp *t = *state;
    char name[160];
    ftrack_error err;
    /* Lines of 10 bytes; at most 25 bytes per file: two lines each. */
    audit_config cfg = config_for(t->path, 25, 2);
    audit_log log;
    assert_int_equal(audit_log_open(&log, &cfg, &err), FTRACK_OK);
    const char *lines[] = {"line-0001\n", "line-0002\n", "line-0003\n", "line-0004\n",
                           "line-0005\n", "line-0006\n", "line-0007\n"};
    for (size_t i = 0; i < 7; i++)
        append_text(&log, lines[i]);
    audit_log_close(&log);
    expect_content(t->path, "line-0007\n");
    snprintf(name, sizeof(name), "%s.1", t->path);
    expect_content(name, "line-0005\nline-0006\n");
    snprintf(name, sizeof(name), "%s.2", t->path);
    expect_content(name, "line-0003\nline-0004\n");
    snprintf(name, sizeof(name), "%s.3", t->path); /* keep=2: the oldest lines are gone */
    assert_false(exists(name));
    audit_config_clear(&cfg);
}

static void test_rotation_threshold_exact(void **state)
{
    tmp *t = *state;
    char name[160];
    ftrack_error err;
    audit_config cfg = config_for(t->path, 20, 3);
    audit_log log;
    assert_int_equal(audit_log_open(&log, &cfg, &err), FTRACK_OK);
    append_text(&log, "0123456789");
    append_text(&log, "0123456789"); /* reaches exactly 20: no rotation */
    snprintf(name, sizeof(name), "%s.1", t->path);
    assert_false(exists(name));
    append_text(&log, "x"); /* 21 > 20: rotate first */
    assert_true(exists(name));
    audit_log_close(&log);
    expect_content(t->path, "x");
    expect_content(name, "01234567890123456789");
    audit_config_clear(&cfg);
}

static void test_line_longer_than_max_is_written_whole(void **state)
{
    tmp *t = *state;
    char name[160];
    ftrack_error err;
    audit_config cfg = config_for(t->path, 5, 1);
    audit_log log;
    assert_int_equal(audit_log_open(&log, &cfg, &err), FTRACK_OK);
    append_text(&log, "a very long line\n");
    append_text(&log, "another long line\n");
    audit_log_close(&log);
    expect_content(t->path, "another long line\n");
    snprintf(name, sizeof(name), "%s.1", t->path);
    expect_content(name, "a very long line\n");
    audit_config_clear(&cfg);
}

static void test_keep_zero_truncates(void **state)
{
    tmp *t = *state;
    char name[160];
    ftrack_error err;
    audit_config cfg = config_for(t->path, 12, 0);
    audit_log log;
    assert_int_equal(audit_log_open(&log, &cfg, &err), FTRACK_OK);
    append_text(&log, "first-line\n");
    append_text(&log, "second-line\n");
    audit_log_close(&log);
    expect_content(t->path, "second-line\n");
    snprintf(name, sizeof(name), "%s.1", t->path);
    assert_false(exists(name));
    audit_config_clear(&cfg);
}

static void test_existing_size_counts(void **state)
{
    tmp *t = *state;
    char name[160];
    ftrack_error err;
    FILE *f = fopen(t->path, "w");
    fputs("old-content-old-content\n", f); /* 24 bytes before we start */
    fclose(f);
    audit_config cfg = config_for(t->path, 30, 1);
    audit_log log;
    assert_int_equal(audit_log_open(&log, &cfg, &err), FTRACK_OK);
    assert_int_equal(log.size, 24);
    append_text(&log, "new-line\n"); /* 33 > 30 */
    audit_log_close(&log);
    expect_content(t->path, "new-line\n");
    snprintf(name, sizeof(name), "%s.1", t->path);
    expect_content(name, "old-content-old-content\n");
    audit_config_clear(&cfg);
}

static void test_follows_moved_file(void **state)
{
    tmp *t = *state;
    char moved[160];
    ftrack_error err;
    audit_config cfg = config_for(t->path, 0, 1);
    audit_log log;
    assert_int_equal(audit_log_open(&log, &cfg, &err), FTRACK_OK);
    append_text(&log, "before\n");
    /* As logrotate does without copytruncate. */
    snprintf(moved, sizeof(moved), "%s.moved", t->path);
    assert_int_equal(rename(t->path, moved), 0);
    append_text(&log, "after\n");
    audit_log_close(&log);
    expect_content(moved, "before\n");
    expect_content(t->path, "after\n");
    audit_config_clear(&cfg);
}

static void test_open_errors(void **state)
{
    tmp *t = *state;
    char path[160];
    ftrack_error err;
    audit_log log;
    snprintf(path, sizeof(path), "%s/missing-folder/audit.jsonl", t->dir);
    audit_config cfg = config_for(path, 0, 0);
    assert_int_equal(audit_log_open(&log, &cfg, &err), FTRACK_ERR_IO);
    assert_non_null(strstr(err.message, path));
    assert_int_equal(log.fd, -1);
    audit_config_clear(&cfg);

    cfg = config_for(t->dir, 0, 0); /* a folder, not a file */
    assert_int_not_equal(audit_log_open(&log, &cfg, &err), FTRACK_OK);
    audit_config_clear(&cfg);
}

static void test_new_file_mode(void **state)
{
    tmp *t = *state;
    ftrack_error err;
    struct stat sb;
    mode_t old = umask(0);
    audit_config cfg = config_for(t->path, 0, 0);
    audit_log log;
    assert_int_equal(audit_log_open(&log, &cfg, &err), FTRACK_OK);
    umask(old);
    audit_log_close(&log);
    assert_int_equal(stat(t->path, &sb), 0);
    /* Events can carry names and notes: not world-readable. */
    assert_int_equal(sb.st_mode & 0777, 0640);
    audit_config_clear(&cfg);
}

static void test_fsync_each_writes(void **state)
{
    tmp *t = *state;
    ftrack_error err;
    audit_config cfg = config_for(t->path, 0, 0);
    cfg.fsync_each = true;
    audit_log log;
    assert_int_equal(audit_log_open(&log, &cfg, &err), FTRACK_OK);
    append_text(&log, "synced\n");
    expect_content(t->path, "synced\n"); /* visible before close */
    audit_log_close(&log);
    audit_config_clear(&cfg);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_rotated_name),
        cmocka_unit_test(test_should_rotate),
        cmocka_unit_test(test_format_time),
        cmocka_unit_test(test_format_line_keeps_event_bytes),
        T(test_rotation_keeps_n),
        T(test_rotation_threshold_exact),
        T(test_line_longer_than_max_is_written_whole),
        T(test_keep_zero_truncates),
        T(test_existing_size_counts),
        T(test_follows_moved_file),
        T(test_open_errors),
        T(test_new_file_mode),
        T(test_fsync_each_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
