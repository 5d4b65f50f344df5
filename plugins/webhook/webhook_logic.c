/* SPDX-License-Identifier: Apache-2.0 */
#include "webhook_logic.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define WEBHOOK_DEFAULT_EXPRESSION "topic=ftrack.update"
#define WEBHOOK_DEFAULT_TIMEOUT 10.0
#define WEBHOOK_DEFAULT_MAX_RETRIES 5
#define WEBHOOK_DEFAULT_RETRY_DELAY 0.5
#define WEBHOOK_DEFAULT_RETRY_MAX_DELAY 30.0
/* Below the host's default deadline (60 s), so retries end before the host gives up on the
 * event and runs it again. */
#define WEBHOOK_DEFAULT_BUDGET 50.0

#define config_error(err, ...) ftrack_error_set(err, FTRACK_ERR_CONFIG, __VA_ARGS__)

/* ---- configuration --------------------------------------------------------------------- */

/* The host converts arguments to their declared types; being lenient about int vs double
 * here keeps the plugin usable from a bare session too. */
static ftrack_status arg_string(json_object *args, const char *name, const char *fallback,
                                char **out, ftrack_error *err)
{
    json_object *v = NULL;
    *out = NULL;
    if (!args || !json_object_object_get_ex(args, name, &v) ||
        json_object_is_type(v, json_type_null)) {
        if (fallback && !(*out = strdup(fallback)))
            return config_error(err, "%s: out of memory", name);
        return FTRACK_OK;
    }
    if (!json_object_is_type(v, json_type_string))
        return config_error(err, "parameter %s must be a string", name);
    if (!(*out = strdup(json_object_get_string(v))))
        return config_error(err, "%s: out of memory", name);
    return FTRACK_OK;
}

static ftrack_status arg_number(json_object *args, const char *name, double fallback, double min,
                                double max, double *out, ftrack_error *err)
{
    json_object *v = NULL;
    *out = fallback;
    if (!args || !json_object_object_get_ex(args, name, &v) ||
        json_object_is_type(v, json_type_null))
        return FTRACK_OK;
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return config_error(err, "parameter %s must be a number", name);
    double d = json_object_get_double(v);
    if (!isfinite(d) || d < min || d > max)
        return config_error(err, "parameter %s must be between %g and %g (got %g)", name, min, max,
                            d);
    *out = d;
    return FTRACK_OK;
}

static ftrack_status check_url(const char *url, ftrack_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    ftrack_status st = FTRACK_OK;
    if (!u)
        return config_error(err, "webhook_url: out of memory");
    /* Say why without quoting the URL: its path may be the receiver's only credential. */
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
        st = config_error(err, "parameter webhook_url is not a valid absolute URL");
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        st = config_error(err, "parameter webhook_url must use http or https, not %s", scheme);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return st;
}

ftrack_status webhook_config_from_args(json_object *args, webhook_config *cfg, ftrack_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    double retries = 0;
    ftrack_status st = arg_string(args, "webhook_url", NULL, &cfg->url, err);
    if (st == FTRACK_OK && (!cfg->url || !*cfg->url))
        st = config_error(err, "parameter webhook_url is required");
    if (st == FTRACK_OK)
        st = check_url(cfg->url, err);
    if (st == FTRACK_OK)
        st = arg_string(args, "webhook_expression", WEBHOOK_DEFAULT_EXPRESSION, &cfg->expression,
                        err);
    if (st == FTRACK_OK)
        st = arg_string(args, "webhook_secret", NULL, &cfg->secret, err);
    if (st == FTRACK_OK)
        st = arg_number(args, "webhook_timeout", WEBHOOK_DEFAULT_TIMEOUT, 0.001,
                        WEBHOOK_TIMEOUT_LIMIT, &cfg->timeout, err);
    if (st == FTRACK_OK)
        st = arg_number(args, "webhook_max_retries", WEBHOOK_DEFAULT_MAX_RETRIES, 0,
                        WEBHOOK_MAX_RETRIES_LIMIT, &retries, err);
    if (st == FTRACK_OK)
        st = arg_number(args, "webhook_retry_delay", WEBHOOK_DEFAULT_RETRY_DELAY, 0,
                        WEBHOOK_DELAY_LIMIT, &cfg->retry_delay, err);
    if (st == FTRACK_OK)
        st = arg_number(args, "webhook_retry_max_delay", WEBHOOK_DEFAULT_RETRY_MAX_DELAY, 0,
                        WEBHOOK_DELAY_LIMIT, &cfg->retry_max_delay, err);
    if (st == FTRACK_OK)
        st = arg_number(args, "webhook_budget", WEBHOOK_DEFAULT_BUDGET, 0.001,
                        WEBHOOK_DELAY_LIMIT, &cfg->budget, err);
    json_object *unsigned_v = NULL;
    if (st == FTRACK_OK && json_object_object_get_ex(args, "unsigned", &unsigned_v) &&
        unsigned_v) {
        if (!json_object_is_type(unsigned_v, json_type_boolean))
            st = config_error(err, "parameter unsigned must be true or false");
        cfg->allow_unsigned = json_object_get_boolean(unsigned_v);
    }
    if (st != FTRACK_OK) {
        webhook_config_clear(cfg);
        return st;
    }
    cfg->max_retries = (int)retries;
    /* An empty secret would sign with a key anyone knows; a missing one (say, a file that was
     * not mounted) should not silently turn signing off: both need "unsigned": true. */
    if (cfg->secret && !*cfg->secret) {
        free(cfg->secret);
        cfg->secret = NULL;
    }
    if (!*cfg->expression) {
        webhook_config_clear(cfg);
        return config_error(err, "parameter webhook_expression must not be empty");
    }
    if (!cfg->secret && !cfg->allow_unsigned) {
        webhook_config_clear(cfg);
        return config_error(err, "parameter webhook_secret is missing or empty; set \"unsigned\": "
                                 "true to send unsigned requests");
    }
    return FTRACK_OK;
}

void webhook_config_clear(webhook_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->url);
    free(cfg->expression);
    if (cfg->secret) {
        /* Do not leave the key in freed heap memory. */
        OPENSSL_cleanse(cfg->secret, strlen(cfg->secret));
        free(cfg->secret);
    }
    memset(cfg, 0, sizeof(*cfg));
}

char *webhook_url_origin(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
    if (!u)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
            port = NULL;
        size_t n = strlen(scheme) + strlen(host) + (port ? strlen(port) : 0) + 8;
        out = malloc(n);
        if (out)
            snprintf(out, n, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out ? out : strdup("(invalid URL)");
}

/* ---- signing and policy ----------------------------------------------------------------- */

bool webhook_sign(const char *secret, const void *body, size_t len, char out[WEBHOOK_SIGNATURE_MAX])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    static const char hex[] = "0123456789abcdef";
    out[0] = '\0';
    if (!secret)
        return false;
    /* HMAC() accepts a NULL data pointer only with len 0; give it a real one. */
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), len ? body : (const void *)"", len, mac,
              &mac_len) ||
        mac_len != 32)
        return false;
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < mac_len; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[7 + 2 * i + 1] = hex[mac[i] & 0xf];
    }
    out[7 + 2 * mac_len] = '\0';
    OPENSSL_cleanse(mac, sizeof(mac));
    return true;
}

bool webhook_signature_header(const char *secret, long long timestamp, const void *body,
                              size_t len, char out[WEBHOOK_SIGNATURE_HEADER_MAX])
{
    out[0] = '\0';
    char prefix[32];
    int plen = snprintf(prefix, sizeof(prefix), "%lld.", timestamp);
    char *signed_bytes = malloc((size_t)plen + len + 1);
    if (!signed_bytes)
        return false;
    memcpy(signed_bytes, prefix, (size_t)plen);
    if (len)
        memcpy(signed_bytes + plen, body, len);
    char sig[WEBHOOK_SIGNATURE_MAX];
    bool ok = webhook_sign(secret, signed_bytes, (size_t)plen + len, sig);
    free(signed_bytes);
    if (ok)
        snprintf(out, WEBHOOK_SIGNATURE_HEADER_MAX, "t=%lld,v1=%s", timestamp,
                 sig + strlen("sha256="));
    OPENSSL_cleanse(sig, sizeof(sig));
    return ok;
}

webhook_verdict webhook_classify(CURLcode code, long http_status)
{
    switch (code) {
    case CURLE_OK:
        break;
    /* The receiver may come back: it was down, slow, restarting or behind a flaky link. */
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return WEBHOOK_RETRY;
    default:
        /* Bad URL, TLS verification failure, out of memory...: retrying cannot help. */
        return WEBHOOK_GIVE_UP;
    }
    if (http_status >= 200 && http_status < 300)
        return WEBHOOK_DELIVERED;
    if (http_status == 408 || http_status == 429 || (http_status >= 500 && http_status < 600))
        return WEBHOOK_RETRY;
    return WEBHOOK_GIVE_UP;
}

double webhook_backoff(const webhook_config *cfg, int retry, double retry_after)
{
    double delay = cfg->retry_delay;
    for (int i = 1; i < retry && delay < cfg->retry_max_delay; i++)
        delay *= 2;
    if (retry_after > delay)
        delay = retry_after;
    if (delay > cfg->retry_max_delay)
        delay = cfg->retry_max_delay;
    return delay < 0 ? 0 : delay;
}

bool webhook_header_value_ok(const char *value)
{
    if (!value || !*value)
        return false;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    return strlen(value) <= 1024;
}

/* ---- delivery ------------------------------------------------------------------------- */

struct webhook_sender {
    const webhook_config *cfg;
    CURL *curl;
    char *origin;
    webhook_sleep_fn sleep;
    void *sleep_user_data;
    char errbuf[CURL_ERROR_SIZE];
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void default_sleep(void *user_data, double seconds)
{
    (void)user_data;
    time_t whole = (time_t)seconds;
    struct timespec ts = {whole, (long)((seconds - (double)whole) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

webhook_sender *webhook_sender_new(const webhook_config *cfg)
{
    webhook_sender *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->curl = curl_easy_init();
    s->origin = webhook_url_origin(cfg->url);
    s->sleep = default_sleep;
    if (!s->curl || !s->origin) {
        webhook_sender_free(s);
        return NULL;
    }
    return s;
}

void webhook_sender_free(webhook_sender *sender)
{
    if (!sender)
        return;
    curl_easy_cleanup(sender->curl);
    free(sender->origin);
    free(sender);
}

void webhook_sender_set_sleep(webhook_sender *sender, webhook_sleep_fn fn, void *user_data)
{
    sender->sleep = fn ? fn : default_sleep;
    sender->sleep_user_data = user_data;
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *user_data)
{
    (void)ptr;
    (void)user_data;
    return size * nmemb;
}

static struct curl_slist *add_header(struct curl_slist *list, bool *ok, const char *name,
                                     const char *value)
{
    char line[1200];
    if (!*ok)
        return list;
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *next = curl_slist_append(list, line);
    if (!next)
        *ok = false;
    return next ? next : list;
}

static struct curl_slist *build_headers(const char *event_id, const char *topic,
                                        const char *signature, int attempt)
{
    struct curl_slist *list = NULL;
    bool ok = true;
    char attempt_text[16];
    snprintf(attempt_text, sizeof(attempt_text), "%d", attempt);
    list = add_header(list, &ok, "Content-Type", "application/json");
    /* curl would otherwise wait for "100 Continue" before sending larger bodies. */
    list = add_header(list, &ok, "Expect", "");
    list = add_header(list, &ok, "X-Ftrack-Delivery-Attempt", attempt_text);
    if (webhook_header_value_ok(event_id))
        list = add_header(list, &ok, "X-Ftrack-Event-Id", event_id);
    if (webhook_header_value_ok(topic))
        list = add_header(list, &ok, "X-Ftrack-Topic", topic);
    if (signature && *signature)
        list = add_header(list, &ok, "X-Ftrack-Signature", signature);
    if (!ok) {
        curl_slist_free_all(list);
        return NULL;
    }
    return list;
}

typedef struct attempt_result {
    CURLcode code;
    long status;
    double retry_after;
} attempt_result;

static attempt_result post_once(webhook_sender *s, const char *body, size_t len,
                                struct curl_slist *headers, double timeout)
{
    attempt_result r = {CURLE_OK, 0, 0};
    CURL *c = s->curl;
    s->errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, s->cfg->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000) > 0 ? (long)(timeout * 1000) : 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ftrack-host-webhook/1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
    r.code = curl_easy_perform(c);
    if (r.code == CURLE_OK) {
        curl_off_t after = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
            r.retry_after = (double)after;
    }
    /* The handle outlives this call; do not leave it pointing at our stack or the body. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    return r;
}

static void describe(const webhook_sender *s, const attempt_result *r, char *out, size_t size)
{
    if (r->code != CURLE_OK)
        snprintf(out, size, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(r->code));
    else
        snprintf(out, size, "HTTP status %ld", r->status);
}

webhook_verdict webhook_deliver(webhook_sender *sender, const char *body, size_t len,
                                const char *event_id, const char *topic, webhook_log_fn log,
                                void *log_user_data)
{
    char signature[WEBHOOK_SIGNATURE_HEADER_MAX] = "";
    char message[CURL_ERROR_SIZE + 256];
    char why[CURL_ERROR_SIZE + 32];
    const int attempts = sender->cfg->max_retries + 1;
    webhook_verdict verdict = WEBHOOK_GIVE_UP;

    double start = now_seconds();
    if (sender->cfg->secret && !webhook_signature_header(sender->cfg->secret,
                                                         (long long)time(NULL), body, len,
                                                         signature)) {
        if (log)
            log(log_user_data, true, event_id, topic, "could not compute the HMAC signature");
        return WEBHOOK_GIVE_UP;
    }
    for (int attempt = 1; attempt <= attempts; attempt++) {
        struct curl_slist *headers = build_headers(event_id, topic, signature, attempt);
        if (!headers) {
            if (log)
                log(log_user_data, true, event_id, topic, "out of memory building headers");
            return WEBHOOK_GIVE_UP;
        }
        double left = sender->cfg->budget - (now_seconds() - start);
        attempt_result r = post_once(sender, body, len, headers,
                                     left < sender->cfg->timeout ? left : sender->cfg->timeout);
        curl_slist_free_all(headers);
        verdict = webhook_classify(r.code, r.status);
        if (verdict == WEBHOOK_DELIVERED)
            return verdict;
        describe(sender, &r, why, sizeof(why));
        if (verdict == WEBHOOK_GIVE_UP || attempt == attempts) {
            snprintf(message, sizeof(message), "not delivered to %s after %d attempt%s: %s%s",
                     sender->origin, attempt, attempt == 1 ? "" : "s", why,
                     verdict == WEBHOOK_GIVE_UP ? " (not retried)" : "");
            if (log)
                log(log_user_data, true, event_id, topic, message);
            return WEBHOOK_GIVE_UP;
        }
        double delay = webhook_backoff(sender->cfg, attempt, r.retry_after);
        if (now_seconds() - start + delay >= sender->cfg->budget) {
            snprintf(message, sizeof(message),
                     "not delivered to %s after %d attempt%s: %s (no time left for another "
                     "within webhook_budget, %.0f s)",
                     sender->origin, attempt, attempt == 1 ? "" : "s", why, sender->cfg->budget);
            if (log)
                log(log_user_data, true, event_id, topic, message);
            return WEBHOOK_GIVE_UP;
        }
        snprintf(message, sizeof(message), "attempt %d of %d to %s failed: %s; retrying in %.2fs",
                 attempt, attempts, sender->origin, why, delay);
        if (log)
            log(log_user_data, false, event_id, topic, message);
        sender->sleep(sender->sleep_user_data, delay);
    }
    return verdict;
}
