#ifndef FTRACK_HUB_H
#define FTRACK_HUB_H
/*
 * The event hub client: socket.io 0.9 over a websocket to ftrack's event server
 * (protocol §5-§7).
 *
 * Threads. The network runs on one thread of the hub's own (libwebsockets' service loop).
 * Callbacks never run there. Each subscriber belongs to a *delivery queue*:
 *   - by default the hub's own queue, drained by ftrack_hub_wait() on the caller's thread
 *     (the Python client's model);
 *   - or a queue a host created with ftrack_hub_queue_new() (one per plugin), drained by the
 *     host's worker thread with ftrack_hub_queue_take() + ftrack_hub_queue_dispatch().
 * Events cross threads as text; every consumer parses its own copy, so no json object is
 * ever shared between threads.
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
#define FTRACK_HUB_HAS_DELIVERY_FAIL 1

/* For hosts: filled by ftrack_delivery_fail(). The host owns it and points
 * ftrack_delivery.outcome at it for one dispatch; several subscribers of the dispatch may
 * fail it (the first message is kept, `failures` counts them). */
struct ftrack_delivery_outcome {
    size_t size; /* sizeof(ftrack_delivery_outcome), set by the host */
    unsigned failures;
    char message[FTRACK_ERROR_MESSAGE_MAX];
};

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

/* For hosts that receive events by another road (a queue, ftrack-host's scale-out workers):
 * with `local` true, subscriptions are kept and dispatched locally
 * (ftrack_hub_queue_dispatch) but never announced to the server, so the server sends this
 * hub only the replies to its own publishes. Call before ftrack_hub_connect(). */
FTRACK_API void ftrack_hub_set_local_subscriptions(ftrack_hub *hub, bool local);
#define FTRACK_HUB_HAS_LOCAL_SUBSCRIPTIONS 1

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
#define FTRACK_HUB_HAS_PUBLISH_ACK 1

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

/* ---- For hosts: per-plugin delivery queues ------------------------------------------------ */

/* A bounded queue of deliveries. Events matching any of its subscribers are appended once
 * per event (as text) by the network thread. When full, the event is not queued: the
 * overflow callback (if set) is called on the network thread with the event's text, so the
 * host can count, log or spill it. `name` is copied and used in log lines. */
typedef void (*ftrack_hub_overflow_callback)(ftrack_hub_queue *queue, const char *text, size_t len,
                                             void *user_data);
FTRACK_API ftrack_status ftrack_hub_queue_new(ftrack_hub *hub, const char *name, size_t capacity,
                                              ftrack_hub_queue **out, ftrack_error *err);
/* Unsubscribes the queue's subscribers, drops what is queued, wakes any taker. */
FTRACK_API void ftrack_hub_queue_free(ftrack_hub_queue *queue);
FTRACK_API void ftrack_hub_queue_set_overflow(ftrack_hub_queue *queue,
                                              ftrack_hub_overflow_callback callback, void *user_data);
/* Subscriptions and publishes made by this thread go to `queue` (NULL: back to the hub's). */
FTRACK_API void ftrack_hub_bind_thread(ftrack_hub *hub, ftrack_hub_queue *queue);
FTRACK_API size_t ftrack_hub_queue_depth(const ftrack_hub_queue *queue);
/* Wait up to `timeout` seconds for the next delivery. Returns the event text (free with
 * ftrack_free()) or NULL on timeout or after ftrack_hub_queue_close(). */
FTRACK_API char *ftrack_hub_queue_take(ftrack_hub_queue *queue, double timeout, size_t *len);
/* Stop accepting new deliveries and wake takers; what is queued can still be taken. */
FTRACK_API void ftrack_hub_queue_close(ftrack_hub_queue *queue);
/* Dispatch one delivery (text from ftrack_hub_queue_take, parsed on this thread) to the
 * queue's subscribers as protocol §6.6 describes: priority, target, stop, replies; replies
 * to this queue's publishes go to their on_reply callbacks. */
FTRACK_API ftrack_status ftrack_hub_queue_dispatch(ftrack_hub_queue *queue, const char *text,
                                                   size_t len, const ftrack_delivery *delivery,
                                                   ftrack_error *err);
/* What one dispatch did, for hosts that count per plugin. The caller sets `size` to
 * sizeof(ftrack_dispatch_result); fields past it are not written (new fields are only ever
 * appended). Replies are the callbacks' return values the SDK published (handed to the
 * outbox, as ftrack_hub_publish() does); a reply that could not be published (no source.id
 * to address it to, queue full, not connected, out of memory) is a reply failure instead. */
typedef struct ftrack_dispatch_result {
    size_t size;
    unsigned callbacks;      /* subscriber callbacks run */
    unsigned replies;        /* replies published */
    unsigned reply_failures; /* replies returned by a callback but not published */
} ftrack_dispatch_result;
#define FTRACK_HUB_HAS_DISPATCH_RESULT 1

/* As ftrack_hub_queue_dispatch(), and fills *result (may be NULL) with what happened. The
 * result's counts are filled even when the text does not parse (then all zero). */
FTRACK_API ftrack_status ftrack_hub_queue_dispatch_ex(ftrack_hub_queue *queue, const char *text,
                                                      size_t len, const ftrack_delivery *delivery,
                                                      ftrack_dispatch_result *result,
                                                      ftrack_error *err);

/* The queue's live subscribers, in dispatch order (priority, then subscription order), as a
 * new JSON array of {"id": string, "expression": string, "priority": int,
 * "ignore_own_user": bool, "subscriber": {the subscriber metadata, "id" included}}. The caller
 * owns it (json_object_put); it is a snapshot that shares nothing with the hub, so any thread
 * may read it. An empty array when the queue has none; NULL only when queue is NULL or out of
 * memory. (Objects may gain keys; "ignore_own_user" and "subscriber" came with
 * FTRACK_HUB_HAS_QUEUE_CALL.) */
FTRACK_API json_object *ftrack_hub_queue_subscriptions(const ftrack_hub_queue *queue);
#define FTRACK_HUB_HAS_QUEUE_SUBSCRIPTIONS 1

/* Run one subscriber of `queue`, by id, with `event` on the calling thread, for hosts that
 * route events themselves (an isolated plugin's child process: the parent has matched the
 * event already). No matching is done (expression, target, ignore_own_user) and nothing is
 * published: *reply gets the callback's return value (new, the caller owns it; NULL for
 * none), and the callback may stop the event (ftrack_event_is_stopped) or fail the delivery
 * (delivery->outcome) as in a dispatch. `delivery` may be NULL (attempt 1); its
 * subscriber_id is set to the subscriber's. FTRACK_ERR_NOT_FOUND when the queue has no live
 * subscriber with that id. */
FTRACK_API ftrack_status ftrack_hub_queue_call(ftrack_hub_queue *queue, const char *subscriber_id,
                                               ftrack_event *event, const ftrack_delivery *delivery,
                                               json_object **reply, ftrack_error *err);
#define FTRACK_HUB_HAS_QUEUE_CALL 1

/* ---- For hosts: publishing by another road ------------------------------------------------ */

/* Receives one event to publish, serialised (wire JSON, `len` bytes, NUL-terminated; borrowed
 * for the call), on the publishing thread. Returns true when it took the event (e.g. wrote it
 * to its parent host), false when it could not (the publish then fails with
 * FTRACK_ERR_NOT_CONNECTED). Must not call back into the hub's publish functions. */
typedef bool (*ftrack_hub_outgoing_callback)(const char *event_json, size_t len, void *user_data);

/* With `fn` set, every asynchronous publish of the hub (ftrack_hub_publish, ftrack_hub_reply
 * and the replies of callbacks) is prepared as usual (source, id) and handed to `fn` instead
 * of being queued for the server, connected or not: an isolated plugin's child process
 * publishes through its parent this way. Replies to such publishes do not come back to this
 * hub: an on_ack is told of the hand-off (success, message "handed to the outgoing hook")
 * where on_acks run, an on_reply gets only its final NULL call when the window closes. Subscribe
 * announcements are not affected. NULL restores the network. A call to the previous `fn`
 * already under way may still finish after this returns. */
FTRACK_API void ftrack_hub_set_outgoing(ftrack_hub *hub, ftrack_hub_outgoing_callback fn,
                                        void *user_data);
#define FTRACK_HUB_HAS_OUTGOING 1

/* Inject an event as if the server had delivered it, for local-only events
 * (e.g. ftrack.host.reconnected): routed to matching subscribers of every queue, never sent. */
FTRACK_API ftrack_status ftrack_hub_deliver_local(ftrack_hub *hub, ftrack_event *event,
                                                  ftrack_error *err);

#ifdef __cplusplus
}
#endif
#endif
