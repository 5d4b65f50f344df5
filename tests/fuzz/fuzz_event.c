/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: event parsing, serialising (must round-trip), copies, replies, and the
 * Python-compatible dumps of whatever parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/event.h>
#include "common/json_compat.h"
#include "common/pyjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ftrack_event *must_parse(const char *text, size_t len)
{
    ftrack_event *ev = NULL;
    if (ftrack_event_parse(text, len, true, &ev, NULL) != FTRACK_OK || !ev)
        abort();
    return ev;
}

static void check_python_dumps(json_object *v)
{
    size_t len = 0;
    char *py = fti_json_python_dumps(v, true, &len);
    if (!py)
        abort();
    /* ensure_ascii output is ASCII and valid JSON again. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)py[i] >= 0x80)
            abort();
    json_tokener *tok = json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH + 1);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    /* Python-style text escapes astral characters as surrogate pairs; read it the way the SDK
     * reads such text from Python clients (common/json_compat.h). */
    size_t fixed_len = 0;
    char *fixed = fti_json_fix_astral_escapes(py, len, &fixed_len);
    json_object *back = json_tokener_parse_ex(tok, fixed ? fixed : py, (int)(fixed ? fixed_len : len));
    if (json_tokener_get_error(tok) != json_tokener_success)
        abort();
    json_tokener_free(tok);
    free(fixed);
    /* Dumping what was read back gives the same text. */
    size_t len2 = 0;
    char *py2 = fti_json_python_dumps(back, true, &len2);
    if (!py2 || len2 != len || memcmp(py, py2, len) != 0)
        abort();
    char hash[33];
    fti_md5_hex(py, len, hash);
    if (strlen(hash) != 32)
        abort();
    free(py2);
    json_object_put(back);
    free(py);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool strict = data[0] & 1;
    ftrack_event *ev = NULL;
    ftrack_error err;
    ftrack_status st = ftrack_event_parse((const char *)data + 1, size - 1, strict, &ev, &err);
    if (st != FTRACK_OK) {
        if (ev || err.code != st)
            abort();
        return 0;
    }
    size_t len = 0;
    char *s = ftrack_event_serialize(ev, &len);
    if (!s || strlen(s) != len)
        abort();
    ftrack_event *again = must_parse(s, len);
    char *s2 = ftrack_event_serialize(again, NULL);
    if (strcmp(s, s2) != 0)
        abort();
    if (strcmp(ftrack_event_id(ev), ftrack_event_id(again)) != 0 ||
        strcmp(ftrack_event_topic(ev), ftrack_event_topic(again)) != 0)
        abort();

    ftrack_event *copy = ftrack_event_copy(ev);
    ftrack_event_prepare_source(copy, "hub", "user", "host");
    ftrack_event *reply = ftrack_event_reply_new(copy, NULL, ftrack_event_source(ev));
    /* prepare_source guarantees a source.id; only a non-string one prevents a reply. */
    json_object *sid = NULL;
    json_object_object_get_ex(ftrack_event_source(copy), "id", &sid);
    if (!reply != !json_object_is_type(sid, json_type_string))
        abort();
    char *rs = reply ? ftrack_event_serialize(reply, NULL) : NULL;
    ftrack_event *reparsed = rs ? must_parse(rs, strlen(rs)) : NULL;

    check_python_dumps(ftrack_event_json(ev));

    ftrack_event_free(reparsed);
    free(rs);
    ftrack_event_free(reply);
    ftrack_event_free(copy);
    free(s2);
    ftrack_event_free(again);
    free(s);
    ftrack_event_free(ev);
    return 0;
}
