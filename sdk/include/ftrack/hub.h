/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_HUB_H
#define FTRACK_HUB_H
/*
 * The event hub client: socket.io 0.9 over a websocket to ftrack's event server
 * (protocol §5-§7).
 *
 * Threads. The network runs on one thread of the hub's own (libwebsockets' service loop).
 * Callbacks never run there. Each subscriber belongs to a *delivery queue*: by default the
 * hub's own queue, drained by ftrack_hub_wait() on the caller's thread (the Python client's
 * model). Inside ftrack-host a plugin's subscriptions go to its instance's own queue, drained
 * by the instance's worker thread (ftrack/host.h is that side, for programs that run plugins;
 * a plugin never needs it). Events cross threads as text; every consumer parses its own copy,
 * so no json object is ever shared between threads.
 *
 * All functions are safe to call from any thread unless noted.
 */
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/event.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ftrack_hub ftrack_hub;
/* A delivery queue: where a subscriber's events wait for their thread. Plugins only pass one
 * through (NULL in the options below means the right one); hosts make them (ftrack/host.h). */
typedef struct ftrack_hub_queue ftrack_hub_queue;

/* Facts about one delivery, kept out of the event so events keep exactly their wire keys.
 * Borrowed for the duration of the callback. New fields are only ever appended; check
 * `size` before reading one added after your build. */
typedef struct ftrack_delivery_outcome ftrack_delivery_outcome;
typedef struct ftrack_delivery {
    size_t size;          /* sizeof(ftrack_delivery) as the SDK built it */
    bool redelivery;      /* the event was delivered before (after a crash or replay) */
    unsigned attempt;     /* 1 for the first try */
    const char *subscriber_id;
    /* Where ftrack_delivery_fail() records a failure; set by the host, NULL when nobody
     * listens. Plugins do not touch it (took reserved[0]: same size and layout). */
    ftrack_delivery_outcome *outcome;
    void *reserved[5];
} ftrack_delivery;

/* ---- Reporting a failed delivery ----------------------------------------------------------
 * A callback that could not handle its event calls ftrack_delivery_fail() before returning
 * (its return value is then still published as the reply when not NULL). The host logs the
 * failure with the plugin, event id and topic, and retries the event, then dead-letters it,
 * by its failure policy (docs/reliability.md). Outside a host (delivery->outcome NULL) the
 * failure is only logged. Call it on the callback's thread, during the call. */
FTRACK_API void ftrack_delivery_fail(const ftrack_delivery *delivery, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A subscriber callback. `event` is borrowed for the call (a private copy for this queue);
 * call ftrack_event_stop() on it to stop lower-priority subscribers of the same queue.
 * Return reply data (the hub takes it) to publish a reply (protocol §6.7), or NULL for none. */
typedef json_object *(*ftrack_hub_callback)(ftrack_event *event, const ftrack_delivery *delivery,
                                            void *user_data);

/* Called with each reply to a published event (borrowed), on the publisher's queue; then once
 * more with reply == NULL when the reply window closes (timeout), so user_data can be freed. */
typedef void (*ftrack_reply_callback)(ftrack_event *reply, void *user_data);

typedef struct ftrack_hub_options {
    size_t size;                 /* sizeof(ftrack_hub_options) */
    const char *server_url;      /* required: http(s)://host[:port]; a path is ignored */
    const char *api_user;        /* required */
    const char *api_key;         /* required */
    const char *ca_bundle;       /* NULL: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE,
                                    else the system CAs */
    bool insecure_skip_verify;   /* default false: TLS is verified; true (tests only) logs a
                                    warning naming the server */
    const char *const *headers;  /* extra "Name: value" headers, NULL-terminated, or NULL */
    size_t publish_queue_max;    /* events queued while (re)connecting; 0 → 10000 */
    size_t wait_queue_max;       /* events buffered for ftrack_hub_wait(); 0 → 10000 */
    double reply_timeout;        /* seconds a reply callback stays registered; 0 → 60 */
    double heartbeat_timeout;    /* seconds without any frame before reconnecting; 0 → 60 */
    double reconnect_min_delay;  /* first backoff, seconds; 0 → 0.5 */
    double reconnect_max_delay;  /* backoff ceiling, seconds; 0 → 30 */
    int reconnect_max_attempts;  /* 0 → never give up */
    double connect_timeout;      /* per handshake, seconds; 0 → 30 */
} ftrack_hub_options;

FTRACK_API void ftrack_hub_options_init(ftrack_hub_options *options);

/* A hub for the given server; nothing is connected yet. Strings are copied. */
FTRACK_API ftrack_status ftrack_hub_new(const ftrack_hub_options *options, ftrack_hub **out,
                                        ftrack_error *err);
/* Disconnects (without unsubscribing) and frees. Pending reply callbacks get their final
 * NULL call. NULL is accepted. Must not be called from a callback. */
FTRACK_API void ftrack_hub_free(ftrack_hub *hub);

/* The hub id (32 hex chars; stable across reconnects). Borrowed. */
FTRACK_API const char *ftrack_hub_id(const ftrack_hub *hub);

/* Start connecting in the background; from now on publishes queue while not connected and
 * the hub reconnects forever (by default) after a drop. Returns at once. */
FTRACK_API ftrack_status ftrack_hub_connect(ftrack_hub *hub, ftrack_error *err);
/* Block until connected or `timeout` seconds pass (FTRACK_ERR_TIMEOUT; err says the last
 * connection error, e.g. refused credentials). Returns FTRACK_ERR_AUTH at once when the last
 * attempt was refused for its credentials (the hub keeps retrying with backoff), and
 * FTRACK_ERR_NOT_CONNECTED when ftrack_hub_connect() was not called or the hub gave up. */
FTRACK_API ftrack_status ftrack_hub_wait_connected(ftrack_hub *hub, double timeout,
                                                   ftrack_error *err);
FTRACK_API bool ftrack_hub_connected(const ftrack_hub *hub);
/* Close the connection. With `unsubscribe`, local subscribers are removed and the server is
 * told. Later asynchronous publishes fail with FTRACK_ERR_NOT_CONNECTED until the next
 * ftrack_hub_connect(). */
FTRACK_API ftrack_status ftrack_hub_disconnect(ftrack_hub *hub, bool unsubscribe, ftrack_error *err);

typedef struct ftrack_subscribe_options {
    size_t size;               /* sizeof(ftrack_subscribe_options) */
    json_object *subscriber;   /* metadata (borrowed, copied); `id` generated when absent */
    int priority;              /* lower runs first; default 100 */
    bool ignore_own_user;      /* skip events whose source.user.username is our API user */
    ftrack_hub_queue *queue;   /* NULL: the calling thread's bound queue, else the hub's */
} ftrack_subscribe_options;

FTRACK_API void ftrack_subscribe_options_init(ftrack_subscribe_options *options);

/* Subscribe. The expression is compiled now (FTRACK_ERR_PARSE on bad syntax); a subscriber
 * id already in use is FTRACK_ERR_EXISTS. The subscription is announced to the server now if
 * connected and on every (re)connect. Writes the subscriber id to out_id when not NULL. */
FTRACK_API ftrack_status ftrack_hub_subscribe(ftrack_hub *hub, const char *expression,
                                              ftrack_hub_callback callback, void *user_data,
                                              const ftrack_subscribe_options *options,
                                              char out_id[FTRACK_ID_MAX], ftrack_error *err);
/* FTRACK_ERR_NOT_FOUND for an unknown id. After it returns the callback is not called again
 * (except a call already running on another thread). */
FTRACK_API ftrack_status ftrack_hub_unsubscribe(ftrack_hub *hub, const char *subscriber_id,
                                                ftrack_error *err);

/* Called once with the server's acknowledgement of a publish: success and the server's message
 * (NULL when none). When no ack arrives within the reply timeout, or the connection drops
 * first, it is called with success false and a message saying so. Runs where on_reply runs
 * (the publisher's queue, e.g. inside ftrack_hub_wait()), never on the network thread. */
typedef void (*ftrack_publish_ack_callback)(bool success, const char *message, void *user_data);

typedef struct ftrack_publish_options {
    size_t size;                    /* sizeof(ftrack_publish_options) */
    ftrack_reply_callback on_reply; /* NULL: no reply expected */
    void *user_data;                /* passed to on_reply and on_ack */
    double reply_timeout;           /* 0: the hub's default */
    ftrack_hub_queue *queue;        /* where on_reply runs; NULL: the thread's bound queue or the hub's */
    ftrack_publish_ack_callback on_ack; /* NULL: not interested */
} ftrack_publish_options;

FTRACK_API void ftrack_publish_options_init(ftrack_publish_options *options);

/* Publish asynchronously through the server. The event is borrowed: its source is
 * prepared in place (protocol §6.2), then it is serialised. While (re)connecting the event
 * is queued (FTRACK_ERR_QUEUE_FULL when the queue is full); before ftrack_hub_connect() or
 * after a disconnect it is FTRACK_ERR_NOT_CONNECTED. options may be NULL. */
FTRACK_API ftrack_status ftrack_hub_publish(ftrack_hub *hub, ftrack_event *event,
                                            const ftrack_publish_options *options, ftrack_error *err);

/* Publish synchronously to local subscribers only, on the calling thread, in priority order
 * (all queues). *results receives a new JSON array of every callback's result, null
 * included. Nothing is sent to the server. results may be NULL. */
FTRACK_API ftrack_status ftrack_hub_publish_local(ftrack_hub *hub, ftrack_event *event,
                                                  json_object **results, ftrack_error *err);

/* Publish a reply to `source_event` with `data` (taken) and `source` (borrowed, may be NULL). */
FTRACK_API ftrack_status ftrack_hub_reply(ftrack_hub *hub, const ftrack_event *source_event,
                                          json_object *data, json_object *source, ftrack_error *err);

/* Run callbacks of the hub's own queue on the calling thread for up to `seconds` (< 0: until
 * ftrack.meta.disconnected is handled). Returns early after handling ftrack.meta.disconnected. */
FTRACK_API ftrack_status ftrack_hub_wait(ftrack_hub *hub, double seconds, ftrack_error *err);

#ifdef __cplusplus
}
#endif
#endif
