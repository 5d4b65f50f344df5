/* SPDX-License-Identifier: Apache-2.0 */
/* Failure policy values and backoff arithmetic (failure.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "delivery/failure.h"

void fth_failure_policy_init(fth_failure_policy *p)
{
    p->deadline = 60;
    p->max_attempts = 3;
    p->retry_delay = 1;
    p->retry_max_delay = 30;
    p->pause_after = 5;
    p->pause_delay = 30;
    p->pause_max_delay = 600;
}

static bool number_in(json_object *v, double min, double max, double *out)
{
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return false;
    double d = json_object_get_double(v);
    if (!isfinite(d) || d < min || d > max)
        return false;
    *out = d;
    return true;
}

static bool count_in(json_object *v, unsigned min, unsigned max, unsigned *out)
{
    if (!json_object_is_type(v, json_type_int))
        return false;
    int64_t n = json_object_get_int64(v);
    if (n < min || n > max)
        return false;
    *out = (unsigned)n;
    return true;
}

ftrack_status fth_failure_policy_parse(json_object *value, const char *origin,
                                       fth_failure_policy *p, ftrack_error *err)
{
    if (!json_object_is_type(value, json_type_object))
        return fti_error(err, FTRACK_ERR_CONFIG, "%s: \"failure\" must be an object", origin);
    json_object_object_foreach(value, key, v)
    {
        bool ok;
        if (strcmp(key, "deadline") == 0)
            ok = number_in(v, 0.01, 86400, &p->deadline);
        else if (strcmp(key, "max_attempts") == 0)
            ok = count_in(v, 1, 1000, &p->max_attempts);
        else if (strcmp(key, "retry_delay") == 0)
            ok = number_in(v, 0, 86400, &p->retry_delay);
        else if (strcmp(key, "retry_max_delay") == 0)
            ok = number_in(v, 0, 86400, &p->retry_max_delay);
        else if (strcmp(key, "pause_after") == 0)
            ok = count_in(v, 0, 1000000, &p->pause_after);
        else if (strcmp(key, "pause_delay") == 0)
            ok = number_in(v, 0.01, 86400, &p->pause_delay);
        else if (strcmp(key, "pause_max_delay") == 0)
            ok = number_in(v, 0.01, 7 * 86400, &p->pause_max_delay);
        else
            return fti_error(err, FTRACK_ERR_CONFIG,
                             "%s: failure: unknown key \"%s\" (known: deadline, max_attempts, "
                             "retry_delay, retry_max_delay, pause_after, pause_delay, "
                             "pause_max_delay)",
                             origin, key);
        if (!ok)
            return fti_error(err, FTRACK_ERR_CONFIG,
                             "%s: failure.%s is out of range or of the wrong type (see "
                             "docs/reliability.md)",
                             origin, key);
    }
    return FTRACK_OK;
}

static double jitter(void)
{
    return 0.8 + 0.4 * fti_random_unit();
}

static double doubled(double base, unsigned n, double cap)
{
    double d = base * pow(2.0, n > 60 ? 60.0 : (double)n);
    return d < cap ? d : cap;
}

double fth_failure_retry_delay(const fth_failure_policy *p, unsigned attempt)
{
    return doubled(p->retry_delay, attempt ? attempt - 1 : 0, p->retry_max_delay) * jitter();
}

double fth_failure_pause_delay(const fth_failure_policy *p, unsigned pauses)
{
    return doubled(p->pause_delay, pauses ? pauses - 1 : 0, p->pause_max_delay);
}
