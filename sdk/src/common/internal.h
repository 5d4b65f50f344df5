#ifndef FTI_INTERNAL_H
#define FTI_INTERNAL_H
/* Private helpers shared by the SDK's modules (prefix fti_, never exported). */
#include <stdarg.h>
#include <stddef.h>
#include <ftrack/common.h>
#include <ftrack/log.h>
#include <json-c/json.h>

/* Fill *err (when not NULL) and return `code`, so callers can write
 *   return fti_error(err, FTRACK_ERR_CONFIG, "...", ...); */
ftrack_status fti_error(ftrack_error *err, ftrack_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
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
/* Fill buf with n bytes from the kernel's CSPRNG (getrandom; blocks only before the pool is
 * first initialised at boot). Callers batch: one call serves many ids or masking keys. */
void fti_random_bytes(void *buf, size_t n);
/* The string at obj[key] (borrowed from obj), or NULL when obj is not an object, the key is
 * missing or its value is not a string. */
const char *fti_json_string(json_object *obj, const char *key);
/* Seconds on the wall clock (since the epoch). */
double fti_wall_now(void);
/* mkdir -p: create `path` and every missing parent with mode 0700 (folders that exist are left
 * as they are). FTRACK_ERR_IO names the folder that could not be made. */
ftrack_status fti_make_dirs(const char *path, ftrack_error *err);
/* The strings of a JSON array joined with `sep` (non-strings count as empty): a malloc'ed
 * string, "" for an empty array; NULL when out of memory. */
struct json_object;
char *fti_json_join(struct json_object *array, const char *sep);
/* Copy with truncation; always NUL-terminates when size > 0. */
void fti_strlcpy(char *dst, const char *src, size_t size);

#endif
