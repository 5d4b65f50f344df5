/* SPDX-License-Identifier: Apache-2.0 */
/* common/json_text.h: the UTF-8 check every received text passes (the SDK's event parser and
 * the embedded hub share it) and the tokener each thread keeps. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "common/json_compat.h"
#include "common/json_text.h"

static size_t bad_at(const char *s)
{
    return fti_utf8_invalid_at(s, strlen(s));
}

static void test_utf8_valid_text(void **state)
{
    (void)state;
    assert_int_equal(bad_at(""), SIZE_MAX);
    assert_int_equal(bad_at("h\xc3\xa9llo \xf0\x9f\x98\x80"), SIZE_MAX);
    assert_int_equal(bad_at("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"), SIZE_MAX);
    assert_int_equal(bad_at("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"), SIZE_MAX); /* U+10000, U+10FFFF */
}

static void test_utf8_refused_forms(void **state)
{
    (void)state;
    assert_int_equal(bad_at("\xed\xa0\x80"), 0);     /* encoded surrogate */
    assert_int_equal(bad_at("ab\xc0\xaf"), 2);       /* overlong, two bytes */
    assert_int_equal(bad_at("\xe0\x9f\xbf"), 0);     /* overlong, three bytes */
    assert_int_equal(bad_at("\xf0\x8f\xbf\xbf"), 0); /* overlong, four bytes */
    assert_int_equal(bad_at("\xf4\x90\x80\x80"), 0); /* past U+10FFFF */
    assert_int_equal(bad_at("\xf5\x80\x80\x80"), 0); /* no such lead byte */
    assert_int_equal(bad_at("x\x80"), 1);            /* a lone continuation byte */
    assert_int_equal(bad_at("\xe2\x82"), 0);         /* truncated */
    assert_int_equal(bad_at("\xe2\x28\xa1"), 0);     /* a second byte out of range */
    assert_int_equal(bad_at("\xf0\x9f\x98\x28"), 0); /* a fourth byte out of range */
}

/* The eight-byte ASCII skip must find a bad byte at every position of a word, and never read
 * past the end. */
static void test_utf8_every_offset(void **state)
{
    (void)state;
    char buf[40];
    for (size_t len = 1; len <= sizeof(buf); len++) {
        for (size_t at = 0; at < len; at++) {
            memset(buf, 'a', len);
            buf[at] = (char)0xff;
            char *exact = malloc(len); /* ASan sees any read past it */
            assert_non_null(exact);
            memcpy(exact, buf, len);
            assert_int_equal(fti_utf8_invalid_at(exact, len), at);
            exact[at] = 'b';
            assert_int_equal(fti_utf8_invalid_at(exact, len), SIZE_MAX);
            free(exact);
        }
    }
}

static json_object *parse_with(json_tokener *tok, const char *text, enum json_tokener_error *jerr)
{
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *v = json_tokener_parse_ex(tok, text, (int)strlen(text));
    *jerr = json_tokener_get_error(tok);
    fti_json_tokener_reset(tok);
    return v;
}

static void test_tokener_kept_per_depth(void **state)
{
    (void)state;
    json_tokener *a = fti_json_thread_tokener(8);
    assert_non_null(a);
    assert_ptr_equal(fti_json_thread_tokener(8), a);
    enum json_tokener_error jerr;
    /* a text that fails half-way leaves nothing behind for the next */
    assert_null(parse_with(a, "{\"a\":[1,", &jerr));
    assert_int_equal(jerr, json_tokener_continue);
    json_object *v = parse_with(fti_json_thread_tokener(8), "{\"b\":2}", &jerr);
    assert_int_equal(jerr, json_tokener_success);
    assert_true(json_object_object_get_ex(v, "b", NULL));
    json_object_put(v);
    /* another depth: a tokener that counts to it */
    json_tokener *b = fti_json_thread_tokener(2);
    assert_non_null(b);
    assert_null(parse_with(b, "[[[1]]]", &jerr));
    assert_int_equal(jerr, json_tokener_error_depth);
    v = parse_with(fti_json_thread_tokener(8), "[[[1]]]", &jerr);
    assert_int_equal(jerr, json_tokener_success);
    json_object_put(v);
}

/* Each thread has its own, freed when the thread ends (LeakSanitizer checks the free). */
static void *other_thread(void *arg)
{
    return fti_json_thread_tokener(*(int *)arg);
}

static void test_tokener_per_thread(void **state)
{
    (void)state;
    int depth = 8;
    json_tokener *mine = fti_json_thread_tokener(depth);
    pthread_t t;
    void *theirs = NULL;
    assert_int_equal(pthread_create(&t, NULL, other_thread, &depth), 0);
    assert_int_equal(pthread_join(t, &theirs), 0);
    assert_non_null(theirs);
    assert_ptr_not_equal(theirs, mine);
}

/* One value, whitespace around it allowed; anything else says what it found. */
static void test_parse_whole(void **state)
{
    (void)state;
    fti_json_whole why;
    json_object *v = fti_json_parse_whole(" {\"a\":1}\n", 9, 8, &why);
    assert_non_null(v);
    json_object_put(v);
    assert_null(fti_json_parse_whole("{\"a\":1} x", 9, 8, &why)); /* more than space after */
    assert_int_equal(why.error, json_tokener_error_parse_unexpected);
    assert_null(fti_json_parse_whole("{\"a\":", 5, 8, &why));
    assert_int_equal(why.error, json_tokener_continue);
    assert_null(fti_json_parse_whole("[[[1]]]", 7, 2, &why));
    assert_int_equal(why.error, json_tokener_error_depth);
    assert_null(fti_json_parse_whole("[1,]", 4, 8, &why)); /* strict: no trailing comma */
    assert_true(why.error != json_tokener_success && why.error != json_tokener_continue);
    /* the astral fix is applied: U+1D800 as Python escapes it */
    static const char astral[] = "\"\\ud836\\udc00\"";
    v = fti_json_parse_whole(astral, sizeof(astral) - 1, 8, &why);
    assert_string_equal(json_object_get_string(v), "\xf0\x9d\xa0\x80");
    json_object_put(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_text),    cmocka_unit_test(test_utf8_refused_forms),
        cmocka_unit_test(test_utf8_every_offset),  cmocka_unit_test(test_tokener_kept_per_depth),
        cmocka_unit_test(test_tokener_per_thread), cmocka_unit_test(test_parse_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
