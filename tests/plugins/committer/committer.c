/* SPDX-License-Identifier: Apache-2.0 */
/* Test plugin: on test.rename ({"shot": id, "name": new name}) it reads the Shot through its
 * session, renames it, commits, publishes test.renamed and replies with the old name. An
 * unknown shot fails the delivery. For `ftrack-host test-plugin --seed`. */
#include <stdio.h>
#include <stdlib.h>
#include <ftrack/ftrack.h>

typedef struct committer {
    ftrack_session *session;
} committer;

static json_object *rename_shot(committer *c, const char *id, const char *name,
                                const ftrack_delivery *delivery)
{
    ftrack_error err;
    ftrack_entity *shot = NULL;
    char *old = NULL;
    if (ftrack_session_get(c->session, "Shot", id, &shot, &err) != FTRACK_OK) {
        ftrack_delivery_fail(delivery, "no Shot %s: %s", id, err.message);
        return NULL;
    }
    json_object *value = json_object_new_string(name);
    ftrack_status st = ftrack_entity_get_string(shot, "name", &old, &err);
    if (st == FTRACK_OK)
        st = ftrack_entity_set(shot, "name", value, &err);
    if (st == FTRACK_OK)
        st = ftrack_session_commit(c->session, &err);
    json_object_put(value);
    ftrack_entity_free(shot);
    if (st != FTRACK_OK) {
        ftrack_delivery_fail(delivery, "cannot rename Shot %s: %s", id, err.message);
        free(old);
        return NULL;
    }
    json_object *data = json_object_new_object();
    json_object_object_add(data, "shot", json_object_new_string(id));
    json_object_object_add(data, "name", json_object_new_string(name));
    ftrack_event *renamed = ftrack_event_new("test.renamed", data);
    if (renamed)
        ftrack_hub_publish(ftrack_session_hub(c->session), renamed, NULL, NULL);
    ftrack_event_free(renamed);
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "old", old ? json_object_new_string(old) : NULL);
    free(old);
    return reply;
}

static json_object *on_rename(ftrack_event *event, const ftrack_delivery *delivery, void *user)
{
    json_object *data = ftrack_event_data(event), *id = NULL, *name = NULL;
    if (!json_object_object_get_ex(data, "shot", &id) ||
        !json_object_object_get_ex(data, "name", &name)) {
        ftrack_delivery_fail(delivery, "test.rename wants data.shot and data.name");
        return NULL;
    }
    return rename_shot(user, json_object_get_string(id), json_object_get_string(name), delivery);
}

static ftrack_status reg(ftrack_plugin_context *ctx, ftrack_session *session, json_object *args,
                         void **state, ftrack_error *err)
{
    (void)ctx;
    (void)args;
    committer *c = calloc(1, sizeof(*c));
    if (!c)
        return FTRACK_ERR_NO_MEMORY;
    c->session = session;
    *state = c;
    return ftrack_hub_subscribe(ftrack_session_hub(session), "topic=test.rename", on_rename, c,
                                NULL, NULL, err);
}

static void unreg(ftrack_plugin_context *ctx, void *state)
{
    (void)ctx;
    free(state);
}

FTRACK_PLUGIN("committer", "1.0.0", "Test plugin: renames shots and commits", NULL, reg, unreg)
