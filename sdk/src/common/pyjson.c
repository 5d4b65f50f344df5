/* SPDX-License-Identifier: Apache-2.0 */
/* Python's json.dumps, byte for byte (see pyjson.h). */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>
#include <openssl/evp.h>

#include "common/pyjson.h"

typedef struct out {
    struct printbuf *pb;
    bool failed;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (!o->failed && printbuf_memappend(o->pb, s, (int)n) < 0)
        o->failed = true;
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* ---- strings (ensure_ascii) ---------------------------------------------------------- */

static void put_u16(out *o, unsigned v)
{
    char buf[8];
    int n = snprintf(buf, sizeof(buf), "\\u%04x", v & 0xffffu);
    put(o, buf, (size_t)n);
}

/* Decode one UTF-8 sequence at s[0..n); returns its length, or 0 when it is not valid
 * (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static void put_string(out *o, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    put(o, "\"", 1);
    size_t run = 0; /* start of the pending run of printable ASCII */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
            i++;
            continue;
        }
        put(o, str + run, i - run);
        switch (c) {
        case '"':
            puts_(o, "\\\"");
            break;
        case '\\':
            puts_(o, "\\\\");
            break;
        case '\n':
            puts_(o, "\\n");
            break;
        case '\r':
            puts_(o, "\\r");
            break;
        case '\t':
            puts_(o, "\\t");
            break;
        case '\b':
            puts_(o, "\\b");
            break;
        case '\f':
            puts_(o, "\\f");
            break;
        default:
            if (c < 0x80) {
                put_u16(o, c);
            } else {
                uint32_t cp = 0xfffd;
                size_t len = utf8_decode(s + i, n - i, &cp);
                if (len == 0) {
                    cp = 0xfffd;
                    len = 1;
                }
                if (cp >= 0x10000) {
                    cp -= 0x10000;
                    put_u16(o, 0xd800 | (cp >> 10));
                    put_u16(o, 0xdc00 | (cp & 0x3ff));
                } else {
                    put_u16(o, cp);
                }
                i += len - 1;
            }
        }
        i++;
        run = i;
    }
    put(o, str + run, n - run);
    put(o, "\"", 1);
}

/* ---- numbers ------------------------------------------------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Python's float repr: the shortest digits that read back as the same double, in fixed
 * notation when the decimal exponent is in [-4, 16), else as d.ddde+XX. */
static void put_double(out *o, double v)
{
    if (isnan(v)) {
        puts_(o, "NaN");
        return;
    }
    if (isinf(v)) {
        puts_(o, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (v == 0) {
        puts_(o, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* printf and strtod follow LC_NUMERIC; the host application may have changed it. */
    pthread_once(&c_locale_once, make_c_locale);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    char sci[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    if (old)
        uselocale(old);

    /* sci is [-]d[.ddd]e[+-]XX: collect the digits and the exponent. */
    char digits[24];
    size_t nd = 0;
    const char *p = sci;
    bool negative = *p == '-';
    if (negative)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < sizeof(digits) - 1)
            digits[nd++] = *p;
    long exp10 = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    long decpt = exp10 + 1; /* v = 0.digits * 10^decpt */

    if (negative)
        put(o, "-", 1);
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            put(o, "0.", 2);
            for (long i = 0; i < -decpt; i++)
                put(o, "0", 1);
            put(o, digits, nd);
        } else if ((size_t)decpt >= nd) {
            put(o, digits, nd);
            for (size_t i = nd; i < (size_t)decpt; i++)
                put(o, "0", 1);
            put(o, ".0", 2);
        } else {
            put(o, digits, (size_t)decpt);
            put(o, ".", 1);
            put(o, digits + decpt, nd - (size_t)decpt);
        }
        return;
    }
    put(o, digits, 1);
    if (nd > 1) {
        put(o, ".", 1);
        put(o, digits + 1, nd - 1);
    }
    char e[16];
    int n = snprintf(e, sizeof(e), "e%c%02ld", exp10 < 0 ? '-' : '+', labs(exp10));
    put(o, e, (size_t)n);
}

static void put_int(out *o, json_object *v)
{
    char buf[32];
    int64_t i = json_object_get_int64(v);
    int n;
    /* json-c keeps values above INT64_MAX as unsigned and clamps get_int64 for them. */
    if (i == INT64_MAX)
        n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)json_object_get_uint64(v));
    else
        n = snprintf(buf, sizeof(buf), "%lld", (long long)i);
    put(o, buf, (size_t)n);
}

/* ---- containers ---------------------------------------------------------------------- */

typedef struct entry {
    const char *key;
    json_object *value;
} entry;

static int by_key(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

static void put_value(out *o, json_object *v, bool sort_keys);

static void put_object(out *o, json_object *v, bool sort_keys)
{
    size_t n = (size_t)json_object_object_length(v), i = 0;
    if (n == 0) {
        put(o, "{}", 2);
        return;
    }
    entry *entries = malloc(n * sizeof(*entries));
    if (!entries) {
        o->failed = true;
        return;
    }
    json_object_object_foreach(v, key, val)
    {
        if (i < n)
            entries[i++] = (entry){key, val};
    }
    n = i;
    if (sort_keys)
        qsort(entries, n, sizeof(*entries), by_key);
    put(o, "{", 1);
    for (i = 0; i < n && !o->failed; i++) {
        if (i)
            put(o, ", ", 2);
        put_string(o, entries[i].key, strlen(entries[i].key));
        put(o, ": ", 2);
        put_value(o, entries[i].value, sort_keys);
    }
    put(o, "}", 1);
    free(entries);
}

static void put_array(out *o, json_object *v, bool sort_keys)
{
    size_t n = json_object_array_length(v);
    put(o, "[", 1);
    for (size_t i = 0; i < n && !o->failed; i++) {
        if (i)
            put(o, ", ", 2);
        put_value(o, json_object_array_get_idx(v, i), sort_keys);
    }
    put(o, "]", 1);
}

static void put_value(out *o, json_object *v, bool sort_keys)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        puts_(o, "null");
        break;
    case json_type_boolean:
        puts_(o, json_object_get_boolean(v) ? "true" : "false");
        break;
    case json_type_int:
        put_int(o, v);
        break;
    case json_type_double:
        put_double(o, json_object_get_double(v));
        break;
    case json_type_string:
        put_string(o, json_object_get_string(v), (size_t)json_object_get_string_len(v));
        break;
    case json_type_array:
        put_array(o, v, sort_keys);
        break;
    case json_type_object:
        put_object(o, v, sort_keys);
        break;
    }
}

char *fti_json_python_dumps(json_object *value, bool sort_keys, size_t *len)
{
    out o = {.pb = printbuf_new()};
    if (!o.pb)
        return NULL;
    put_value(&o, value, sort_keys);
    char *result = NULL;
    if (!o.failed) {
        size_t n = (size_t)printbuf_length(o.pb);
        result = malloc(n + 1);
        if (result) {
            memcpy(result, o.pb->buf, n);
            result[n] = '\0';
            if (len)
                *len = n;
        }
    }
    printbuf_free(o.pb);
    return result;
}

void fti_md5_hex(const void *data, size_t len, char out_hex[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_md5(), NULL) != 1 || n != 16) {
        out_hex[0] = '\0';
        return;
    }
    for (unsigned i = 0; i < 16; i++) {
        out_hex[2 * i] = hex[md[i] >> 4];
        out_hex[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out_hex[32] = '\0';
}
