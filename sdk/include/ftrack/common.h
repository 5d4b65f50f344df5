/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_COMMON_H
#define FTRACK_COMMON_H
/*
 * The SDK's one error convention.
 *
 * Every fallible call returns an ftrack_status (FTRACK_OK is zero) and takes an optional
 * `ftrack_error *err` as its last argument. On failure the SDK fills *err (when not NULL)
 * with the same status and a sentence the caller can show a person. The error is a plain
 * struct the caller owns (usually on its stack), so it is safe from any thread.
 *
 * If a call that takes a callback fails, that callback is never called.
 * Secrets (API keys) never appear in a message.
 */
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FTRACK_BUILDING_SDK)
#define FTRACK_API __attribute__((visibility("default")))
#else
#define FTRACK_API
#endif

typedef enum ftrack_status {
    FTRACK_OK = 0,
    FTRACK_ERR_INVALID_ARGUMENT, /* the caller passed something unusable */
    FTRACK_ERR_NO_MEMORY,
    FTRACK_ERR_CONFIG,        /* missing or invalid configuration (server, key, user, ...) */
    FTRACK_ERR_CLOSED,        /* the session or hub was closed */
    FTRACK_ERR_NETWORK,       /* refused, unreachable, DNS or TLS failure */
    FTRACK_ERR_TIMEOUT,
    FTRACK_ERR_AUTH,          /* the server refused the credentials */
    FTRACK_ERR_SERVER,        /* the server answered with an error object */
    FTRACK_ERR_BAD_RESPONSE,  /* the server answered something we cannot read */
    FTRACK_ERR_COMPATIBILITY, /* the server is too old or lacks an action */
    FTRACK_ERR_PARSE,         /* an expression or JSON text did not parse */
    FTRACK_ERR_NOT_FOUND,
    FTRACK_ERR_EXISTS,
    FTRACK_ERR_NOT_CONNECTED,
    FTRACK_ERR_QUEUE_FULL,
    FTRACK_ERR_PLUGIN,        /* a plugin was refused or failed */
    FTRACK_ERR_IO,            /* a local file or socket operation failed */
    FTRACK_ERR_INTERNAL
} ftrack_status;

#define FTRACK_ERROR_MESSAGE_MAX 512
#define FTRACK_ERROR_EXCEPTION_MAX 128
#define FTRACK_ERROR_CONTENT_MAX 1024

typedef struct ftrack_error {
    ftrack_status code;
    /* FTRACK_ERR_PARSE: byte offset of the offending input, else -1. */
    int position;
    /* HTTP status of the answer that caused the error, else 0. */
    int http_status;
    char message[FTRACK_ERROR_MESSAGE_MAX];
    /* FTRACK_ERR_SERVER: the server's `exception` and `content` (may be truncated). */
    char server_exception[FTRACK_ERROR_EXCEPTION_MAX];
    char server_content[FTRACK_ERROR_CONTENT_MAX];
} ftrack_error;

/* A static, never-NULL name for a status ("FTRACK_ERR_CONFIG" style is not used: it reads
 * "configuration error"). */
FTRACK_API const char *ftrack_strerror(ftrack_status status);

/* Reset *err to FTRACK_OK with empty text. NULL is accepted. */
FTRACK_API void ftrack_error_clear(ftrack_error *err);

/* Fill *err (when not NULL) with `code` and a printf-formatted message (truncated to
 * FTRACK_ERROR_MESSAGE_MAX), clearing every other field, and return `code`, so that a
 * plugin writes `return ftrack_error_set(err, FTRACK_ERR_CONFIG, "bad %s", name);` as the
 * SDK does. NULL err is accepted: only the code is returned. */
FTRACK_API ftrack_status ftrack_error_set(ftrack_error *err, ftrack_status code, const char *fmt,
                                          ...) __attribute__((format(printf, 3, 4)));

/* Room for ftrack_time_iso8601's text with up to 9 fraction digits, and its NUL. */
#define FTRACK_TIME_TEXT_MAX 40
/* Write the UTC time `epoch_seconds` (since 1970) into out (`size` bytes, always
 * terminated) as ISO 8601: "2025-01-01T10:00:01Z", or with `fraction_digits` (1-9) digits
 * of the second, truncated, as "2025-01-01T10:00:01.250Z". */
FTRACK_API void ftrack_time_iso8601(double epoch_seconds, int fraction_digits, char *out,
                                    size_t size);

/* The library's version, e.g. "0.1.0". */
FTRACK_API const char *ftrack_version(void);

/* Free memory the SDK allocated and handed to the caller as a char * (serialised events,
 * generated ids). NULL is accepted. */
FTRACK_API void ftrack_free(void *ptr);

/* Length of a subscriber or event identifier including its NUL (32 hex chars, or a JS
 * client's 36-char dashed uuid, plus room). */
#define FTRACK_ID_MAX 64

#ifdef __cplusplus
}
#endif
#endif
