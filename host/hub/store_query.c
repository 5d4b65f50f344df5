/* SPDX-License-Identifier: Apache-2.0 */
/* The `query` action: a parsed query (query.h) checked against the schema and translated to
 * one SQL SELECT over the entity table, then each row projected as ftrack answers it.
 *
 * Translation: a stored attribute is json_extract(eN.data, '$."name"'); following a relation
 * opens an EXISTS (conditions) or a scalar subquery (order by, subquery projections) on the
 * target row by its id; a collection opens an EXISTS over the rows whose foreign key holds
 * this row's id. Every literal is bound, never spliced into the SQL text. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/internal.h"
#include "datetime.h"
#include "query_parser.h"
#include "store_internal.h"

#define MAX_ALIASES 64

typedef struct tr {
    fhub_store *store;
    fti_buf sql;
    fhub_binds binds;
    int aliases;
    fhub_store_error *e;
    bool failed;
} tr;

static bool tr_fail(tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool tr_fail(tr *t, const char *fmt, ...)
{
    if (t->failed)
        return false;
    t->failed = true;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fhub_store_fail(t->e, "ValidationError", "%s", msg);
    return false;
}

static void bind(tr *t, json_object *value)
{
    json_object_array_add(t->binds.list, value);
    fti_buf_adds(&t->sql, "?");
}

static bool safe_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static void add_extract(tr *t, int alias, const char *attr)
{
    fti_buf_addf(&t->sql, "json_extract(e%d.data, '$.\"%s\"')", alias, attr);
}

static const fhub_sprop *lookup(tr *t, const fhub_stype *type, const char *name)
{
    const fhub_sprop *p = fhub_stype_prop(type, name);
    if (!p) {
        tr_fail(t, "\"%s\" is not an attribute of %s.", name, type->name);
        return NULL;
    }
    if (!safe_name(p->name) || (p->fk && !safe_name(p->fk))) {
        tr_fail(t, "Attribute \"%s\" of %s cannot be queried.", name, type->name);
        return NULL;
    }
    return p;
}

static const fhub_stype *target_type(tr *t, const fhub_stype *type, const fhub_sprop *p)
{
    const fhub_stype *ref = p->ref ? fhub_schema_type(t->store->schema, p->ref) : NULL;
    if (!ref || !p->fk) {
        tr_fail(t, "Relation \"%s\" of %s cannot be followed by this server.", p->name, type->name);
        return NULL;
    }
    return ref;
}

static int new_alias(tr *t)
{
    if (t->aliases >= MAX_ALIASES) {
        tr_fail(t, "The query follows too many relations.");
        return -1;
    }
    return t->aliases++;
}

/* `relation.id` is the relation's foreign key itself: no join needed. */
static bool ends_with_id(const fhub_qpath *path, size_t i, const fhub_stype *ref)
{
    return i + 2 == path->n && ref->npk == 1 && strcmp(path->parts[i + 1], ref->pk[0]) == 0;
}

/* A scalar SQL expression for path[i..] on row alias `a` of `type`. */
static bool value_expr(tr *t, int a, const fhub_stype *type, const fhub_qpath *path, size_t i,
                       fhub_value_type *vt)
{
    const fhub_sprop *p = lookup(t, type, path->parts[i]);
    if (!p)
        return false;
    bool last = i + 1 == path->n;
    if (p->kind == FHUB_PROP_COLLECTION)
        return tr_fail(t, "\"%s\" of %s is a collection; use \"%s any (...)\" in conditions.",
                       p->name, type->name, p->name);
    if (p->kind == FHUB_PROP_VALUE) {
        if (!last)
            return tr_fail(t, "\"%s\" of %s is not a relation.", p->name, type->name);
        *vt = p->vtype;
        add_extract(t, a, p->name);
        return true;
    }
    const fhub_stype *ref = target_type(t, type, p);
    if (!ref)
        return false;
    if (last || ends_with_id(path, i, ref)) {
        *vt = FHUB_VT_STRING;
        add_extract(t, a, p->fk);
        return true;
    }
    int b = new_alias(t);
    if (b < 0)
        return false;
    fti_buf_adds(&t->sql, "(SELECT ");
    if (!value_expr(t, b, ref, path, i + 1, vt))
        return false;
    fti_buf_addf(&t->sql, " FROM entity e%d WHERE e%d.id = ", b, b);
    add_extract(t, a, p->fk);
    fti_buf_addf(&t->sql, " AND e%d.type IN (", b);
    fhub_sql_type_list(&t->sql, &t->binds, ref);
    fti_buf_adds(&t->sql, "))");
    return true;
}

/* The literal as the attribute's type wants it (ftrack is lenient: "1" matches 1). */
static json_object *coerce(fhub_value_type vt, const fhub_qvalue *v)
{
    switch (v->kind) {
    case FHUB_QV_STRING:
        if (vt == FHUB_VT_INTEGER || vt == FHUB_VT_NUMBER) {
            char *end = NULL;
            errno = 0;
            long long n = strtoll(v->text, &end, 10);
            if (*v->text && !*end && !errno)
                return json_object_new_int64(n);
            double d = strtod(v->text, &end);
            if (*v->text && !*end)
                return json_object_new_double(d);
        } else if (vt == FHUB_VT_BOOLEAN) {
            if (strcasecmp(v->text, "true") == 0 || strcmp(v->text, "1") == 0)
                return json_object_new_int(1);
            if (strcasecmp(v->text, "false") == 0 || strcmp(v->text, "0") == 0)
                return json_object_new_int(0);
        } else if (vt == FHUB_VT_DATETIME) {
            /* Stored date-times are UTC instants: compare the literal as one too. */
            char utc[FHUB_DATETIME_LEN];
            if (fhub_datetime_utc(v->text, utc))
                return json_object_new_string(utc);
        }
        return json_object_new_string(v->text);
    case FHUB_QV_INTEGER:
        if (vt == FHUB_VT_STRING || vt == FHUB_VT_DATETIME)
            return json_object_new_string(v->text);
        return json_object_new_int64(v->integer);
    case FHUB_QV_NUMBER:
        if (vt == FHUB_VT_STRING || vt == FHUB_VT_DATETIME)
            return json_object_new_string(v->text);
        return json_object_new_double(v->number);
    case FHUB_QV_BOOL:
        if (vt == FHUB_VT_STRING)
            return json_object_new_string(v->boolean ? "true" : "false");
        return json_object_new_int(v->boolean ? 1 : 0);
    default:
        return NULL;
    }
}

static bool cond(tr *t, int a, const fhub_stype *type, const fhub_qnode *n);

static bool subquery(tr *t, const fhub_query *q)
{
    const fhub_stype *type = fhub_schema_type(t->store->schema, q->type);
    if (!type)
        return tr_fail(t, "\"%s\" is not an entity type.", q->type);
    int s = new_alias(t);
    if (s < 0)
        return false;
    fhub_value_type vt;
    fti_buf_adds(&t->sql, "(SELECT ");
    if (!value_expr(t, s, type, &q->projections[0], 0, &vt))
        return false;
    fti_buf_addf(&t->sql, " FROM entity e%d WHERE e%d.type IN (", s, s);
    fhub_sql_type_list(&t->sql, &t->binds, type);
    fti_buf_adds(&t->sql, ")");
    if (q->where) {
        fti_buf_adds(&t->sql, " AND ");
        if (!cond(t, s, type, q->where))
            return false;
    }
    fti_buf_adds(&t->sql, ")");
    return true;
}

static bool compare_list(tr *t, fhub_value_type vt, const fhub_qnode *n)
{
    bool negate = n->op == FHUB_QOP_NOT_IN;
    if (n->value.kind == FHUB_QV_SUBQUERY) {
        fti_buf_adds(&t->sql, negate ? " NOT IN " : " IN ");
        return subquery(t, n->value.subquery);
    }
    if (n->value.nitems == 0) {
        fti_buf_adds(&t->sql, negate ? " IS NOT NULL OR 1" : " IS NULL AND 0");
        return true;
    }
    fti_buf_adds(&t->sql, negate ? " NOT IN (" : " IN (");
    for (size_t i = 0; i < n->value.nitems; i++) {
        if (n->value.items[i].kind == FHUB_QV_NULL)
            return tr_fail(t, "null cannot be in a list; use \"is null\".");
        if (i)
            fti_buf_adds(&t->sql, ", ");
        bind(t, coerce(vt, &n->value.items[i]));
    }
    fti_buf_adds(&t->sql, ")");
    return true;
}

/* lhs has just been written; write the operator and the bound value. */
static bool compare(tr *t, fhub_value_type vt, const fhub_qnode *n)
{
    if (n->op == FHUB_QOP_IN || n->op == FHUB_QOP_NOT_IN)
        return compare_list(t, vt, n);
    if (n->value.kind == FHUB_QV_NULL) {
        if (n->op != FHUB_QOP_IS && n->op != FHUB_QOP_IS_NOT)
            return tr_fail(t, "null can only be compared with is or is_not.");
        fti_buf_adds(&t->sql, n->op == FHUB_QOP_IS ? " IS NULL" : " IS NOT NULL");
        return true;
    }
    static const char *const sql_ops[] = {
        [FHUB_QOP_IS] = " IS ",     [FHUB_QOP_IS_NOT] = " IS NOT ",
        [FHUB_QOP_LIKE] = " LIKE ", [FHUB_QOP_NOT_LIKE] = " NOT LIKE ",
        [FHUB_QOP_GT] = " > ",      [FHUB_QOP_LT] = " < ",
        [FHUB_QOP_GE] = " >= ",     [FHUB_QOP_LE] = " <= ",
    };
    fti_buf_adds(&t->sql, sql_ops[n->op]);
    bool like = n->op == FHUB_QOP_LIKE || n->op == FHUB_QOP_NOT_LIKE;
    bind(t, coerce(like ? FHUB_VT_STRING : vt, &n->value));
    return true;
}

/* path[i..] of a condition (or of has/any) on row alias `a` of `type`. */
static bool walk(tr *t, int a, const fhub_stype *type, const fhub_qnode *n, size_t i)
{
    const fhub_qpath *path = &n->path;
    const fhub_sprop *p = lookup(t, type, path->parts[i]);
    if (!p)
        return false;
    bool last = i + 1 == path->n;
    bool nested = n->kind == FHUB_QN_HAS || n->kind == FHUB_QN_ANY;
    if (p->kind == FHUB_PROP_VALUE) {
        if (!last)
            return tr_fail(t, "\"%s\" of %s is not a relation.", p->name, type->name);
        if (nested)
            return tr_fail(t, "\"%s\" of %s is not a relation; has/any need one.", p->name,
                           type->name);
        fti_buf_adds(&t->sql, "(");
        add_extract(t, a, p->name);
        bool ok = compare(t, p->vtype, n);
        fti_buf_adds(&t->sql, ")");
        return ok;
    }
    const fhub_stype *ref = target_type(t, type, p);
    if (!ref)
        return false;
    if (p->kind == FHUB_PROP_RELATION && !nested && (last || ends_with_id(path, i, ref))) {
        fti_buf_adds(&t->sql, "(");
        add_extract(t, a, p->fk);
        bool ok = compare(t, FHUB_VT_STRING, n);
        fti_buf_adds(&t->sql, ")");
        return ok;
    }
    if (last && !nested)
        return tr_fail(t, "\"%s\" of %s is a collection; use \"%s any (...)\".", p->name,
                       type->name, p->name);
    int b = new_alias(t);
    if (b < 0)
        return false;
    fti_buf_addf(&t->sql, "EXISTS (SELECT 1 FROM entity e%d WHERE e%d.type IN (", b, b);
    fhub_sql_type_list(&t->sql, &t->binds, ref);
    if (p->kind == FHUB_PROP_RELATION) {
        fti_buf_addf(&t->sql, ") AND e%d.id = ", b);
        add_extract(t, a, p->fk);
    } else {
        fti_buf_adds(&t->sql, ") AND ");
        add_extract(t, b, p->fk);
        fti_buf_addf(&t->sql, " = e%d.id", a);
    }
    fti_buf_adds(&t->sql, " AND ");
    bool ok = last ? cond(t, b, ref, n->left) : walk(t, b, ref, n, i + 1);
    fti_buf_adds(&t->sql, ")");
    return ok;
}

static bool cond(tr *t, int a, const fhub_stype *type, const fhub_qnode *n)
{
    switch (n->kind) {
    case FHUB_QN_AND:
    case FHUB_QN_OR: {
        fti_buf_adds(&t->sql, "(");
        if (!cond(t, a, type, n->left))
            return false;
        fti_buf_adds(&t->sql, n->kind == FHUB_QN_AND ? " AND " : " OR ");
        if (!cond(t, a, type, n->right))
            return false;
        fti_buf_adds(&t->sql, ")");
        return true;
    }
    case FHUB_QN_NOT:
        fti_buf_adds(&t->sql, "NOT (");
        if (!cond(t, a, type, n->left))
            return false;
        fti_buf_adds(&t->sql, ")");
        return true;
    default:
        return walk(t, a, type, n, 0);
    }
}

/* ---- projections ---------------------------------------------------------------------------- */

/* Check a projection path before running the query, so a bad one fails even with no rows. */
static bool check_projection(tr *t, const fhub_stype *type, const fhub_qpath *path)
{
    for (size_t i = 0; i < path->n; i++) {
        const fhub_sprop *p = lookup(t, type, path->parts[i]);
        if (!p)
            return false;
        if (i + 1 == path->n)
            return true;
        if (p->kind == FHUB_PROP_VALUE)
            return tr_fail(t, "\"%s\" of %s is not a relation.", p->name, type->name);
        type = p->ref ? fhub_schema_type(t->store->schema, p->ref) : NULL;
        if (!type)
            return tr_fail(t, "Relation \"%s\" cannot be followed by this server.", p->name);
    }
    return true;
}

static void project(tr *t, json_object *out, const fhub_stype *type, json_object *data,
                    const fhub_qpath *path, size_t i);

static void project_relation(tr *t, json_object *out, const fhub_stype *type, json_object *data,
                             const fhub_sprop *p, const fhub_qpath *path, size_t i)
{
    json_object *fkv = p->fk ? json_object_object_get(data, p->fk) : NULL;
    const fhub_stype *ref = p->ref ? fhub_schema_type(t->store->schema, p->ref) : NULL;
    if (!json_object_is_type(fkv, json_type_string) || !ref) {
        if (!json_object_object_get_ex(out, p->name, NULL))
            json_object_object_add(out, p->name, NULL);
        return;
    }
    const fhub_stype *rt = NULL;
    json_object *row = fhub_store_row_by_id(t->store, ref, json_object_get_string(fkv), &rt);
    if (!row) {
        json_object_object_add(out, p->name, NULL);
        return;
    }
    json_object *target = json_object_object_get(out, p->name);
    if (!json_object_is_type(target, json_type_object)) {
        target = fhub_store_reference(rt, row);
        json_object_object_add(out, p->name, target);
    }
    if (i + 1 < path->n)
        project(t, target, rt, row, path, i + 1);
    json_object_put(row);
    (void)type;
}

/* The list `name` of `out`, made (and *fresh set) when a projection has not made it yet. */
static json_object *output_list(json_object *out, const char *name, bool *fresh)
{
    json_object *list = json_object_object_get(out, name);
    *fresh = !json_object_is_type(list, json_type_array);
    if (*fresh) {
        list = json_object_new_array();
        json_object_object_add(out, name, list);
    }
    return list;
}

/* One item of a projected list: its reference (added unless an earlier projection did) and
 * the rest of the path projected on it. */
static void project_item(tr *t, json_object *list, json_object *item, const fhub_stype *it,
                         json_object *row, const fhub_qpath *path, size_t i)
{
    if (!item) {
        item = fhub_store_reference(it, row);
        json_object_array_add(list, item);
    }
    if (i + 1 < path->n)
        project(t, item, it, row, path, i + 1);
}

/* A many-to-many collection: the items the link rows pointing at us name, in link order; a
 * link to an item that is gone is skipped. */
static void project_through(tr *t, json_object *list, bool fresh, const fhub_stype *ref,
                            const fhub_sprop *p, json_object *idv, const fhub_qpath *path, size_t i)
{
    json_object *links = fhub_store_through_rows(t->store, p, json_object_get_string(idv));
    size_t k = 0;
    for (size_t n = 0; n < json_object_array_length(links); n++) {
        const char *far = fti_json_string(json_object_array_get_idx(links, n), "far");
        const fhub_stype *it = NULL;
        json_object *row = far ? fhub_store_row_by_id(t->store, ref, far, &it) : NULL;
        if (row && it) {
            project_item(t, list, fresh ? NULL : json_object_array_get_idx(list, k), it, row,
                         path, i);
            k++;
        }
        json_object_put(row);
    }
    json_object_put(links);
}

static void project_collection(tr *t, json_object *out, json_object *data, const fhub_sprop *p,
                               const fhub_qpath *path, size_t i)
{
    bool fresh = false;
    json_object *list = output_list(out, p->name, &fresh);
    const fhub_stype *ref = p->ref ? fhub_schema_type(t->store->schema, p->ref) : NULL;
    json_object *idv = json_object_object_get(data, "id");
    if (ref && p->through && json_object_is_type(idv, json_type_string)) {
        project_through(t, list, fresh, ref, p, idv, path, i);
        return;
    }
    if (!ref || !p->fk || !json_object_is_type(idv, json_type_string))
        return;
    fti_buf sql = {0};
    fhub_binds binds = {json_object_new_array()};
    fti_buf_addf(&sql,
                  "SELECT type, data FROM entity WHERE json_extract(data, '$.\"%s\"') = ? "
                  "AND type IN (",
                  p->fk);
    json_object_array_add(binds.list, json_object_get(idv));
    fhub_sql_type_list(&sql, &binds, ref);
    fti_buf_adds(&sql, ") ORDER BY seq");
    sqlite3_stmt *stmt = NULL;
    if (!sql.failed && sqlite3_prepare_v2(t->store->db, sql.data, -1, &stmt, NULL) == SQLITE_OK &&
        fhub_binds_apply(&binds, stmt) == SQLITE_OK) {
        for (size_t k = 0; sqlite3_step(stmt) == SQLITE_ROW; k++) {
            const fhub_stype *it =
                fhub_schema_type(t->store->schema, (const char *)sqlite3_column_text(stmt, 0));
            json_object *row = json_tokener_parse((const char *)sqlite3_column_text(stmt, 1));
            if (!it || !row) {
                json_object_put(row);
                continue;
            }
            project_item(t, list, fresh ? NULL : json_object_array_get_idx(list, k), it, row,
                         path, i);
            json_object_put(row);
        }
    }
    sqlite3_finalize(stmt);
    fti_buf_free(&sql);
    json_object_put(binds.list);
}

/* ancestors: computed from the parent chain, not stored as a foreign key. */
static void project_ancestors(tr *t, json_object *out, json_object *data, const fhub_sprop *p,
                              const fhub_qpath *path, size_t i)
{
    bool fresh = false;
    json_object *list = output_list(out, p->name, &fresh);
    json_object *rows = fhub_store_ancestors(t->store, data);
    for (size_t k = 0; k < json_object_array_length(rows); k++) {
        json_object *r = json_object_array_get_idx(rows, k);
        const fhub_stype *it = fhub_schema_type(t->store->schema, fti_json_string(r, "type"));
        json_object *row = json_object_object_get(r, "data");
        if (it)
            project_item(t, list, fresh ? NULL : json_object_array_get_idx(list, k), it, row,
                         path, i);
    }
    json_object_put(rows);
}

static void project(tr *t, json_object *out, const fhub_stype *type, json_object *data,
                    const fhub_qpath *path, size_t i)
{
    const fhub_sprop *p = fhub_stype_prop(type, path->parts[i]);
    if (!p)
        return; /* an attribute of the queried type that this subtype lacks */
    json_object *computed = NULL;
    if (p->kind == FHUB_PROP_VALUE && fhub_store_computed(t->store, type, data, p->name, &computed)) {
        json_object_object_add(out, p->name, computed);
        return;
    }
    if (p->kind == FHUB_PROP_COLLECTION && strcmp(p->name, "ancestors") == 0) {
        project_ancestors(t, out, data, p, path, i);
        return;
    }
    switch (p->kind) {
    case FHUB_PROP_VALUE:
        if (!json_object_object_get_ex(out, p->name, NULL))
            json_object_object_add(
                out, p->name, fhub_store_output_value(p, json_object_object_get(data, p->name)));
        return;
    case FHUB_PROP_RELATION:
        project_relation(t, out, type, data, p, path, i);
        return;
    case FHUB_PROP_COLLECTION:
        project_collection(t, out, data, p, path, i);
        return;
    }
}

/* ---- the query ------------------------------------------------------------------------------ */

typedef struct projections {
    fhub_qpath *paths;
    size_t n;
    fhub_qpath *owned; /* default projections, built here */
} projections;

static bool default_projections(tr *t, const fhub_stype *type, projections *pr)
{
    size_t n = json_object_is_type(type->default_projections, json_type_array)
                   ? json_object_array_length(type->default_projections)
                   : 0;
    pr->owned = calloc(n ? n : 1, sizeof(*pr->owned));
    if (!pr->owned)
        return tr_fail(t, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *name =
            json_object_get_string(json_object_array_get_idx(type->default_projections, i));
        pr->owned[i].parts = calloc(1, sizeof(char *));
        if (!pr->owned[i].parts || !(pr->owned[i].parts[0] = fti_strdup(name)))
            return tr_fail(t, "out of memory");
        pr->owned[i].n = 1;
        pr->n = i + 1;
    }
    pr->paths = pr->owned;
    return true;
}

static void projections_free(projections *pr)
{
    for (size_t i = 0; pr->owned && i < pr->n; i++) {
        for (size_t j = 0; j < pr->owned[i].n; j++)
            free(pr->owned[i].parts[j]);
        free(pr->owned[i].parts);
    }
    free(pr->owned);
}

static bool build_sql(tr *t, const fhub_query *q, const fhub_stype *type)
{
    t->aliases = 1;
    fti_buf_adds(&t->sql, "SELECT e0.type, e0.data FROM entity e0 WHERE e0.type IN (");
    fhub_sql_type_list(&t->sql, &t->binds, type);
    fti_buf_adds(&t->sql, ")");
    if (q->where) {
        fti_buf_adds(&t->sql, " AND ");
        if (!cond(t, 0, type, q->where))
            return false;
    }
    fti_buf_adds(&t->sql, " ORDER BY ");
    for (size_t i = 0; i < q->norder; i++) {
        fhub_value_type vt;
        if (!value_expr(t, 0, type, &q->order[i].path, 0, &vt))
            return false;
        fti_buf_adds(&t->sql, q->order[i].descending ? " DESC, " : " ASC, ");
    }
    fti_buf_adds(&t->sql, "e0.seq");
    if (q->limit >= 0) {
        fti_buf_adds(&t->sql, " LIMIT ");
        bind(t, json_object_new_int64(q->limit + 1)); /* one more: is there a next page? */
    } else {
        fti_buf_adds(&t->sql, " LIMIT -1");
    }
    if (q->offset > 0) {
        fti_buf_adds(&t->sql, " OFFSET ");
        bind(t, json_object_new_int64(q->offset));
    }
    if (t->sql.failed)
        return tr_fail(t, "out of memory");
    return true;
}

static json_object *run(tr *t, const fhub_query *q, const fhub_stype *type, const projections *pr)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(t->store->db, t->sql.data, -1, &stmt, NULL) != SQLITE_OK ||
        fhub_binds_apply(&t->binds, stmt) != SQLITE_OK) {
        fhub_store_fail(t->e, "ServerError", "The query could not run: %s",
                       sqlite3_errmsg(t->store->db));
        sqlite3_finalize(stmt);
        return NULL;
    }
    json_object *rows = json_object_new_array();
    bool more = false;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (q->limit >= 0 && (long long)json_object_array_length(rows) == q->limit) {
            more = q->limit > 0; /* limit 0: no rows and no next page (no paging loop) */
            break;
        }
        const fhub_stype *rt =
            fhub_schema_type(t->store->schema, (const char *)sqlite3_column_text(stmt, 0));
        json_object *data = json_tokener_parse((const char *)sqlite3_column_text(stmt, 1));
        if (!rt || !data) {
            json_object_put(data);
            continue;
        }
        json_object *out = fhub_store_reference(rt, data);
        for (size_t i = 0; i < pr->n; i++)
            project(t, out, rt, data, &pr->paths[i], 0);
        json_object_array_add(rows, out);
        json_object_put(data);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fhub_store_fail(t->e, "ServerError", "The query failed: %s", sqlite3_errmsg(t->store->db));
        json_object_put(rows);
        rows = NULL;
    }
    sqlite3_finalize(stmt);
    if (!rows)
        return NULL;
    json_object *result = json_object_new_object();
    json_object_object_add(result, "action", json_object_new_string("query"));
    json_object_object_add(result, "data", rows);
    json_object *next = json_object_new_object();
    json_object_object_add(next, "offset",
                           more ? json_object_new_int64((q->offset > 0 ? q->offset : 0) + q->limit)
                                : NULL);
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, "next", next);
    json_object_object_add(result, "metadata", meta);
    (void)type;
    return result;
}

json_object *fhub_store_query(fhub_store *store, const char *expression, fhub_store_error *e)
{
    fhub_query *q = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fhub_query_parse(expression, &q, &err) != FTRACK_OK) {
        fhub_store_fail(e, "ValidationError", "Could not parse the query (at character %d): %s",
                       err.position, err.message);
        return NULL;
    }
    tr t = {.store = store, .e = e, .binds = {json_object_new_array()}};
    projections pr = {0};
    json_object *result = NULL;
    const fhub_stype *type = fhub_schema_type(store->schema, q->type);
    if (!type) {
        tr_fail(&t, "\"%s\" is not an entity type.", q->type);
        goto done;
    }
    if (q->has_select) {
        pr.paths = q->projections;
        pr.n = q->nprojections;
    } else if (!default_projections(&t, type, &pr)) {
        goto done;
    }
    for (size_t i = 0; i < pr.n; i++)
        if (!check_projection(&t, type, &pr.paths[i]))
            goto done;
    if (build_sql(&t, q, type))
        result = run(&t, q, type, &pr);
done:
    projections_free(&pr);
    fti_buf_free(&t.sql);
    json_object_put(t.binds.list);
    fhub_query_free(q);
    return result;
}
