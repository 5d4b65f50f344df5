/* SPDX-License-Identifier: Apache-2.0 */
/* ISO 8601 time text (ftrack/common.h): the one formatter behind the log lines, dead
 * letters, the journal's gap events, the hub's stored dates and the audit log. */
#include <stdio.h>
#include <time.h>

#include "common/internal.h"

void ftrack_time_iso8601(double epoch_seconds, int fraction_digits, char *out, size_t size)
{
    if (!out || size == 0)
        return;
    time_t whole = (time_t)epoch_seconds;
    struct tm tm;
    if (!gmtime_r(&whole, &tm)) {
        out[0] = '\0';
        return;
    }
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (fraction_digits <= 0) {
        snprintf(out, size, "%sZ", base);
        return;
    }
    if (fraction_digits > 9)
        fraction_digits = 9;
    long scale = 1;
    for (int i = 0; i < fraction_digits; i++)
        scale *= 10;
    /* Truncated, never rounded up: a time must not read as a later second. */
    long fraction = (long)((epoch_seconds - (double)whole) * (double)scale);
    if (fraction >= scale)
        fraction = scale - 1;
    if (fraction < 0)
        fraction = 0;
    snprintf(out, size, "%s.%0*ldZ", base, fraction_digits, fraction);
}
