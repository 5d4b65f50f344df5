/* SPDX-License-Identifier: Apache-2.0 */
/* Date-times as the hub stores them: ISO 8601 text with or without an offset ("Z", "+01:00",
 * "-0500") turned into the UTC instant written "YYYY-MM-DDTHH:MM:SS", so that stored values and
 * query literals compare (and sort) as instants. Fractions of a second are dropped, as
 * ftrack's server does. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "datetime.h"

/* Read exactly `n` digits at *s. */
static bool digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

/* "Z", "+HH", "+HHMM", "+HH:MM" (or none) → seconds east of UTC. */
static bool offset(const char *s, long *east)
{
    *east = 0;
    if (!*s || ((s[0] == 'Z' || s[0] == 'z') && !s[1]))
        return true;
    if (*s != '+' && *s != '-')
        return false;
    int sign = *s == '-' ? -1 : 1, h = 0, m = 0;
    s++;
    if (!digits(&s, 2, &h))
        return false;
    if (*s == ':')
        s++;
    if (*s && !digits(&s, 2, &m))
        return false;
    if (*s || h > 23 || m > 59)
        return false;
    *east = sign * (h * 3600L + m * 60L);
    return true;
}

bool fhub_datetime_utc(const char *text, char out[FHUB_DATETIME_LEN])
{
    const char *s = text;
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
        !digits(&s, 2, &d))
        return false;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
            return false;
        if (*s == ':') {
            s++;
            if (!digits(&s, 2, &se))
                return false;
            if (*s == '.' || *s == ',')
                for (s++; isdigit((unsigned char)*s); s++)
                    ;
        }
    }
    long east = 0;
    if (!offset(s, &east) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        se > 60)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = se};
    time_t t = timegm(&tm) - east;
    struct tm utc;
    if (!gmtime_r(&t, &utc))
        return false;
    return strftime(out, FHUB_DATETIME_LEN, "%Y-%m-%dT%H:%M:%S", &utc) > 0;
}
