/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_INTERNAL_H
#define FTI_INTERNAL_H
/* Private helpers shared by the SDK's modules (prefix fti_, never exported). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <ftrack/common.h>
#include <ftrack/log.h>
#include <json-c/json.h>

/* Fill *err (when not NULL) and return `code`, so callers can write
 *   return fti_error(err, FTRACK_ERR_CONFIG, "...", ...);
 * The public ftrack_error_set (util.c) under the SDK's private name. */
#define fti_error ftrack_error_set
ftrack_status fti_verror(ftrack_error *err, ftrack_status code, const char *fmt, va_list ap);
/* Prefix an existing message with context: "<context>: <old message>". */
void fti_error_prefix(ftrack_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* NULL-safe strdup. */
char *fti_strdup(const char *s);
char *fti_strndup(const char *s, size_t n);
/* malloc'ed printf. NULL when out of memory. */
char *fti_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Seconds on the monotonic clock. */
double fti_now(void);
/* ---- Log records as text (log_json.c) ----
 * "debug", "info", "warning" or "error". */
const char *fti_log_level_name(ftrack_log_level level);
/* `r` at wall-clock time `now` as one JSON object on one line (no newline) in buf (always
 * terminated): time, level, component, plugin (the component, when `plugin`), event_id and
 * topic (when the record has them), message. */
void fti_log_json(const ftrack_log_record *r, double now, bool plugin, char *buf, size_t size);
/* Whether a command line asks for JSON logs (`--log-format json` or `--log-format=json`, the
 * last one winning, else the environment `variable` when not NULL), read before the options
 * are parsed so that the parser's own mistakes can be JSON too. */
bool fti_args_want_json_logs(int argc, char **argv, const char *variable);

/* ---- Randomness (random.c) ----
 * Fill buf with n bytes from the kernel's CSPRNG (getrandom; blocks only before the pool is
 * first initialised at boot). Callers batch: one call serves many ids or masking keys. The
 * one failure behaviour of every random value below: without random bytes the process
 * aborts (nothing falls back to a predictable generator). */
void fti_random_bytes(void *buf, size_t n);
/* A new uuid4 as 32 lowercase hex characters (the Python client's event and hub ids). */
void fti_uuid_hex(char out[33]);
/* A new uuid4 as "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (entity ids, the JS client's form). */
void fti_uuid_dashed(char out[37]);
/* `hex_chars` random lowercase hex characters (at most 128) and a NUL: session ids, keys. */
void fti_random_hex(char *out, size_t hex_chars);
/* A random number in [0, 1), for jitter. */
double fti_random_unit(void);

/* ---- Growable arrays and text (array.c) ----
 * Make room for `need` items of `item_size` bytes in the array *items points to (a T **)
 * whose capacity is *cap: the capacity doubles (from 8) until it fits. False when out of
 * memory or the size would overflow; the array and *cap are then unchanged. */
bool fti_array_reserve(void *items, size_t *cap, size_t need, size_t item_size);
/* A growing NUL-terminated text: zero-initialise, add, then take or free. The first failed
 * allocation sets `failed`; every later add does nothing, so a caller checks once at the end. */
typedef struct fti_buf {
    char *data; /* NULL until the first add; else always NUL-terminated */
    size_t len, cap;
    bool failed;
} fti_buf;
bool fti_buf_reserve(fti_buf *b, size_t extra);
bool fti_buf_add(fti_buf *b, const void *data, size_t n);
bool fti_buf_adds(fti_buf *b, const char *s); /* a C string */
bool fti_buf_addf(fti_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (the caller frees it; NULL if anything failed, or nothing was ever added); the
 * buffer is empty afterwards. */
char *fti_buf_take(fti_buf *b);
void fti_buf_free(fti_buf *b);
/* The string at obj[key] (borrowed from obj), or NULL when obj is not an object, the key is
 * missing or its value is not a string. */
const char *fti_json_string(json_object *obj, const char *key);
/* Seconds on the wall clock (since the epoch). */
double fti_wall_now(void);
/* mkdir -p: create `path` and every missing parent with mode 0700 (folders that exist are left
 * as they are). FTRACK_ERR_IO names the folder that could not be made. `path` itself, new or
 * not, must then belong to this user and be writable by nobody else (FTRACK_ERR_CONFIG naming
 * the fix); readable by others is logged as a warning. */
ftrack_status fti_make_dirs(const char *path, ftrack_error *err);
/* The strings of a JSON array joined with `sep` (non-strings count as empty): a malloc'ed
 * string, "" for an empty array; NULL when out of memory. */
struct json_object;
char *fti_json_join(struct json_object *array, const char *sep);
/* Copy with truncation; always NUL-terminates when size > 0. */
void fti_strlcpy(char *dst, const char *src, size_t size);
/* The environment for a child process: a copy of `env` (NULL-terminated) without the
 * variables that hold ftrack's API key (FTRACK_API_KEY, FTRACK_APIKEY), which children get
 * through their own channel or not at all. The array is malloc'ed (free it alone); its strings
 * are borrowed from env. NULL when out of memory. Build it before fork(). */
char **fti_env_without_secrets(char *const *env);

#endif
