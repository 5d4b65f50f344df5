/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: subscribes, then refuses to register; the host must remove the subscription
 * (a publish on its topic gets no reply) and go on. */
#include <string.h>
#include <ftrack/plugin.h>

static json_object *on_event(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    (void)event, (void)delivery, (void)user;
    return json_object_new_string("regfail should not be subscribed");
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **state, ftrack_error *err)
{
    (void)ctx, (void)arguments, (void)state;
    ftrack_status st = ftrack_hub_subscribe(ftrack_session_hub(session), "topic=test.regfail",
                                            on_event, NULL, NULL, NULL, err);
    if (st != FTRACK_OK)
        return st;
    if (err) {
        memset(err, 0, sizeof(*err));
        err->code = FTRACK_ERR_CONFIG;
        strncpy(err->message, "regfail refuses to register on purpose", sizeof(err->message) - 1);
    }
    return FTRACK_ERR_CONFIG;
}

FTRACK_PLUGIN("regfail", "1.0.0", "Fails to register", NULL, reg, NULL);
