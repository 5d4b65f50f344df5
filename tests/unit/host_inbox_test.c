/* SPDX-License-Identifier: Apache-2.0 */
/* A worker's wakeable inbox (host/delivery/inbox.h) and the one worker loop over a delivery
 * strategy (host/delivery/strategy.h): a wake before the wait is not lost, a wait ends at its timer
 * or at a wake from another thread, and the loop sleeps only when its strategy is idle, also on the
 * strategy's own descriptor when it has one. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "delivery/inbox.h"
#include "delivery/strategy.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_wake_before_wait(void **state)
{
    (void)state;
    fth_inbox inbox;
    ftrack_error err;
    ftrack_error_clear(&err);
    assert_int_equal(fth_inbox_init(&inbox, &err), FTRACK_OK);
    assert_string_equal(err.message, "");
    fth_inbox_wake(&inbox);
    double t0 = now();
    fth_inbox_wait(&inbox, 10); /* the wake came first: no sleep */
    assert_true(now() - t0 < 5);
    t0 = now();
    fth_inbox_wait(&inbox, 0.1); /* nothing since: sleeps its timer out */
    assert_true(now() - t0 >= 0.1);
    fth_inbox_clear(&inbox);
}

static void *wake_later(void *arg)
{
    usleep(100000);
    fth_inbox_wake(arg);
    return NULL;
}

static void test_wake_from_another_thread(void **state)
{
    (void)state;
    fth_inbox inbox;
    assert_int_equal(fth_inbox_init(&inbox, NULL), FTRACK_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wake_later, &inbox), 0);
    double t0 = now();
    fth_inbox_wait(&inbox, -1); /* no timer: only the wake ends it */
    double took = now() - t0;
    pthread_join(t, NULL);
    assert_true(took < 30);
    fth_inbox_clear(&inbox);
}

static void *write_later(void *arg)
{
    usleep(100000);
    char byte = 'x';
    ssize_t n = write(*(int *)arg, &byte, 1);
    (void)n;
    return NULL;
}

/* A wait on the inbox and a descriptor ends when the descriptor becomes readable (no wake,
 * no timer), and at once while it stays readable; a wake still ends it. */
static void test_wait_on_a_descriptor(void **state)
{
    (void)state;
    fth_inbox inbox;
    assert_int_equal(fth_inbox_init(&inbox, NULL), FTRACK_OK);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_later, &fds[1]), 0);
    double t0 = now();
    fth_inbox_wait_fd(&inbox, fds[0], -1); /* only the byte ends it */
    double took = now() - t0;
    pthread_join(t, NULL);
    assert_true(took >= 0.05 && took < 30);
    t0 = now();
    fth_inbox_wait_fd(&inbox, fds[0], 10); /* still readable: no sleep */
    assert_true(now() - t0 < 5);
    char byte;
    assert_int_equal(read(fds[0], &byte, 1), 1);
    assert_int_equal(pthread_create(&t, NULL, wake_later, &inbox), 0);
    t0 = now();
    fth_inbox_wait_fd(&inbox, fds[0], -1); /* nothing to read: the wake ends it */
    took = now() - t0;
    pthread_join(t, NULL);
    assert_true(took < 30);
    t0 = now();
    fth_inbox_wait_fd(&inbox, -1, 0.1); /* no descriptor: as fth_inbox_wait */
    assert_true(now() - t0 >= 0.1);
    close(fds[0]);
    close(fds[1]);
    fth_inbox_clear(&inbox);
}

/* A strategy with `work` items, fed by another thread after the loop has gone idle. */
typedef struct fake {
    pthread_mutex_t lock;
    int work, done, idles, started, finished;
    _Bool stop;
    fth_inbox *inbox;
} fake;

static ftrack_status fake_start(void *impl, ftrack_error *err)
{
    (void)err;
    ((fake *)impl)->started++;
    return FTRACK_OK;
}

static fth_step fake_step(void *impl, fth_deliver_fn deliver, void *ctx, double *wait)
{
    fake *f = impl;
    pthread_mutex_lock(&f->lock);
    fth_step s = FTH_STEP_IDLE;
    if (f->work > 0) {
        f->work--;
        s = FTH_STEP_WORKED;
    } else if (f->stop) {
        s = FTH_STEP_DONE;
    } else {
        f->idles++;
    }
    pthread_mutex_unlock(&f->lock);
    if (s == FTH_STEP_WORKED)
        deliver(ctx, "{}", 2, NULL, NULL);
    *wait = -1; /* no timers: only wakes */
    return s;
}

static void fake_finish(void *impl)
{
    ((fake *)impl)->finished++;
}

static void count_delivery(void *ctx, const char *text, size_t len, const ftrack_hub_match *match,
                           ftrack_delivery *d)
{
    (void)text;
    (void)len;
    (void)match;
    (void)d;
    fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    f->done++;
    pthread_mutex_unlock(&f->lock);
}

static void *feed(void *arg)
{
    fake *f = arg;
    usleep(50000);
    pthread_mutex_lock(&f->lock);
    f->work += 3;
    pthread_mutex_unlock(&f->lock);
    fth_inbox_wake(f->inbox);
    usleep(50000);
    pthread_mutex_lock(&f->lock);
    f->stop = 1;
    pthread_mutex_unlock(&f->lock);
    fth_inbox_wake(f->inbox);
    return NULL;
}

static void test_worker_loop(void **state)
{
    (void)state;
    fth_inbox inbox;
    assert_int_equal(fth_inbox_init(&inbox, NULL), FTRACK_OK);
    fake f = {.work = 2, .inbox = &inbox};
    pthread_mutex_init(&f.lock, NULL);
    static const fth_delivery_ops ops = {"fake", fake_start, fake_step, fake_finish, NULL};
    fth_delivery d = {&ops, &f};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
    assert_int_equal(fth_delivery_run(&d, &inbox, count_delivery, &f, NULL), FTRACK_OK);
    pthread_join(t, NULL);
    assert_int_equal(f.started, 1);
    assert_int_equal(f.finished, 1);
    assert_int_equal(f.done, 5);
    /* Idle only between the bursts (a wake that came while busy may add one look): a loop
     * that polled would have looked far more often in 100 ms. */
    assert_in_range(f.idles, 1, 4);
    pthread_mutex_destroy(&f.lock);
    fth_inbox_clear(&inbox);
}

/* A strategy whose work arrives on a descriptor (as the Redis strategy's): idle until a byte
 * comes, then done. Nothing wakes the inbox: the loop must sleep on the descriptor too. */
typedef struct socket_fake {
    int fd;
    int idles;
} socket_fake;

static fth_step socket_step(void *impl, fth_deliver_fn deliver, void *ctx, double *wait)
{
    (void)deliver;
    (void)ctx;
    socket_fake *f = impl;
    char byte;
    if (read(f->fd, &byte, 1) == 1)
        return FTH_STEP_DONE;
    f->idles++;
    *wait = 5; /* a loop deaf to the descriptor would look again only after this */
    return FTH_STEP_IDLE;
}

static int socket_wait_fd(void *impl)
{
    return ((socket_fake *)impl)->fd;
}

static void test_worker_loop_on_a_descriptor(void **state)
{
    (void)state;
    fth_inbox inbox;
    assert_int_equal(fth_inbox_init(&inbox, NULL), FTRACK_OK);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    socket_fake f = {.fd = fds[0]};
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    static const fth_delivery_ops ops = {"socket", NULL, socket_step, NULL, socket_wait_fd};
    fth_delivery d = {&ops, &f};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_later, &fds[1]), 0);
    double t0 = now();
    assert_int_equal(fth_delivery_run(&d, &inbox, count_delivery, NULL, NULL), FTRACK_OK);
    double took = now() - t0;
    pthread_join(t, NULL);
    assert_int_equal(f.idles, 1);
    assert_true(took < 2.5); /* the byte (after 0.1 s) ended the sleep, not its 5 s timer */
    close(fds[0]);
    close(fds[1]);
    fth_inbox_clear(&inbox);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wake_before_wait),
        cmocka_unit_test(test_wake_from_another_thread),
        cmocka_unit_test(test_wait_on_a_descriptor),
        cmocka_unit_test(test_worker_loop),
        cmocka_unit_test(test_worker_loop_on_a_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
