/* libFuzzer target: the embedded hub's POST /api handler (host/hub/api.c, fth_api_handle) on
 * the request body bytes, without a network: the shipped schemas, an in-memory store seeded
 * with host/hub/seed-sample.json, the hub's own credentials. Whatever the body, the answer is
 * one JSON text: an array with one result per operation, or one error object (with an
 * "exception") and then HTTP 400 in strict mode; never a crash, a leak or a hang.
 *
 * The store persists across inputs (a fresh one per input would cost more than the request),
 * but is replaced every RESET_EVERY inputs so that state built by earlier inputs stays small.
 * A crash that only happens on a grown store is then reproduced by running the inputs of the
 * crash's run (libFuzzer's -runs with the whole corpus), not a single file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/event.h>
#include <ftrack/log.h>
#include "api.h"

#ifndef FTRACK_FUZZ_SCHEMAS
#error "FTRACK_FUZZ_SCHEMAS (host/hub/schemas.json) must be defined"
#endif
#ifndef FTRACK_FUZZ_SEED
#error "FTRACK_FUZZ_SEED (host/hub/seed-sample.json) must be defined"
#endif

#define RESET_EVERY 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* api.c reads the shipped set from this symbol (host/hub/schemas_blob.S in the host); the
 * target loads the same file by path instead, so it needs no assembler. */
const char fth_shipped_schemas[] = "[]";

static fth_api *api;
static unsigned inputs;

static fth_api *open_api(void)
{
    fth_api *a = NULL;
    ftrack_error err;
    /* Nearly every input is a failed request, each logged as a warning: keep the run's log
     * to errors. */
    ftrack_log_set_level(FTRACK_LOG_ERROR);
    if (fth_api_new(FTRACK_FUZZ_SCHEMAS, &a, &err) != FTRACK_OK) {
        fprintf(stderr, "fuzz_api: %s\n", err.message);
        abort();
    }
    fth_api_options o = {
        .data_dir = NULL, /* memory store, no component files, no encode workers */
        .memory_store = true,
        .seed_file = FTRACK_FUZZ_SEED,
        .server_url = "http://127.0.0.1:1",
        .api_user = "fuzz",
        .api_key = "fuzz-key",
    };
    if (fth_api_attach(a, &o, &err) != FTRACK_OK) {
        fprintf(stderr, "fuzz_api: %s\n", err.message);
        abort();
    }
    return a;
}

/* The request's operation count when it is a JSON array, else -1. */
static long operations(const char *body, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *v = json_tokener_parse_ex(tok, body, (int)len);
    bool ok = json_tokener_get_error(tok) == json_tokener_success &&
              json_object_is_type(v, json_type_array);
    long n = ok ? (long)json_object_array_length(v) : -1;
    json_object_put(v);
    json_tokener_free(tok);
    return n;
}

static void check_answer(const char *body, size_t size, const char *out, size_t out_len, int status,
                         bool strict)
{
    if (!out || strlen(out) != out_len)
        abort();
    json_tokener *tok = json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH + 8);
    json_object *r = json_tokener_parse_ex(tok, out, (int)out_len);
    if (json_tokener_get_error(tok) != json_tokener_success)
        abort();
    json_tokener_free(tok);
    if (json_object_is_type(r, json_type_array)) {
        /* a whole batch answered: the body was an array of exactly that many operations */
        if (status != 200 || operations(body, size) != (long)json_object_array_length(r))
            abort();
    } else {
        json_object *e = NULL;
        if (!json_object_is_type(r, json_type_object) ||
            !json_object_object_get_ex(r, "exception", &e) ||
            !json_object_is_type(e, json_type_string) || status != (strict ? 400 : 200))
            abort();
    }
    json_object_put(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!api || ++inputs % RESET_EVERY == 0) {
        fth_api_free(api);
        api = open_api();
    }
    /* the server hands over the body as bytes plus a length, NUL-terminated */
    char *body = malloc(size + 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    bool strict = size % 2 == 1; /* both modes, steered by the input */
    int status = 0;
    size_t out_len = 0;
    char *out =
        fth_api_handle(api, body, size, true, strict, FTRACK_EVENT_MAX_DEPTH, &status, &out_len);
    check_answer(body, size, out, out_len, status, strict);
    free(out);
    free(body);
    return 0;
}
