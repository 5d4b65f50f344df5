/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_QUEUE_REDIS_H
#define FTH_QUEUE_REDIS_H
/*
 * One synchronous Redis connection (hiredis) that reconnects by itself with jittered
 * exponential backoff (0.2 s doubling to 5 s). Used by the queue mode (queue_mode.h): each
 * consumer and the ingest own one; a connection is used by one thread only.
 *
 * A command that fails at the connection level drops the connection (logged once, counted in
 * ftrack_host_queue_redis_disconnects_total); the next fth_redis_ready() reconnects.
 *
 * A command may also be sent without waiting for its answer (fth_redis_send), for a read that
 * blocks in Redis while the thread sleeps on the connection's descriptor and other things at
 * once (scale/queue_worker.c); until its answer is taken no other command may be sent.
 *
 * Ownership. The struct owns its context and strings; replies returned are the caller's
 * (freeReplyObject).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <hiredis/hiredis.h>
#include <ftrack/common.h>

typedef struct fth_redis {
    redisContext *ctx;
    char *host; /* NULL with a unix socket */
    int port;
    char *unix_path;
    char *password;  /* for AUTH, or NULL (wiped at free) */
    const char *who; /* log tag: "ingest" or the instance name (borrowed) */
    double backoff;
    double next_attempt;
    unsigned long connections;
    long long client_id; /* this connection's CLIENT ID (for CLIENT UNBLOCK), 0: unknown */
    bool down_logged;
    bool reconnected; /* a connection after a lost one, not yet taken */
    bool in_flight;   /* a command was sent (fth_redis_send) and its answer not yet taken */
} fth_redis;

typedef enum fth_redis_answer {
    FTH_REDIS_ANSWERED, /* the answer is in *out (the caller's, freeReplyObject) */
    FTH_REDIS_WAITING,  /* not all of it arrived yet: wait on fth_redis_fd() */
    FTH_REDIS_LOST,     /* the connection failed (it is dropped) */
} fth_redis_answer;

/* Parse "HOST:PORT" or "unix:/path" (copied). False when it does not parse. */
bool fth_redis_init(fth_redis *r, const char *address, const char *password, const char *who);
void fth_redis_clear(fth_redis *r);
/* Connected, or connect now if the backoff allows, else sleep (in steps of at most 0.1 s,
 * checking *stop) until it does. Returns false when *stop became true first or this attempt
 * failed (call again). */
bool fth_redis_ready(fth_redis *r, atomic_bool *stop);
/* Run one command. NULL when the connection failed (it is then dropped); an error reply
 * (REDIS_REPLY_ERROR) is returned as a reply. */
redisReply *fth_redis_command(fth_redis *r, int argc, const char **argv, const size_t *argvlen);
/* As fth_redis_command with NUL-terminated arguments. */
redisReply *fth_redis_commandv(fth_redis *r, int argc, const char **argv);
/* Send one command and return without its answer (take it with fth_redis_take_answer). False
 * when the connection failed (it is then dropped). */
bool fth_redis_send(fth_redis *r, int argc, const char **argv);
/* The answer to what fth_redis_send sent, reading what the connection holds without
 * blocking. */
fth_redis_answer fth_redis_take_answer(fth_redis *r, redisReply **out);
/* As fth_redis_take_answer, waiting up to `seconds` for it (FTH_REDIS_WAITING: not in that
 * time). */
fth_redis_answer fth_redis_await_answer(fth_redis *r, double seconds, redisReply **out);
/* True while an answer to fth_redis_send is outstanding on a live connection. */
bool fth_redis_awaiting(const fth_redis *r);
/* The connection's descriptor (to poll for an answer), or -1 when not connected. */
int fth_redis_fd(const fth_redis *r);
/* Seconds until the backoff allows the next connection attempt (0: now; connected: 0). */
double fth_redis_retry_in(const fth_redis *r);
/* End the blocked command of this connection at once (XREADGROUP ... BLOCK answers as if its
 * time ran out), through CLIENT UNBLOCK on a short second connection. True when Redis took the
 * request (a command Redis has not blocked yet is not ended: wait for its answer and ask
 * again); false when it could not be asked (no client id, Redis unreachable, or the ACL
 * forbids it). */
bool fth_redis_unblock(fth_redis *r);
/* Drop the connection (after a protocol surprise). */
void fth_redis_drop(fth_redis *r, const char *why);
/* True once a connection was lost and made again since the last call (the caller then
 * re-reads what the connection may have lost). */
bool fth_redis_take_reconnected(fth_redis *r);
#endif
