/* SPDX-License-Identifier: Apache-2.0 */
#ifndef WEBHOOK_LOGIC_H
#define WEBHOOK_LOGIC_H
/*
 * The webhook forwarder's logic, kept apart from the plugin glue (plugin.c) so unit tests can
 * drive it without a host: configuration, signing, the retry policy and one delivery.
 *
 * Everything here runs on the plugin instance's worker thread; nothing is shared between
 * instances, so there are no locks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <ftrack/common.h>

/* "sha256=" + 64 hex digits + NUL. */
#define WEBHOOK_SIGNATURE_MAX 72
/* "t=" + up to 20 digits + ",v1=" + 64 hex digits + NUL. */
#define WEBHOOK_SIGNATURE_HEADER_MAX 96

/* Upper bounds that keep one event's delivery (and so a shutdown drain) bounded. */
#define WEBHOOK_MAX_RETRIES_LIMIT 20
#define WEBHOOK_DELAY_LIMIT 300.0
#define WEBHOOK_TIMEOUT_LIMIT 300.0

typedef struct webhook_config {
    char *url;          /* owned */
    char *expression;   /* owned */
    char *secret;       /* owned; NULL: bodies are sent unsigned */
    double timeout;     /* seconds per attempt */
    int max_retries;    /* attempts after the first */
    double retry_delay; /* first backoff, seconds */
    double retry_max_delay;
    double budget;       /* seconds one delivery may take, attempts and waits together */
    bool allow_unsigned; /* "unsigned": true: no secret is fine */
} webhook_config;

/* Read the plugin's arguments (borrowed). Missing optional values get the documented
 * defaults; a missing URL, a URL that is not http(s), or an out-of-range number is
 * FTRACK_ERR_CONFIG naming the parameter. Never puts the secret or the URL's path in *err. */
ftrack_status webhook_config_from_args(json_object *args, webhook_config *cfg, ftrack_error *err);
void webhook_config_clear(webhook_config *cfg);

/* "scheme://host[:port]" of a URL, for log lines: webhook URLs often carry a token in their
 * path or query (Slack, Teams), so only the origin is ever logged. Caller frees. */
char *webhook_url_origin(const char *url);

/* HMAC-SHA256 of `body` keyed with `secret`, written as "sha256=<hex>". False on failure. */
bool webhook_sign(const char *secret, const void *body, size_t len,
                  char out[WEBHOOK_SIGNATURE_MAX]);

/* The X-Ftrack-Signature value for a body sent at `timestamp` (Unix seconds):
 * "t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>." followed by the body>". A receiver
 * recomputes it and refuses old timestamps, so a captured request cannot be replayed later.
 * False on failure. */
bool webhook_signature_header(const char *secret, long long timestamp, const void *body,
                              size_t len, char out[WEBHOOK_SIGNATURE_HEADER_MAX]);

/* What to do after one attempt. */
typedef enum webhook_verdict {
    WEBHOOK_DELIVERED, /* 2xx */
    WEBHOOK_RETRY,     /* transient: connection errors, timeouts, 408, 429, 5xx */
    WEBHOOK_GIVE_UP    /* permanent: other 3xx/4xx, malformed URL, TLS verification, ... */
} webhook_verdict;

webhook_verdict webhook_classify(CURLcode code, long http_status);

/* Seconds to wait before retry number `retry` (1 for the first retry): retry_delay doubled
 * each time, capped at retry_max_delay. A server's Retry-After (seconds, 0 when absent) is
 * honoured when longer, within the same cap. */
double webhook_backoff(const webhook_config *cfg, int retry, double retry_after);

/* True when `value` can go into an HTTP header as is (printable ASCII, no CR/LF). Event ids
 * and topics come from the wire, so they are checked before becoming headers. */
bool webhook_header_value_ok(const char *value);

/* One forwarder: a curl handle kept across events so the connection is reused. */
typedef struct webhook_sender webhook_sender;

/* Called for each failed attempt and for the final outcome; `message` never holds the
 * secret or the URL's path. */
typedef void (*webhook_log_fn)(void *user_data, bool final, const char *event_id, const char *topic,
                               const char *message);
/* Sleeps between attempts; tests replace it to record the delays. */
typedef void (*webhook_sleep_fn)(void *user_data, double seconds);

/* `cfg` is borrowed and must outlive the sender. */
webhook_sender *webhook_sender_new(const webhook_config *cfg);
void webhook_sender_free(webhook_sender *sender);
void webhook_sender_set_sleep(webhook_sender *sender, webhook_sleep_fn fn, void *user_data);

/* POST `body` (the event's wire JSON) with its headers, retrying transient failures up to
 * cfg->max_retries times, all within cfg->budget seconds (attempts are cut short and retries
 * dropped to stay inside it). The body is signed once, so retries carry the same signature.
 * Returns the final verdict (WEBHOOK_DELIVERED or not); the final log message then says why. */
webhook_verdict webhook_deliver(webhook_sender *sender, const char *body, size_t len,
                                const char *event_id, const char *topic, webhook_log_fn log,
                                void *log_user_data);

#endif
