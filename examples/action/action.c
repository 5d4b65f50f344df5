/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal ftrack action, as a plugin for ftrack-host.
 *
 * An action is a conversation of two events:
 *   1. ftrack.action.discover: someone (the web UI, Connect) asks every listener what it can
 *      do. We answer with the items to show: here one, "Say hello".
 *   2. ftrack.action.launch: the user clicked our item. We answer either with a form (the UI
 *      shows it and launches again with the values filled in) or with a result message.
 * Our answers are replies: whatever a callback returns is published back to the asker.
 */
#include <stdio.h>
#include <ftrack/ftrack.h>

/* Launch events carry the identifier of the clicked item; ours is how we know it is us. */
#define ACTION_ID "example.hello"

static json_object *on_discover(ftrack_event *event, const ftrack_delivery *delivery,
                                void *user_data)
{
    (void)event;
    (void)delivery;
    (void)user_data;
    /* A real action looks at data.selection first and returns NULL (no reply) when it does
     * not apply, so the UI does not list it. This one applies everywhere. */
    json_object *item = json_object_new_object();
    json_object_object_add(item, "label", json_object_new_string("Say hello"));
    json_object_object_add(item, "actionIdentifier", json_object_new_string(ACTION_ID));
    json_object_object_add(item, "description", json_object_new_string("Greets you by name"));

    json_object *items = json_object_new_array();
    json_object_array_add(items, item);
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "items", items);
    return reply; /* the host takes it and publishes the reply */
}

/* The form: when the user submits it, the UI launches again with data.values = {"name": ...}. */
static json_object *name_form(void)
{
    json_object *field = json_object_new_object();
    json_object_object_add(field, "type", json_object_new_string("text"));
    json_object_object_add(field, "name", json_object_new_string("name"));
    json_object_object_add(field, "label", json_object_new_string("Your name"));

    json_object *items = json_object_new_array();
    json_object_array_add(items, field);
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "items", items);
    return reply;
}

static json_object *on_launch(ftrack_event *event, const ftrack_delivery *delivery, void *user_data)
{
    ftrack_plugin_context *ctx = user_data;
    json_object *values = NULL, *name = NULL;
    (void)delivery;
    /* The event (and all it holds) is borrowed: read from it, never keep or free it. */
    if (!json_object_object_get_ex(ftrack_event_data(event), "values", &values))
        return name_form();

    const char *who = "stranger";
    if (json_object_object_get_ex(values, "name", &name) && json_object_get_string_len(name) > 0)
        who = json_object_get_string(name);
    char message[256];
    snprintf(message, sizeof(message), "Hello, %s!", who);
    /* Plugin log lines carry the plugin's name; event data is not secret, API keys are. */
    ftrack_plugin_log(ctx, FTRACK_LOG_INFO, "said hello to %s", who);

    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "success", json_object_new_boolean(1));
    json_object_object_add(reply, "message", json_object_new_string(message));
    return reply;
}

/* Called once on the plugin's own thread when the host loads it. Subscriptions made here are
 * delivered on that thread too, so callbacks need no locks. */
static ftrack_status register_action(ftrack_plugin_context *ctx, ftrack_session *session,
                                     json_object *arguments, void **state, ftrack_error *err)
{
    ftrack_hub *hub = ftrack_session_hub(session);
    (void)arguments;
    (void)state;
    ftrack_status rc = ftrack_hub_subscribe(hub, "topic=ftrack.action.discover", on_discover, NULL,
                                            NULL, NULL, err);
    if (rc != FTRACK_OK)
        return rc; /* the host logs err and refuses the plugin */
    /* Filter on the identifier in the subscription, so other actions' launches never reach
     * us. (The host removes our subscriptions at unload: no unregister needed.) */
    return ftrack_hub_subscribe(hub,
                                "topic=ftrack.action.launch and data.actionIdentifier=" ACTION_ID,
                                on_launch, ctx, NULL, NULL, err);
}

/* name, version, description, parameters (none), register, unregister (none). */
FTRACK_PLUGIN("example_action", "1.0.0", "Example action: says hello", NULL, register_action, NULL)
