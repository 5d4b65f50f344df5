/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_HOST_H
#define FTRACK_HOST_H
/*
 * The hub as a host sees it: what a program that runs plugins (ftrack-host, an isolated
 * plugin's child process, a scale-out worker) needs beyond ftrack/hub.h. Plugin authors do
 * not need this header; ftrack/plugin_loader.h is its companion for loading plugins.
 *
 * Delivery queues. A host gives each plugin instance its own queue (ftrack_hub_queue_new) and
 * a worker thread bound to it (ftrack_hub_bind_thread), so the instance's subscriptions and
 * publishes go there. The network thread matches each event once against every subscriber
 * and appends it once per queue, as text, with what it matched (ftrack_hub_match); the worker
 * takes both (ftrack_hub_queue_take_matched) and dispatches on its own thread
 * (ftrack_hub_queue_dispatch_matched), which parses its own copy and calls the subscribers
 * routing found without matching again. A host that routes events itself (an isolated
 * plugin's parent) calls one subscriber directly (ftrack_hub_queue_call).
 *
 * Threads. All functions are safe to call from any thread unless noted.
 *
 * Ownership. Strings passed in are borrowed (and copied where kept). Event text handed out by
 * ftrack_hub_queue_take() is the caller's (ftrack_free()); JSON handed out is new and the
 * caller's (json_object_put()).
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/common.h>
#include <ftrack/event.h>
#include <ftrack/hub.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Filled by ftrack_delivery_fail(). The host owns it and points ftrack_delivery.outcome at it
 * for one dispatch; several subscribers of the dispatch may fail it (the first message is
 * kept, `failures` counts them). */
struct ftrack_delivery_outcome {
    size_t size; /* sizeof(ftrack_delivery_outcome), set by the host */
    unsigned failures;
    char message[FTRACK_ERROR_MESSAGE_MAX];
};

/* Set up `delivery` for one dispatch: size set, attempt 1, not a redelivery, no subscriber id,
 * `outcome` (may be NULL) cleared and attached, so ftrack_delivery_fail() records into it. */
FTRACK_API void ftrack_delivery_init(ftrack_delivery *delivery, ftrack_delivery_outcome *outcome);

/* For hosts that receive events by another road (a queue, ftrack-host's scale-out workers):
 * with `local` true, subscriptions are kept and dispatched locally
 * (ftrack_hub_queue_dispatch) but never announced to the server, so the server sends this
 * hub only the replies to its own publishes. Call before ftrack_hub_connect(). */
FTRACK_API void ftrack_hub_set_local_subscriptions(ftrack_hub *hub, bool local);

/* Block until the server has acknowledged every frame that asked for an acknowledgement
 * and was queued before this call (subscribe and unsubscribe announcements, publishes), or
 * until it refused them: settled either way. A host calls it after its plugins subscribed,
 * before it says it is ready, so that events published from then on reach them. Frames sent
 * without an ack id (replies of callbacks) are not waited for. Returns FTRACK_OK when all are
 * settled, FTRACK_ERR_TIMEOUT after `timeout` seconds (they may still be acknowledged
 * later), FTRACK_ERR_NOT_CONNECTED at once when the hub is not connected, or as soon as the
 * connection drops meanwhile (the subscriptions are announced again on the next connect).
 * Any thread; from a subscriber callback it holds up that callback's queue while it waits.
 * Every frame asking for an acknowledgement is remembered until settled; past about a million
 * outstanding at once, the oldest is failed (its on_ack told so) and counts as settled. */
FTRACK_API ftrack_status ftrack_hub_flush(ftrack_hub *hub, double timeout, ftrack_error *err);

/* ---- Per-plugin delivery queues ---------------------------------------------------------- */

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
                                              ftrack_hub_overflow_callback callback,
                                              void *user_data);
/* Subscriptions and publishes made by this thread go to `queue` (NULL: back to the hub's). */
FTRACK_API void ftrack_hub_bind_thread(ftrack_hub *hub, ftrack_hub_queue *queue);
FTRACK_API size_t ftrack_hub_queue_depth(const ftrack_hub_queue *queue);
/* Wait up to `timeout` seconds for the next delivery. Returns the event text (free with
 * ftrack_free()) or NULL on timeout or after ftrack_hub_queue_close(). */
FTRACK_API char *ftrack_hub_queue_take(ftrack_hub_queue *queue, double timeout, size_t *len);

/* The subscribers an event matched when the network thread routed it: taken with the event
 * (ftrack_hub_queue_take_matched, or handed to the intake callback) and given back to
 * ftrack_hub_queue_dispatch_matched, so a worker does not match the event again. Opaque and
 * immutable; reference-counted, any thread. A subscriber added after routing is not in it;
 * one removed since is skipped at dispatch. */
typedef struct ftrack_hub_match ftrack_hub_match;
/* Another reference on `match` (returned; NULL stays NULL). */
FTRACK_API ftrack_hub_match *ftrack_hub_match_ref(ftrack_hub_match *match);
FTRACK_API void ftrack_hub_match_unref(ftrack_hub_match *match);
/* ftrack_hub_queue_take, and *match (not NULL) gets the delivery's match, referenced for the
 * caller (ftrack_hub_match_unref), or NULL when it has none (it is then matched at dispatch). */
FTRACK_API char *ftrack_hub_queue_take_matched(ftrack_hub_queue *queue, double timeout, size_t *len,
                                               ftrack_hub_match **match);
/* Stop accepting new deliveries and wake takers; what is queued can still be taken. */
FTRACK_API void ftrack_hub_queue_close(ftrack_hub_queue *queue);

/* For a taker that waits on more than this queue (one wakeable inbox per worker): `callback`
 * is called whenever the queue has something for its taker, that is an event appended, the
 * queue closed, a reply window to close or an acknowledgement to hand over; a take
 * (timeout 0) then does the work. It runs on the thread that caused it (often the network
 * thread) with the queue's lock held: it must only wake the taker (set a flag, write an
 * eventfd), never block or call into the hub. NULL removes it; no call is made after this
 * returns. */
typedef void (*ftrack_hub_queue_notify_callback)(ftrack_hub_queue *queue, void *user_data);
FTRACK_API void ftrack_hub_queue_set_notify(ftrack_hub_queue *queue,
                                            ftrack_hub_queue_notify_callback callback,
                                            void *user_data);
/* Seconds until the queue's taker must take again for its timers (the earliest reply window
 * closes: a take makes its final on_reply call), 0 when an acknowledgement waits, or a
 * negative number when it has none. A taker that waits elsewhere waits no longer than this. */
FTRACK_API double ftrack_hub_queue_next_timer(const ftrack_hub_queue *queue);

/* ---- Taking events at receipt (a journaling host) ------------------------------------------
 * A host that writes every event to a journal before any plugin sees it takes events from the
 * network thread itself, once per event for all the queues it matched, instead of having the
 * text copied into each queue and moved by another thread. It tags the queues it takes for
 * (ftrack_hub_queue_set_tag) and sets one intake callback on the hub. For each routed event
 * with at least one tagged queue among those it matched, the callback runs on the network
 * thread with the parsed event (borrowed; do not keep), its wire text (borrowed, NUL-terminated),
 * what routing matched (borrowed: ftrack_hub_match_ref to keep it; NULL when out of memory)
 * and the tags of the tagged queues; it sets taken[i] for each queue it took the event for. Queues
 * it did not take for (and untagged ones) get the text appended as usual. Neither setter returns
 * while a callback that could see the old value runs, so a host may free what a tag points at once
 * ftrack_hub_queue_set_tag(queue, NULL) returned. The callback must not call the setters. */
typedef void (*ftrack_hub_intake_callback)(json_object *event, const char *text, size_t len,
                                           ftrack_hub_match *match, void *const *tags, bool *taken,
                                           size_t n, void *user_data);
FTRACK_API void ftrack_hub_set_intake(ftrack_hub *hub, ftrack_hub_intake_callback callback,
                                      void *user_data);
/* Tag `queue` for the intake callback (NULL: untag). */
FTRACK_API void ftrack_hub_queue_set_tag(ftrack_hub_queue *queue, void *tag);

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

/* Dispatch one delivery (text from ftrack_hub_queue_take, parsed on this thread) to the
 * queue's subscribers as protocol §6.6 describes: priority, target, stop, replies; replies
 * to this queue's publishes go to their on_reply callbacks. Fills *result (may be NULL) with
 * what happened; its counts are filled even when the text does not parse (then all zero). */
FTRACK_API ftrack_status ftrack_hub_queue_dispatch(ftrack_hub_queue *queue, const char *text,
                                                   size_t len, const ftrack_delivery *delivery,
                                                   ftrack_dispatch_result *result,
                                                   ftrack_error *err);
/* ftrack_hub_queue_dispatch with what routing matched (`match` from
 * ftrack_hub_queue_take_matched or the intake; borrowed): the queue's subscribers in it are
 * called without matching the event again. A NULL match matches as ftrack_hub_queue_dispatch
 * does (an event read back from a journal, a spill). */
FTRACK_API ftrack_status ftrack_hub_queue_dispatch_matched(
    ftrack_hub_queue *queue, const char *text, size_t len, const ftrack_hub_match *match,
    const ftrack_delivery *delivery, ftrack_dispatch_result *result, ftrack_error *err);

/* The queue's live subscribers, in dispatch order (priority, then subscription order), as a
 * new JSON array of {"id": string, "expression": string, "priority": int,
 * "ignore_own_user": bool, "subscriber": {the subscriber metadata, "id" included}}. The caller
 * owns it (json_object_put); it is a snapshot that shares nothing with the hub, so any thread
 * may read it. An empty array when the queue has none; NULL only when queue is NULL or out of
 * memory. (Objects may gain keys.) */
FTRACK_API json_object *ftrack_hub_queue_subscriptions(const ftrack_hub_queue *queue);

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

/* ---- Publishing by another road ---------------------------------------------------------- */

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

/* Inject an event as if the server had delivered it, for local-only events
 * (e.g. ftrack.host.reconnected): routed to matching subscribers of every queue, never sent. */
FTRACK_API ftrack_status ftrack_hub_deliver_local(ftrack_hub *hub, ftrack_event *event,
                                                  ftrack_error *err);

#ifdef __cplusplus
}
#endif
#endif
