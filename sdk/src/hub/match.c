/* SPDX-License-Identifier: Apache-2.0 */
/* What routing matched (ftrack/host.h, ftrack_hub_match): the network thread matches an event
 * once against every subscriber (route.c) and records which; the event's queue item or the
 * host's intake carries the record to the worker, whose dispatch (dispatch.c) calls those
 * subscribers without matching again. A bit per subscriber of the set routing used, which the
 * record keeps alive, so an index always names the same subscriber. */
#include <stdlib.h>

#include "common/internal.h"
#include "hub/hub_internal.h"

struct ftrack_hub_match *fti_match_new(fti_subset *set)
{
    size_t words = (set->n + 63) / 64;
    struct ftrack_hub_match *m = calloc(1, sizeof(*m) + words * sizeof(m->bits[0]));
    if (!m)
        return NULL;
    atomic_init(&m->refs, 1);
    atomic_fetch_add(&set->refs, 1);
    m->set = set;
    return m;
}

void fti_match_mark(struct ftrack_hub_match *m, size_t i)
{
    m->bits[i / 64] |= UINT64_C(1) << (i % 64);
}

bool fti_match_has(const struct ftrack_hub_match *m, size_t i)
{
    return (m->bits[i / 64] >> (i % 64)) & 1;
}

ftrack_hub_match *ftrack_hub_match_ref(ftrack_hub_match *match)
{
    if (match)
        atomic_fetch_add(&match->refs, 1);
    return match;
}

void ftrack_hub_match_unref(ftrack_hub_match *match)
{
    if (!match || atomic_fetch_sub(&match->refs, 1) != 1)
        return;
    fti_subset_release(match->set);
    free(match);
}
