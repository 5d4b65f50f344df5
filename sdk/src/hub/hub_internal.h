/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_HUB_INTERNAL_H
#define FTI_HUB_INTERNAL_H
/*
 * The hub client's private state, shared by its files:
 *   client.c     options and lifecycle: new, connect, wait, disconnect, free
 *   subscribe.c  subscribe/unsubscribe, the announcements, the internal reply subscriber
 *   publish.c    publish (to the server, the outgoing hook, or locally)
 *   frames.c     outgoing frames, their lists (pending, outbox) and acknowledgements
 *   transport.c  the libwebsockets service thread (handshake, websocket, heartbeat, reconnect)
 *   receive.c    an event packet received: parsed as far as routing needs, then routed
 *   route.c      subscriber sets, and routing an event to the queues of its subscribers
 *   queue.c      delivery queues (push, take, bind a thread)
 *   dispatch.c   dispatching a taken event to the queue's subscriber callbacks
 *   reply.c      reply windows and acks of the publishes waiting for them
 *   reply_text.c a callback's reply, written as text
 *   handshake.c  server URL and the socket.io HTTP handshake (libcurl)
 *
 * Locks. hub->lock guards the hub's shared state (subscriber set, reply registry, outbox,
 * connection flags). Each queue has its own lock. Order: hub->lock before queue->lock,
 * never the other way; no user callback runs under either.
 * json-c objects never cross threads, except a subscriber's metadata, which is guarded by
 * its own mutex (json-c may write even on some reads).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <json-c/json.h>
#include <json-c/linkhash.h>
#include <ftrack/expression.h>
#include <ftrack/host.h>
#include <ftrack/hub.h>

#include "wire/socketio.h"

struct lws;
struct lws_context;

/* Received frames larger than this are dropped (and logged). */
#define FTI_HUB_MAX_FRAME ((size_t)16 * 1024 * 1024)
/* Frames awaiting an acknowledgement are remembered in a table indexed by ack id, this many
 * slots at first, doubled whenever a new id's slot is still taken (more awaited at once), up
 * to FTI_HUB_ACK_MAX; past that the oldest is failed, never silently forgotten. */
#define FTI_HUB_ACK_RING 1024
#define FTI_HUB_ACK_MAX ((size_t)1 << 20)
/* Frames written per writable callback before yielding to the loop. */
#define FTI_HUB_WRITE_BATCH 64

/* ---- server URL and handshake (handshake.c) ------------------------------------------ */

typedef struct fti_hub_endpoint {
    bool secure;    /* https → wss */
    char *base_url; /* scheme://host[:port], for the handshake GET */
    char *address;  /* host without IPv6 brackets, for the socket */
    char *host;     /* Host header: host[:port] as given */
    int port;       /* explicit or the scheme's default */
} fti_hub_endpoint;

ftrack_status fti_hub_parse_url(const char *url, fti_hub_endpoint *out, ftrack_error *err);
void fti_hub_endpoint_clear(fti_hub_endpoint *ep);

typedef struct fti_handshake {
    char sid[128];
    int heartbeat; /* seconds, as the server announced (informational) */
    int close_timeout;
} fti_handshake;

/* Parse "<sid>:<heartbeat>:<close>:<transports>"; websocket must be among the transports. */
ftrack_status fti_hub_parse_handshake(const char *body, size_t len, fti_handshake *out,
                                      ftrack_error *err);

typedef struct fti_handshake_request {
    const fti_hub_endpoint *endpoint;
    const char *api_user;
    const char *api_key;
    const char *const *headers; /* "Name: value", NULL-terminated, may be NULL */
    const char *ca_bundle;
    bool insecure;
    double timeout;
    atomic_bool *abort; /* checked while waiting; may be NULL */
} fti_handshake_request;

/* GET <base>/socket.io/1/ with the credentials as headers. FTRACK_ERR_AUTH on 401/403. */
ftrack_status fti_hub_handshake(const fti_handshake_request *req, fti_handshake *out,
                                ftrack_error *err);

/* Which proxy (if any) the websocket should use for this endpoint: HTTPS_PROXY/https_proxy
 * for wss, HTTP_PROXY/http_proxy for ws, unless NO_PROXY/no_proxy lists the host. Writes
 * "host" and port; returns false for a direct connection. */
bool fti_hub_proxy_for(const fti_hub_endpoint *ep, char *host, size_t host_size, unsigned *port);

/* ---- subscribers, queues, replies (route.c, queue.c, reply.c) ------------------------ */

struct fti_reply_source;

typedef struct fti_sub {
    atomic_int refs;
    atomic_bool removed;
    char id[FTRACK_ID_MAX];
    ftrack_expression *expr;
    pthread_mutex_t meta_lock;
    json_object *metadata; /* guarded by meta_lock; never changed after subscribe */
    /* Under meta_lock. Whoever changes metadata once the subscriber is shared bumps
     * meta_version, which retires reply_source: the text of the source its replies carry
     * (reply_text.c), made on the first reply. */
    unsigned meta_version;
    struct fti_reply_source *reply_source;
    int priority;
    unsigned long seq; /* subscription order, for a stable sort */
    bool ignore_own_user;
    bool internal_reply; /* the hub's own ftrack.meta.reply subscriber */
    ftrack_hub_callback callback;
    void *user_data;
    ftrack_hub_queue *queue; /* holds a reference; NULL for the internal subscriber */
} fti_sub;

/* An immutable, reference-counted snapshot of the subscribers, sorted by priority. */
typedef struct fti_subset {
    atomic_int refs;
    /* The top-level event keys routing reads (fti_route): its own, plus what the
     * expressions read; strings borrowed from the subscribers' expressions or static. When
     * route_all_keys (out of memory, an expression that cannot tell) it needs the whole event. */
    const char **route_keys;
    size_t route_nkeys;
    bool route_all_keys;
    size_t n;
    fti_sub *subs[];
} fti_subset;

/* Lives in the block its text starts (queue.c item_new): free(text) frees it too. */
typedef struct fti_item {
    struct fti_item *next;
    char *text;
    size_t len;
    struct ftrack_hub_match *match; /* referenced; NULL: match at dispatch */
} fti_item;

/* Which subscribers of a set an event matched when it was routed (match.c): bit i is
 * set->subs[i]. Immutable once routing made it; reference-counted, and it holds the set. */
struct ftrack_hub_match {
    atomic_int refs;
    fti_subset *set;
    uint64_t bits[];
};

typedef enum fti_ack_state { FTI_ACK_PENDING, FTI_ACK_READY, FTI_ACK_DELIVERED } fti_ack_state;

/* A publish whose reply (on_reply) or acknowledgement (on_ack) the publisher waits for. */
typedef struct fti_reply_entry {
    char event_id[FTRACK_ID_MAX];
    ftrack_reply_callback callback;     /* may be NULL */
    ftrack_publish_ack_callback on_ack; /* may be NULL */
    void *user_data;
    ftrack_hub_queue *queue;
    double deadline;
    double window; /* seconds, for the timeout message */
    fti_ack_state ack_state;
    bool ack_success;
    char ack_message[200];
    /* in queue->replies, in deadline order, under hub->lock */
    struct fti_reply_entry *prev, *next;
    /* in queue->acks_ready while ack_state is FTI_ACK_READY, under hub->lock */
    struct fti_reply_entry *ready_prev, *ready_next;
    bool in_ready;
} fti_reply_entry;

struct ftrack_hub_queue {
    ftrack_hub *hub;
    char *name;
    atomic_int refs;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    fti_item *head, *tail;
    size_t depth, capacity;
    bool closed;
    ftrack_hub_overflow_callback overflow;
    void *overflow_data;
    unsigned long overflowed;
    int waiting; /* takers asleep on cond (under lock): a push signals only then */
    ftrack_hub_queue_notify_callback notify; /* under lock, and called under it */
    void *notify_data;
    atomic_bool reply_kick; /* reply work arrived since the taker last looked (set under lock) */
    /* under hub->lock. Windows are (almost always) equal, so appending keeps the list in
     * deadline order at O(1) and expiry pops from the head. */
    fti_reply_entry *replies, *replies_tail;
    /* acks that arrived, to hand to their on_ack */
    fti_reply_entry *acks_ready, *acks_ready_tail;
    /* Written under hub->lock, read without it: a take with no window closed and no ack
     * waiting (acks_ready NULL) touches no hub lock. next_deadline is the head's deadline,
     * INFINITY when none. */
    _Atomic double next_deadline;
    atomic_bool acks_waiting;
    bool detached;                 /* removed from the hub's list */
    struct ftrack_hub_queue *next; /* in hub->queues */
    void *tag;                     /* for the intake callback; under hub->intake_lock */
};

/* ---- outgoing frames (frames.c) ------------------------------------------------------ */

typedef enum fti_frame_kind {
    FTI_FRAME_CONTROL,  /* heartbeat replies: sent first, dropped on a reconnect */
    FTI_FRAME_ANNOUNCE, /* subscribe announcements: rebuilt on every connect */
    FTI_FRAME_EVENT     /* publishes: kept across a reconnect */
} fti_frame_kind;

typedef struct fti_frame {
    struct fti_frame *next;
    fti_frame_kind kind;
    unsigned long ack_id;
    size_t len;
    char *buf; /* LWS_PRE bytes of headroom, then the text */
} fti_frame;

typedef struct fti_frame_list {
    fti_frame *head, *tail;
    size_t n;
} fti_frame_list;

typedef enum fti_ack_kind { FTI_ACK_EVENT, FTI_ACK_SUBSCRIBE, FTI_ACK_UNSUBSCRIBE } fti_ack_kind;

typedef struct fti_ack_record {
    unsigned long id; /* 0: free slot */
    fti_ack_kind kind;
    bool sent;                /* handed to the socket (its ack may come) */
    char what[FTRACK_ID_MAX]; /* event or subscriber id */
    char topic[48];
} fti_ack_record;

typedef enum fti_conn_state {
    FTI_ST_IDLE,
    FTI_ST_WAITING, /* a connection attempt is scheduled */
    FTI_ST_HANDSHAKE,
    FTI_ST_CONNECTING, /* websocket opening */
    FTI_ST_CONNECTED,
    FTI_ST_CLOSING /* flushing, then closing on request */
} fti_conn_state;

/* Opaque to everything but transport.c. */
typedef struct fti_transport fti_transport;

struct ftrack_hub {
    /* configuration, immutable after ftrack_hub_new */
    char *server_url, *api_user, *api_key, *ca_bundle;
    bool insecure;
    char **headers;
    size_t publish_queue_max, wait_queue_max;
    double reply_timeout, heartbeat_timeout, reconnect_min, reconnect_max, connect_timeout;
    int reconnect_max_attempts;
    fti_hub_endpoint endpoint;
    char id[33];
    char hostname[256];

    pthread_mutex_t lock;
    pthread_cond_t cond; /* connection state changes */

    /* The intake callback and the queues' tags (ftrack/host.h): read by the network thread
     * for each routed event, written rarely; held for reading across a callback, so the
     * setters wait for it. */
    pthread_rwlock_t intake_lock;
    ftrack_hub_intake_callback intake;
    void *intake_data;

    /* under lock */
    fti_subset *subs;
    unsigned long sub_seq;
    ftrack_hub_queue *queues;
    ftrack_hub_queue *default_queue;
    struct lh_table *replies; /* event id → fti_reply_entry */
    fti_frame_list pending;   /* publishes waiting for a connection */
    fti_frame_list outbox;    /* frames for the current connection */
    unsigned long ack_counter;
    fti_ack_record *acks; /* ack_cap slots (a power of two), by id & (ack_cap - 1) */
    size_t ack_cap;
    bool initialised;    /* publishes queue (connect called, not disconnected) */
    bool want_connected; /* the transport should (re)connect */
    bool connected;
    bool idle; /* the transport has no connection and none scheduled */
    bool destroying;
    bool local_subscriptions; /* ftrack_hub_set_local_subscriptions: announce none but replies */
    ftrack_hub_outgoing_callback outgoing; /* ftrack_hub_set_outgoing: publishes go there */
    void *outgoing_data;
    unsigned failures; /* consecutive failed attempts */
    ftrack_error last_error;
    unsigned long connections; /* successful connects so far */
    unsigned flush_waiters;    /* ftrack_hub_flush calls asleep on cond */

    fti_transport *transport;
};

/* route.c */
void fti_sub_release(fti_sub *sub);
fti_subset *fti_subset_get(ftrack_hub *hub);
void fti_subset_release(fti_subset *set);
/* Replace the hub's set with one that adds or drops `sub` (caller holds hub->lock). */
ftrack_status fti_subset_add_locked(ftrack_hub *hub, fti_sub *sub);
ftrack_status fti_subset_remove_locked(ftrack_hub *hub, fti_sub *sub);
fti_sub *fti_subset_find_locked(ftrack_hub *hub, const char *id);
/* Whether subscriber `s` takes `event`: its own-user rule, the event's compiled `target`
 * (may be NULL) against its metadata, then its expression. */
bool fti_sub_accepts(const ftrack_hub *hub, fti_sub *s, const ftrack_expression *target,
                     json_object *event);
/* The compiled target of an event, NULL when it has none; *bad when it does not parse (the
 * event is then dropped, and logged). */
ftrack_expression *fti_compile_target(json_object *event, bool *bad);
/* Route a wire event object to the queues of matching subscribers (any thread). `text` is
 * what is queued (e.g. the bytes received); NULL serialises the object. `force_default` also
 * queues it for ftrack_hub_wait. */
void fti_route(ftrack_hub *hub, json_object *event, const char *text, size_t len,
               bool force_default);
/* fti_route against `set` (from fti_subset_get, may be NULL): the set whose route_keys decided
 * which members `event` holds, so a subscription added meanwhile cannot see a partial event. */
void fti_route_set(ftrack_hub *hub, fti_subset *set, json_object *event, const char *text,
                   size_t len, bool force_default);
/* A purely local meta event (ftrack.meta.connected / disconnected). */
void fti_emit_meta(ftrack_hub *hub, const char *topic);

/* queue.c */
ftrack_status fti_queue_create(ftrack_hub *hub, const char *name, size_t capacity,
                               ftrack_hub_queue **out);
void fti_queue_unref(ftrack_hub_queue *q);
/* Drop what is queued. Needed before the last unref: a queued item's match holds the
 * subscribers, and they hold their queue. */
void fti_queue_drop(ftrack_hub_queue *q);
/* Append a copy of text, with a reference on `match` (may be NULL). Returns false when closed
 * or full (overflow reported). */
bool fti_queue_push(ftrack_hub_queue *q, const char *text, size_t len,
                    struct ftrack_hub_match *match);
/* The queue this thread's calls go to by default. */
ftrack_hub_queue *fti_bound_queue(ftrack_hub *hub);

/* match.c */
/* A match for `set` with no subscriber marked yet, referenced once and holding a reference
 * on the set; NULL when out of memory (the event is then matched at dispatch). */
struct ftrack_hub_match *fti_match_new(fti_subset *set);
void fti_match_mark(struct ftrack_hub_match *m, size_t i);
bool fti_match_has(const struct ftrack_hub_match *m, size_t i);

/* dispatch.c */
/* Dispatch one parsed event on the calling thread (protocol §6.6). `queue` NULL and `results`
 * non-NULL: synchronous publish to every local subscriber (results gets each callback's
 * result, null included; no replies are sent). `match` (may be NULL) is what routing found:
 * its subscribers are called without matching again. `counts` (may be NULL) gets what was
 * done. */
void fti_dispatch(ftrack_hub *hub, ftrack_hub_queue *queue, ftrack_event *event,
                  const struct ftrack_hub_match *match, const ftrack_delivery *delivery,
                  json_object *results, ftrack_dispatch_result *counts);

/* reply_text.c */
/* A callback's reply as text (protocol §6.6), without building the event: the pieces of
 * what ftrack_event_serialize gives for ftrack_event_reply_new(event, data, NULL) with the
 * subscriber's metadata as its source once fti_publish prepared it. `data_json` is the
 * result's text (NULL: {}). The pieces point into the struct (id) and at the event's
 * strings: do not move it, keep the event, and clear it after use. */
#define FTI_REPLY_PIECES 11
typedef struct fti_reply_text {
    char id[33];
    struct fti_reply_source *source;
    fti_text_piece pieces[FTI_REPLY_PIECES];
    size_t n;
} fti_reply_text;

ftrack_status fti_reply_text_make(ftrack_hub *hub, fti_sub *s, const ftrack_event *event,
                                  const char *data_json, size_t data_len, fti_reply_text *out,
                                  ftrack_error *err);
void fti_reply_text_clear(fti_reply_text *r);
/* Drop a reference to a subscriber's reply source (NULL is fine). */
void fti_reply_source_release(struct fti_reply_source *rs);

/* reply.c */
/* Reply registry (caller holds hub->lock for the _locked ones). */
ftrack_status fti_reply_register_locked(ftrack_hub *hub, const char *event_id,
                                        ftrack_reply_callback cb,
                                        ftrack_publish_ack_callback on_ack, void *user_data,
                                        ftrack_hub_queue *queue, double window);
/* The server acknowledged (or the connection lost) a publish: its on_ack runs on the
 * publisher's queue soon after. `message` may be NULL. */
void fti_reply_ack_locked(ftrack_hub *hub, const char *event_id, bool success, const char *message);
/* Run expired reply callbacks of the queue (on its consumer thread); returns the next
 * deadline (INFINITY when none). */
double fti_reply_expire(ftrack_hub_queue *queue, double now);
/* Remove every entry of `queue` (all when NULL) and give each its final NULL call. */
void fti_reply_drop_all(ftrack_hub *hub, ftrack_hub_queue *queue);

/* frames.c */
/* Frames that will never be sent (dropped) or whose ack will never come (sent on a lost
 * connection): fail their on_ack. */
void fti_ack_fail_frames_locked(ftrack_hub *hub, fti_frame_list *dropped, const char *why);
void fti_ack_fail_sent_locked(ftrack_hub *hub, const char *why);
/* A frame that will never be sent and whose ack nobody waits for (an announcement or a
 * heartbeat of a lost connection): forget its ack record (caller holds hub->lock). */
void fti_ack_forget_locked(ftrack_hub *hub, unsigned long ack_id);
/* Whether an acknowledgement of id 1..`upto` is still awaited (caller holds hub->lock). */
bool fti_acks_awaited_locked(const ftrack_hub *hub, unsigned long upto);
/* Mark a frame's ack record as sent (caller holds hub->lock). */
void fti_ack_mark_sent_locked(ftrack_hub *hub, unsigned long ack_id);
/* The frame of an event with ack id `id` (0: none), remembering nothing: needs no lock. */
fti_frame *fti_frame_build(ftrack_event *event, fti_frame_kind kind, unsigned long id);
/* Build a frame for an event (caller holds hub->lock: assigns the ack id). Without
 * `want_ack` the frame is `5:::` (no ack id, as the JavaScript client sends every event). */
fti_frame *fti_frame_for_event_locked(ftrack_hub *hub, ftrack_event *event, fti_frame_kind kind,
                                      fti_ack_kind ack_kind, const char *what, bool want_ack);
void fti_frame_free(fti_frame *f);
void fti_frames_append(fti_frame_list *l, fti_frame *f);
void fti_frames_prepend(fti_frame_list *l, fti_frame *f);
fti_frame *fti_frames_pop(fti_frame_list *l);
void fti_frames_clear(fti_frame_list *l);
/* Match an acknowledgement to what was sent and log refusals. `args` is the ack's JSON
 * array text (NULL when it carried none). */
void fti_ack_received(ftrack_hub *hub, unsigned long id, const char *args, size_t args_len);

/* subscribe.c */
/* The ftrack.meta.subscribe frame for one subscriber (caller holds hub->lock). */
fti_frame *fti_announce_frame_locked(ftrack_hub *hub, fti_sub *sub);
/* Add the internal reply subscriber when absent (caller holds hub->lock). */
ftrack_status fti_ensure_reply_subscriber_locked(ftrack_hub *hub);
/* Mark every subscriber removed and empty the set; when connected, queue each one's
 * ftrack.meta.unsubscribe (caller holds hub->lock). */
void fti_unsubscribe_all_locked(ftrack_hub *hub);

/* publish.c */
/* ftrack_hub_publish with the options already complete; `want_ack` false publishes without
 * asking the server to acknowledge (only when nobody waits for the ack: no on_ack). */
ftrack_status fti_publish(ftrack_hub *hub, ftrack_event *event, const ftrack_publish_options *o,
                          bool want_ack, ftrack_error *err);
/* fti_publish's road for a callback's reply given as text: no ack asked, nobody tracks it.
 * The same checks, hook and queues as fti_publish. */
ftrack_status fti_publish_pieces(ftrack_hub *hub, const fti_text_piece *pieces, size_t n,
                                 ftrack_error *err);

/* receive.c */
/* Route the data of a received event packet (NULL: none, logged); `tok` is the caller's,
 * reset before each use. Called on the service thread. */
void fti_receive_event(ftrack_hub *hub, json_tokener *tok, const char *data, size_t len);

/* transport.c */
ftrack_status fti_transport_start(ftrack_hub *hub, ftrack_error *err);
/* Wake the service thread to look at the shared state (any thread). */
void fti_transport_wake(ftrack_hub *hub);
/* As wake, and abort a handshake in progress (after want_connected was cleared). */
void fti_transport_interrupt(ftrack_hub *hub);
/* Stop the thread and free the transport (not from the service thread). */
void fti_transport_stop(ftrack_hub *hub);

#endif
