/* SPDX-License-Identifier: Apache-2.0 */
/* Random bytes and the ids made from them (internal.h): every random id, key, mask and jitter
 * of the SDK, the host and the embedded hub comes from here, from the kernel's CSPRNG, and
 * fails one way: a process that cannot get random bytes stops (abort), because there is
 * nothing safe to hand out instead. Nothing falls back to the C library's predictable
 * generator (tests/integration/test_banned_calls.sh bans it). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/internal.h"

static const char hex_digits[] = "0123456789abcdef";

void fti_random_bytes(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) { /* interrupted or short only for large n: take what came, ask again */
        ssize_t r = getrandom((char *)buf + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
        } else if (r < 0 && errno != EINTR) {
            fprintf(stderr, "ftrack: no random bytes from the kernel (%s): stopping\n",
                    strerror(errno));
            abort();
        }
    }
}

/* Ids come in batches: one getrandom() per 16 ids instead of one per id (an event and its
 * reply each need one). Per thread, so no lock; a forked child drops what it inherited, or
 * parent and child would hand out the same ids. */
#define UUID_BATCH 16
static __thread struct {
    unsigned char bytes[16 * UUID_BATCH];
    size_t used; /* 0 < used <= sizeof(bytes) once filled; 0 means empty */
    unsigned generation;
} tl_ids;
static atomic_uint fork_generation;

static void ids_after_fork(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void ids_register_fork(void)
{
    pthread_atfork(NULL, NULL, ids_after_fork);
}

/* 16 random bytes marked as a version 4, RFC 4122 variant uuid. */
static void uuid_bytes(unsigned char b[16])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ids_register_fork);
    unsigned gen = atomic_load_explicit(&fork_generation, memory_order_relaxed);
    if (tl_ids.generation != gen || tl_ids.used == 0 || tl_ids.used >= sizeof(tl_ids.bytes)) {
        fti_random_bytes(tl_ids.bytes, sizeof(tl_ids.bytes));
        tl_ids.used = 0;
        tl_ids.generation = gen;
    }
    memcpy(b, tl_ids.bytes + tl_ids.used, 16);
    tl_ids.used += 16;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[b[i] >> 4];
        out[2 * i + 1] = hex_digits[b[i] & 0x0f];
    }
}

void fti_uuid_hex(char out[33])
{
    unsigned char b[16];
    uuid_bytes(b);
    to_hex(b, 16, out);
    out[32] = '\0';
}

void fti_uuid_dashed(char out[37])
{
    unsigned char b[16];
    uuid_bytes(b);
    /* 8-4-4-4-12 */
    static const size_t group_end[] = {4, 6, 8, 10, 16};
    size_t at = 0, from = 0;
    for (size_t g = 0; g < 5; g++) {
        if (g)
            out[at++] = '-';
        to_hex(b + from, group_end[g] - from, out + at);
        at += 2 * (group_end[g] - from);
        from = group_end[g];
    }
    out[36] = '\0';
}

void fti_random_hex(char *out, size_t hex_chars)
{
    unsigned char bytes[64];
    size_t n = (hex_chars + 1) / 2;
    if (n > sizeof(bytes))
        n = sizeof(bytes);
    fti_random_bytes(bytes, n);
    size_t i = 0;
    for (; i < hex_chars && i / 2 < n; i++)
        out[i] = hex_digits[(i % 2 == 0) ? bytes[i / 2] >> 4 : bytes[i / 2] & 0x0F];
    out[i] = '\0';
}

double fti_random_unit(void)
{
    unsigned char b[4];
    fti_random_bytes(b, sizeof(b));
    unsigned long r = (unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 |
                      (unsigned long)b[2] << 8 | b[3];
    return (double)r / 4294967296.0;
}
