/* SPDX-License-Identifier: Apache-2.0 */
/* The intake (intake.h): events written to the journal on the network thread, once for all
 * the journaled instances they matched. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "delivery/intake.h"
#include "delivery/reliable.h"

#define SMALL 16

/* The host's instances share its one journal: the event is written once for all of them. An
 * instance of another journal (never in ftrack-host) is not taken here: its event goes by its
 * queue, and its worker journals it. */
static void journal_all(fth_reliable *const *rs, bool *taken, size_t n, const char *id,
                        const char *topic, const char *text, size_t len, ftrack_hub_match *match)
{
    fth_journal *journal = fth_reliable_journal(rs[0]);
    const char *small_names[SMALL], **names = small_names;
    fth_append_result small_results[SMALL], *results = small_results;
    size_t small_index[SMALL], *index = small_index;
    if (n > SMALL) {
        names = calloc(n, sizeof(*names));
        results = calloc(n, sizeof(*results));
        index = calloc(n, sizeof(*index));
    }
    size_t m = 0;
    for (size_t i = 0; names && results && index && i < n; i++) {
        if (fth_reliable_journal(rs[i]) != journal)
            continue;
        names[m] = fth_reliable_instance(rs[i]);
        index[m++] = i;
    }
    fth_journal_append_event(journal, id, topic, text, len, match, names, results, m);
    for (size_t k = 0; k < m; k++)
        taken[index[k]] = fth_reliable_accepted(rs[index[k]], results[k], id, topic);
    if (names != small_names) {
        free(names);
        free(results);
        free(index);
    }
}

static void on_event(json_object *event, const char *text, size_t len, ftrack_hub_match *match,
                     void *const *tags, bool *taken, size_t n, void *user_data)
{
    (void)user_data;
    const char *id = fti_json_string(event, "id"), *topic = fti_json_string(event, "topic");
    if (!id || !id[0] || !topic || strncmp(topic, "ftrack.meta.", 12) == 0)
        return;
    journal_all((fth_reliable *const *)tags, taken, n, id, topic, text, len, match);
}

void fth_intake_install(ftrack_hub *hub)
{
    ftrack_hub_set_intake(hub, on_event, NULL);
}
