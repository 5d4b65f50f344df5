/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the embedded hub's query parser (host/hub/query_parser.c). Input: the query text.
 * A query parses into a consistent tree or fails with a parse/limit error whose position lies
 * inside the text; nothing else (no crash, no leak, no unbounded recursion). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const fhub_qpath *p)
{
    if (p->n == 0 || p->n > FHUB_QUERY_MAX_PATH)
        abort();
    for (size_t i = 0; i < p->n; i++)
        if (!p->parts[i] || !p->parts[i][0])
            abort();
}

static void check_query(const fhub_query *q, int depth);

static void check_node(const fhub_qnode *n, int depth)
{
    if (!n || depth > 4 * FHUB_QUERY_MAX_DEPTH)
        abort();
    switch (n->kind) {
    case FHUB_QN_AND:
    case FHUB_QN_OR:
        check_node(n->left, depth + 1);
        check_node(n->right, depth + 1);
        return;
    case FHUB_QN_NOT:
        check_node(n->left, depth + 1);
        return;
    case FHUB_QN_HAS:
    case FHUB_QN_ANY:
        check_path(&n->path);
        check_node(n->left, depth + 1);
        return;
    case FHUB_QN_COND:
        check_path(&n->path);
        if (n->value.kind == FHUB_QV_SUBQUERY)
            check_query(n->value.subquery, depth + 1);
        if (n->value.kind == FHUB_QV_STRING && !n->value.text)
            abort();
        if ((n->value.kind == FHUB_QV_LIST || n->value.kind == FHUB_QV_SUBQUERY) !=
            (n->op == FHUB_QOP_IN || n->op == FHUB_QOP_NOT_IN))
            abort();
        return;
    }
}

static void check_query(const fhub_query *q, int depth)
{
    if (!q || !q->type || !q->type[0] || q->limit < -1 || q->offset < -1)
        abort();
    if (q->has_select != (q->nprojections > 0))
        abort();
    for (size_t i = 0; i < q->nprojections; i++)
        check_path(&q->projections[i]);
    for (size_t i = 0; i < q->norder; i++)
        check_path(&q->order[i].path);
    if (q->where)
        check_node(q->where, depth);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text); /* the parser sees the text up to the first NUL */
    fhub_query *q = NULL;
    ftrack_error err;
    ftrack_status st = fhub_query_parse(text, &q, &err);
    if (st == FTRACK_OK) {
        check_query(q, 0);
        fhub_query_free(q);
    } else {
        if (q || (st != FTRACK_ERR_PARSE && st != FTRACK_ERR_INVALID_ARGUMENT &&
                  st != FTRACK_ERR_NO_MEMORY))
            abort();
        if (len <= FHUB_QUERY_MAX_TEXT && (err.position < 0 || (size_t)err.position > len))
            abort();
        if (strlen(err.message) >= sizeof(err.message))
            abort();
    }
    free(text);
    return 0;
}
