/* SPDX-License-Identifier: Apache-2.0 */
/* The webhook forwarder: the plugin glue around webhook_logic.c (see README.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <ftrack/ftrack.h>

#include "webhook_logic.h"

static const ftrack_plugin_param webhook_params[] = {
    {"webhook_url", FTRACK_PARAM_STRING, true, NULL,
     "http(s) URL each matching event is POSTed to"},
    {"webhook_secret", FTRACK_PARAM_STRING, false, NULL,
     "HMAC-SHA256 key: each request is signed in X-Ftrack-Signature (t=<time>,v1=<hmac>)"},
    {"webhook_expression", FTRACK_PARAM_STRING, false, "\"topic=ftrack.update\"",
     "subscription expression selecting the events to forward"},
    {"webhook_timeout", FTRACK_PARAM_DOUBLE, false, "10", "seconds allowed per HTTP attempt"},
    {"webhook_max_retries", FTRACK_PARAM_INT, false, "5",
     "retries after a connection error, timeout, 408, 429 or 5xx (0-20)"},
    {"webhook_retry_delay", FTRACK_PARAM_DOUBLE, false, "0.5",
     "seconds before the first retry; doubled for each next one"},
    {"webhook_retry_max_delay", FTRACK_PARAM_DOUBLE, false, "30",
     "longest wait between retries, seconds (also caps Retry-After)"},
    {"webhook_budget", FTRACK_PARAM_DOUBLE, false, "50",
     "seconds one event's attempts and waits may take in all; keep it below the instance's "
     "deadline"},
    {"unsigned", FTRACK_PARAM_BOOL, false, "false",
     "send requests without a signature (needed when webhook_secret is not set)"},
};

typedef struct webhook_state {
    ftrack_plugin_context *ctx;
    webhook_config cfg;
    webhook_sender *sender;
    unsigned long delivered;
    unsigned long failed;
    char outcome[512]; /* the last final message: why the delivery failed */
} webhook_state;

static void log_attempt(void *user_data, bool final, const char *event_id, const char *topic,
                        const char *message)
{
    webhook_state *st = user_data;
    if (final)
        snprintf(st->outcome, sizeof(st->outcome), "%s", message);
    ftrack_plugin_log(st->ctx, final ? FTRACK_LOG_ERROR : FTRACK_LOG_WARNING,
                      "event %s (topic %s): %s", event_id, topic, message);
}

static json_object *on_event(ftrack_event *event, const ftrack_delivery *delivery, void *user_data)
{
    webhook_state *st = user_data;
    size_t len = 0;
    /* The body is the event exactly as it travels on the wire, so receivers can parse it
     * with any ftrack client's event model. */
    char *body = ftrack_event_serialize(event, &len);
    if (!body) {
        log_attempt(st, true, ftrack_event_id(event), ftrack_event_topic(event),
                    "out of memory serialising the event");
        st->failed++;
        ftrack_delivery_fail(delivery, "%s", st->outcome);
        return NULL;
    }
    st->outcome[0] = '\0';
    if (webhook_deliver(st->sender, body, len, ftrack_event_id(event), ftrack_event_topic(event),
                        log_attempt, st) == WEBHOOK_DELIVERED) {
        st->delivered++;
    } else {
        /* Failed, not dropped: the host's failure policy retries it later and dead-letters
         * it in the end, so a receiver down longer than these retries loses nothing. */
        st->failed++;
        ftrack_delivery_fail(delivery, "%s", st->outcome[0] ? st->outcome : "not delivered");
    }
    ftrack_free(body);
    /* Forwarding is a side effect, not an answer: never reply, or a webhook on
     * ftrack.action.discover would show up as an action. */
    return NULL;
}

static void webhook_state_free(webhook_state *st)
{
    if (!st)
        return;
    webhook_sender_free(st->sender);
    webhook_config_clear(&st->cfg);
    free(st);
    curl_global_cleanup();
}

static ftrack_status webhook_register(ftrack_plugin_context *ctx, ftrack_session *session,
                                      json_object *arguments, void **state, ftrack_error *err)
{
    /* Reference counted and thread-safe in the curl we build against (>= 7.84). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ftrack_error_set(err, FTRACK_ERR_INTERNAL, "curl_global_init failed");
    webhook_state *st = calloc(1, sizeof(*st));
    if (!st) {
        curl_global_cleanup();
        return ftrack_error_set(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    st->ctx = ctx;
    ftrack_status rc = webhook_config_from_args(arguments, &st->cfg, err);
    if (rc != FTRACK_OK) {
        webhook_state_free(st);
        return rc;
    }
    st->sender = webhook_sender_new(&st->cfg);
    if (!st->sender) {
        webhook_state_free(st);
        return ftrack_error_set(err, FTRACK_ERR_NO_MEMORY, "out of memory creating the HTTP client");
    }
    rc = ftrack_hub_subscribe(ftrack_session_hub(session), st->cfg.expression, on_event, st, NULL,
                              NULL, err);
    if (rc != FTRACK_OK) {
        webhook_state_free(st);
        return rc;
    }
    char *origin = webhook_url_origin(st->cfg.url);
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "forwarding events matching '%s' to %s (%s)",
                      st->cfg.expression, origin ? origin : "?",
                      st->cfg.secret ? "signed" : "UNSIGNED, as \"unsigned\": true asks");
    free(origin);
    *state = st;
    return FTRACK_OK;
}

static void webhook_unregister(ftrack_plugin_context *ctx, void *state)
{
    webhook_state *st = state;
    if (!st)
        return;
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "stopping: %lu event(s) delivered, %lu failed",
                      st->delivered, st->failed);
    webhook_state_free(st);
}

FTRACK_PLUGIN("webhook", "1.0.0", "Forwards matching events to an HTTP endpoint, signed",
              webhook_params, webhook_register, webhook_unregister)
