/* SPDX-License-Identifier: Apache-2.0 */
/* Growable arrays and text buffers (internal.h): the one place that doubles a capacity,
 * checks the multiplication and keeps the old block when realloc fails. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"

#define FIRST_CAPACITY 8
#define FIRST_TEXT_CAPACITY 256

bool fti_array_reserve(void *items, size_t *cap, size_t need, size_t item_size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : FIRST_CAPACITY;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return false;
        n *= 2;
    }
    if (item_size && n > SIZE_MAX / item_size)
        return false;
    void *old;
    memcpy(&old, items, sizeof(old)); /* items is a T **: read and write it as bytes */
    void *grown = realloc(old, n * item_size);
    if (!grown)
        return false;
    memcpy(items, &grown, sizeof(grown));
    *cap = n;
    return true;
}

bool fti_buf_reserve(fti_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > SIZE_MAX - b->len - 1) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (b->cap == 0 && need < FIRST_TEXT_CAPACITY)
        need = FIRST_TEXT_CAPACITY; /* text grows in small steps: start with room */
    if (!fti_array_reserve(&b->data, &b->cap, need, 1)) {
        b->failed = true;
        return false;
    }
    return true;
}

bool fti_buf_add(fti_buf *b, const void *data, size_t n)
{
    if (!fti_buf_reserve(b, n))
        return false;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool fti_buf_adds(fti_buf *b, const char *s)
{
    return fti_buf_add(b, s, strlen(s));
}

bool fti_buf_addf(fti_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !fti_buf_reserve(b, (size_t)n)) {
        b->failed = true;
        return false;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

char *fti_buf_take(fti_buf *b)
{
    char *data = b->failed ? NULL : b->data;
    if (b->failed)
        free(b->data);
    memset(b, 0, sizeof(*b));
    return data;
}

void fti_buf_free(fti_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
