/* SPDX-License-Identifier: Apache-2.0 */
/* The intake (intake.h): events written to the journal on the network thread, once for all
 * the journaled instances they matched. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "delivery/intake.h"
#include "delivery/reliable.h"

#define SMALL 16

static const char *string_member(json_object *event, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(event, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* The instances share the host's one journal: the event is written once for all of them. An
 * instance of another journal (none in ftrack-host) is written on its own. */
static void journal_all(fth_reliable *const *rs, bool *taken, size_t n, const char *id,
                        const char *topic, const char *text, size_t len)
{
    fth_journal *journal = fth_reliable_journal(rs[0]);
    const char *small_names[SMALL], **names = small_names;
    fth_append_result small_results[SMALL], *results = small_results;
    if (n > SMALL) {
        names = calloc(n, sizeof(*names));
        results = calloc(n, sizeof(*results));
        if (!names || !results)
            n = 0; /* all go by their queues */
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (fth_reliable_journal(rs[i]) == journal)
            names[m++] = fth_reliable_instance(rs[i]);
    fth_journal_append_event(journal, id, topic, text, len, names, results, m);
    for (size_t i = 0, k = 0; i < n; i++) {
        fth_append_result r =
            fth_reliable_journal(rs[i]) == journal
                ? results[k++]
                : fth_journal_append(fth_reliable_journal(rs[i]), fth_reliable_instance(rs[i]), id,
                                     topic, text, len);
        taken[i] = fth_reliable_accepted(rs[i], r, id, topic);
    }
    if (names != small_names) {
        free(names);
        free(results);
    }
}

static void on_event(json_object *event, const char *text, size_t len, void *const *tags,
                     bool *taken, size_t n, void *user_data)
{
    (void)user_data;
    const char *id = string_member(event, "id"), *topic = string_member(event, "topic");
    if (!id || !id[0] || !topic || strncmp(topic, "ftrack.meta.", 12) == 0)
        return;
    journal_all((fth_reliable *const *)tags, taken, n, id, topic, text, len);
}

void fth_intake_install(ftrack_hub *hub)
{
    ftrack_hub_set_intake(hub, on_event, NULL);
}
