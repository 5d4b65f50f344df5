/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the embedded hub's POST /api handler (host/hub/api.c, fhub_api_handle) on
 * the request body bytes, without a network: the shipped schemas, an in-memory store seeded
 * with host/hub/seed-sample.json, the hub's own credentials, and a data folder, so uploads,
 * downloads and encode_media jobs (whose ffmpeg does not exist: they fail at once) are
 * reached too. Whatever the body, the answer is one JSON text: an array with one result per
 * operation, or one error object (with an "exception") and then HTTP 400 in strict mode;
 * never a crash, a leak or a hang.
 *
 * An input whose first byte is 0x01, 0x02 or 0x03 takes another route (the rest of the input
 * is its material): 0x01 an upload (id, size, URL fields and body, "\n"-separated, to
 * get_upload_metadata and PUT /component/put's functions), 0x02 a download (id, user, key),
 * 0x03 raw bytes sent to a real hub server on 127.0.0.1 (its HTTP routing, handshake, /api
 * and component endpoints, through libwebsockets).
 *
 * The store persists across inputs (a fresh one per input would cost more than the request),
 * but is replaced every RESET_EVERY inputs so that state built by earlier inputs stays small.
 * A crash that only happens on a grown store is then reproduced by running the inputs of the
 * crash's run (libFuzzer's -runs with the whole corpus), not a single file. */
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ftrack/event.h>
#include <ftrack/log.h>
#include "api.h"
#include "hub_server.h"

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
const char fhub_shipped_schemas[] = "[]";

static fhub_api *api;
static unsigned inputs;
static char data_dir[] = "/tmp/ftrack-fuzz-api-XXXXXX";
static fhub_server *server;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_data_dir(void)
{
    nftw(data_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static fhub_api *open_api(void)
{
    fhub_api *a = NULL;
    ftrack_error err;
    /* Nearly every input is a failed request, each logged as a warning: keep the run's log
     * to errors. */
    ftrack_log_set_level(FTRACK_LOG_ERROR);
    if (fhub_api_new(FTRACK_FUZZ_SCHEMAS, &a, &err) != FTRACK_OK) {
        fprintf(stderr, "fuzz_api: %s\n", err.message);
        abort();
    }
    if (data_dir[strlen(data_dir) - 1] == 'X') {
        if (!mkdtemp(data_dir))
            abort();
        atexit(remove_data_dir);
    }
    fhub_api_options o = {
        .data_dir = data_dir, /* component files and encode workers; the store in memory */
        .memory_store = true,
        .ffmpeg = "/nonexistent/ffmpeg",
        .encode_workers = 1,
        .max_upload = 1 << 20,
        .seed_file = FTRACK_FUZZ_SEED,
        .server_url = "http://127.0.0.1:1",
        .api_user = "fuzz",
        .api_key = "fuzz-key",
    };
    if (fhub_api_attach(a, &o, &err) != FTRACK_OK) {
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

/* The next "\n"-separated field of the material (a NUL-terminated copy, owned). */
static char *field(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    char *out = strndup(*p, (size_t)(stop - *p));
    *p = nl ? nl + 1 : end;
    return out;
}

static void check_http_answer(const fhub_http_answer *a)
{
    if (a->file ? a->status != 200 : (a->status < 200 || a->status > 599 || !a->body))
        abort();
    json_object *r = a->body ? json_tokener_parse(a->body) : NULL;
    if (a->body && !r)
        abort();
    json_object_put(r);
}

/* get_upload_metadata for a component, then an upload with fields from the material. */
static void fuzz_upload(const char *p, const char *end)
{
    char *id = field(&p, end), *size = field(&p, end), *tamper = field(&p, end);
    char *op = NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "action", json_object_new_string("get_upload_metadata"));
    json_object_object_add(o, "component_id", json_object_new_string(id));
    json_object_object_add(o, "file_size", json_object_new_int64(strtoll(size, NULL, 10)));
    json_object *ops = json_object_new_array();
    json_object_array_add(ops, o);
    op = strdup(json_object_to_json_string(ops));
    json_object_put(ops);
    int status = 0;
    size_t len = 0;
    char *out = fhub_api_handle(api, op, strlen(op), true, false, FTRACK_EVENT_MAX_DEPTH, &status,
                               &len);
    json_object *meta = out ? json_tokener_parse(out) : NULL;
    json_object *first =
        json_object_is_type(meta, json_type_array) ? json_object_array_get_idx(meta, 0) : NULL;
    const char *url = json_object_get_string(json_object_object_get(first, "url"));
    char q[6][160] = {{0}};
    const char *names[] = {"id=", "size=", "expires=", "nonce=", "signature="};
    for (int i = 0; url && i < 5; i++) {
        const char *at = strstr(url, names[i]);
        if (at)
            sscanf(at + strlen(names[i]), "%159[^&]", q[i]);
    }
    /* The material may replace one field (tampering must be refused, never crash). */
    if (*tamper)
        snprintf(q[(unsigned char)tamper[0] % 5], sizeof(q[0]), "%s", tamper + 1);
    long long body_len = (long long)(end - p);
    fhub_upload_request req = {q[0], q[1], q[2], q[3], q[4], NULL,
                              *tamper && tamper[0] & 0x20 ? -1 : body_len};
    fhub_http_answer a = {0};
    fhub_upload *up = fhub_api_upload_begin(api, &req, &a);
    if (up) {
        for (const char *c = p; c < end; c += 7)
            fhub_upload_write(up, c, (size_t)(end - c) < 7 ? (size_t)(end - c) : 7);
        fhub_upload_finish(up, &a);
    }
    check_http_answer(&a);
    fhub_http_answer_clear(&a);
    json_object_put(meta);
    free(out);
    free(op);
    free(id);
    free(size);
    free(tamper);
}

static void fuzz_download(const char *p, const char *end)
{
    char *id = field(&p, end), *user = field(&p, end), *key = field(&p, end);
    fhub_http_answer a = {0};
    fhub_api_download(api, id, *user ? user : "fuzz", *key ? key : "fuzz-key", &a);
    check_http_answer(&a);
    fhub_http_answer_clear(&a);
    free(id);
    free(user);
    free(key);
}

/* Raw bytes to a real server; its answer is read until it closes (or 1 s passes). */
static void fuzz_http(const char *p, const char *end)
{
    if (!server) {
        fhub_server_config cfg;
        fhub_server_config_init(&cfg);
        cfg.api_user = "fuzz";
        cfg.api_key = "fuzz-key";
        cfg.schema_file = FTRACK_FUZZ_SCHEMAS;
        cfg.memory_store = true;
        cfg.ffmpeg = "/nonexistent/ffmpeg";
        cfg.client_timeout = 1;
        cfg.max_upload = 1 << 20;
        ftrack_error err;
        if (fhub_server_start(&cfg, &server, &err) != FTRACK_OK) {
            fprintf(stderr, "fuzz_api: %s\n", err.message);
            abort();
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fhub_server_port(server))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Earlier inputs' connections may still fill the server's connection cap (it closes them
     * after their client timeout): a refused connect is tried again for up to 5 s; a server
     * that accepts nothing for that long has stopped accepting. */
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 50; tries++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            close(fd);
            fd = -1;
            poll(NULL, 0, 100);
        }
    }
    if (fd < 0)
        abort(); /* the server stopped accepting */
    if (end > p)
        send(fd, p, (size_t)(end - p), MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    char buf[4096];
    struct pollfd pfd = {fd, POLLIN, 0};
    while (poll(&pfd, 1, 1000) > 0 && recv(fd, buf, sizeof(buf), 0) > 0)
        ;
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!api || ++inputs % RESET_EVERY == 0) {
        fhub_api_free(api);
        api = open_api();
    }
    const char *material = (const char *)data + 1, *end = (const char *)data + size;
    if (size && data[0] >= 1 && data[0] <= 3) {
        if (data[0] == 1)
            fuzz_upload(material, end);
        else if (data[0] == 2)
            fuzz_download(material, end);
        else
            fuzz_http(material, end);
        return 0;
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
        fhub_api_handle(api, body, size, true, strict, FTRACK_EVENT_MAX_DEPTH, &status, &out_len);
    check_answer(body, size, out, out_len, status, strict);
    free(out);
    free(body);
    return 0;
}
