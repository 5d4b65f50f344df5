/* SPDX-License-Identifier: Apache-2.0 */
/* Coalesced websocket frames, client or server (wsframe.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "wire/wsframe.h"

#define WS_FIN_TEXT 0x81
#define WS_MASKED 0x80
#define WS_HEADER_MAX 14 /* 2 + 8 length bytes + 4 mask bytes */

void fti_wsbatch_init(fti_wsbatch *b, size_t headroom)
{
    memset(b, 0, sizeof(*b));
    b->headroom = headroom;
    b->masked = true;
}

void fti_wsbatch_init_server(fti_wsbatch *b, size_t headroom)
{
    fti_wsbatch_init(b, headroom);
    b->masked = false;
}

void fti_wsbatch_free(fti_wsbatch *b)
{
    bool masked = b->masked;
    free(b->buf);
    fti_wsbatch_init(b, b->headroom);
    b->masked = masked;
}

void fti_wsbatch_clear(fti_wsbatch *b)
{
    b->len = 0;
}

unsigned char *fti_wsbatch_data(fti_wsbatch *b)
{
    return b->buf ? b->buf + b->headroom : NULL;
}

static bool reserve(fti_wsbatch *b, size_t more)
{
    if (b->len + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    unsigned char *p = realloc(b->buf, b->headroom + cap);
    if (!p)
        return false;
    b->buf = p;
    b->cap = cap;
    return true;
}

/* The next 4-byte masking key. RFC 6455 wants keys a peer cannot predict; they come from the
 * kernel's CSPRNG, one getrandom() per 64 keys (<= 256 bytes: never short, never blocks). */
static void next_mask(fti_wsbatch *b, unsigned char key[4])
{
    if (b->masks_used == 0 || b->masks_used >= sizeof(b->masks)) {
        fti_random_bytes(b->masks, sizeof(b->masks));
        b->masks_used = 0;
    }
    memcpy(key, b->masks + b->masks_used, 4);
    b->masks_used += 4;
}

static size_t put_header(unsigned char *h, size_t len, unsigned char mask_bit)
{
    h[0] = WS_FIN_TEXT;
    if (len < 126) {
        h[1] = (unsigned char)(mask_bit | len);
        return 2;
    }
    if (len <= 0xffff) {
        h[1] = mask_bit | 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = mask_bit | 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

/* out[i] = in[i] ^ key[i % 4], eight bytes at a time. */
static void mask_copy(unsigned char *out, const unsigned char *in, size_t len,
                      const unsigned char key[4])
{
    uint64_t k8;
    unsigned char k[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
    memcpy(&k8, k, 8);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, in + i, 8);
        w ^= k8;
        memcpy(out + i, &w, 8);
    }
    for (; i < len; i++)
        out[i] = in[i] ^ key[i & 3];
}

bool fti_wsbatch_add_text(fti_wsbatch *b, const char *payload, size_t len)
{
    if (!reserve(b, WS_HEADER_MAX + len))
        return false;
    unsigned char *p = b->buf + b->headroom + b->len;
    size_t h = put_header(p, len, b->masked ? WS_MASKED : 0);
    if (!b->masked) {
        if (len) /* memcpy's arguments must not be NULL, even for 0 bytes */
            memcpy(p + h, payload, len);
        b->len += h + len;
        return true;
    }
    unsigned char key[4];
    next_mask(b, key);
    memcpy(p + h, key, 4);
    mask_copy(p + h + 4, (const unsigned char *)payload, len, key);
    b->len += h + 4 + len;
    return true;
}
