/* SPDX-License-Identifier: Apache-2.0 */
/* The event journal's files (host/delivery/journal_log.c, journal_compact.c): the record
 * checksum (the same as zlib's crc32, which wrote older files), a torn tail, a corrupted record,
 * an event for ten instances stored once, and compaction copying live events forward without
 * losing the marks of events in older files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "delivery/journal.h"
#include "delivery/journal_internal.h"
#include "journal_test_helpers.h"

/* The record checksum is zlib's CRC-32 bit for bit, at every length and alignment. */
static void test_crc_as_zlib(void **state)
{
    (void)state;
    assert_int_equal(fth_jlog_crc("123456789", 9), 0xcbf43926u); /* the CRC-32 check value */
    static unsigned char buf[70000];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    for (size_t len = 0; len <= 2100; len++)
        for (size_t at = 0; at < 8; at++)
            assert_int_equal(fth_jlog_crc(buf + at, len), (uint32_t)crc32_z(0, buf + at, len));
    for (size_t len = 4096; len < 65536; len = len * 3 / 2 + 7)
        assert_int_equal(fth_jlog_crc(buf + 3, len), (uint32_t)crc32_z(0, buf + 3, len));
}

/* Append one record, its checksum by zlib, to `f` (as the journal wrote before ISA-L). */
static void put_record(FILE *f, uint8_t type, uint16_t inst, int64_t seq, const void *payload,
                       size_t len)
{
    unsigned char rec[512] = {0};
    size_t total = (JREC_HEADER + len + 7) & ~(size_t)7;
    assert_true(total <= sizeof(rec));
    jrec_header h = {JREC_MAGIC, 0, (uint32_t)len, type, 0, inst, seq};
    memcpy(rec, &h, sizeof(h));
    memcpy(rec + JREC_HEADER, payload, len);
    h.crc = (uint32_t)crc32_z(0, rec + 8, JREC_HEADER - 8 + len);
    memcpy(rec + 4, &h.crc, sizeof(h.crc));
    assert_int_equal(fwrite(rec, 1, total, f), total);
}

/* A segment file checksummed by zlib (an older host's) is read as it was written. */
static void test_zlib_file_read(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof(path), "%s/journal", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/journal/0000000000000001.seg", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    put_record(f, REC_INSTANCE, 0, 0, "a", 1);
    const char *id = "old-1", *topic = "t", *text = "{\"id\":\"old-1\",\"topic\":\"t\"}";
    unsigned char ev[256];
    jrec_event e = {1.0, (uint32_t)strlen(text), (uint16_t)strlen(id), 1, 1, {0}};
    jrec_target t = {0, 0, 0};
    size_t n = 0;
    memcpy(ev + n, &e, sizeof(e)), n += JREC_EVENT_FIXED;
    memcpy(ev + n, &t, sizeof(t)), n += JREC_TARGET;
    memcpy(ev + n, id, strlen(id)), n += strlen(id);
    memcpy(ev + n, topic, 1), n += 1;
    memcpy(ev + n, text, strlen(text)), n += strlen(text);
    put_record(f, REC_EVENT, 0, 7, ev, n);
    fclose(f);
    fth_journal *j = open_journal(0, 0);
    fth_journal_stats st;
    fth_journal_get_stats(j, &st);
    assert_int_equal(st.corrupt, 0);
    expect_next(j, "a", "old-1", false);
    fth_journal_close(j);
}

/* The newest segment file of the journal (its path in `out`). */
static void newest_segment(char *out, size_t size)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "ls %s/journal/*.seg | sort | tail -n 1", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, (int)size, p));
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
}

/* Where `needle` first occurs in the file, or -1. */
static long find_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = strlen(needle), have = 0;
    long pos = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        have = (size_t)c == (unsigned char)needle[have] ? have + 1
                                                        : (size_t)c == (unsigned char)needle[0];
        pos++;
        if (have == n)
            break;
    }
    fclose(f);
    return have == n ? pos - (long)n : -1;
}

static void write_pending(int n)
{
    fth_journal *j = open_journal(0, 0);
    char id[16];
    for (int i = 1; i <= n; i++) {
        snprintf(id, sizeof(id), "evt-%d", i);
        assert_int_equal(append(j, "a", id, i), FTH_APPEND_ADDED);
    }
    fth_journal_close(j);
}

/* The journal of write_pending(5) reopened after one record was damaged: that record is
 * counted as corrupt and four events are left. */
static fth_journal *reopen_one_damaged(void)
{
    fth_journal *j = open_journal(0, 0);
    fth_journal_stats st;
    fth_journal_get_stats(j, &st);
    assert_int_equal(st.corrupt, 1);
    assert_int_equal(fth_journal_pending(j, "a"), 4);
    return j;
}

/* A record cut short at the end of the newest file (a crash mid-write) is cut, logged and
 * counted; everything before it is delivered, and the next open finds nothing to cut. */
static void test_torn_tail(void **state)
{
    (void)state;
    write_pending(5);
    char seg[400];
    newest_segment(seg, sizeof(seg));
    long at = find_in_file(seg, "evt-5");
    assert_true(at > 0);
    assert_int_equal(truncate(seg, at + 10), 0); /* inside the last event's record */
    fth_journal *j = reopen_one_damaged();
    for (int i = 1; i <= 4; i++) {
        char id[16];
        snprintf(id, sizeof(id), "evt-%d", i);
        expect_next(j, "a", id, false);
    }
    expect_none(j, "a");
    fth_journal_close(j);
    j = open_journal(0, 0);
    fth_journal_stats st;
    fth_journal_get_stats(j, &st);
    assert_int_equal(st.corrupt, 0); /* it was cut */
    fth_journal_close(j);
}

/* A damaged record in the middle is skipped (its event lost, and reported); the records
 * after it are read. */
static void test_corrupt_middle(void **state)
{
    (void)state;
    write_pending(5);
    char seg[400];
    newest_segment(seg, sizeof(seg));
    /* The newest file is the last run's head, which holds only its instance declaration: the
     * events are in the one before it. Find the file that holds evt-3. */
    char cmd[500];
    snprintf(cmd, sizeof(cmd), "grep -l evt-3 %s/journal/*.seg", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(seg, sizeof(seg), p));
    pclose(p);
    seg[strcspn(seg, "\n")] = '\0';
    long at = find_in_file(seg, "\"i\":3");
    assert_true(at > 0);
    FILE *f = fopen(seg, "r+b");
    assert_non_null(f);
    fseek(f, at + 4, SEEK_SET);
    fputc('7', f); /* the event's data changes: its checksum no longer matches */
    fclose(f);
    fth_journal *j = reopen_one_damaged();
    expect_next(j, "a", "evt-1", false);
    expect_next(j, "a", "evt-2", false);
    expect_next(j, "a", "evt-4", false);
    expect_next(j, "a", "evt-5", false);
    expect_none(j, "a");
    fth_journal_close(j);
}

/* An event for ten instances is written once: the journal grows by about its size, not ten
 * times it, and each instance gets it. */
static void test_stored_once(void **state)
{
    (void)state;
    fth_journal *j = open_journal(0, 0);
    fth_journal_stats before, after;
    fth_journal_get_stats(j, &before);
    size_t size = 100 * 1024;
    char *text = malloc(size + 64);
    int n = snprintf(text, size + 64, "{\"id\":\"big\",\"topic\":\"t\",\"data\":\"");
    memset(text + n, 'x', size - (size_t)n - 2);
    memcpy(text + size - 2, "\"}", 3);
    const char *names[10] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9"};
    fth_append_result results[10];
    fth_journal_append_event(j, "big", "t", text, strlen(text), NULL, names, results, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(results[i], FTH_APPEND_ADDED);
    fth_journal_get_stats(j, &after);
    uint64_t grew = after.written - before.written;
    printf("MEASURED: a %zu-byte event for 10 instances: the journal grew %llu bytes\n", size,
           (unsigned long long)grew);
    assert_true(grew < size + 1024);
    for (int i = 0; i < 10; i++) {
        fth_journal_entry e;
        assert_true(fth_journal_next(j, names[i], &e));
        assert_int_equal(e.len, strlen(text));
        assert_memory_equal(e.text, text, e.len);
        fth_journal_finished(j, names[i], &e);
        fth_journal_entry_clear(&e);
    }
    /* A second copy for one of them is a duplicate; an eleventh instance gets a small record. */
    assert_int_equal(fth_journal_append(j, "i3", "big", "t", text, strlen(text)),
                     FTH_APPEND_DUPLICATE);
    fth_journal_get_stats(j, &before);
    assert_int_equal(fth_journal_append(j, "i10", "big", "t", text, strlen(text)),
                     FTH_APPEND_ADDED);
    fth_journal_get_stats(j, &after);
    assert_true(after.written - before.written < 256);
    free(text);
    fth_journal_close(j);
}

/* Events `from` to `to` (ids "<prefix>-<i>", 2 KB each) for `instance`, each handled at once:
 * they fill segments that nothing keeps alive. */
static void fill_handled(fth_journal *j, const char *instance, const char *prefix, int from, int to)
{
    char id[32], text[2100], pad[2001];
    memset(pad, 'p', 2000);
    pad[2000] = '\0';
    for (int i = from; i < to; i++) {
        snprintf(id, sizeof(id), "%s-%d", prefix, i);
        snprintf(text, sizeof(text), "{\"id\":\"%s\",\"topic\":\"t\",\"data\":\"%s\"}", id, pad);
        assert_int_equal(fth_journal_append(j, instance, id, "t", text, strlen(text)),
                         FTH_APPEND_ADDED);
        expect_next(j, instance, id, false);
    }
}

/* A pending event that keeps an old segment alive is copied forward and the segment deleted;
 * the copy keeps its attempts, also across a restart. */
static void test_copy_forward(void **state)
{
    (void)state;
    char path[300];
    fth_journal_options o;
    journal_options(&o, path);
    o.segment_bytes = 65536;
    fth_journal *j = open_with(&o);
    assert_int_equal(append(j, "slow", "held", 0), FTH_APPEND_ADDED);
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "slow", &e));
    fth_journal_started(j, "slow", &e); /* fails: stays pending, one attempt */
    fth_journal_entry_clear(&e);
    fill_handled(j, "fast", "fast", 0, 300);
    fth_journal_stats st;
    fth_journal_get_stats(j, &st);
    uint64_t segments_before = st.segments;
    fth_journal_compact(j, NULL);
    fth_journal_get_stats(j, &st);
    printf("MEASURED: %llu segments before compaction, %llu after\n",
           (unsigned long long)segments_before, (unsigned long long)st.segments);
    assert_true(segments_before >= 8);
    assert_true(st.segments <= 2);
    assert_int_equal(fth_journal_pending(j, "slow"), 1);
    fth_journal_close(j);
    j = open_with(&o);
    assert_true(fth_journal_next(j, "slow", &e));
    assert_string_equal(e.id, "held");
    assert_int_equal(e.attempts, 1);
    assert_true(e.redelivery);
    fth_journal_entry_clear(&e);
    expect_none(j, "fast");
    fth_journal_close(j);
}

/* A newer segment holds a mark of an event in an older, live one: it must not be deleted
 * before the older one, or the mark is lost (here: the instance that handled the event would
 * get it again after a restart). */
static void test_marks_kept_with_their_event(void **state)
{
    (void)state;
    char path[300];
    fth_journal_options o;
    journal_options(&o, path);
    o.segment_bytes = 65536;
    fth_journal *j = open_with(&o);
    const char *both[] = {"held", "quick"};
    fth_append_result r[2];
    const char *text = "{\"id\":\"shared\",\"topic\":\"t\"}";
    fth_journal_append_event(j, "shared", "t", text, strlen(text), NULL, both, r, 2);
    fill_handled(j, "filler", "fill", 0, 100); /* the shared event's segment is left behind */
    expect_next(j, "quick", "shared", false);  /* its finished mark is in a newer segment */
    fill_handled(j, "filler", "fill", 100, 300);
    fth_journal_compact(j, NULL);
    fth_journal_close(j);
    j = open_with(&o);
    assert_int_equal(fth_journal_pending(j, "quick"), 0);
    assert_int_equal(fth_journal_pending(j, "held"), 1);
    expect_next(j, "held", "shared", false);
    fth_journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_as_zlib),
        cmocka_unit_test_setup_teardown(test_zlib_file_read, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_torn_tail, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_corrupt_middle, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_stored_once, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_copy_forward, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_marks_kept_with_their_event, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
