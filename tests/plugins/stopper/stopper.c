/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: two subscribers on `test.stop`; the first (priority 10) replies and stops the
 * event, so the second (priority 20) never runs. Another plugin on the same topic still does. */
#include <ftrack/plugin.h>

static json_object *first(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    (void)delivery, (void)user;
    ftrack_event_stop(event);
    return json_object_new_string("stopper-first");
}

static json_object *second(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    (void)event, (void)delivery, (void)user;
    return json_object_new_string("stopper-second");
}

static ftrack_status subscribe(ftrack_hub *hub, ftrack_hub_callback cb, int priority,
                               ftrack_error *err)
{
    ftrack_subscribe_options o;
    ftrack_subscribe_options_init(&o);
    o.priority = priority;
    return ftrack_hub_subscribe(hub, "topic=test.stop", cb, NULL, &o, NULL, err);
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session,
                         json_object *arguments, void **state, ftrack_error *err)
{
    (void)ctx, (void)arguments, (void)state;
    ftrack_hub *hub = ftrack_session_hub(session);
    /* Subscribed in reverse order so priority, not subscription order, decides. */
    ftrack_status st = subscribe(hub, second, 20, err);
    return st != FTRACK_OK ? st : subscribe(hub, first, 10, err);
}

FTRACK_PLUGIN("stopper", "1.0.0", "Stops an event after its first subscriber", NULL, reg, NULL);
