/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_FAILURE_H
#define FTH_FAILURE_H
/*
 * The failure policy of one plugin instance (docs/reliability.md):
 *  - a delivery fails when a callback reports it (ftrack_delivery_fail) or runs past
 *    `deadline` seconds (an isolated child that crashes or hangs fails it too);
 *  - a failed delivery is retried after retry_delay, doubling up to retry_max_delay (with
 *    jitter), while the instance's later events wait (order is kept), until `max_attempts`
 *    dispatches; then it goes to the dead-letter file and the queue moves on;
 *  - after `pause_after` dead letters in a row the instance is paused for pause_delay
 *    (doubling up to pause_max_delay while it keeps failing); its events wait in the journal;
 *    it resumes by itself. A handled event resets both counts.
 *
 * Pure values and arithmetic; no threads, no state beyond the structs.
 */
#include <stdbool.h>
#include <json-c/json.h>
#include <ftrack/common.h>

typedef struct fth_failure_policy {
    double deadline;        /* seconds per dispatch; default 60 */
    unsigned max_attempts;  /* dispatches before dead-lettering; default 3 */
    double retry_delay;     /* default 1 */
    double retry_max_delay; /* default 30 */
    unsigned pause_after;   /* dead letters in a row before a pause; default 5 (0: never) */
    double pause_delay;     /* default 30 */
    double pause_max_delay; /* default 600 */
} fth_failure_policy;

void fth_failure_policy_init(fth_failure_policy *policy);
/* Apply a configuration "failure" object (borrowed) over *policy (unknown keys and bad values
 * are FTRACK_ERR_CONFIG naming `origin` and the key). */
ftrack_status fth_failure_policy_parse(json_object *value, const char *origin,
                                       fth_failure_policy *policy, ftrack_error *err);

/* Delay before dispatch number `attempt + 1` after `attempt` failed ones (attempt >= 1):
 * retry_delay * 2^(attempt-1), at most retry_max_delay, times a jitter in [0.8, 1.2). */
double fth_failure_retry_delay(const fth_failure_policy *policy, unsigned attempt);
/* Length of pause number `pauses` (1 for the first): pause_delay * 2^(pauses-1), capped. */
double fth_failure_pause_delay(const fth_failure_policy *policy, unsigned pauses);
#endif
