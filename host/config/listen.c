/* SPDX-License-Identifier: Apache-2.0 */
/* HOST:PORT values of --listen, --health-listen and their configuration keys (listen.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "config/listen.h"

bool fth_parse_listen(const char *text, char **host, int *port)
{
    *host = NULL;
    const char *colon;
    const char *host_start = text, *host_end;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return false;
        host_start = text + 1;
        host_end = close;
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return false;
        host_end = colon;
    }
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || !end || *end || end == colon + 1 || p < 0 || p > 65535)
        return false;
    *port = (int)p;
    if (host_end > host_start) {
        *host = fti_strndup(host_start, (size_t)(host_end - host_start));
        if (!*host)
            return false;
    }
    return true;
}
