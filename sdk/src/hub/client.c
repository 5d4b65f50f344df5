/* The hub client's public API: options, lifecycle, subscribe, publish and the outbox that
 * carries frames to the service thread (transport.c). */
#include <math.h> /* INFINITY only: libftrack does not link libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "common/internal.h"
#include "hub/hub_internal.h"
#include "hub/socketio.h"

#define DEFAULT_QUEUE_MAX 10000
#define DISCONNECT_WAIT 5.0

/* ---- frames ----------------------------------------------------------------------------- */

void fti_frame_free(fti_frame *f)
{
    if (!f)
        return;
    free(f->buf);
    free(f);
}

void fti_frames_append(fti_frame_list *l, fti_frame *f)
{
    f->next = NULL;
    if (l->tail)
        l->tail->next = f;
    else
        l->head = f;
    l->tail = f;
    l->n++;
}

void fti_frames_prepend(fti_frame_list *l, fti_frame *f)
{
    f->next = l->head;
    l->head = f;
    if (!l->tail)
        l->tail = f;
    l->n++;
}

fti_frame *fti_frames_pop(fti_frame_list *l)
{
    fti_frame *f = l->head;
    if (!f)
        return NULL;
    l->head = f->next;
    if (!l->head)
        l->tail = NULL;
    l->n--;
    f->next = NULL;
    return f;
}

void fti_frames_clear(fti_frame_list *l)
{
    fti_frame *f;
    while ((f = fti_frames_pop(l)))
        fti_frame_free(f);
}

static void ack_remember_locked(ftrack_hub *hub, unsigned long id, fti_ack_kind kind,
                                const char *what, const char *topic)
{
    fti_ack_record *r = &hub->acks[id % FTI_HUB_ACK_RING];
    r->id = id;
    r->kind = kind;
    r->sent = false;
    fti_strlcpy(r->what, what ? what : "", sizeof(r->what));
    fti_strlcpy(r->topic, topic ? topic : "", sizeof(r->topic));
}

/* The frame of an event with ack id `id` (0: none); needs no lock. */
static fti_frame *frame_build(ftrack_event *event, fti_frame_kind kind, unsigned long id)
{
    size_t jlen;
    char *json = ftrack_event_serialize(event, &jlen);
    fti_frame *f = calloc(1, sizeof(*f));
    if (!json || !f) {
        free(json);
        free(f);
        return NULL;
    }
    f->buf = fti_sio_frame_event(LWS_PRE, id, json, jlen, &f->len);
    free(json);
    if (!f->buf) {
        free(f);
        return NULL;
    }
    f->kind = kind;
    f->ack_id = id;
    return f;
}

fti_frame *fti_frame_for_event_locked(ftrack_hub *hub, ftrack_event *event, fti_frame_kind kind,
                                      fti_ack_kind ack_kind, const char *what, bool want_ack)
{
    /* ids count callback-carrying packets only, as the Python client's do */
    unsigned long id = want_ack ? hub->ack_counter + 1 : 0;
    fti_frame *f = frame_build(event, kind, id);
    if (f && id) {
        hub->ack_counter = id;
        ack_remember_locked(hub, id, ack_kind, what ? what : ftrack_event_id(event),
                            ftrack_event_topic(event));
    }
    return f;
}

static json_object *sub_metadata_copy(fti_sub *s)
{
    pthread_mutex_lock(&s->meta_lock);
    json_object *copy = NULL;
    json_object_deep_copy(s->metadata, &copy, NULL);
    pthread_mutex_unlock(&s->meta_lock);
    return copy;
}

static fti_frame *meta_frame_locked(ftrack_hub *hub, fti_sub *s, bool subscribe)
{
    if (hub->local_subscriptions && !s->internal_reply)
        return NULL; /* never announced, so nothing to withdraw either */
    json_object *data = json_object_new_object();
    json_object *meta = sub_metadata_copy(s);
    if (!data || !meta) {
        json_object_put(data);
        json_object_put(meta);
        return NULL;
    }
    json_object_object_add(data, "subscriber", meta);
    if (subscribe)
        json_object_object_add(data, "subscription",
                               json_object_new_string(ftrack_expression_text(s->expr)));
    ftrack_event *ev =
        ftrack_event_new(subscribe ? "ftrack.meta.subscribe" : "ftrack.meta.unsubscribe", data);
    if (!ev)
        return NULL;
    ftrack_event_prepare_source(ev, hub->id, hub->api_user, hub->hostname);
    fti_frame *f = fti_frame_for_event_locked(
        hub, ev, subscribe ? FTI_FRAME_ANNOUNCE : FTI_FRAME_EVENT,
        subscribe ? FTI_ACK_SUBSCRIBE : FTI_ACK_UNSUBSCRIBE, s->id, true);
    ftrack_event_free(ev);
    return f;
}

fti_frame *fti_announce_frame_locked(ftrack_hub *hub, fti_sub *sub)
{
    return meta_frame_locked(hub, sub, true);
}

void fti_ack_mark_sent_locked(ftrack_hub *hub, unsigned long ack_id)
{
    fti_ack_record *r = &hub->acks[ack_id % FTI_HUB_ACK_RING];
    if (ack_id && r->id == ack_id)
        r->sent = true;
}

void fti_ack_fail_frames_locked(ftrack_hub *hub, fti_frame_list *dropped, const char *why)
{
    for (fti_frame *f = dropped->head; f; f = f->next) {
        fti_ack_record *r = &hub->acks[f->ack_id % FTI_HUB_ACK_RING];
        if (f->kind != FTI_FRAME_EVENT || !f->ack_id || r->id != f->ack_id)
            continue;
        if (r->kind == FTI_ACK_EVENT)
            fti_reply_ack_locked(hub, r->what, false, why);
        r->id = 0;
    }
}

void fti_ack_fail_sent_locked(ftrack_hub *hub, const char *why)
{
    for (size_t i = 0; i < FTI_HUB_ACK_RING; i++) {
        fti_ack_record *r = &hub->acks[i];
        if (!r->id || !r->sent)
            continue;
        if (r->kind == FTI_ACK_EVENT)
            fti_reply_ack_locked(hub, r->what, false, why);
        r->id = 0;
    }
}

static void log_refusal(const fti_ack_record *rec, const char *why)
{
    switch (rec->kind) {
    case FTI_ACK_SUBSCRIBE:
        ftrack_log(FTRACK_LOG_WARNING, "hub", "Server failed to subscribe subscriber %s: %s",
                   rec->what, why);
        break;
    case FTI_ACK_UNSUBSCRIBE:
        ftrack_log(FTRACK_LOG_WARNING, "hub", "Server failed to unsubscribe subscriber %s: %s",
                   rec->what, why);
        break;
    case FTI_ACK_EVENT:
        ftrack_log_event(FTRACK_LOG_WARNING, "hub", rec->what, rec->topic,
                         "Server refused the published event: %s", why);
        break;
    }
}

/* The plain successes servers send (ours compact, a Python-style one spaced): recognised
 * without parsing, as nearly every ack is one of them. */
static bool ack_is_plain_success(const char *args, size_t len)
{
    static const char compact[] = "[{\"success\":true}]";
    static const char spaced[] = "[{\"success\": true}]";
    return args && ((len == sizeof(compact) - 1 && memcmp(args, compact, len) == 0) ||
                    (len == sizeof(spaced) - 1 && memcmp(args, spaced, len) == 0));
}

/* Any other ack: parse it. `*arr` keeps the strings *message points into. */
static bool ack_parse(const char *args, size_t len, json_object **arr, const char **message,
                      const char **why)
{
    *arr = NULL;
    *message = NULL;
    struct json_tokener *tok = args ? json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH) : NULL;
    if (tok) {
        *arr = json_tokener_parse_ex(tok, args, (int)len);
        json_tokener_free(tok);
    }
    json_object *first =
        json_object_is_type(*arr, json_type_array) ? json_object_array_get_idx(*arr, 0) : NULL;
    bool is_obj = json_object_is_type(first, json_type_object);
    json_object *success = NULL, *m = NULL;
    bool ok = is_obj && json_object_object_get_ex(first, "success", &success) &&
              json_object_get_boolean(success);
    if (is_obj && json_object_object_get_ex(first, "message", &m) &&
        json_object_is_type(m, json_type_string))
        *message = json_object_get_string(m);
    *why = *message ? *message : (is_obj ? "no reason given" : "malformed acknowledgement");
    return ok;
}

/* Runs on the service thread. */
void fti_ack_received(ftrack_hub *hub, unsigned long id, const char *args, size_t args_len)
{
    json_object *arr = NULL;
    const char *message = NULL, *why = NULL;
    bool ok =
        ack_is_plain_success(args, args_len) || ack_parse(args, args_len, &arr, &message, &why);

    fti_ack_record rec;
    pthread_mutex_lock(&hub->lock);
    fti_ack_record *r = &hub->acks[id % FTI_HUB_ACK_RING];
    bool known = r->id == id && id != 0;
    if (known) {
        rec = *r;
        r->id = 0;
        if (rec.kind == FTI_ACK_EVENT)
            fti_reply_ack_locked(hub, rec.what, ok, ok ? message : why);
    }
    pthread_mutex_unlock(&hub->lock);
    if (!known)
        ftrack_log(FTRACK_LOG_DEBUG, "hub", "acknowledgement %lu matches nothing we remember", id);
    else if (!ok)
        log_refusal(&rec, why);
    json_object_put(arr);
}

/* ---- options and lifecycle -------------------------------------------------------------- */

void ftrack_hub_options_init(ftrack_hub_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof(*options));
    options->size = sizeof(*options);
}

void ftrack_subscribe_options_init(ftrack_subscribe_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof(*options));
    options->size = sizeof(*options);
    options->priority = 100;
}

void ftrack_publish_options_init(ftrack_publish_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof(*options));
    options->size = sizeof(*options);
}

static char **copy_headers(const char *const *headers)
{
    size_t n = 0;
    while (headers && headers[n])
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = fti_strdup(headers[i]);
        if (!out[i]) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    }
    return out;
}

static ftrack_status validate_options(const ftrack_hub_options *o, ftrack_error *err)
{
    if (!o->server_url || !*o->server_url)
        return fti_error(err, FTRACK_ERR_CONFIG, "The event hub needs a server url.");
    if (!o->api_user || !*o->api_user)
        return fti_error(err, FTRACK_ERR_CONFIG, "The event hub needs an API user.");
    if (!o->api_key || !*o->api_key)
        return fti_error(err, FTRACK_ERR_CONFIG, "The event hub needs an API key.");
    for (const char *const *h = o->headers; h && *h; h++)
        if (!strchr(*h, ':') || strpbrk(*h, "\r\n"))
            return fti_error(err, FTRACK_ERR_CONFIG, "Extra headers must read \"Name: value\".");
    return FTRACK_OK;
}

static double or_default(double v, double d)
{
    return v > 0 ? v : d;
}

static void apply_options(ftrack_hub *hub, const ftrack_hub_options *o)
{
    hub->insecure = o->insecure_skip_verify;
    hub->publish_queue_max = o->publish_queue_max ? o->publish_queue_max : DEFAULT_QUEUE_MAX;
    hub->wait_queue_max = o->wait_queue_max ? o->wait_queue_max : DEFAULT_QUEUE_MAX;
    hub->reply_timeout = or_default(o->reply_timeout, 60.0);
    hub->heartbeat_timeout = or_default(o->heartbeat_timeout, 60.0);
    hub->reconnect_min = or_default(o->reconnect_min_delay, 0.5);
    hub->reconnect_max = or_default(o->reconnect_max_delay, 30.0);
    if (hub->reconnect_max < hub->reconnect_min)
        hub->reconnect_max = hub->reconnect_min;
    hub->reconnect_max_attempts = o->reconnect_max_attempts > 0 ? o->reconnect_max_attempts : 0;
    hub->connect_timeout = or_default(o->connect_timeout, 30.0);
}

static ftrack_status init_sync(ftrack_hub *hub)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&hub->lock, NULL);
    pthread_cond_init(&hub->cond, &ca);
    pthread_condattr_destroy(&ca);
    hub->replies = lh_kchar_table_new(64, NULL);
    return hub->replies ? FTRACK_OK : FTRACK_ERR_NO_MEMORY;
}

ftrack_status ftrack_hub_new(const ftrack_hub_options *options, ftrack_hub **out, ftrack_error *err)
{
    if (!options || !out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_hub_new needs options and out");
    *out = NULL;
    /* Callers built against an older, shorter struct: missing fields read as zero. */
    ftrack_hub_options o;
    memset(&o, 0, sizeof(o));
    size_t n = options->size && options->size < sizeof(o) ? options->size : sizeof(o);
    memcpy(&o, options, n);
    ftrack_status st = validate_options(&o, err);
    if (st != FTRACK_OK)
        return st;
    ftrack_hub *hub = calloc(1, sizeof(*hub));
    if (!hub)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    hub->idle = true;
    st = fti_hub_parse_url(o.server_url, &hub->endpoint, err);
    if (st != FTRACK_OK) {
        free(hub);
        return st;
    }
    hub->server_url = fti_strdup(hub->endpoint.base_url);
    hub->api_user = fti_strdup(o.api_user);
    hub->api_key = fti_strdup(o.api_key);
    hub->ca_bundle = fti_strdup(o.ca_bundle);
    hub->headers = copy_headers(o.headers);
    apply_options(hub, &o);
    ftrack_uuid_hex(hub->id);
    if (gethostname(hub->hostname, sizeof(hub->hostname) - 1) != 0)
        fti_strlcpy(hub->hostname, "localhost", sizeof(hub->hostname));
    if (init_sync(hub) != FTRACK_OK || !hub->server_url || !hub->api_user || !hub->api_key ||
        (o.ca_bundle && !hub->ca_bundle) || !hub->headers ||
        fti_queue_create(hub, "hub", hub->wait_queue_max, &hub->default_queue) != FTRACK_OK) {
        ftrack_hub_free(hub);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    *out = hub;
    return FTRACK_OK;
}

const char *ftrack_hub_id(const ftrack_hub *hub)
{
    return hub ? hub->id : NULL;
}

void ftrack_hub_set_local_subscriptions(ftrack_hub *hub, bool local)
{
    if (!hub)
        return;
    pthread_mutex_lock(&hub->lock);
    hub->local_subscriptions = local;
    pthread_mutex_unlock(&hub->lock);
}

void ftrack_hub_set_outgoing(ftrack_hub *hub, ftrack_hub_outgoing_callback fn, void *user_data)
{
    if (!hub)
        return;
    pthread_mutex_lock(&hub->lock);
    hub->outgoing = fn;
    hub->outgoing_data = fn ? user_data : NULL;
    pthread_mutex_unlock(&hub->lock);
}

bool ftrack_hub_connected(const ftrack_hub *hub)
{
    if (!hub)
        return false;
    ftrack_hub *h = (ftrack_hub *)hub;
    pthread_mutex_lock(&h->lock);
    bool c = h->connected;
    pthread_mutex_unlock(&h->lock);
    return c;
}

ftrack_status ftrack_hub_connect(ftrack_hub *hub, ftrack_error *err)
{
    if (!hub)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_hub_connect needs a hub");
    pthread_mutex_lock(&hub->lock);
    ftrack_status st = fti_ensure_reply_subscriber_locked(hub);
    if (st == FTRACK_OK) {
        hub->initialised = true;
        hub->want_connected = true;
        hub->failures = 0;
    }
    pthread_mutex_unlock(&hub->lock);
    if (st != FTRACK_OK)
        return fti_error(err, st, "could not add the reply subscriber");
    st = fti_transport_start(hub, err);
    if (st != FTRACK_OK) {
        pthread_mutex_lock(&hub->lock);
        hub->initialised = false;
        hub->want_connected = false;
        pthread_mutex_unlock(&hub->lock);
        return st;
    }
    fti_transport_wake(hub);
    return FTRACK_OK;
}

static void deadline_to_timespec(double deadline, struct timespec *ts)
{
    double now = fti_now();
    struct timespec cur;
    clock_gettime(CLOCK_MONOTONIC, &cur);
    double d = deadline - now;
    if (d < 0)
        d = 0;
    if (d > 1e6)
        d = 1e6;
    time_t whole = (time_t)d; /* d >= 0: truncation is floor */
    ts->tv_sec = cur.tv_sec + whole;
    ts->tv_nsec = cur.tv_nsec + (long)((d - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

ftrack_status ftrack_hub_wait_connected(ftrack_hub *hub, double timeout, ftrack_error *err)
{
    if (!hub)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_hub_wait_connected needs a hub");
    double deadline = fti_now() + (timeout > 0 ? timeout : 0);
    ftrack_status st = FTRACK_OK;
    pthread_mutex_lock(&hub->lock);
    while (!hub->connected) {
        if (!hub->want_connected) {
            if (hub->last_error.code != FTRACK_OK) {
                if (err)
                    *err = hub->last_error;
                st = hub->last_error.code;
            } else {
                st = fti_error(err, FTRACK_ERR_NOT_CONNECTED,
                               "The event hub is not connecting (call ftrack_hub_connect first).");
            }
            break;
        }
        /* Waiting longer cannot fix refused credentials. */
        if (hub->failures > 0 && hub->last_error.code == FTRACK_ERR_AUTH) {
            if (err)
                *err = hub->last_error;
            st = FTRACK_ERR_AUTH;
            break;
        }
        if (fti_now() >= deadline) {
            if (hub->last_error.code != FTRACK_OK)
                st = fti_error(err, FTRACK_ERR_TIMEOUT,
                               "Not connected to the event server after %.1f s; last error: %s",
                               timeout, hub->last_error.message);
            else
                st = fti_error(err, FTRACK_ERR_TIMEOUT,
                               "Not connected to the event server after %.1f s.", timeout);
            break;
        }
        struct timespec ts;
        deadline_to_timespec(deadline, &ts);
        pthread_cond_timedwait(&hub->cond, &hub->lock, &ts);
    }
    pthread_mutex_unlock(&hub->lock);
    return st;
}

static void unsubscribe_all_locked(ftrack_hub *hub)
{
    fti_subset *set = hub->subs;
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        fti_sub *s = set->subs[i];
        if (hub->connected) {
            fti_frame *f = meta_frame_locked(hub, s, false);
            if (f)
                fti_frames_append(&hub->outbox, f);
        }
        atomic_store(&s->removed, true);
    }
    fti_subset *empty = calloc(1, sizeof(*empty));
    if (!empty)
        return; /* keep the old set; every member is marked removed */
    atomic_init(&empty->refs, 1);
    hub->subs = empty;
    fti_subset_release(set);
}

ftrack_status ftrack_hub_disconnect(ftrack_hub *hub, bool unsubscribe, ftrack_error *err)
{
    if (!hub)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_hub_disconnect needs a hub");
    pthread_mutex_lock(&hub->lock);
    bool was = hub->want_connected || !hub->idle;
    hub->want_connected = false;
    hub->initialised = false;
    if (unsubscribe)
        unsubscribe_all_locked(hub);
    if (hub->pending.n)
        ftrack_log(FTRACK_LOG_WARNING, "hub", "dropping %zu unsent event(s) on disconnect",
                   hub->pending.n);
    fti_ack_fail_frames_locked(hub, &hub->pending, "disconnected before the event was sent");
    fti_frames_clear(&hub->pending);
    pthread_mutex_unlock(&hub->lock);
    if (!was)
        return FTRACK_OK;
    fti_transport_interrupt(hub);
    double deadline = fti_now() + DISCONNECT_WAIT;
    pthread_mutex_lock(&hub->lock);
    while (!hub->idle && fti_now() < deadline) {
        struct timespec ts;
        deadline_to_timespec(deadline, &ts);
        pthread_cond_timedwait(&hub->cond, &hub->lock, &ts);
    }
    bool idle = hub->idle;
    pthread_mutex_unlock(&hub->lock);
    if (!idle)
        return fti_error(err, FTRACK_ERR_TIMEOUT,
                         "The event hub connection did not close in %.0f s.", DISCONNECT_WAIT);
    return FTRACK_OK;
}

void ftrack_hub_free(ftrack_hub *hub)
{
    if (!hub)
        return;
    if (hub->transport) {
        ftrack_hub_disconnect(hub, false, NULL);
        pthread_mutex_lock(&hub->lock);
        hub->destroying = true;
        pthread_mutex_unlock(&hub->lock);
        fti_transport_stop(hub);
    }
    hub->destroying = true;
    if (hub->replies)
        fti_reply_drop_all(hub, NULL);
    while (hub->queues) {
        ftrack_hub_queue *q = hub->queues;
        if (q == hub->default_queue) {
            hub->queues = q->next;
            q->detached = true;
            continue;
        }
        ftrack_hub_queue_free(q);
    }
    if (hub->subs) {
        pthread_mutex_lock(&hub->lock);
        unsubscribe_all_locked(hub);
        pthread_mutex_unlock(&hub->lock);
        fti_subset_release(hub->subs);
    }
    if (hub->default_queue) {
        ftrack_hub_queue_close(hub->default_queue);
        fti_queue_unref(hub->default_queue);
    }
    fti_frames_clear(&hub->pending);
    fti_frames_clear(&hub->outbox);
    if (hub->replies)
        lh_table_free(hub->replies);
    for (char **h = hub->headers; h && *h; h++)
        free(*h);
    free(hub->headers);
    fti_hub_endpoint_clear(&hub->endpoint);
    free(hub->server_url);
    free(hub->api_user);
    if (hub->api_key) {
        explicit_bzero(hub->api_key, strlen(hub->api_key));
        free(hub->api_key);
    }
    free(hub->ca_bundle);
    pthread_cond_destroy(&hub->cond);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

/* ---- subscribe ------------------------------------------------------------------------- */

static ftrack_status subscriber_metadata(json_object *given, json_object **out,
                                         char id[FTRACK_ID_MAX], ftrack_error *err)
{
    json_object *meta = NULL;
    if (given) {
        if (!json_object_is_type(given, json_type_object))
            return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                             "Subscriber metadata must be an object.");
        if (json_object_deep_copy(given, &meta, NULL) != 0)
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    } else {
        meta = json_object_new_object();
    }
    json_object *jid;
    if (json_object_object_get_ex(meta, "id", &jid) && !json_object_is_type(jid, json_type_null)) {
        if (!json_object_is_type(jid, json_type_string) || !*json_object_get_string(jid) ||
            strlen(json_object_get_string(jid)) >= FTRACK_ID_MAX) {
            json_object_put(meta);
            return fti_error(
                err, FTRACK_ERR_INVALID_ARGUMENT,
                "A subscriber id must be a non-empty string of fewer than %d characters.",
                FTRACK_ID_MAX);
        }
        fti_strlcpy(id, json_object_get_string(jid), FTRACK_ID_MAX);
    } else {
        char hex[33];
        ftrack_uuid_hex(hex);
        fti_strlcpy(id, hex, FTRACK_ID_MAX);
        json_object_object_add(meta, "id", json_object_new_string(hex));
    }
    *out = meta;
    return FTRACK_OK;
}

static fti_sub *sub_new(void)
{
    fti_sub *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    atomic_init(&s->removed, false);
    pthread_mutex_init(&s->meta_lock, NULL);
    return s;
}

ftrack_status fti_ensure_reply_subscriber_locked(ftrack_hub *hub)
{
    for (size_t i = 0; hub->subs && i < hub->subs->n; i++)
        if (hub->subs->subs[i]->internal_reply)
            return FTRACK_OK;
    fti_sub *s = sub_new();
    if (!s)
        return FTRACK_ERR_NO_MEMORY;
    s->metadata = json_object_new_object();
    json_object_object_add(s->metadata, "id", json_object_new_string(hub->id));
    fti_strlcpy(s->id, hub->id, sizeof(s->id));
    s->priority = 100;
    s->internal_reply = true;
    if (ftrack_expression_compile("topic=ftrack.meta.reply", &s->expr, NULL) != FTRACK_OK) {
        fti_sub_release(s);
        return FTRACK_ERR_INTERNAL;
    }
    /* A user subscriber may already use the hub id: then replies go through it (as Python's
     * NotUniqueError is ignored). */
    if (fti_subset_find_locked(hub, s->id)) {
        fti_sub_release(s);
        return FTRACK_OK;
    }
    ftrack_status st = fti_subset_add_locked(hub, s);
    if (st == FTRACK_OK && hub->connected) {
        fti_frame *f = fti_announce_frame_locked(hub, s);
        if (f)
            fti_frames_append(&hub->outbox, f);
    }
    fti_sub_release(s);
    return st;
}

ftrack_status ftrack_hub_subscribe(ftrack_hub *hub, const char *expression,
                                   ftrack_hub_callback callback, void *user_data,
                                   const ftrack_subscribe_options *options,
                                   char out_id[FTRACK_ID_MAX], ftrack_error *err)
{
    if (!hub || !expression || !callback)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_subscribe needs a hub, an expression and a callback");
    ftrack_subscribe_options o;
    ftrack_subscribe_options_init(&o);
    if (options) {
        size_t n = options->size && options->size < sizeof(o) ? options->size : sizeof(o);
        memcpy(&o, options, n);
    }
    fti_sub *s = sub_new();
    if (!s)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    ftrack_status st = ftrack_expression_compile(expression, &s->expr, err);
    if (st == FTRACK_OK)
        st = subscriber_metadata(o.subscriber, &s->metadata, s->id, err);
    if (st != FTRACK_OK) {
        fti_sub_release(s);
        return st;
    }
    s->priority = o.priority;
    s->ignore_own_user = o.ignore_own_user;
    s->callback = callback;
    s->user_data = user_data;
    s->queue = o.queue ? o.queue : fti_bound_queue(hub);
    atomic_fetch_add(&s->queue->refs, 1);
    pthread_mutex_lock(&hub->lock);
    if (fti_subset_find_locked(hub, s->id)) {
        pthread_mutex_unlock(&hub->lock);
        st = fti_error(err, FTRACK_ERR_EXISTS, "Subscriber with identifier %s already exists.",
                       s->id);
        fti_sub_release(s);
        return st;
    }
    st = fti_subset_add_locked(hub, s);
    bool wake = false;
    if (st == FTRACK_OK && hub->connected) {
        fti_frame *f = fti_announce_frame_locked(hub, s);
        if (f) {
            fti_frames_append(&hub->outbox, f);
            wake = true;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    if (st == FTRACK_OK && out_id)
        fti_strlcpy(out_id, s->id, FTRACK_ID_MAX);
    fti_sub_release(s);
    if (wake)
        fti_transport_wake(hub);
    return st == FTRACK_OK ? FTRACK_OK : fti_error(err, st, "out of memory");
}

ftrack_status ftrack_hub_unsubscribe(ftrack_hub *hub, const char *subscriber_id, ftrack_error *err)
{
    if (!hub || !subscriber_id)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_unsubscribe needs a hub and an id");
    pthread_mutex_lock(&hub->lock);
    fti_sub *s = fti_subset_find_locked(hub, subscriber_id);
    if (!s) {
        pthread_mutex_unlock(&hub->lock);
        return fti_error(err, FTRACK_ERR_NOT_FOUND,
                         "Cannot unsubscribe missing subscriber with identifier %s", subscriber_id);
    }
    atomic_fetch_add(&s->refs, 1);
    atomic_store(&s->removed, true);
    ftrack_status st = fti_subset_remove_locked(hub, s);
    bool wake = false;
    if (hub->connected) {
        fti_frame *f = meta_frame_locked(hub, s, false);
        if (f) {
            fti_frames_append(&hub->outbox, f);
            wake = true;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    fti_sub_release(s);
    if (wake)
        fti_transport_wake(hub);
    return st == FTRACK_OK ? FTRACK_OK : fti_error(err, st, "out of memory");
}

/* ---- publish ----------------------------------------------------------------------------- */

static ftrack_status publish_check_locked(ftrack_hub *hub, const char *event_id, bool with_reply,
                                          ftrack_error *err)
{
    if (!hub->initialised)
        return fti_error(err, FTRACK_ERR_NOT_CONNECTED,
                         "Cannot publish event asynchronously as not connected to server "
                         "(call ftrack_hub_connect first).");
    if (hub->pending.n + hub->outbox.n >= hub->publish_queue_max)
        return fti_error(
            err, FTRACK_ERR_QUEUE_FULL,
            "The event hub's publish queue is full (%zu events waiting for the server).",
            hub->pending.n + hub->outbox.n);
    void *found = NULL;
    if (with_reply && lh_table_lookup_ex(hub->replies, event_id, &found))
        return fti_error(err, FTRACK_ERR_EXISTS,
                         "A reply callback is already registered for event %s.", event_id);
    return FTRACK_OK;
}

/* Give an event's text (NULL: out of memory) to the outgoing hook. */
static ftrack_status hand_to_hook(ftrack_hub_outgoing_callback fn, void *ud, const char *json,
                                  size_t len, ftrack_error *err)
{
    if (!json)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    if (!fn(json, len, ud))
        return fti_error(err, FTRACK_ERR_NOT_CONNECTED,
                         "The outgoing hook could not take the event (its road is closed).");
    return FTRACK_OK;
}

/* The outgoing hook's road (ftrack_hub_set_outgoing): the hook takes the text; an on_ack
 * learns of the hand-off, an on_reply waits for its window to close (no reply comes back). */
static ftrack_status publish_outgoing(ftrack_hub *hub, ftrack_hub_outgoing_callback fn, void *ud,
                                      ftrack_event *event, const ftrack_publish_options *o,
                                      ftrack_hub_queue *rq, double window, ftrack_error *err)
{
    const char *eid = ftrack_event_id(event);
    size_t len;
    char *json = ftrack_event_serialize(event, &len);
    ftrack_status handed = hand_to_hook(fn, ud, json, len, err);
    ftrack_free(json);
    if (handed != FTRACK_OK || !rq)
        return handed;
    pthread_mutex_lock(&hub->lock);
    void *found = NULL; /* another thread may have published the same id meanwhile */
    ftrack_status st =
        lh_table_lookup_ex(hub->replies, eid, &found)
            ? FTRACK_ERR_EXISTS
            : fti_reply_register_locked(hub, eid, o->on_reply, o->on_ack, o->user_data, rq, window);
    if (st == FTRACK_OK)
        fti_reply_ack_locked(hub, eid, true, "handed to the outgoing hook");
    pthread_mutex_unlock(&hub->lock);
    if (st != FTRACK_OK) /* the event is gone: tell nobody but the log */
        ftrack_log_event(FTRACK_LOG_WARNING, "hub", eid, ftrack_event_topic(event),
                         "published, but its reply callbacks could not be registered");
    return FTRACK_OK;
}

/* Queue a frame (takes it) and unlock. The network thread is woken only when the outbox was
 * empty: otherwise a write pass is already due, and it drains the outbox to the end. */
static ftrack_status enqueue_frame_locked(ftrack_hub *hub, fti_frame *f)
{
    bool connected = hub->connected;
    bool wake = connected && hub->outbox.n == 0;
    fti_frames_append(connected ? &hub->outbox : &hub->pending, f);
    pthread_mutex_unlock(&hub->lock);
    if (wake)
        fti_transport_wake(hub);
    return FTRACK_OK;
}

ftrack_status fti_publish(ftrack_hub *hub, ftrack_event *event, const ftrack_publish_options *o,
                          bool want_ack, ftrack_error *err)
{
    ftrack_event_prepare_source(event, hub->id, hub->api_user, hub->hostname);
    bool track = o->on_reply || o->on_ack;
    ftrack_hub_queue *rq = track ? (o->queue ? o->queue : fti_bound_queue(hub)) : NULL;
    double rt = o->reply_timeout > 0 ? o->reply_timeout : hub->reply_timeout;
    const char *eid = ftrack_event_id(event);
    pthread_mutex_lock(&hub->lock);
    ftrack_hub_outgoing_callback out_fn = hub->outgoing;
    void *out_ud = hub->outgoing_data;
    void *found = NULL;
    if (out_fn && rq && lh_table_lookup_ex(hub->replies, eid, &found)) {
        pthread_mutex_unlock(&hub->lock);
        return fti_error(err, FTRACK_ERR_EXISTS,
                         "A reply callback is already registered for event %s.", eid);
    }
    if (out_fn) {
        pthread_mutex_unlock(&hub->lock);
        return publish_outgoing(hub, out_fn, out_ud, event, o, rq, rt, err);
    }
    ftrack_status st = publish_check_locked(hub, eid, rq != NULL, err);
    if (st != FTRACK_OK) {
        pthread_mutex_unlock(&hub->lock);
        return st;
    }
    fti_frame *f = NULL;
    if (!want_ack && !rq) {
        /* Nothing to assign or register (a callback's reply, the busiest road): build the
         * frame outside the lock, which the network thread takes for every frame it
         * receives and sends. */
        pthread_mutex_unlock(&hub->lock);
        f = frame_build(event, FTI_FRAME_EVENT, 0);
        pthread_mutex_lock(&hub->lock);
    } else {
        f = fti_frame_for_event_locked(hub, event, FTI_FRAME_EVENT, FTI_ACK_EVENT, NULL,
                                       want_ack || o->on_ack);
    }
    /* registered before the frame can leave, so the fastest reply finds it */
    if (f && rq)
        st = fti_reply_register_locked(hub, eid, o->on_reply, o->on_ack, o->user_data, rq, rt);
    if (!f || st != FTRACK_OK) {
        pthread_mutex_unlock(&hub->lock);
        fti_frame_free(f);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    return enqueue_frame_locked(hub, f);
}

ftrack_status fti_publish_pieces(ftrack_hub *hub, const fti_text_piece *pieces, size_t n,
                                 ftrack_error *err)
{
    pthread_mutex_lock(&hub->lock);
    ftrack_hub_outgoing_callback out_fn = hub->outgoing;
    void *out_ud = hub->outgoing_data;
    ftrack_status st = out_fn ? FTRACK_OK : publish_check_locked(hub, NULL, false, err);
    pthread_mutex_unlock(&hub->lock);
    if (st != FTRACK_OK)
        return st;
    if (out_fn) {
        size_t len;
        char *json = fti_sio_join(0, pieces, n, &len);
        st = hand_to_hook(out_fn, out_ud, json, len, err);
        free(json);
        return st;
    }
    /* framed outside the lock, as fti_publish frames a reply */
    fti_frame *f = calloc(1, sizeof(*f));
    if (f)
        f->buf = fti_sio_frame_event_pieces(LWS_PRE, 0, pieces, n, &f->len);
    if (!f || !f->buf) {
        free(f);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    f->kind = FTI_FRAME_EVENT;
    pthread_mutex_lock(&hub->lock);
    return enqueue_frame_locked(hub, f);
}

ftrack_status ftrack_hub_publish(ftrack_hub *hub, ftrack_event *event,
                                 const ftrack_publish_options *options, ftrack_error *err)
{
    if (!hub || !event)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_publish needs a hub and an event");
    ftrack_publish_options o;
    ftrack_publish_options_init(&o);
    if (options) {
        size_t n = options->size && options->size < sizeof(o) ? options->size : sizeof(o);
        memcpy(&o, options, n);
    }
    /* Always ask for the ack, as the Python client does: a refusal is then at least logged. */
    return fti_publish(hub, event, &o, true, err);
}

ftrack_status ftrack_hub_reply(ftrack_hub *hub, const ftrack_event *source_event, json_object *data,
                               json_object *source, ftrack_error *err)
{
    if (!hub || !source_event) {
        json_object_put(data);
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_reply needs a hub and an event");
    }
    ftrack_event *reply = ftrack_event_reply_new(source_event, data, source);
    if (!reply)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    ftrack_status st = ftrack_hub_publish(hub, reply, NULL, err);
    ftrack_event_free(reply);
    return st;
}

ftrack_status ftrack_hub_publish_local(ftrack_hub *hub, ftrack_event *event, json_object **results,
                                       ftrack_error *err)
{
    if (results)
        *results = NULL;
    if (!hub || !event)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_publish_local needs a hub and an event");
    ftrack_event_prepare_source(event, hub->id, hub->api_user, hub->hostname);
    json_object *arr = json_object_new_array();
    if (!arr)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    fti_dispatch(hub, NULL, event, NULL, arr, NULL);
    if (results)
        *results = arr;
    else
        json_object_put(arr);
    return FTRACK_OK;
}

ftrack_status ftrack_hub_deliver_local(ftrack_hub *hub, ftrack_event *event, ftrack_error *err)
{
    if (!hub || !event)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "ftrack_hub_deliver_local needs a hub and an event");
    ftrack_event_prepare_source(event, hub->id, hub->api_user, hub->hostname);
    size_t len;
    char *text = ftrack_event_serialize(event, &len);
    if (!text)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    fti_route(hub, ftrack_event_json(event), text, len, false);
    ftrack_free(text);
    return FTRACK_OK;
}
