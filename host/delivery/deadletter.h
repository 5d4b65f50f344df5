/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_DEADLETTER_H
#define FTH_DEADLETTER_H
/*
 * The dead-letter file: events a plugin instance could not handle within its failure policy
 * (or that the journal had to give up at its limits), one JSON object per line:
 *
 *   {"time":"2024-05-01T10:00:00Z","instance":"crasher","reason":"failed",
 *    "error":"child killed by signal 11","attempts":3,"event":{...the wire event...}}
 *
 * `ftrack-host replay FILE` reads this format back (fth_deadletter_parse_line). The file is
 * created 0600 (events may carry private data); it only grows; an operator rotates it.
 *
 * Threads: append may be called from any thread (a mutex serialises writers). Ownership:
 * arguments are borrowed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <ftrack/common.h>

typedef struct fth_deadletter fth_deadletter;

ftrack_status fth_deadletter_open(const char *path, fth_deadletter **out, ftrack_error *err);
void fth_deadletter_close(fth_deadletter *dl);
const char *fth_deadletter_path(const fth_deadletter *dl);

/* Append one record; `event_text` is the wire JSON. Logs (and counts) a failed write. */
void fth_deadletter_append(fth_deadletter *dl, const char *instance, const char *reason,
                           const char *error, unsigned attempts, const char *event_text);
/* Records appended since open. */
uint64_t fth_deadletter_count(fth_deadletter *dl);

/* Parse one line of the file: *instance and *event are borrowed from *record (a new object
 * the caller puts). False when the line is not a dead-letter record. */
bool fth_deadletter_parse_line(const char *line, json_object **record, const char **instance,
                               json_object **event);
#endif
