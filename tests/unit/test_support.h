/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_TEST_SUPPORT_H
#define FTRACK_TEST_SUPPORT_H
/* Small fixtures shared by unit tests: ASSERT_OK for calls that return an ftrack_status,
 * saving a set of environment variables (and unsetting them, so a test sees only what it sets)
 * and putting them back afterwards, and recording the first of a worker thread's failures,
 * since cmocka's assertions may only run on the test's own thread. They were copied into
 * several test files; static inline so a test includes this header and links nothing more. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fails the test, naming the call, its error and its status, unless `call` returns FTRACK_OK.
 * Calls in ASSERT_OK pass E (&e_) as their error. Needs <cmocka.h> and <ftrack/ftrack.h>. */
#define ASSERT_OK(call)                                                                            \
    do {                                                                                           \
        ftrack_error e_;                                                                           \
        ftrack_error_clear(&e_);                                                                   \
        ftrack_status s_ = (call);                                                                 \
        if (s_ != FTRACK_OK)                                                                       \
            fail_msg("%s failed: %s (%s)", #call, e_.message, ftrack_strerror(s_));                \
    } while (0)
#define E (&e_)

/* Saves each of names[0..n) into saved[] (a copy, or NULL when unset) and unsets it. */
static inline void test_env_save(const char *const *names, size_t n, char **saved)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = getenv(names[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(names[i]);
    }
}

/* Puts back what test_env_save() saved, and frees the copies. */
static inline void test_env_restore(const char *const *names, size_t n, char **saved)
{
    for (size_t i = 0; i < n; i++) {
        if (saved[i])
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
        free(saved[i]);
        saved[i] = NULL;
    }
}

/* A worker thread's failures: how many, and the message of the first. */
typedef struct test_failures {
    int count;
    char why[256];
} test_failures;

static inline void test_failure_note(test_failures *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void test_failure_note(test_failures *f, const char *fmt, ...)
{
    if (f->count++)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof(f->why), fmt, ap);
    va_end(ap);
}

#endif
