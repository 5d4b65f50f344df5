/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_JSON_TEXT_H
#define FTI_JSON_TEXT_H
/* What every parse of JSON received from a peer needs: the UTF-8 check Python peers hold us
 * to, a tokener kept per thread (making one per text cost 5–7% of a busy host's or hub's
 * CPU), and one strict parse of a whole text on it. Used by the SDK's event parser and by the
 * embedded hub. */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json_tokener.h>

/* The offset of the first byte of text[0..n) that is not well-formed UTF-8, or SIZE_MAX when
 * it all is. Stricter than json-c's own check, which accepts overlong forms, encoded
 * surrogates and code points past U+10FFFF: Python peers refuse such text (a websocket-client
 * drops the connection on it), so nothing carrying them may get through. */
size_t fti_utf8_invalid_at(const char *text, size_t n);

/* This thread's tokener for texts nested at most `max_depth` levels, reset and ready; owned by
 * the thread (freed when it ends). Set its flags before each parse and reset it after
 * (fti_json_tokener_reset) so no partial state outlives the text. A thread that asks for
 * another depth gets a new tokener in place of the old. NULL when out of memory. */
json_tokener *fti_json_thread_tokener(int max_depth);

/* Why fti_json_parse_whole returned no value. */
typedef struct fti_json_whole {
    bool no_memory;                /* no tokener could be made */
    enum json_tokener_error error; /* json-c's; json_tokener_continue: the text ended early */
    size_t end;                    /* where json-c stopped, in the text it read */
    size_t len;                    /* that text's length (the astral fix may change it) */
} fti_json_whole;

/* Parse text[0..len) (len < INT32_MAX) as one JSON value through fti_json_fix_astral_escapes
 * and this thread's tokener for `max_depth`, without json-c's UTF-8 check (call
 * fti_utf8_invalid_at first). Strict: json-c itself refuses anything but whitespace after
 * the value. Returns the value (the caller owns it), or NULL with *why. */
json_object *fti_json_parse_whole(const char *text, size_t len, int max_depth, fti_json_whole *why);

#endif
