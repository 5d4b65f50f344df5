/* SPDX-License-Identifier: Apache-2.0 */
/* The hub client's options and lifecycle: ftrack_hub_new, connect, wait, disconnect and free.
 * The rest of the public API lives beside it: subscribe.c, publish.c, and frames.c for the
 * frames those queue for the service thread (transport.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "common/netenv.h"
#include "hub/hub_internal.h"

#define DEFAULT_QUEUE_MAX 10000
#define DISCONNECT_WAIT 5.0

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
    pthread_rwlock_init(&hub->intake_lock, NULL);
    pthread_cond_init(&hub->cond, &ca);
    pthread_condattr_destroy(&ca);
    hub->replies = lh_kchar_table_new(64, NULL);
    hub->ack_cap = FTI_HUB_ACK_RING;
    hub->acks = calloc(hub->ack_cap, sizeof(*hub->acks));
    return hub->replies && hub->acks ? FTRACK_OK : FTRACK_ERR_NO_MEMORY;
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
    hub->ca_bundle = fti_strdup(fti_ca_file(o.ca_bundle));
    hub->headers = copy_headers(o.headers);
    apply_options(hub, &o);
    if (hub->insecure)
        ftrack_log(FTRACK_LOG_WARNING, "hub",
                   "certificate verification is OFF for the event server at %s "
                   "(insecure_skip_verify): anyone on the path can read and change the traffic",
                   hub->server_url ? hub->server_url : "?");
    ftrack_uuid_hex(hub->id);
    if (gethostname(hub->hostname, sizeof(hub->hostname) - 1) != 0)
        fti_strlcpy(hub->hostname, "localhost", sizeof(hub->hostname));
    if (init_sync(hub) != FTRACK_OK || !hub->server_url || !hub->api_user || !hub->api_key ||
        (fti_ca_file(o.ca_bundle) && !hub->ca_bundle) || !hub->headers ||
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

/* Waits on hub->cond: frames.c broadcasts when an ack record settles while flush_waiters is
 * set, the transport on every connection change. */
ftrack_status ftrack_hub_flush(ftrack_hub *hub, double timeout, ftrack_error *err)
{
    if (!hub)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "ftrack_hub_flush needs a hub");
    double deadline = fti_now() + (timeout > 0 ? timeout : 0);
    ftrack_status st = FTRACK_OK;
    pthread_mutex_lock(&hub->lock);
    unsigned long upto = hub->ack_counter;
    unsigned long connection = hub->connections;
    hub->flush_waiters++;
    for (;;) {
        if (!hub->connected || hub->connections != connection) {
            st = fti_error(err, FTRACK_ERR_NOT_CONNECTED,
                           "The event hub is not connected: nothing sent can be acknowledged.");
            break;
        }
        if (!fti_acks_awaited_locked(hub, upto))
            break;
        if (fti_now() >= deadline) {
            st = fti_error(err, FTRACK_ERR_TIMEOUT,
                           "The event server did not acknowledge every frame within %.1f s.",
                           timeout);
            break;
        }
        struct timespec ts;
        deadline_to_timespec(deadline, &ts);
        pthread_cond_timedwait(&hub->cond, &hub->lock, &ts);
    }
    hub->flush_waiters--;
    pthread_mutex_unlock(&hub->lock);
    return st;
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
        fti_unsubscribe_all_locked(hub);
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
        fti_unsubscribe_all_locked(hub);
        pthread_mutex_unlock(&hub->lock);
        fti_subset_release(hub->subs);
    }
    if (hub->default_queue) {
        ftrack_hub_queue_close(hub->default_queue);
        fti_queue_drop(hub->default_queue);
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
    free(hub->acks);
    pthread_cond_destroy(&hub->cond);
    pthread_mutex_destroy(&hub->lock);
    pthread_rwlock_destroy(&hub->intake_lock);
    free(hub);
}
