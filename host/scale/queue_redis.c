/* SPDX-License-Identifier: Apache-2.0 */
/* A self-reconnecting hiredis connection (queue_redis.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/internal.h"
#include "ops/metrics.h"
#include "scale/queue_redis.h"

#define BACKOFF_MIN 0.2
#define BACKOFF_MAX 5.0
/* A command's answer takes no longer than this. A read sent with fth_redis_send is waited for
 * in poll() instead, with a deadline of its own (scale/queue_worker.c). */
#define IO_TIMEOUT_MS 5000
#define CONNECT_TIMEOUT_MS 2000

bool fth_redis_init(fth_redis *r, const char *address, const char *password, const char *who)
{
    memset(r, 0, sizeof(*r));
    r->who = who;
    r->backoff = BACKOFF_MIN;
    if (password)
        r->password = fti_strdup(password);
    if (strncmp(address, "unix:", 5) == 0) {
        r->unix_path = fti_strdup(address + 5);
        return r->unix_path && *r->unix_path;
    }
    const char *colon = strrchr(address, ':');
    if (!colon || colon == address)
        return false;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!end || *end || port <= 0 || port > 65535)
        return false;
    r->host = fti_strndup(address, (size_t)(colon - address));
    r->port = (int)port;
    return r->host != NULL;
}

void fth_redis_clear(fth_redis *r)
{
    if (r->ctx)
        redisFree(r->ctx);
    if (r->password) {
        explicit_bzero(r->password, strlen(r->password));
        free(r->password);
    }
    free(r->host);
    free(r->unix_path);
    memset(r, 0, sizeof(*r));
}

static const char *address_of(const fth_redis *r, char *buf, size_t size)
{
    if (r->unix_path)
        snprintf(buf, size, "unix:%s", r->unix_path);
    else
        snprintf(buf, size, "%s:%d", r->host, r->port);
    return buf;
}

void fth_redis_drop(fth_redis *r, const char *why)
{
    if (!r->ctx)
        return;
    char where[300];
    ftrack_log(FTRACK_LOG_WARNING, "queue",
               "%s: lost the connection to Redis at %s (%s); reconnecting", r->who,
               address_of(r, where, sizeof(where)), why);
    fth_metrics_global_add(FTH_GLOBAL_QUEUE_REDIS_DISCONNECTS, 1);
    redisFree(r->ctx);
    r->ctx = NULL;
    r->in_flight = false;
    r->down_logged = true; /* the loss was logged: the failed attempts that follow are not */
    r->next_attempt = fti_now();
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static bool authenticate(fth_redis *r)
{
    if (!r->password)
        return true;
    const char *argv[] = {"AUTH", r->password};
    redisReply *reply = redisCommandArgv(r->ctx, 2, argv, NULL);
    bool ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (!ok)
        ftrack_log(FTRACK_LOG_ERROR, "queue", "%s: Redis refused the password (AUTH failed)",
                   r->who);
    if (reply)
        freeReplyObject(reply);
    return ok;
}

/* CLIENT ID, so a blocked read on this connection can be ended by another (fth_redis_unblock). */
static long long client_id_of(redisContext *c)
{
    redisReply *reply = redisCommand(c, "CLIENT ID");
    long long id = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
    if (reply)
        freeReplyObject(reply);
    return id;
}

static bool connect_now(fth_redis *r)
{
    struct timeval ct = {CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000};
    redisContext *c = r->unix_path ? redisConnectUnixWithTimeout(r->unix_path, ct)
                                   : redisConnectWithTimeout(r->host, r->port, ct);
    char where[300];
    if (!c || c->err) {
        if (!r->down_logged)
            ftrack_log(FTRACK_LOG_WARNING, "queue",
                       "%s: cannot connect to Redis at %s (%s); retrying with backoff", r->who,
                       address_of(r, where, sizeof(where)), c ? c->errstr : "out of memory");
        r->down_logged = true;
        if (c)
            redisFree(c);
        return false;
    }
    struct timeval io = {IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000};
    redisSetTimeout(c, io);
    redisEnableKeepAlive(c);
    r->ctx = c;
    if (!authenticate(r)) {
        redisFree(r->ctx);
        r->ctx = NULL;
        return false;
    }
    r->client_id = client_id_of(c);
    r->in_flight = false;
    r->connections++;
    if (r->connections > 1) {
        r->reconnected = true;
        fth_metrics_global_add(FTH_GLOBAL_QUEUE_REDIS_RECONNECTS, 1);
        ftrack_log(FTRACK_LOG_INFO, "queue", "%s: reconnected to Redis at %s", r->who,
                   address_of(r, where, sizeof(where)));
    } else {
        ftrack_log(FTRACK_LOG_DEBUG, "queue", "%s: connected to Redis at %s", r->who,
                   address_of(r, where, sizeof(where)));
    }
    r->down_logged = false;
    r->backoff = BACKOFF_MIN;
    return true;
}

bool fth_redis_ready(fth_redis *r, atomic_bool *stop)
{
    if (r->ctx)
        return true;
    for (;;) {
        if (stop && atomic_load(stop))
            return false;
        double wait = r->next_attempt - fti_now();
        if (wait <= 0)
            break;
        sleep_seconds(wait < 0.1 ? wait : 0.1);
    }
    if (connect_now(r))
        return true;
    /* jitter in [0.8, 1.2) so a fleet of workers does not reconnect in step */
    double jitter = 0.8 + 0.4 * fti_random_unit();
    r->next_attempt = fti_now() + r->backoff * jitter;
    r->backoff = r->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : r->backoff * 2;
    return false;
}

redisReply *fth_redis_command(fth_redis *r, int argc, const char **argv, const size_t *argvlen)
{
    if (!r->ctx)
        return NULL;
    if (r->in_flight) {
        /* the answer would be the earlier command's: a caller's mistake, never silently */
        fth_redis_drop(r, "a command was sent while an answer was outstanding");
        return NULL;
    }
    redisReply *reply = redisCommandArgv(r->ctx, argc, argv, argvlen);
    if (!reply || r->ctx->err) {
        char why[160];
        snprintf(why, sizeof(why), "%s", r->ctx->errstr[0] ? r->ctx->errstr : "no reply");
        if (reply)
            freeReplyObject(reply);
        fth_redis_drop(r, why);
        return NULL;
    }
    return reply;
}

redisReply *fth_redis_commandv(fth_redis *r, int argc, const char **argv)
{
    return fth_redis_command(r, argc, argv, NULL);
}

bool fth_redis_take_reconnected(fth_redis *r)
{
    bool was = r->reconnected;
    r->reconnected = false;
    return was;
}

/* Drop with hiredis' reason (or `fallback`). */
static void drop_with_reason(fth_redis *r, const char *fallback)
{
    char why[160];
    snprintf(why, sizeof(why), "%s", r->ctx->errstr[0] ? r->ctx->errstr : fallback);
    fth_redis_drop(r, why);
}

bool fth_redis_send(fth_redis *r, int argc, const char **argv)
{
    if (!r->ctx || r->in_flight)
        return false;
    if (redisAppendCommandArgv(r->ctx, argc, argv, NULL) != REDIS_OK) {
        drop_with_reason(r, "cannot send");
        return false;
    }
    /* The socket blocks (up to IO_TIMEOUT_MS) only while the kernel's send buffer is full. */
    int done = 0;
    while (!done)
        if (redisBufferWrite(r->ctx, &done) != REDIS_OK) {
            drop_with_reason(r, "cannot send");
            return false;
        }
    r->in_flight = true;
    return true;
}

/* A whole answer already read, or none (*out NULL). False on a protocol error (dropped). */
static bool answer_in_buffer(fth_redis *r, redisReply **out)
{
    void *reply = NULL;
    if (redisGetReplyFromReader(r->ctx, &reply) != REDIS_OK) {
        drop_with_reason(r, "protocol error");
        return false;
    }
    *out = reply;
    return true;
}

static bool fd_ready(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    do
        rc = poll(&p, 1, ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0;
}

fth_redis_answer fth_redis_take_answer(fth_redis *r, redisReply **out)
{
    *out = NULL;
    if (!r->ctx || !r->in_flight)
        return FTH_REDIS_LOST;
    if (!answer_in_buffer(r, out))
        return FTH_REDIS_LOST;
    /* a large answer comes in several reads: take what is there, without sleeping */
    while (!*out) {
        if (!fd_ready(r->ctx->fd, 0))
            return FTH_REDIS_WAITING;
        /* readable: read() returns at once (data, end of file or an error) */
        if (redisBufferRead(r->ctx) != REDIS_OK) {
            drop_with_reason(r, "read failed");
            return FTH_REDIS_LOST;
        }
        if (!answer_in_buffer(r, out))
            return FTH_REDIS_LOST;
    }
    r->in_flight = false;
    return FTH_REDIS_ANSWERED;
}

fth_redis_answer fth_redis_await_answer(fth_redis *r, double seconds, redisReply **out)
{
    double until = fti_now() + seconds;
    for (;;) {
        fth_redis_answer a = fth_redis_take_answer(r, out);
        if (a != FTH_REDIS_WAITING)
            return a;
        double left = until - fti_now();
        if (left <= 0)
            return FTH_REDIS_WAITING;
        fd_ready(r->ctx->fd, (int)(left * 1000.0 + 0.999));
    }
}

bool fth_redis_awaiting(const fth_redis *r)
{
    return r->ctx && r->in_flight;
}

int fth_redis_fd(const fth_redis *r)
{
    return r->ctx ? r->ctx->fd : -1;
}

double fth_redis_retry_in(const fth_redis *r)
{
    if (r->ctx)
        return 0;
    double wait = r->next_attempt - fti_now();
    return wait > 0 ? wait : 0;
}

bool fth_redis_unblock(fth_redis *r)
{
    if (!r->ctx || r->client_id <= 0)
        return false;
    /* the same address and password, a connection of its own (borrowing the strings) */
    fth_redis side = *r;
    side.ctx = NULL;
    side.connections = 0;
    side.down_logged = true; /* the caller logs a failure */
    if (!connect_now(&side))
        return false;
    char id[32];
    snprintf(id, sizeof(id), "%lld", r->client_id);
    redisReply *reply = redisCommand(side.ctx, "CLIENT UNBLOCK %s", id);
    bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
    if (reply)
        freeReplyObject(reply);
    redisFree(side.ctx);
    return ok;
}
