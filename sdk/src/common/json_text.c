/* SPDX-License-Identifier: Apache-2.0 */
/* JSON text from peers: the UTF-8 check and the per-thread tokener (json_text.h). The
 * tokener is thread-local state by design: one per thread, no lock, freed by a thread key. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_compat.h"
#include "common/json_text.h"

size_t fti_utf8_invalid_at(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) { /* ASCII is skipped eight bytes at a time */
            uint64_t w;
            memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            else if (c == 0xf4)
                hi = 0x8f; /* beyond U+10FFFF */
        } else {
            return i;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
        i += len;
    }
    return SIZE_MAX;
}

static __thread json_tokener *tl_tok;
static __thread int tl_depth;
static pthread_key_t tok_key;
static bool tok_key_ok;

static void tok_free(void *tok)
{
    json_tokener_free(tok);
    tl_tok = NULL;
}

static void tok_key_create(void)
{
    tok_key_ok = pthread_key_create(&tok_key, tok_free) == 0;
}

json_tokener *fti_json_thread_tokener(int max_depth)
{
    if (tl_tok && tl_depth == max_depth)
        return tl_tok;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, tok_key_create);
    if (!tok_key_ok)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(max_depth);
    if (!tok)
        return NULL;
    if (pthread_setspecific(tok_key, tok) != 0) {
        json_tokener_free(tok);
        return NULL;
    }
    if (tl_tok) /* json-c's free does not take NULL */
        json_tokener_free(tl_tok);
    tl_tok = tok;
    tl_depth = max_depth;
    return tok;
}

json_object *fti_json_parse_whole(const char *text, size_t len, int max_depth, fti_json_whole *why)
{
    memset(why, 0, sizeof(*why));
    json_tokener *tok = fti_json_thread_tokener(max_depth);
    if (!tok) {
        why->no_memory = true;
        return NULL;
    }
    size_t fixed_len = 0;
    char *fixed = fti_json_fix_astral_escapes(text, len, &fixed_len); /* see json_compat.h */
    if (fixed) {
        text = fixed;
        len = fixed_len;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *value = json_tokener_parse_ex(tok, text, (int)len);
    why->error = json_tokener_get_error(tok);
    why->end = json_tokener_get_parse_end(tok);
    why->len = len;
    fti_json_tokener_reset(tok); /* drop its partial state now, not at the next parse */
    free(fixed);
    if (why->error != json_tokener_success) {
        json_object_put(value);
        return NULL;
    }
    return value;
}
