/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_JSON_TEXT_H
#define FTI_JSON_TEXT_H
/* What every parse of JSON received from a peer needs: the UTF-8 check Python peers hold us
 * to, and a tokener kept per thread (making one per text cost 5–7% of a busy host's or hub's
 * CPU). Used by the SDK's event parser and by the embedded hub. */
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

#endif
