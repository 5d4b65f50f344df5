/* SPDX-License-Identifier: Apache-2.0 */
/* fti_json_fix_astral_escapes (common/json_compat.h): the escaped surrogate pairs json-c 0.16
 * decodes as U+FFFD. Regression test of the first fuzz_event crash (build-fuzz, 2026-11-22):
 * an event whose topic holds U+7DFCF round-trips through Python's ensure_ascii dumps only with
 * the fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "common/json_compat.h"
#include "common/pyjson.h"

/* libFuzzer's input: a flag byte, then the event text (with raw U+6BFCF and U+7DFCF). */
static const char fuzz_event_crash[] =
    "\x30\x7b\x0a\x0a\x0a\x0a\x22\x74\x6f\x70\x69\x63\x22\x3a\x22\x05\x05\x2a\x2a\x2a\x2a\x2a"
    "\x2a\x0a\x2a\x2a\x2a\x2a\x2a\x2a\x2a\xf1\xab\xbf\x8f\x25\xf1\xab\xbf\x8f\x25\x2a\x2a\x2a"
    "\x2a\x2a\x2a\x2a\x2a\x2a\x2a\x05\x05\x05\x2a\x2a\x2a\xf1\xab\xbf\x8f\x25\xf1\xab\xbf\x8f"
    "\x25\x2a\x2a\x0a\x2a\x23\x2a\x2a\x2a\xf1\xab\xbf\x8f\x25\xf1\xbd\xbf\x8f\x25\x2a\x2a\x22"
    "\x2c\x22\x78\x74\x72\x61\x22\x3a\x7b\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20"
    "\x7d\x7d";

/* Parse JSON text as the SDK should: the fix first, then json-c. */
static json_object *parse_fixed(const char *text, size_t len)
{
    size_t n = 0;
    char *fixed = fti_json_fix_astral_escapes(text, len, &n);
    json_tokener *tok = json_tokener_new_ex(64); /* not strict: the fuzz input has raw \n */
    json_object *v = json_tokener_parse_ex(tok, fixed ? fixed : text, (int)(fixed ? n : len));
    assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
    json_tokener_free(tok);
    free(fixed);
    return v;
}

static size_t utf8_of(uint32_t cp, unsigned char out[4])
{
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static void test_fuzz_event_crash_round_trips(void **state)
{
    (void)state;
    const char *text = fuzz_event_crash + 1;
    size_t len = sizeof(fuzz_event_crash) - 2;
    json_object *ev = parse_fixed(text, len); /* raw UTF-8: nothing to fix */
    size_t n1 = 0, n2 = 0;
    char *py = fti_json_python_dumps(ev, true, &n1);
    assert_non_null(strstr(py, "\\ud9b7\\udfcf")); /* U+7DFCF, the pair json-c got wrong */
    json_object *back = parse_fixed(py, n1);
    char *py2 = fti_json_python_dumps(back, true, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(py, py2, n1);
    assert_string_equal(json_object_get_string(json_object_object_get(ev, "topic")),
                        json_object_get_string(json_object_object_get(back, "topic")));
    free(py2);
    free(py);
    json_object_put(back);
    json_object_put(ev);
}

/* Every high surrogate with a spread of low ones: the decoded string is the character. */
static void test_every_pair_decodes_to_its_character(void **state)
{
    (void)state;
    unsigned fixed_pairs = 0;
    for (uint32_t hi = 0xD800; hi <= 0xDBFF; hi++) {
        for (uint32_t lo = 0xDC00; lo <= 0xDFFF; lo += 0x3F) {
            char text[32];
            int len = snprintf(text, sizeof(text), "\"\\u%04x\\u%04X\"", hi, lo);
            size_t n = 0;
            char *fixed = fti_json_fix_astral_escapes(text, (size_t)len, &n);
            fixed_pairs += fixed != NULL;
            free(fixed);
            json_object *v = parse_fixed(text, (size_t)len);
            uint32_t cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            unsigned char want[4];
            utf8_of(cp, want);
            if (json_object_get_string_len(v) != 4 ||
                memcmp(json_object_get_string(v), want, 4) != 0)
                fail_msg("\\u%04x\\u%04x (U+%05X) decoded wrongly", hi, lo, cp);
            json_object_put(v);
        }
    }
    /* only the pairs json-c breaks are rewritten: 32 high surrogates x 17 low ones tried */
    assert_int_equal(fixed_pairs, 32 * 17);
}

static void test_other_text_is_left_alone(void **state)
{
    (void)state;
    const char *untouched[] = {
        "\"\\ud83d\\ude00\"",          /* an emoji: json-c decodes it right */
        "\"\\\\ud836\\\\udc00\"",      /* escaped backslashes, not escapes */
        "\"\\ud836\"",                 /* a lone high surrogate */
        "\"\\ud836\\u0041\"",          /* not followed by a low one */
        "\"\\ud836\\udc0",             /* cut short */
        "\"\\ud836\\udc",              /* cut shorter */
        "\"\\",                        /* a backslash at the very end */
        "{\"a\": [1, \"b\\n\\\"c\"]}", /* ordinary escapes */
    };
    for (size_t i = 0; i < sizeof(untouched) / sizeof(untouched[0]); i++) {
        size_t n = 99;
        char *fixed = fti_json_fix_astral_escapes(untouched[i], strlen(untouched[i]), &n);
        if (fixed)
            fail_msg("rewrote %s", untouched[i]);
        assert_int_equal(n, 99);
    }
    assert_null(fti_json_fix_astral_escapes(NULL, 0, NULL));
    /* a broken pair among other escapes: only it changes (U+1D800 = F0 9D A0 80) */
    const char *mixed = "[\"a\\\\\", \"\\ud836\\udc00\\n\\ud83d\\ude00\", \"\\uD836\\uDC00\"]";
    size_t n = 0;
    char *fixed = fti_json_fix_astral_escapes(mixed, strlen(mixed), &n);
    assert_non_null(fixed);
    assert_string_equal(fixed, "[\"a\\\\\", \"\xf0\x9d\xa0\x80\\n\\ud83d\\ude00\", "
                               "\"\xf0\x9d\xa0\x80\"]");
    assert_int_equal(n, strlen(fixed));
    free(fixed);
}

/* Why the fix exists; informational, so a json-c that is fixed one day does not fail this. */
static void test_json_c_still_needs_it(void **state)
{
    (void)state;
    json_object *v = json_tokener_parse("\"\\ud836\\udc00\"");
    assert_non_null(v);
    bool broken = strcmp(json_object_get_string(v), "\xef\xbf\xbd") == 0;
    json_object_put(v);
    /* When this fails, json-c decodes the pair itself: json_compat.c's workaround can go. */
    if (!broken)
        fail_msg("json-c %s decodes \\ud836\\udc00 correctly now: the workaround is no longer "
                 "needed",
                 json_c_version());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_event_crash_round_trips),
        cmocka_unit_test(test_every_pair_decodes_to_its_character),
        cmocka_unit_test(test_other_text_is_left_alone),
        cmocka_unit_test(test_json_c_still_needs_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
