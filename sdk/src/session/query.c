/* SPDX-License-Identifier: Apache-2.0 */
/* Queries and paging (protocol §3.4, Python's Session.query and QueryResult). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "common/internal.h"
#include "session/session_internal.h"

#define DEFAULT_PAGE_SIZE 500

struct ftrack_query {
    ftrack_session *session;
    char *expression; /* rewritten, offset/limit taken out */
    long offset;      /* the expression's own, or -1 */
    long limit;       /* the expression's own, or -1 */
    size_t page_size;
    long next_offset;  /* -1: no more pages */
    size_t fetched;    /* records received so far */
    json_object *page; /* merged records of the current page */
    size_t page_pos;
};

/* ---- One /api query ------------------------------------------------------------------------- */

ftrack_status fti_session_raw_query(ftrack_session *session, const char *expression,
                                    json_object **results, json_object **data,
                                    json_object **metadata, ftrack_error *err)
{
    *results = NULL;
    *data = NULL;
    if (metadata)
        *metadata = NULL;
    json_object *op = fti_operation_new("query");
    if (!op)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object_object_add(op, "expression", json_object_new_string(expression));
    ftrack_log(FTRACK_LOG_DEBUG, "session", "Query %s", expression);
    ftrack_status status = fti_session_call_one(session, op, results, err);
    if (status != FTRACK_OK)
        return status;
    json_object *result = json_object_array_get_idx(*results, 0);
    json_object *records = NULL;
    if (!json_object_object_get_ex(result, "data", &records) ||
        !json_object_is_type(records, json_type_array)) {
        json_object_put(*results);
        *results = NULL;
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE, "A query answer without a data list.");
    }
    *data = records;
    if (metadata)
        json_object_object_get_ex(result, "metadata", metadata);
    return FTRACK_OK;
}

/* ---- Expressions ---------------------------------------------------------------------------- */

/* Find "<word> <digits>" anywhere (Python's re.search of "word (\d+)"), remove it from the
 * text and return its number, or -1 when absent. */
static long take_clause(char *text, const char *word)
{
    size_t wlen = strlen(word);
    for (char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        char *digits = p + wlen;
        if (*digits != ' ' || !isdigit((unsigned char)digits[1]))
            continue;
        char *end = NULL;
        errno = 0;
        long value = strtol(digits + 1, &end, 10);
        if (errno != 0)
            value = -1;
        memmove(p, end, strlen(end) + 1);
        return value;
    }
    return -1;
}

static char *strip(char *text)
{
    char *start = text;
    while (isspace((unsigned char)*start))
        start++;
    size_t len = strlen(start);
    while (len > 0 && isspace((unsigned char)start[len - 1]))
        len--;
    memmove(text, start, len);
    text[len] = '\0';
    return text;
}

/* "select <default projections> from <expression>" for an expression without select. */
static ftrack_status rewrite(ftrack_session *session, const char *expression, char **out,
                             ftrack_error *err)
{
    *out = NULL;
    if (strncmp(expression, "select", 6) == 0) {
        *out = fti_strdup(expression);
        return *out ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    }
    const char *space = strchr(expression, ' ');
    char *type =
        space ? fti_strndup(expression, (size_t)(space - expression)) : fti_strdup(expression);
    if (!type)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object *schemas = NULL;
    ftrack_status status = fti_session_schemas(session, &schemas, err);
    if (status != FTRACK_OK) {
        free(type);
        return status;
    }
    json_object *schema = fti_session_schema_for(session, type);
    json_object *projections = NULL;
    if (!schema || !json_object_object_get_ex(schema, "default_projections", &projections) ||
        !json_object_is_type(projections, json_type_array) ||
        json_object_array_length(projections) == 0) {
        status = fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                           "Unknown entity type '%s' (or it has no default projections): "
                           "write the query as \"select <attributes> from %s ...\".",
                           type, type);
        free(type);
        return status;
    }
    free(type);
    struct printbuf *pb = printbuf_new();
    if (!pb)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    printbuf_strappend(pb, "select ");
    size_t n = json_object_array_length(projections);
    for (size_t i = 0; i < n; i++) {
        if (i)
            printbuf_strappend(pb, ", ");
        const char *p = json_object_get_string(json_object_array_get_idx(projections, i));
        printbuf_memappend(pb, p, (int)strlen(p));
    }
    printbuf_strappend(pb, " from ");
    printbuf_memappend(pb, expression, (int)strlen(expression));
    *out = fti_strndup(pb->buf, (size_t)pb->bpos);
    printbuf_free(pb);
    return *out ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
}

ftrack_status ftrack_session_query(ftrack_session *session, const char *expression,
                                   size_t page_size, ftrack_query **out, ftrack_error *err)
{
    if (out)
        *out = NULL;
    if (!session || !expression || !out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No session, expression or result.");
    ftrack_status status = fti_session_check_open(session, err);
    if (status != FTRACK_OK)
        return status;
    ftrack_query *q = calloc(1, sizeof(*q));
    if (!q)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    status = rewrite(session, expression, &q->expression, err);
    if (status != FTRACK_OK) {
        free(q);
        return status;
    }
    q->session = session;
    q->offset = take_clause(q->expression, "offset");
    q->limit = take_clause(q->expression, "limit");
    strip(q->expression);
    q->page_size = page_size ? page_size : DEFAULT_PAGE_SIZE;
    /* A limit below the page size needs only one page of that size (Python's optimisation). */
    if (q->limit >= 0 && (size_t)q->limit < q->page_size)
        q->page_size = (size_t)q->limit;
    q->next_offset = q->offset >= 0 ? q->offset : 0;
    if (q->limit == 0)
        q->next_offset = -1;
    *out = q;
    return FTRACK_OK;
}

const char *ftrack_query_expression(const ftrack_query *query)
{
    return query ? query->expression : NULL;
}

void ftrack_query_free(ftrack_query *query)
{
    if (!query)
        return;
    free(query->expression);
    json_object_put(query->page);
    free(query);
}

/* metadata.next.offset: -1 when null or absent; metadata.next must be an object when present. */
static ftrack_status next_offset_of(json_object *metadata, long current, long *next,
                                    ftrack_error *err)
{
    *next = -1;
    json_object *n = NULL, *offset = NULL;
    if (!metadata || !json_object_object_get_ex(metadata, "next", &n))
        return FTRACK_OK;
    if (!json_object_is_type(n, json_type_object))
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "The query answer's metadata.next is not an object.");
    if (!json_object_object_get_ex(n, "offset", &offset) || !offset)
        return FTRACK_OK;
    if (!json_object_is_type(offset, json_type_int))
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "The query answer's metadata.next.offset is not an integer.");
    long value = (long)json_object_get_int64(offset);
    /* A server that does not move forward would page forever. */
    if (value <= current)
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE,
                         "The query answer's next offset %ld does not advance past %ld.", value,
                         current);
    *next = value;
    return FTRACK_OK;
}

static ftrack_status fetch_page(ftrack_query *q, ftrack_error *err)
{
    char *expression =
        fti_asprintf("%s offset %ld limit %zu", q->expression, q->next_offset, q->page_size);
    if (!expression)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object *results = NULL, *data = NULL, *metadata = NULL;
    ftrack_status status =
        fti_session_raw_query(q->session, expression, &results, &data, &metadata, err);
    free(expression);
    if (status != FTRACK_OK)
        return status;
    long next = -1;
    if (!json_object_is_type(metadata, json_type_object))
        status = fti_error(err, FTRACK_ERR_BAD_RESPONSE, "A query answer without metadata.");
    else
        status = next_offset_of(metadata, q->next_offset, &next, err);
    json_object *page = status == FTRACK_OK ? json_object_new_array() : NULL;
    if (status == FTRACK_OK && !page)
        status = fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    size_t n = json_object_array_length(data);
    if (status == FTRACK_OK && q->limit >= 0 && q->fetched + n >= (size_t)q->limit) {
        n = (size_t)q->limit - q->fetched; /* the expression's own limit is reached */
        next = -1;
    }
    for (size_t i = 0; status == FTRACK_OK && i < n; i++) {
        json_object *merged = NULL;
        status = fti_session_merge(q->session, json_object_array_get_idx(data, i), &merged, err);
        if (status == FTRACK_OK)
            json_object_array_add(page, merged);
    }
    json_object_put(results);
    if (status != FTRACK_OK) {
        json_object_put(page);
        return status;
    }
    json_object_put(q->page);
    q->page = page;
    q->page_pos = 0;
    q->fetched += n;
    q->next_offset = next;
    return FTRACK_OK;
}

ftrack_status ftrack_query_next(ftrack_query *query, ftrack_entity **entity, ftrack_error *err)
{
    if (entity)
        *entity = NULL;
    if (!query || !entity)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No query or place for the entity.");
    while (!query->page || query->page_pos >= json_object_array_length(query->page)) {
        if (query->next_offset < 0)
            return FTRACK_OK;
        ftrack_status status = fetch_page(query, err);
        if (status != FTRACK_OK)
            return status;
    }
    json_object *record = json_object_array_get_idx(query->page, query->page_pos++);
    return fti_entity_from_json(query->session, record, entity, err);
}

static ftrack_status list_add(ftrack_entity_list *list, ftrack_entity *entity, size_t *cap)
{
    if (!fti_array_reserve(&list->items, cap, list->count + 1, sizeof(*list->items)))
        return FTRACK_ERR_NO_MEMORY;
    list->items[list->count++] = entity;
    return FTRACK_OK;
}

ftrack_status ftrack_query_all(ftrack_query *query, ftrack_entity_list **out, ftrack_error *err)
{
    if (out)
        *out = NULL;
    if (!query || !out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No query or place for the list.");
    ftrack_entity_list *list = calloc(1, sizeof(*list));
    if (!list)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    size_t cap = 0;
    for (;;) {
        ftrack_entity *e = NULL;
        ftrack_status status = ftrack_query_next(query, &e, err);
        if (status == FTRACK_OK && !e)
            break;
        if (status == FTRACK_OK && list_add(list, e, &cap) != FTRACK_OK) {
            ftrack_entity_free(e);
            status = fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
        }
        if (status != FTRACK_OK) {
            ftrack_entity_list_free(list);
            return status;
        }
    }
    *out = list;
    return FTRACK_OK;
}

ftrack_status ftrack_session_query_all(ftrack_session *session, const char *expression,
                                       ftrack_entity_list **list, ftrack_error *err)
{
    ftrack_query *q = NULL;
    ftrack_status status = ftrack_session_query(session, expression, 0, &q, err);
    if (status == FTRACK_OK)
        status = ftrack_query_all(q, list, err);
    ftrack_query_free(q);
    return status;
}

/* Python's first()/one(): the stripped expression plus " limit N", sent without an offset. */
static ftrack_status query_limited(ftrack_session *session, const char *expression, int limit,
                                   const char *what, ftrack_entity **first, size_t *count,
                                   ftrack_error *err)
{
    *first = NULL;
    *count = 0;
    ftrack_query *q = NULL;
    ftrack_status status = ftrack_session_query(session, expression, 0, &q, err);
    if (status != FTRACK_OK)
        return status;
    if (q->limit >= 0 || q->offset >= 0) {
        const char *clause = q->limit >= 0 ? "limit" : "offset";
        ftrack_query_free(q);
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "Expression already contains a %s clause, which does not make sense "
                         "for %s().",
                         clause, what);
    }
    char *limited = fti_asprintf("%s limit %d", q->expression, limit);
    ftrack_query_free(q);
    if (!limited)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    json_object *results = NULL, *data = NULL;
    status = fti_session_raw_query(session, limited, &results, &data, NULL, err);
    free(limited);
    if (status != FTRACK_OK)
        return status;
    *count = json_object_array_length(data);
    if (*count > 0) {
        json_object *merged = NULL;
        status = fti_session_merge(session, json_object_array_get_idx(data, 0), &merged, err);
        if (status == FTRACK_OK)
            status = fti_entity_from_json(session, merged, first, err);
        json_object_put(merged);
    }
    json_object_put(results);
    return status;
}

ftrack_status ftrack_session_query_first(ftrack_session *session, const char *expression,
                                         ftrack_entity **entity, ftrack_error *err)
{
    if (!entity)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No place for the entity.");
    size_t count = 0;
    return query_limited(session, expression, 1, "first", entity, &count, err);
}

ftrack_status ftrack_session_query_one(ftrack_session *session, const char *expression,
                                       ftrack_entity **entity, ftrack_error *err)
{
    if (!entity)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No place for the entity.");
    size_t count = 0;
    ftrack_status status = query_limited(session, expression, 2, "one", entity, &count, err);
    if (status != FTRACK_OK)
        return status;
    if (count == 1)
        return FTRACK_OK;
    ftrack_entity_free(*entity);
    *entity = NULL;
    if (count == 0)
        return fti_error(err, FTRACK_ERR_NOT_FOUND, "NoResultFound: the query found nothing.");
    return fti_error(err, FTRACK_ERR_EXISTS,
                     "MultipleResultsFound: the query found more than one result.");
}

static char *quoted(const char *value)
{
    struct printbuf *pb = printbuf_new();
    if (!pb)
        return NULL;
    for (const char *p = value; *p; p++) {
        if (*p == '"' || *p == '\\')
            printbuf_memappend(pb, "\\", 1);
        printbuf_memappend(pb, p, 1);
    }
    char *out = fti_strndup(pb->buf, (size_t)pb->bpos);
    printbuf_free(pb);
    return out;
}

ftrack_status ftrack_session_get(ftrack_session *session, const char *type, const char *id,
                                 ftrack_entity **entity, ftrack_error *err)
{
    if (entity)
        *entity = NULL;
    if (!session || !type || !id || !entity)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "No session, type, id or result.");
    ftrack_status status = fti_session_check_open(session, err);
    if (status != FTRACK_OK)
        return status;
    json_object *pk = fti_schema_primary_key(fti_session_schema_for(session, type));
    if (!pk)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "Unknown entity type '%s'.", type);
    if (json_object_array_length(pk) != 1)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT,
                         "%s has a primary key of %zu attributes; query it instead.", type,
                         json_object_array_length(pk));
    const char *pk_name = json_object_get_string(json_object_array_get_idx(pk, 0));

    json_object *key_values = json_object_new_array();
    if (key_values)
        json_object_array_add(key_values, json_object_new_string(id));
    char *key = key_values ? fti_entity_cache_key(session, type, key_values, err) : NULL;
    json_object_put(key_values);
    if (!key)
        return err && err->code ? err->code : FTRACK_ERR_NO_MEMORY;
    void *cached = NULL;
    size_t size = 0;
    if (ftrack_cache_get(ftrack_session_cache(session), key, &cached, &size, NULL) == FTRACK_OK) {
        json_object *obj = json_tokener_parse(cached);
        free(cached);
        if (json_object_is_type(obj, json_type_object))
            status = fti_entity_from_json(session, obj, entity, err);
        json_object_put(obj);
        if (*entity) {
            free(key);
            return FTRACK_OK;
        }
    }
    free(key);

    char *value = quoted(id);
    char *expression = value ? fti_asprintf("%s where (%s is \"%s\")", type, pk_name, value) : NULL;
    free(value);
    if (!expression)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
    ftrack_query *q = NULL;
    status = ftrack_session_query(session, expression, 0, &q, err);
    free(expression);
    if (status == FTRACK_OK)
        status = ftrack_query_next(q, entity, err);
    ftrack_query_free(q);
    if (status == FTRACK_OK && !*entity)
        return fti_error(err, FTRACK_ERR_NOT_FOUND, "No %s with %s \"%s\".", type, pk_name, id);
    return status;
}
