/* SPDX-License-Identifier: Apache-2.0 */
/* A worker's wakeable inbox (inbox.h): an eventfd and two flags. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/internal.h"
#include "delivery/inbox.h"

ftrack_status fth_inbox_init(fth_inbox *inbox, ftrack_error *err)
{
    atomic_init(&inbox->pending, false);
    atomic_init(&inbox->sleeping, false);
    inbox->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (inbox->fd < 0)
        return fti_error(err, FTRACK_ERR_INTERNAL, "cannot make a worker's inbox (eventfd): %s",
                         strerror(errno));
    return FTRACK_OK;
}

void fth_inbox_clear(fth_inbox *inbox)
{
    if (inbox->fd >= 0)
        close(inbox->fd);
    inbox->fd = -1;
}

/* The store of `pending` comes before the load of `sleeping` (both sequentially consistent),
 * mirroring fth_inbox_wait: either the worker sees `pending`, or this sees `sleeping` and
 * writes the eventfd, whose count poll() then finds. */
void fth_inbox_wake(fth_inbox *inbox)
{
    atomic_store(&inbox->pending, true);
    if (!atomic_load(&inbox->sleeping))
        return;
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(inbox->fd, &one, sizeof(one));
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is full, so the worker is woken anyway */
}

void fth_inbox_wait(fth_inbox *inbox, double seconds)
{
    fth_inbox_wait_fd(inbox, -1, seconds);
}

void fth_inbox_wait_fd(fth_inbox *inbox, int fd, double seconds)
{
    atomic_store(&inbox->sleeping, true);
    if (!atomic_exchange(&inbox->pending, false)) {
        int ms = -1;
        if (seconds >= 0)
            ms = seconds > 3600 ? 3600000 : (int)(seconds * 1000.0 + 0.999); /* never early */
        /* poll() ignores an entry with a negative fd */
        struct pollfd p[2] = {{.fd = inbox->fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
        int rc;
        do
            rc = poll(p, 2, ms);
        while (rc < 0 && errno == EINTR);
        uint64_t count;
        while (read(inbox->fd, &count, sizeof(count)) > 0) {
        }
        /* Work that came before this point is seen by the worker's next look at its sources;
         * a wake after it sets `pending` again. */
        atomic_store(&inbox->pending, false);
    }
    atomic_store(&inbox->sleeping, false);
}
