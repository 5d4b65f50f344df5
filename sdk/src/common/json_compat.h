/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_JSON_COMPAT_H
#define FTI_JSON_COMPAT_H
/*
 * A workaround for a json-c decoding bug (json-c 0.16, Debian 12's; upstream json-c PR #893,
 * still open): an escaped surrogate pair whose code point has its low 16 bits in D800-DFFF
 * (U+1D800-U+1DFFF, U+2D800-U+2DFFF (CJK Extension F), ...: 2,048 characters in each
 * supplementary plane) is decoded as U+FFFD instead of the character. Python's json.dumps
 * escapes every non-ASCII character by default, so ftrack's Python clients send exactly these
 * escapes. json-c keeps raw UTF-8 as it is, so rewriting those pairs as the character's UTF-8
 * bytes before parsing gives the right string. Found by tests/fuzz/fuzz_event.c.
 */
#include <stddef.h>
#include <json-c/json_tokener.h>

/* When `text` (JSON, `len` bytes) holds at least one such pair: a new NUL-terminated copy
 * with every such pair written as the character's four UTF-8 bytes (free with free()), its
 * length in *out_len. NULL when it holds none (parse `text` as it is) or out of memory (then
 * parsing `text` gives the old, lossy result). Other escapes, including other pairs, are left
 * alone; escaped backslashes are skipped, so "\\ud836\\udc00"'s text is unchanged. */
char *fti_json_fix_astral_escapes(const char *text, size_t len, size_t *out_len);

/* json_tokener_reset() plus what json-c 0.16's reset forgets: a high surrogate left pending by
 * the previous text (one that failed right after a high-surrogate escape) makes the next
 * text's first unicode escape decode as U+FFFD. Reset a reused tokener with this. Found by
 * tests/fuzz/fuzz_event.c. */
void fti_json_tokener_reset(json_tokener *tok);

#endif
