/* SPDX-License-Identifier: Apache-2.0 */
/* The authenticated /api client: see http.h. */
#include "session/http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <ftrack/session.h>
#include <ftrack/version.h>

#include "common/internal.h"
#include "common/netenv.h"

#define POOL_MAX 16
#define RAW_QUOTE_MAX 200
#define RESPONSE_MAX ((size_t)1 << 30)
#define PARSE_DEPTH 512

struct fti_http {
    char *api_url;
    char *display_url; /* api_url without userinfo, for messages */
    char *api_key;     /* kept only to scrub messages */
    char *ca_bundle;
    bool insecure;
    long timeout_ms;
    int max_retries;
    double retry_base_delay;
    double retry_max_delay;
    struct curl_slist *headers; /* immutable after new(): read by every call */

    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    pthread_mutex_t pool_lock;
    CURL *pool[POOL_MAX];
    size_t pool_count;
};

typedef struct response {
    char *data;
    size_t len, cap;
    bool too_big;
} response;

typedef struct attempt {
    CURLcode code;
    long http_status;
    long retry_after; /* seconds, 0 when absent */
    char errbuf[CURL_ERROR_SIZE];
    response body;
} attempt;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- Authentication headers ----------------------------------------------------------- */

json_object *ftrack_auth_headers(const char *api_user, const char *api_key)
{
    json_object *headers = json_object_new_object();
    if (!headers)
        return NULL;
    if (json_object_object_add(headers, "ftrack-api-key",
                               json_object_new_string(api_key ? api_key : "")) != 0 ||
        json_object_object_add(headers, "ftrack-user",
                               json_object_new_string(api_user ? api_user : "")) != 0) {
        json_object_put(headers);
        return NULL;
    }
    return headers;
}

struct curl_slist *fti_auth_append_headers(struct curl_slist *list, const char *api_user,
                                              const char *api_key)
{
    char *key_line = fti_asprintf("ftrack-api-key: %s", api_key ? api_key : "");
    char *user_line = fti_asprintf("ftrack-user: %s", api_user ? api_user : "");
    struct curl_slist *extra = NULL;
    if (key_line && user_line) {
        extra = curl_slist_append(NULL, key_line);
        struct curl_slist *both = extra ? curl_slist_append(extra, user_line) : NULL;
        if (!both) {
            curl_slist_free_all(extra);
            extra = NULL;
        }
    }
    /* The key line is a secret: wipe our copy before freeing it. */
    if (key_line)
        explicit_bzero(key_line, strlen(key_line));
    free(key_line);
    free(user_line);
    if (!extra)
        return NULL;
    if (!list)
        return extra;
    struct curl_slist *tail = list;
    while (tail->next)
        tail = tail->next;
    tail->next = extra;
    return list;
}

/* ---- Small helpers --------------------------------------------------------------------- */

char *fti_url_redact(const char *url)
{
    if (!url)
        return NULL;
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    size_t authority_len = strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < host + authority_len; p++) {
        if (*p == '@')
            at = p;
    }
    if (!at)
        return fti_strdup(url);
    return fti_asprintf("%.*s%s", (int)(host - url), url, at + 1);
}

static void scrub_text(char *text, size_t size, const char *secret)
{
    size_t secret_len = strlen(secret);
    char *from = text;
    char *hit;
    while ((hit = strstr(from, secret)) != NULL) {
        char tail[FTRACK_ERROR_CONTENT_MAX];
        fti_strlcpy(tail, hit + secret_len, sizeof(tail));
        size_t room = size - (size_t)(hit - text);
        snprintf(hit, room, "***%s", tail);
        /* Continue after the mask, so a secret made of '*' cannot loop forever. */
        from = hit + (room > 3 ? 3 : room - 1);
    }
}

void fti_error_scrub(ftrack_error *err, const char *secret)
{
    if (!err || !secret || !*secret)
        return;
    scrub_text(err->message, sizeof(err->message), secret);
    scrub_text(err->server_exception, sizeof(err->server_exception), secret);
    scrub_text(err->server_content, sizeof(err->server_content), secret);
}

static bool is_tchar(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

bool fti_http_header_valid(const char *line)
{
    if (!line || !is_tchar((unsigned char)*line))
        return false;
    const char *p = line;
    while (is_tchar((unsigned char)*p))
        p++;
    if (*p != ':')
        return false;
    return strpbrk(p, "\r\n") == NULL;
}

/* A short, single-line quote of a raw body for messages. */
static void quote_raw(char *out, size_t size, const char *body, size_t len)
{
    size_t n = len < RAW_QUOTE_MAX ? len : RAW_QUOTE_MAX;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)body[i];
        out[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[n] = '\0';
    if (len > n && size > n + 4)
        memcpy(out + n, "...", 4);
}

/* ---- Interpreting an answer ------------------------------------------------------------ */

static json_object *parse_body(const char *body, size_t len, bool *ok)
{
    *ok = false;
    if (len == 0 || len > INT32_MAX)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(PARSE_DEPTH);
    if (!tok)
        return NULL;
    json_object *value = json_tokener_parse_ex(tok, body, (int)len);
    bool complete = json_tokener_get_error(tok) == json_tokener_success;
    if (complete) {
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
            if (!isspace((unsigned char)body[i]))
                complete = false;
        }
    }
    json_tokener_free(tok);
    if (!complete) {
        json_object_put(value);
        return NULL;
    }
    *ok = true;
    return value;
}

static const char *text_of(json_object *value)
{
    if (!value)
        return "";
    if (json_object_is_type(value, json_type_string))
        return json_object_get_string(value);
    return json_object_to_json_string_ext(value,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static bool is_auth_exception(const char *exception)
{
    return strcmp(exception, "InvalidCredentialsError") == 0 ||
           strcmp(exception, "FTAuthenticationError") == 0;
}

static ftrack_status server_exception(json_object *object, int http_status, ftrack_error *err)
{
    json_object *exc = NULL, *content = NULL;
    json_object_object_get_ex(object, "exception", &exc);
    json_object_object_get_ex(object, "content", &content);
    const char *exception = text_of(exc);
    const char *text = text_of(content);
    ftrack_status code = FTRACK_ERR_SERVER;
    if (is_auth_exception(exception) || http_status == 401)
        code = FTRACK_ERR_AUTH;
    else if (strstr(text, "Invalid action u'"))
        code = FTRACK_ERR_COMPATIBILITY;
    fti_error(err, code, "Server reported error: %s(%s)", exception, text);
    if (err) {
        err->http_status = http_status;
        fti_strlcpy(err->server_exception, exception, sizeof(err->server_exception));
        fti_strlcpy(err->server_content, text, sizeof(err->server_content));
    }
    return code;
}

static ftrack_status fail_status(ftrack_error *err, ftrack_status code, int http_status)
{
    if (err)
        err->http_status = http_status;
    return code;
}

ftrack_status fti_http_interpret(int http_status, const char *body, size_t len, size_t expected,
                                 json_object **results, ftrack_error *err)
{
    *results = NULL;
    bool parsed;
    json_object *value = parse_body(body, len, &parsed);
    if (json_object_is_type(value, json_type_object) &&
        json_object_object_get_ex(value, "exception", NULL)) {
        ftrack_status code = server_exception(value, http_status, err);
        json_object_put(value);
        return code;
    }
    char raw[RAW_QUOTE_MAX + 8];
    quote_raw(raw, sizeof(raw), body ? body : "", len);
    ftrack_status code = FTRACK_OK;
    if (http_status == 401) {
        code = fti_error(err, FTRACK_ERR_AUTH,
                         "The server refused the credentials (HTTP 401). Check the API key and "
                         "user.");
    } else if (!parsed && http_status >= 400) {
        code = fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "Server reported error (HTTP %d) in unexpected format. Raw error was: %s",
                         http_status, raw);
    } else if (!parsed) {
        code = fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "Server reported error in unexpected format. Raw error was: %s", raw);
    } else if (http_status >= 400) {
        code = fti_error(err, FTRACK_ERR_SERVER, "Server reported error: HTTP %d: %s", http_status,
                         raw);
    } else if (!json_object_is_type(value, json_type_array)) {
        code = fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "Server answered something other than a results array: %s", raw);
    } else if (json_object_array_length(value) != expected) {
        code = fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "Server answered %zu results for %zu operations.",
                         json_object_array_length(value), expected);
    }
    if (code != FTRACK_OK) {
        json_object_put(value);
        return fail_status(err, code, http_status);
    }
    *results = value;
    return FTRACK_OK;
}

/* ---- The client ------------------------------------------------------------------------ */

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *user)
{
    (void)handle;
    (void)access;
    fti_http *http = user;
    pthread_mutex_lock(&http->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *user)
{
    (void)handle;
    fti_http *http = user;
    pthread_mutex_unlock(&http->share_locks[data]);
}

static struct curl_slist *append_line(struct curl_slist *list, const char *line, bool *ok)
{
    if (!*ok)
        return list;
    struct curl_slist *next = curl_slist_append(list, line);
    if (!next) {
        *ok = false;
        return list;
    }
    return next;
}

static ftrack_status build_headers(fti_http *http, const fti_http_config *config, ftrack_error *err)
{
    for (const char *const *h = config->headers; h && *h; h++) {
        if (!fti_http_header_valid(*h))
            return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                             "Invalid extra header (expected \"Name: value\" on one line).");
    }
    struct curl_slist *list = fti_auth_append_headers(NULL, config->api_user, config->api_key);
    bool ok = list != NULL;
    list = append_line(
        list, config->strict_api ? "ftrack-strict-api: true" : "ftrack-strict-api: false", &ok);
    list = append_line(list, "content-type: application/json", &ok);
    list = append_line(list, "accept: application/json", &ok);
    /* Our bodies are small and the server answers at once: skip the 100-continue round trip. */
    list = append_line(list, "Expect:", &ok);
    for (const char *const *h = config->headers; h && *h; h++)
        list = append_line(list, *h, &ok);
    if (!ok) {
        curl_slist_free_all(list);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory building HTTP headers.");
    }
    http->headers = list;
    return FTRACK_OK;
}

static ftrack_status init_share(fti_http *http, ftrack_error *err)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&http->share_locks[i], NULL);
    http->share = curl_share_init();
    if (!http->share)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory creating the HTTP share.");
    curl_share_setopt(http->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(http->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(http->share, CURLSHOPT_USERDATA, http);
    curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return FTRACK_OK;
}

ftrack_status fti_http_new(const fti_http_config *config, fti_http **out, ftrack_error *err)
{
    *out = NULL;
    if (!config || !config->server_url || !config->api_user || !config->api_key)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "The HTTP client needs a server URL, a user and an API key.");
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return fti_error(err, FTRACK_ERR_INTERNAL, "libcurl failed to initialise: %s",
                         curl_easy_strerror(curl_init_result));
    fti_http *http = calloc(1, sizeof(*http));
    if (!http)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    pthread_mutex_init(&http->pool_lock, NULL);
    ftrack_status status = init_share(http, err);
    if (status != FTRACK_OK) {
        fti_http_free(http);
        return status;
    }
    http->api_url = fti_asprintf("%s/api", config->server_url);
    http->display_url = fti_url_redact(http->api_url);
    http->api_key = fti_strdup(config->api_key);
    http->ca_bundle = fti_strdup(fti_ca_file(config->ca_bundle));
    http->insecure = config->insecure_skip_verify;
    double timeout = config->timeout > 0 ? config->timeout : 60.0;
    http->timeout_ms = (long)(timeout * 1000.0 + 0.999);
    http->max_retries = config->max_retries < 0 ? 3 : config->max_retries;
    http->retry_base_delay = config->retry_base_delay > 0 ? config->retry_base_delay : 0.2;
    http->retry_max_delay = config->retry_max_delay > 0 ? config->retry_max_delay : 10.0;
    if (!http->api_url || !http->display_url || !http->api_key ||
        (fti_ca_file(config->ca_bundle) && !http->ca_bundle)) {
        fti_http_free(http);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    }
    if (http->insecure)
        ftrack_log(FTRACK_LOG_WARNING, "session",
                   "certificate verification is OFF for %s (insecure_skip_verify): anyone on "
                   "the path can read and change the traffic",
                   http->display_url);
    status = build_headers(http, config, err);
    if (status != FTRACK_OK) {
        fti_http_free(http);
        return status;
    }
    *out = http;
    return FTRACK_OK;
}

static void free_header_list(struct curl_slist *list)
{
    /* The first line carries the API key: wipe it before handing memory back. */
    for (struct curl_slist *l = list; l; l = l->next) {
        if (l->data)
            explicit_bzero(l->data, strlen(l->data));
    }
    curl_slist_free_all(list);
}

void fti_http_free(fti_http *http)
{
    if (!http)
        return;
    for (size_t i = 0; i < http->pool_count; i++)
        curl_easy_cleanup(http->pool[i]);
    if (http->share)
        curl_share_cleanup(http->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&http->share_locks[i]);
    pthread_mutex_destroy(&http->pool_lock);
    free_header_list(http->headers);
    if (http->api_key)
        explicit_bzero(http->api_key, strlen(http->api_key));
    free(http->api_key);
    free(http->api_url);
    free(http->display_url);
    free(http->ca_bundle);
    free(http);
}

static CURL *pool_take(fti_http *http)
{
    CURL *curl = NULL;
    pthread_mutex_lock(&http->pool_lock);
    if (http->pool_count > 0)
        curl = http->pool[--http->pool_count];
    pthread_mutex_unlock(&http->pool_lock);
    if (curl) {
        /* Options go back to defaults; the handle keeps its idle connections. */
        curl_easy_reset(curl);
        return curl;
    }
    return curl_easy_init();
}

static void pool_give(fti_http *http, CURL *curl)
{
    pthread_mutex_lock(&http->pool_lock);
    if (http->pool_count < POOL_MAX) {
        http->pool[http->pool_count++] = curl;
        curl = NULL;
    }
    pthread_mutex_unlock(&http->pool_lock);
    if (curl)
        curl_easy_cleanup(curl);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    response *r = user;
    size_t n = size * nmemb;
    if (r->len + n + 1 > RESPONSE_MAX) {
        r->too_big = true;
        return 0;
    }
    if (!fti_array_reserve(&r->data, &r->cap, r->len + n + 1, 1))
        return 0;
    memcpy(r->data + r->len, data, n);
    r->len += n;
    r->data[r->len] = '\0';
    return n;
}

static void set_options(fti_http *http, CURL *curl, const char *body, size_t len, attempt *a)
{
    curl_easy_setopt(curl, CURLOPT_URL, http->api_url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, http->headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "ftrack-c/" FTRACK_VERSION_STRING);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, a->errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, http->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, http->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_SHARE, http->share);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, http->insecure ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, http->insecure ? 0L : 2L);
    if (http->ca_bundle)
        curl_easy_setopt(curl, CURLOPT_CAINFO, http->ca_bundle);
    fti_curl_use_proxy(curl, http->api_url);
}

void fti_http_setup_transfer(const fti_http *http, CURL *curl, const char *url)
{
    fti_curl_use_proxy(curl, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, http->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, http->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, http->insecure ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, http->insecure ? 0L : 2L);
    if (http->ca_bundle)
        curl_easy_setopt(curl, CURLOPT_CAINFO, http->ca_bundle);
}

static ftrack_status perform(fti_http *http, const char *body, size_t len, attempt *a,
                             ftrack_error *err)
{
    CURL *curl = pool_take(http);
    if (!curl)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory creating an HTTP handle.");
    set_options(http, curl, body, len, a);
    a->code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->http_status);
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
        a->retry_after = (long)retry_after;
    /* The handle keeps a pointer to the error buffer on our stack: drop it before pooling. */
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    pool_give(http, curl);
    return FTRACK_OK;
}

static bool retryable_transport(CURLcode code)
{
    return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
           code == CURLE_COULDNT_RESOLVE_PROXY;
}

static bool retryable_status(long status)
{
    return status == 429 || status == 503;
}

static ftrack_status transport_error(fti_http *http, const attempt *a, ftrack_error *err)
{
    const char *why = a->errbuf[0] ? a->errbuf : curl_easy_strerror(a->code);
    switch (a->code) {
    case CURLE_OPERATION_TIMEDOUT:
        return fti_error(err, FTRACK_ERR_TIMEOUT, "Request to %s timed out after %.1f s.",
                         http->display_url, (double)http->timeout_ms / 1000.0);
    case CURLE_OUT_OF_MEMORY:
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory during request to %s.",
                         http->display_url);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return fti_error(err, FTRACK_ERR_CONFIG, "Invalid server URL %s: %s", http->display_url,
                         why);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        return fti_error(err, FTRACK_ERR_NETWORK,
                         "TLS with %s failed: %s (the certificate must be valid, for this name, "
                         "and signed by a CA in --ca-file, REQUESTS_CA_BUNDLE or the system's "
                         "store)",
                         http->display_url, why);
    case CURLE_WRITE_ERROR:
        if (a->body.too_big)
            return fti_error(err, FTRACK_ERR_BAD_RESPONSE, "Answer from %s is too large.",
                             http->display_url);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory reading the answer of %s.",
                         http->display_url);
    default:
        return fti_error(err, FTRACK_ERR_NETWORK, "Could not reach %s: %s", http->display_url, why);
    }
}

static void sleep_seconds(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double backoff(const fti_http *http, int retry, long retry_after)
{
    double delay = http->retry_base_delay;
    for (int i = 0; i < retry && delay < http->retry_max_delay; i++)
        delay *= 2;
    if ((double)retry_after > delay)
        delay = (double)retry_after;
    return delay < http->retry_max_delay ? delay : http->retry_max_delay;
}

static void attempt_reset(attempt *a)
{
    free(a->body.data);
    memset(a, 0, sizeof(*a));
}

static ftrack_status call_once_or_retry(fti_http *http, const char *body, size_t len,
                                        size_t expected, json_object **results, ftrack_error *err)
{
    attempt a = {0};
    ftrack_status status = FTRACK_OK;
    for (int retry = 0;; retry++) {
        attempt_reset(&a);
        status = perform(http, body, len, &a, err);
        if (status != FTRACK_OK)
            break;
        bool can_retry = retry < http->max_retries;
        if (a.code != CURLE_OK) {
            if (can_retry && retryable_transport(a.code)) {
                sleep_seconds(backoff(http, retry, 0));
                continue;
            }
            status = transport_error(http, &a, err);
            break;
        }
        if (can_retry && retryable_status(a.http_status)) {
            ftrack_log(FTRACK_LOG_DEBUG, "session", "HTTP %ld from %s, retrying", a.http_status,
                       http->display_url);
            sleep_seconds(backoff(http, retry, a.retry_after));
            continue;
        }
        status =
            fti_http_interpret((int)a.http_status, a.body.data, a.body.len, expected, results, err);
        break;
    }
    attempt_reset(&a);
    return status;
}

ftrack_status fti_http_call(fti_http *http, json_object *operations, json_object **results,
                            ftrack_error *err)
{
    if (results)
        *results = NULL;
    if (!http || !results || !json_object_is_type(operations, json_type_array))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "A call needs a JSON array of operations and a place for the results.");
    size_t len = 0;
    const char *body = json_object_to_json_string_length(
        operations, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (!body)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory encoding the operations.");
    size_t expected = json_object_array_length(operations);
    ftrack_status status = call_once_or_retry(http, body, len, expected, results, err);
    if (status != FTRACK_OK)
        fti_error_scrub(err, http->api_key);
    return status;
}
