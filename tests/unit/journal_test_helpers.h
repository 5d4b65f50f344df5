/* SPDX-License-Identifier: Apache-2.0 */
/* What the journal's unit tests share (host_journal_test.c, host_journal_files_test.c,
 * host_crash_guard_test.c): a temporary folder per test, opening a journal in it, events
 * numbered by id, and handing out the next delivery with checks. */
#ifndef FTH_JOURNAL_TEST_HELPERS_H
#define FTH_JOURNAL_TEST_HELPERS_H
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delivery/journal.h"

static char dir[256]; /* the test's folder */

static inline int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/fth-journal-test.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static inline int remove_dir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Default options for the test's journal; `path` (300 bytes) holds its folder. */
static inline void journal_options(fth_journal_options *o, char *path)
{
    snprintf(path, 300, "%s/journal", dir);
    fth_journal_options_init(o);
    o->path = path;
}

static inline fth_journal *open_with(const fth_journal_options *o)
{
    fth_journal *j = NULL;
    ftrack_error err;
    assert_int_equal(fth_journal_open(o, &j, &err), FTRACK_OK);
    return j;
}

static inline fth_journal *open_journal(uint64_t max_bytes, double max_age)
{
    char path[300];
    fth_journal_options o;
    journal_options(&o, path);
    if (max_bytes)
        o.max_bytes = max_bytes;
    if (max_age > 0)
        o.max_age = max_age;
    fth_journal *j = open_with(&o);
    return j;
}

static inline void event_text(char *buf, size_t size, const char *id, int i)
{
    snprintf(buf, size, "{\"id\":\"%s\",\"topic\":\"t\",\"data\":{\"i\":%d}}", id, i);
}

static inline fth_append_result append(fth_journal *j, const char *instance, const char *id, int i)
{
    char text[256];
    event_text(text, sizeof(text), id, i);
    return fth_journal_append(j, instance, id, "t", text, strlen(text));
}

/* Handle the next delivery of `instance` and check it is event `id`. */
static inline void expect_next(fth_journal *j, const char *instance, const char *id,
                               bool redelivery)
{
    fth_journal_entry e;
    assert_true(fth_journal_next(j, instance, &e));
    assert_string_equal(e.id, id);
    assert_int_equal(e.redelivery, redelivery);
    assert_int_equal(e.len, strlen(e.text));
    assert_non_null(strstr(e.text, id));
    fth_journal_started(j, instance, &e);
    fth_journal_finished(j, instance, &e);
    fth_journal_entry_clear(&e);
}

static inline void expect_none(fth_journal *j, const char *instance)
{
    fth_journal_entry e;
    assert_false(fth_journal_next(j, instance, &e));
}

#endif
