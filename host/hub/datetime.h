/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_DATETIME_H
#define FHUB_DATETIME_H
/* Date-time text normalised to a UTC instant (see datetime.c). */
#include <stdbool.h>

#define FHUB_DATETIME_LEN 32

/* `text` (ISO 8601: a date, or a date and time with an optional offset) as
 * "YYYY-MM-DDTHH:MM:SS" in UTC in `out`; false when it is not such a date-time. A value
 * without an offset is taken as UTC already. */
bool fhub_datetime_utc(const char *text, char out[FHUB_DATETIME_LEN]);

#endif
