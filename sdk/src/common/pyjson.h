/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_PYJSON_H
#define FTI_PYJSON_H
/*
 * Python-compatible JSON text, for the schema cache hash (protocol §1.3): the Python client
 * hashes json.dumps(schemas, sort_keys=True), so we must produce the very same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

/* json.dumps(value, sort_keys=sort_keys) as Python's defaults write it: separators ", " and
 * ": ", ensure_ascii (\uXXXX, surrogate pairs beyond the BMP), floats as repr() (shortest
 * round-trip: 1.0, 1e+16, 1e-05), NaN/Infinity/-Infinity, ints as is. Keys sort by code
 * point. Bytes that are not UTF-8 are written as \ufffd. Returns a malloc'ed NUL-terminated
 * string (free with free()) and its length in *len when len is not NULL; NULL when out of
 * memory. */
char *fti_json_python_dumps(json_object *value, bool sort_keys, size_t *len);

/* Lowercase hex MD5 of data (32 chars plus NUL). */
void fti_md5_hex(const void *data, size_t len, char out[33]);

#endif
