/* SPDX-License-Identifier: Apache-2.0 */
/* The delivery record of one callback: ftrack_delivery_fail (ftrack/hub.h), how a C callback
 * reports that it could not handle its event, and the one place a delivery is set up
 * (ftrack_delivery_init for hosts, fti_delivery_copy for the SDK's dispatch). The host owns
 * the outcome record and reads it after the dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ftrack/host.h>
#include "common/internal.h"
#include "plugin/delivery.h"

void ftrack_delivery_init(ftrack_delivery *delivery, ftrack_delivery_outcome *outcome)
{
    if (outcome) {
        memset(outcome, 0, sizeof(*outcome));
        outcome->size = sizeof(*outcome);
    }
    if (!delivery)
        return;
    memset(delivery, 0, sizeof(*delivery));
    delivery->size = sizeof(*delivery);
    delivery->attempt = 1;
    delivery->outcome = outcome;
}

void fti_delivery_copy(ftrack_delivery *out, const ftrack_delivery *in)
{
    ftrack_delivery_init(out, NULL);
    if (in) {
        /* A caller built against an older header passes a shorter record. */
        size_t n = in->size && in->size < sizeof(*out) ? in->size : sizeof(*out);
        memcpy(out, in, n);
    }
    out->size = sizeof(*out);
    if (out->attempt == 0)
        out->attempt = 1;
}

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
