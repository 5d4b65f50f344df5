/* SPDX-License-Identifier: Apache-2.0 */
/* Coalesced frames (hub/wsframe.h): frames of every length form (7-bit, 16-bit and 64-bit)
 * built back to back decode, per RFC 6455 §5.2, to the payloads given; a client's are each
 * masked with their own key, a server's carry no mask bit and no key (§5.1). The network
 * paths (the embedded hub reading the SDK's writes, the SDK and the JavaScript client reading
 * the hub's) are covered by every integration and interop test that goes through a hub. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/wsframe.h"

/* Decode the frame at p into a fresh buffer; returns the bytes it took. A server frame
 * (`masked` false) reports key 0. */
static size_t decode_frame(const unsigned char *p, size_t avail, bool masked,
                           unsigned char **payload, size_t *len, uint32_t *key_out)
{
    assert_true(avail >= 2);
    assert_int_equal(p[0], 0x81);              /* FIN, text */
    assert_int_equal(!!(p[1] & 0x80), masked); /* the mask bit */
    size_t n = p[1] & 0x7f, h = 2;
    if (n == 126) {
        n = ((size_t)p[2] << 8) | p[3];
        h = 4;
    } else if (n == 127) {
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | p[2 + i];
        h = 10;
    }
    static const unsigned char no_key[4] = {0, 0, 0, 0};
    size_t klen = masked ? 4 : 0;
    assert_true(avail >= h + klen + n);
    const unsigned char *key = masked ? p + h : no_key;
    memcpy(key_out, key, 4);
    *payload = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        (*payload)[i] = p[h + klen + i] ^ key[i & 3];
    *len = n;
    return h + klen + n;
}

static size_t decode(const unsigned char *p, size_t avail, unsigned char **payload, size_t *len,
                     uint32_t *key_out)
{
    return decode_frame(p, avail, true, payload, len, key_out);
}

static void test_lengths_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 7, 8, 9, 125, 126, 127, 65535, 65536, 70001};
    const size_t count = sizeof(sizes) / sizeof(sizes[0]);
    fti_wsbatch b;
    fti_wsbatch_init(&b, 16);
    char *src[sizeof(sizes) / sizeof(sizes[0])];
    for (size_t i = 0; i < count; i++) {
        src[i] = malloc(sizes[i] + 1);
        for (size_t k = 0; k < sizes[i]; k++)
            src[i][k] = (char)('a' + (k * 7 + i) % 26);
        assert_true(fti_wsbatch_add_text(&b, src[i], sizes[i]));
    }
    const unsigned char *p = fti_wsbatch_data(&b);
    assert_ptr_equal(p, b.buf + 16); /* the headroom is kept before the frames */
    size_t at = 0;
    uint32_t keys[sizeof(sizes) / sizeof(sizes[0])];
    for (size_t i = 0; i < count; i++) {
        unsigned char *payload;
        size_t len;
        at += decode(p + at, b.len - at, &payload, &len, &keys[i]);
        assert_int_equal(len, sizes[i]);
        assert_memory_equal(payload, src[i], len);
        free(payload);
        free(src[i]);
    }
    assert_int_equal(at, b.len);
    size_t distinct = 0;
    for (size_t i = 0; i < count; i++) {
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen = seen || keys[k] == keys[i];
        distinct += !seen;
    }
    assert_true(distinct >= count - 1); /* random keys: a repeat is a 1-in-4-billion event */
    fti_wsbatch_free(&b);
}

static void test_clear_reuses_and_refills_masks(void **state)
{
    (void)state;
    fti_wsbatch b;
    fti_wsbatch_init(&b, 0);
    /* more frames than one refill of keys (64), across clears */
    for (int round = 0; round < 3; round++) {
        fti_wsbatch_clear(&b);
        for (int i = 0; i < 50; i++)
            assert_true(fti_wsbatch_add_text(&b, "5:::{\"x\":1}", 11));
        const unsigned char *p = fti_wsbatch_data(&b);
        size_t at = 0;
        for (int i = 0; i < 50; i++) {
            unsigned char *payload;
            size_t len;
            uint32_t key;
            at += decode(p + at, b.len - at, &payload, &len, &key);
            assert_int_equal(len, 11);
            assert_memory_equal(payload, "5:::{\"x\":1}", 11);
            free(payload);
        }
        assert_int_equal(at, b.len);
    }
    fti_wsbatch_free(&b);
    assert_null(fti_wsbatch_data(&b));
}

/* Server frames: every length form, back to back, in the clear, payload bytes as given; the
 * kind survives fti_wsbatch_free(). */
static void test_server_frames_unmasked(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70001, 3};
    const size_t count = sizeof(sizes) / sizeof(sizes[0]);
    fti_wsbatch b;
    fti_wsbatch_init_server(&b, 16);
    for (int round = 0; round < 2; round++) {
        char *src[sizeof(sizes) / sizeof(sizes[0])];
        size_t want = 0;
        for (size_t i = 0; i < count; i++) {
            src[i] = malloc(sizes[i] + 1);
            for (size_t k = 0; k < sizes[i]; k++)
                src[i][k] = (char)('A' + (k * 5 + i) % 26);
            assert_true(fti_wsbatch_add_text(&b, sizes[i] ? src[i] : NULL, sizes[i]));
            want += (sizes[i] < 126 ? 2 : sizes[i] <= 0xffff ? 4 : 10) + sizes[i];
        }
        assert_int_equal(b.len, want); /* no key bytes anywhere */
        const unsigned char *p = fti_wsbatch_data(&b);
        assert_ptr_equal(p, b.buf + 16);
        size_t at = 0;
        for (size_t i = 0; i < count; i++) {
            unsigned char *payload;
            size_t len;
            uint32_t key;
            at += decode_frame(p + at, b.len - at, false, &payload, &len, &key);
            assert_int_equal(len, sizes[i]);
            assert_memory_equal(payload, src[i], len);
            free(payload);
            free(src[i]);
        }
        assert_int_equal(at, b.len);
        fti_wsbatch_free(&b); /* the second round starts from no buffer */
        assert_null(fti_wsbatch_data(&b));
        assert_false(b.masked);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_round_trip),
        cmocka_unit_test(test_clear_reuses_and_refills_masks),
        cmocka_unit_test(test_server_frames_unmasked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
