/* SPDX-License-Identifier: Apache-2.0 */
/* The journal's deliveries an earlier run started and did not finish (journal.h,
 * fth_journal_unfinished): read at an instance's start, so the host can count the try a crash
 * cut short and dead-letter a delivery whose tries are used up without running it again. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "delivery/journal_internal.h"

size_t fth_journal_unfinished(fth_journal *j, const char *instance, fth_journal_unfinished_fn fn,
                              void *ctx)
{
    pthread_mutex_lock(&j->lock);
    jinstance *in = fth_jstate_instance(j, instance);
    size_t seen = 0;
    for (size_t k = 0; in && k < in->count;) {
        jdelivery *d = &in->q[in->head + k];
        fth_journal_entry e;
        if (!d->started_earlier || !fth_journal_fill_entry(j, d, &e)) {
            k++;
            continue;
        }
        e.redelivery = true;
        seen++;
        bool take = fn(ctx, &e);
        fth_journal_entry_clear(&e);
        if (!take) {
            k++;
            continue;
        }
        /* The caller dead-lettered it: finished, and the next one slides into slot k. */
        fth_journal_mark(j, REC_FINISHED, in, d->ev->seq);
        fth_jstate_remove(j, in, d);
    }
    pthread_mutex_unlock(&j->lock);
    return seen;
}
