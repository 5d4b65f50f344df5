/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: expression compile + match. Input: the expression, then optionally a NUL
 * byte and a JSON candidate (else a fixed event-shaped candidate). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/expression.h>

static const char DEFAULT_CANDIDATE[] = "{\"id\":\"e1\",\"topic\":\"ftrack.update\",\"data\":{"
                                        "\"a\":\"1\",\"n\":10,\"l\":[\"x\",1,null],"
                                        "\"o\":{\"\":{\"b\":\"c\"}},\"z\":null},\"source\":{\"id\":"
                                        "\"s\",\"user\":{\"username\":\"u\"}},"
                                        "\"target\":\"\",\"sent\":null,\"inReplyToEvent\":null}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t expr_len = nul ? (size_t)(nul - data) : size;
    char *text = malloc(expr_len + 1);
    if (!text)
        return 0;
    memcpy(text, data, expr_len);
    text[expr_len] = '\0';

    ftrack_expression *e = NULL;
    ftrack_error err;
    ftrack_status st = ftrack_expression_compile(text, &e, &err);
    if (st != FTRACK_OK) {
        if (e || st != FTRACK_ERR_PARSE || err.code != st || err.position < 0 ||
            (size_t)err.position > expr_len || strlen(err.message) >= sizeof(err.message))
            abort();
        free(text);
        return 0;
    }
    if (strcmp(ftrack_expression_text(e), text) != 0)
        abort();
    json_object *cand = NULL;
    if (nul) {
        json_tokener *tok = json_tokener_new_ex(32);
        if (tok) {
            cand = json_tokener_parse_ex(tok, (const char *)nul + 1, (int)(size - expr_len - 1));
            json_tokener_free(tok);
        }
    } else {
        cand = json_tokener_parse(DEFAULT_CANDIDATE);
    }
    bool m = ftrack_expression_match(e, cand);
    /* Matching is pure: the same answer twice. */
    if (ftrack_expression_match(e, cand) != m)
        abort();
    const char *topic = NULL;
    bool prefix = false;
    if (ftrack_expression_topic_hint(e, &topic, &prefix) && !topic)
        abort();
    /* A hinted expression can only match events of that topic. */
    if (topic && m && json_object_is_type(cand, json_type_object)) {
        json_object *t = NULL;
        if (!json_object_object_get_ex(cand, "topic", &t) ||
            !json_object_is_type(t, json_type_string))
            abort();
        const char *ts = json_object_get_string(t);
        if (prefix ? strncmp(ts, topic, strlen(topic)) != 0 : strcmp(ts, topic) != 0)
            abort();
    }
    json_object_put(cand);
    ftrack_expression_free(e);
    free(text);
    return 0;
}
