/* SPDX-License-Identifier: Apache-2.0 */
/* See json_compat.h: rewrite the escaped surrogate pairs json-c 0.16 decodes as U+FFFD. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_compat.h"

#define PAIR_LEN 12 /* \uD8xx\uDCxx */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The 4 hex digits at p as a number, or -1. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_value(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The code point of the escaped pair at p (p[0] is the backslash of a \u), when it is one
 * json-c gets wrong; else 0. `left` bytes are readable from p. */
static uint32_t broken_pair_at(const char *p, size_t left)
{
    if (left < PAIR_LEN || p[1] != 'u' || p[6] != '\\' || p[7] != 'u')
        return 0;
    long hi = hex4(p + 2), lo = hex4(p + 8);
    if (hi < 0xD800 || hi > 0xDBFF || lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    uint32_t cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
    /* json-c tests the combined code point with its BMP surrogate checks, which look only at
     * the low 16 bits */
    return (cp & 0xF800) == 0xD800 ? cp : 0;
}

static void put_utf8(char *out, uint32_t cp)
{
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
}

/* Walk the escapes of text; with out NULL only say whether a broken pair is there, else copy
 * with the broken pairs rewritten and return the new length in *n. */
static bool walk(const char *text, size_t len, char *out, size_t *n)
{
    size_t i = 0, o = 0;
    while (i < len) {
        const char *bs = memchr(text + i, '\\', len - i);
        size_t upto = bs ? (size_t)(bs - text) : len;
        if (out)
            memcpy(out + o, text + i, upto - i);
        o += upto - i;
        i = upto;
        if (!bs)
            break;
        uint32_t cp = broken_pair_at(text + i, len - i);
        if (cp && !out)
            return true;
        if (cp) {
            put_utf8(out + o, cp);
            o += 4;
            i += PAIR_LEN;
            continue;
        }
        size_t esc = len - i >= 2 ? 2 : 1; /* the backslash and the character it escapes */
        if (out)
            memcpy(out + o, text + i, esc);
        o += esc;
        i += esc;
    }
    if (n)
        *n = o;
    return false;
}

char *fti_json_fix_astral_escapes(const char *text, size_t len, size_t *out_len)
{
    if (!text || !walk(text, len, NULL, NULL))
        return NULL;
    char *out = malloc(len + 1); /* 12 escaped bytes become 4 */
    if (!out)
        return NULL;
    size_t n = 0;
    walk(text, len, out, &n);
    out[n] = '\0';
    if (out_len)
        *out_len = n;
    return out;
}

void fti_json_tokener_reset(json_tokener *tok)
{
    json_tokener_reset(tok);
    tok->ucs_char = 0;
    tok->high_surrogate = 0;
}
