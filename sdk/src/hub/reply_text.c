/* SPDX-License-Identifier: Apache-2.0 */
/* A callback's reply as text (protocol §6.6): the ftrack.meta.reply event that publishes a
 * subscriber callback's result (dispatch.c auto_reply), written without building it.
 *
 * Building the reply event (a copy of the metadata for its source, json-c objects for every
 * value) and serialising it was a sixth of a busy host's CPU, though most of the text is the
 * same for every reply of a subscriber. So the source's text is made once per metadata
 * version, exactly as the old road made it (copy, ftrack_event_prepare_source, serialise),
 * and the rest is written around it in assemble()'s key order: tests/unit/hub_reply_text_test.c
 * holds the two roads to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "hub/hub_internal.h"

/* The text of a subscriber's reply source, shared by the replies being built from it. */
struct fti_reply_source {
    atomic_int refs;
    unsigned version; /* the subscriber's meta_version it was made from */
    size_t len;
    char text[];
};

void fti_reply_source_release(struct fti_reply_source *rs)
{
    if (rs && atomic_fetch_sub(&rs->refs, 1) == 1)
        free(rs);
}

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static struct fti_reply_source *reply_source_build_locked(ftrack_hub *hub, fti_sub *s)
{
    json_object *copy = NULL;
    if (json_object_deep_copy(s->metadata, &copy, NULL) != 0 || !copy) {
        json_object_put(copy);
        return NULL;
    }
    ftrack_event *ev = ftrack_event_new("ftrack.meta.reply", NULL);
    if (!ev) {
        json_object_put(copy);
        return NULL;
    }
    ftrack_event_set_source(ev, copy);
    ftrack_event_prepare_source(ev, hub->id, hub->api_user, hub->hostname);
    size_t n = 0;
    const char *text = json_object_to_json_string_length(ftrack_event_source(ev), JSON_FLAGS, &n);
    struct fti_reply_source *rs = text ? malloc(sizeof(*rs) + n + 1) : NULL;
    if (rs) {
        atomic_init(&rs->refs, 1);
        rs->version = s->meta_version;
        rs->len = n;
        memcpy(rs->text, text, n + 1);
    }
    ftrack_event_free(ev);
    return rs;
}

/* A reference to the subscriber's current source text (NULL when out of memory). */
static struct fti_reply_source *reply_source_get(ftrack_hub *hub, fti_sub *s)
{
    pthread_mutex_lock(&s->meta_lock);
    struct fti_reply_source *rs = s->reply_source;
    if (!rs || rs->version != s->meta_version) {
        rs = reply_source_build_locked(hub, s);
        if (rs) {
            fti_reply_source_release(s->reply_source);
            s->reply_source = rs;
        }
    }
    if (rs)
        atomic_fetch_add(&rs->refs, 1);
    pthread_mutex_unlock(&s->meta_lock);
    return rs;
}

static void add_piece(fti_reply_text *r, const char *text, size_t len, bool escape)
{
    r->pieces[r->n++] = (fti_text_piece){.text = text, .len = len, .escape = escape};
}

#define ADD_LITERAL(r, lit) add_piece((r), (lit), sizeof(lit) - 1, false)

ftrack_status fti_reply_text_make(ftrack_hub *hub, fti_sub *s, const ftrack_event *event,
                                  const char *data_json, size_t data_len, fti_reply_text *out,
                                  ftrack_error *err)
{
    memset(out, 0, sizeof(*out));
    /* ftrack_event_reply_new's rule: the target is id=<source.id>, as far as its first NUL */
    json_object *src_id = NULL, *irt = NULL;
    if (!json_object_object_get_ex(ftrack_event_source(event), "id", &src_id) ||
        !json_object_is_type(src_id, json_type_string))
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "the event has no source.id to address a reply to (or out of memory)");
    json_object_object_get_ex(ftrack_event_json(event), "id", &irt);
    out->source = reply_source_get(hub, s);
    if (!out->source)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    ftrack_uuid_hex(out->id);
    if (!data_json) {
        data_json = "{}";
        data_len = 2;
    }
    const char *target = json_object_get_string(src_id);
    ADD_LITERAL(out, "{\"id\":\"");
    add_piece(out, out->id, 32, false);
    ADD_LITERAL(out, "\",\"data\":");
    add_piece(out, data_json, data_len, false);
    ADD_LITERAL(out, ",\"topic\":\"ftrack.meta.reply\",\"sent\":null,\"source\":");
    add_piece(out, out->source->text, out->source->len, false);
    ADD_LITERAL(out, ",\"target\":\"id=");
    add_piece(out, target, strlen(target), true);
    if (json_object_is_type(irt, json_type_string)) {
        ADD_LITERAL(out, "\",\"inReplyToEvent\":\"");
        add_piece(out, json_object_get_string(irt), (size_t)json_object_get_string_len(irt), true);
        ADD_LITERAL(out, "\"}");
    } else {
        ADD_LITERAL(out, "\",\"inReplyToEvent\":null}");
    }
    return FTRACK_OK;
}

void fti_reply_text_clear(fti_reply_text *r)
{
    fti_reply_source_release(r->source);
    r->source = NULL;
    r->n = 0;
}
