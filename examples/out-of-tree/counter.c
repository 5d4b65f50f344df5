/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An ftrack action built outside the ftrack-host tree: "Count selection".
 *
 * Discover: offered only when something is selected (an action that does not apply replies
 * nothing, so the UI does not list it). Launch: replies how many entities are selected, by
 * type. The label comes from the plugin's one parameter, so a studio can rename it with
 * `--plugin-arg label=...` or its configuration file.
 */
#include <stdio.h>
#include <string.h>
#include <ftrack/ftrack.h>

#define ACTION_ID "studio.count-selection"

static const ftrack_plugin_param params[] = {
    {"label", FTRACK_PARAM_STRING, false, "\"Count selection\"", "the action's label"},
};

/* data.selection, when it is a non-empty list (borrowed from the event), else NULL. */
static json_object *selection_of(ftrack_event *event)
{
    json_object *selection = NULL;
    if (!json_object_object_get_ex(ftrack_event_data(event), "selection", &selection) ||
        !json_object_is_type(selection, json_type_array) ||
        json_object_array_length(selection) == 0)
        return NULL;
    return selection;
}

static json_object *on_discover(ftrack_event *event, const ftrack_delivery *delivery, void *label)
{
    (void)delivery;
    if (!selection_of(event))
        return NULL; /* nothing selected: not offered */
    json_object *item = json_object_new_object();
    json_object_object_add(item, "label", json_object_new_string(label));
    json_object_object_add(item, "actionIdentifier", json_object_new_string(ACTION_ID));
    json_object *items = json_object_new_array();
    json_object_array_add(items, item);
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "items", items);
    return reply;
}

/* "3 selected: 2 task, 1 assetversion", types in the order they first appear. */
static void describe(json_object *selection, char *out, size_t size)
{
    size_t n = json_object_array_length(selection);
    int used = snprintf(out, size, "%zu selected:", n);
    for (size_t i = 0; i < n && used > 0 && (size_t)used < size; i++) {
        const char *type = json_object_get_string(
            json_object_object_get(json_object_array_get_idx(selection, i), "entityType"));
        type = type ? type : "unknown";
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const char *other = json_object_get_string(
                json_object_object_get(json_object_array_get_idx(selection, j), "entityType"));
            seen = strcmp(other ? other : "unknown", type) == 0;
        }
        if (seen)
            continue;
        size_t count = 0;
        for (size_t j = i; j < n; j++) {
            const char *other = json_object_get_string(
                json_object_object_get(json_object_array_get_idx(selection, j), "entityType"));
            count += strcmp(other ? other : "unknown", type) == 0;
        }
        used += snprintf(out + used, size - (size_t)used, "%s %zu %s", i ? "," : "", count, type);
    }
}

static json_object *on_launch(ftrack_event *event, const ftrack_delivery *delivery, void *label)
{
    (void)label;
    json_object *selection = selection_of(event);
    if (!selection) {
        /* Tell the host this launch could not be handled (it logs and counts it). */
        ftrack_delivery_fail(delivery, "launched with nothing selected");
        return NULL;
    }
    char message[512];
    describe(selection, message, sizeof(message));
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "success", json_object_new_boolean(1));
    json_object_object_add(reply, "message", json_object_new_string(message));
    return reply;
}

static ftrack_status register_counter(ftrack_plugin_context *ctx, ftrack_session *session,
                                      json_object *arguments, void **state, ftrack_error *err)
{
    (void)ctx;
    /* The label string lives in `arguments`, which is only borrowed: keep a reference. */
    json_object *label = json_object_object_get(arguments, "label");
    *state = json_object_get(arguments);
    ftrack_hub *hub = ftrack_session_hub(session);
    ftrack_status rc = ftrack_hub_subscribe(hub, "topic=ftrack.action.discover", on_discover,
                                            (void *)json_object_get_string(label), NULL, NULL, err);
    if (rc != FTRACK_OK)
        return rc;
    return ftrack_hub_subscribe(hub, "topic=ftrack.action.launch and data.actionIdentifier=" ACTION_ID,
                                on_launch, NULL, NULL, NULL, err);
}

static void unregister_counter(ftrack_plugin_context *ctx, void *state)
{
    (void)ctx;
    json_object_put(state); /* the arguments kept in register */
}

FTRACK_PLUGIN("studio_counter", "1.0.0", "Counts the selected entities", params, register_counter,
              unregister_counter)
