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
    bool down_logged;
    bool reconnected; /* a connection after a lost one, not yet taken */
} fth_redis;

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
/* Drop the connection (after a protocol surprise). */
void fth_redis_drop(fth_redis *r, const char *why);
/* True once a connection was lost and made again since the last call (the caller then
 * re-reads what the connection may have lost). */
bool fth_redis_take_reconnected(fth_redis *r);
#endif
