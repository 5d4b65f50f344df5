/* SPDX-License-Identifier: Apache-2.0 */
/* The isolated-plugin line protocol's I/O (isolation.h): one JSON message per line over the
 * socket between the host and a child, read with a bounded buffer and a timeout, written with a
 * deadline. Shared by both sides (isolation.c, child.c). */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "isolation/isolation.h"

void fth_lines_init(fth_lines *l, int fd)
{
    memset(l, 0, sizeof(*l));
    l->fd = fd;
}

void fth_lines_clear(fth_lines *l)
{
    free(l->buf);
    memset(l, 0, sizeof(*l));
    l->fd = -1;
}

static char *take_line(fth_lines *l)
{
    char *nl = l->len ? memchr(l->buf, '\n', l->len) : NULL;
    if (!nl)
        return NULL;
    size_t n = (size_t)(nl - l->buf);
    char *line = fti_strndup(l->buf, n);
    memmove(l->buf, nl + 1, l->len - n - 1);
    l->len -= n + 1;
    return line;
}

char *fth_lines_read(fth_lines *l, double timeout, bool *eof)
{
    *eof = false;
    double until = timeout < 0 ? INFINITY : fti_now() + timeout;
    for (;;) {
        char *line = take_line(l);
        if (line)
            return line;
        if (l->len >= FTH_LINE_MAX) {
            *eof = true; /* a peer that sends a line this long is broken */
            return NULL;
        }
        double left = until - fti_now();
        if (left <= 0)
            return NULL;
        struct pollfd p = {l->fd, POLLIN, 0};
        int ms = isinf(left) ? -1 : (int)(left * 1000) + 1;
        int rc = poll(&p, 1, ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            *eof = true;
            return NULL;
        }
        if (rc == 0)
            continue;
        if (!fti_array_reserve(&l->buf, &l->cap, l->len + 65536, 1)) {
            *eof = true;
            return NULL;
        }
        ssize_t n = read(l->fd, l->buf + l->len, l->cap - l->len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            *eof = true;
            return NULL;
        }
        l->len += (size_t)n;
    }
}

/* Send all of buf by `until`; false with errno ETIMEDOUT when the peer does not take it. */
static bool send_until(int fd, const char *p, size_t left, double until)
{
    while (left) {
        ssize_t n = send(fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            left -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            return false;
        double wait = until - fti_now();
        if (wait <= 0) {
            errno = ETIMEDOUT;
            return false;
        }
        struct pollfd pfd = {fd, POLLOUT, 0};
        if (poll(&pfd, 1, isinf(wait) ? -1 : (int)(wait * 1000) + 1) < 0 && errno != EINTR)
            return false;
    }
    return true;
}

bool fth_lines_write_until(int fd, json_object *message, double until)
{
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        message, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    char *line = text ? malloc(len + 1) : NULL;
    if (!line)
        return false;
    memcpy(line, text, len);
    line[len] = '\n';
    bool ok = send_until(fd, line, len + 1, until);
    int saved = errno;
    free(line);
    errno = saved;
    return ok;
}

bool fth_lines_write(int fd, json_object *message)
{
    return fth_lines_write_until(fd, message, INFINITY);
}
