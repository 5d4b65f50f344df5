/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftrack/version.h>
#include "common/internal.h"

const char *ftrack_strerror(ftrack_status status)
{
    switch (status) {
    case FTRACK_OK: return "success";
    case FTRACK_ERR_INVALID_ARGUMENT: return "invalid argument";
    case FTRACK_ERR_NO_MEMORY: return "out of memory";
    case FTRACK_ERR_CONFIG: return "configuration error";
    case FTRACK_ERR_CLOSED: return "connection closed";
    case FTRACK_ERR_NETWORK: return "network error";
    case FTRACK_ERR_TIMEOUT: return "timed out";
    case FTRACK_ERR_AUTH: return "authentication failed";
    case FTRACK_ERR_SERVER: return "server error";
    case FTRACK_ERR_BAD_RESPONSE: return "unreadable server response";
    case FTRACK_ERR_COMPATIBILITY: return "server not compatible";
    case FTRACK_ERR_PARSE: return "parse error";
    case FTRACK_ERR_NOT_FOUND: return "not found";
    case FTRACK_ERR_EXISTS: return "already exists";
    case FTRACK_ERR_NOT_CONNECTED: return "not connected";
    case FTRACK_ERR_QUEUE_FULL: return "queue full";
    case FTRACK_ERR_PLUGIN: return "plugin error";
    case FTRACK_ERR_IO: return "input/output error";
    case FTRACK_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

void ftrack_error_clear(ftrack_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof(*err));
    err->position = -1;
}

const char *ftrack_version(void)
{
    return FTRACK_VERSION_STRING;
}

void ftrack_free(void *ptr)
{
    free(ptr);
}
