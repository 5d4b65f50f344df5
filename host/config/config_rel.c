/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration's reliability keys (config.h; docs/reliability.md). Values are checked
 * here, at load, so a typo fails `ftrack-host check-config` and start-up, not the first
 * failure at 3 a.m. */
#include <stdio.h>
#include <string.h>

#include "common/internal.h"
#include "config/config.h"
#include "delivery/failure.h"
#include "delivery/journal.h"

ftrack_status fth_config_parse_rel_key(const char *key, json_object *value, const char *origin,
                                       fth_config *c, ftrack_error *err)
{
    if (strcmp(key, "journal") == 0) {
        fth_journal_options o;
        fth_journal_options_init(&o);
        ftrack_status st = fth_journal_options_parse(value, origin, &o, err);
        if (st == FTRACK_OK)
            c->journal = value;
        return st;
    }
    if (strcmp(key, "failure") == 0) {
        fth_failure_policy p;
        fth_failure_policy_init(&p);
        ftrack_status st = fth_failure_policy_parse(value, origin, &p, err);
        if (st == FTRACK_OK)
            c->failure = value;
        return st;
    }
    return FTRACK_ERR_NOT_FOUND;
}

ftrack_status fth_config_parse_rel_instance_key(const char *name, const char *key,
                                                json_object *value, const char *origin,
                                                fth_config_instance *inst, ftrack_error *err)
{
    if (strcmp(key, "isolated") == 0) {
        if (!json_object_is_type(value, json_type_boolean))
            return fti_error(err, FTRACK_ERR_CONFIG,
                             "%s: plugins.%s.isolated must be true or false", origin, name);
        inst->isolated = json_object_get_boolean(value);
        inst->in_process = !inst->isolated;
        return FTRACK_OK;
    }
    if (strcmp(key, "journal") == 0) {
        if (!json_object_is_type(value, json_type_boolean))
            return fti_error(err, FTRACK_ERR_CONFIG,
                             "%s: plugins.%s.journal must be true or false", origin, name);
        inst->unjournaled = !json_object_get_boolean(value);
        return FTRACK_OK;
    }
    if (strcmp(key, "command") == 0) {
        size_t n =
            json_object_is_type(value, json_type_array) ? json_object_array_length(value) : 0;
        for (size_t i = 0; i < n; i++)
            if (!json_object_is_type(json_object_array_get_idx(value, i), json_type_string))
                n = 0;
        if (n == 0)
            return fti_error(err, FTRACK_ERR_CONFIG,
                             "%s: plugins.%s.command must be a list of strings (the program and "
                             "its arguments)",
                             origin, name);
        inst->command = value;
        inst->isolated = true; /* a program runs in its own process by nature */
        inst->in_process = false;
        return FTRACK_OK;
    }
    if (strcmp(key, "failure") == 0) {
        fth_failure_policy p;
        fth_failure_policy_init(&p);
        char where[160];
        snprintf(where, sizeof(where), "%s: plugins.%s", origin, name);
        ftrack_status st = fth_failure_policy_parse(value, where, &p, err);
        if (st == FTRACK_OK)
            inst->failure = value;
        return st;
    }
    return FTRACK_ERR_NOT_FOUND;
}
