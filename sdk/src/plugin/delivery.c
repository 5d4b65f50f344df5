/* ftrack_delivery_fail (ftrack/hub.h): how a C callback reports that it could not handle its
 * event. The host owns the outcome record and reads it after the dispatch. */
#include <stdarg.h>
#include <stdio.h>

#include <ftrack/hub.h>
#include "common/internal.h"

void ftrack_delivery_fail(const ftrack_delivery *delivery, const char *fmt, ...)
{
    char message[FTRACK_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt ? fmt : "failed", ap);
    va_end(ap);
    ftrack_delivery_outcome *o = NULL;
    /* A delivery built against a header older than the outcome field is shorter. */
    if (delivery && delivery->size >= offsetof(ftrack_delivery, outcome) + sizeof(void *))
        o = delivery->outcome;
    if (!o || o->size < sizeof(*o)) {
        ftrack_log(FTRACK_LOG_WARNING, "hub", "a subscriber reported a failure: %s", message);
        return;
    }
    if (o->failures++ == 0)
        fti_strlcpy(o->message, message, sizeof(o->message));
}
