/* SPDX-License-Identifier: Apache-2.0 */
/* The entity store: tables, rows, writes (create/update/delete), batches as SQLite
 * transactions and seed files. The validation of written values is in store_validate.c, the
 * ftrack.update event of each committed batch in store_events.c, reads in store_query.c. The
 * choice of one table for every type is explained in store.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/internal.h"
#include "store_internal.h"

#define LOG_COMPONENT "hub"

/* ---- small helpers ------------------------------------------------------------------------- */

void fhub_store_fail(fhub_store_error *e, const char *exception, const char *fmt, ...)
{
    if (!e || e->exception[0])
        return; /* keep the first error */
    fti_strlcpy(e->exception, exception, sizeof(e->exception));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->content, sizeof(e->content), fmt, ap);
    va_end(ap);
}

int fhub_binds_apply(const fhub_binds *b, sqlite3_stmt *stmt)
{
    for (size_t i = 0; i < json_object_array_length(b->list); i++) {
        json_object *v = json_object_array_get_idx(b->list, i);
        int col = (int)i + 1, rc;
        switch (json_object_get_type(v)) {
        case json_type_null:
            rc = sqlite3_bind_null(stmt, col);
            break;
        case json_type_boolean:
            rc = sqlite3_bind_int(stmt, col, json_object_get_boolean(v));
            break;
        case json_type_int:
            rc = sqlite3_bind_int64(stmt, col, json_object_get_int64(v));
            break;
        case json_type_double:
            rc = sqlite3_bind_double(stmt, col, json_object_get_double(v));
            break;
        default:
            rc = sqlite3_bind_text(stmt, col, json_object_get_string(v), -1, SQLITE_TRANSIENT);
            break;
        }
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

void fhub_sql_type_list(fti_buf *sql, fhub_binds *binds, const fhub_stype *type)
{
    if (type->nconcrete == 0) {
        fti_buf_adds(sql, "NULL");
        return;
    }
    for (size_t i = 0; i < type->nconcrete; i++) {
        fti_buf_adds(sql, i ? ", ?" : "?");
        json_object_array_add(binds->list, json_object_new_string(type->concrete[i]));
    }
}

void fhub_store_now(char out[32])
{
    ftrack_time_iso8601((double)time(NULL), 0, out, 32);
    out[strlen(out) - 1] = '\0'; /* stored dates carry no zone letter */
}

static char *to_text(json_object *v)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    return s ? fti_strndup(s, n) : NULL;
}

/* ---- output shapes -------------------------------------------------------------------------- */

json_object *fhub_store_output_value(const fhub_sprop *prop, json_object *value)
{
    if (prop && prop->vtype == FHUB_VT_DATETIME && json_object_is_type(value, json_type_string)) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "__type__", json_object_new_string("datetime"));
        json_object_object_add(d, "value", json_object_get(value));
        return d;
    }
    return json_object_get(value);
}

json_object *fhub_store_reference(const fhub_stype *type, json_object *data)
{
    json_object *ref = json_object_new_object();
    json_object_object_add(ref, "__entity_type__", json_object_new_string(type->name));
    for (size_t i = 0; i < type->npk; i++)
        json_object_object_add(ref, type->pk[i],
                               json_object_get(json_object_object_get(data, type->pk[i])));
    return ref;
}

json_object *fhub_store_output(const fhub_stype *type, json_object *data, bool all_attributes)
{
    json_object *out = fhub_store_reference(type, data);
    if (!all_attributes)
        return out;
    json_object_object_foreach(data, key, value)
    {
        if (!json_object_object_get_ex(out, key, NULL))
            json_object_object_add(out, key,
                                   fhub_store_output_value(fhub_stype_prop(type, key), value));
    }
    return out;
}

/* ---- rows ----------------------------------------------------------------------------------- */

json_object *fhub_store_key_of(const fhub_stype *type, json_object *data)
{
    json_object *key = json_object_new_array();
    for (size_t i = 0; i < type->npk; i++)
        json_object_array_add(key, json_object_get(json_object_object_get(data, type->pk[i])));
    return key;
}

json_object *fhub_store_row_by_id(fhub_store *store, const fhub_stype *of, const char *id,
                                 const fhub_stype **type)
{
    fti_buf sql = {0};
    fhub_binds binds = {json_object_new_array()};
    fti_buf_adds(&sql, "SELECT type, data FROM entity WHERE id = ?");
    json_object_array_add(binds.list, json_object_new_string(id));
    if (of) {
        fti_buf_adds(&sql, " AND type IN (");
        fhub_sql_type_list(&sql, &binds, of);
        fti_buf_adds(&sql, ")");
    }
    fti_buf_adds(&sql, " LIMIT 1");
    json_object *data = NULL;
    sqlite3_stmt *stmt = NULL;
    if (!sql.failed && sqlite3_prepare_v2(store->db, sql.data, -1, &stmt, NULL) == SQLITE_OK &&
        fhub_binds_apply(&binds, stmt) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
        const fhub_stype *t =
            fhub_schema_type(store->schema, (const char *)sqlite3_column_text(stmt, 0));
        data = t ? json_tokener_parse((const char *)sqlite3_column_text(stmt, 1)) : NULL;
        if (type)
            *type = t;
    }
    sqlite3_finalize(stmt);
    fti_buf_free(&sql);
    json_object_put(binds.list);
    return data;
}

json_object *fhub_store_row_by_key(fhub_store *store, const fhub_stype *type, json_object *key,
                                  const fhub_stype **found, sqlite3_int64 *seq)
{
    char *text = to_text(key);
    sqlite3_stmt *stmt = NULL;
    json_object *data = NULL;
    if (text && sqlite3_prepare_v2(
                    store->db, "SELECT type, data, seq FROM entity WHERE family = ? AND key = ?",
                    -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, type->family, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, text, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *tn = (const char *)sqlite3_column_text(stmt, 0);
            const fhub_stype *t = fhub_schema_type(store->schema, tn);
            if (t && (t == type || fhub_stype_matches(type, tn))) {
                data = json_tokener_parse((const char *)sqlite3_column_text(stmt, 1));
                *found = t;
                *seq = sqlite3_column_int64(stmt, 2);
            }
        }
    }
    sqlite3_finalize(stmt);
    free(text);
    return data;
}

bool fhub_store_exec_sql(fhub_store *store, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return true;
    ftrack_log(FTRACK_LOG_ERROR, LOG_COMPONENT, "store: %s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
    return false;
}

int fhub_store_insert_row(fhub_store *store, const fhub_stype *type, json_object *data)
{
    json_object *key = fhub_store_key_of(type, data);
    char *key_text = to_text(key);
    char *data_text = to_text(data);
    const char *id = fti_json_string(data, "id");
    sqlite3_stmt *stmt = NULL;
    int rc = SQLITE_NOMEM;
    if (key_text && data_text)
        rc = sqlite3_prepare_v2(
            store->db, "INSERT INTO entity (family, type, key, id, data) VALUES (?, ?, ?, ?, ?)",
            -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, type->family, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, type->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, key_text, -1, SQLITE_STATIC);
        if (id && fhub_stype_prop(type, "id"))
            sqlite3_bind_text(stmt, 4, id, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(stmt, 4);
        sqlite3_bind_text(stmt, 5, data_text, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
        rc = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(store->db);
    }
    sqlite3_finalize(stmt);
    free(key_text);
    free(data_text);
    json_object_put(key);
    return rc;
}

int fhub_store_write_row(fhub_store *store, sqlite3_int64 seq, json_object *data, bool remove)
{
    char *data_text = remove ? NULL : to_text(data);
    sqlite3_stmt *stmt = NULL;
    const char *sql =
        remove ? "DELETE FROM entity WHERE seq = ?" : "UPDATE entity SET data = ? WHERE seq = ?";
    int rc =
        remove || data_text ? sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) : SQLITE_NOMEM;
    if (rc == SQLITE_OK) {
        if (remove) {
            sqlite3_bind_int64(stmt, 1, seq);
        } else {
            sqlite3_bind_text(stmt, 1, data_text, -1, SQLITE_STATIC);
            sqlite3_bind_int64(stmt, 2, seq);
        }
        rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(store->db);
    }
    sqlite3_finalize(stmt);
    free(data_text);
    return rc;
}

/* ---- batches ----------------------------------------------------------------------------------
 */

static void act_as_hub_user(fhub_store *store)
{
    fti_strlcpy(store->act_id, store->user_id, sizeof(store->act_id));
    fti_strlcpy(store->act_name, store->username, sizeof(store->act_name));
    fti_strlcpy(store->act_display, store->user_display, sizeof(store->act_display));
}

json_object *fhub_store_scalar(fhub_store *store, const char *sql, const char *param)
{
    sqlite3_stmt *stmt = NULL;
    json_object *v = NULL;
    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, param, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            switch (sqlite3_column_type(stmt, 0)) {
            case SQLITE_INTEGER:
                v = json_object_new_int64(sqlite3_column_int64(stmt, 0));
                break;
            case SQLITE_FLOAT:
                v = json_object_new_double(sqlite3_column_double(stmt, 0));
                break;
            case SQLITE_NULL:
                break;
            default:
                v = json_object_new_string((const char *)sqlite3_column_text(stmt, 0));
                break;
            }
        }
    }
    sqlite3_finalize(stmt);
    return v;
}

json_object *fhub_store_user_by_name(fhub_store *store, const char *username)
{
    json_object *text = fhub_store_scalar(store,
                                         "SELECT data FROM entity WHERE type = 'User' AND "
                                         "json_extract(data, '$.username') = ? ORDER BY seq "
                                         "LIMIT 1",
                                         username);
    json_object *d = text ? json_tokener_parse(json_object_get_string(text)) : NULL;
    json_object_put(text);
    return d;
}

char *fhub_store_display_name(json_object *user)
{
    const char *first = fti_json_string(user, "first_name"), *last = fti_json_string(user, "last_name");
    if (!first && !last)
        return NULL;
    return fti_asprintf("%s%s%s", first ? first : "", first && last ? " " : "",
                        last ? last : "");
}

void fhub_store_begin(fhub_store *store)
{
    pthread_mutex_lock(&store->lock);
    act_as_hub_user(store);
    store->in_batch = fhub_store_exec_sql(store, "BEGIN IMMEDIATE");
    json_object_put(store->changes);
    store->changes = NULL;
}

void fhub_store_begin_as(fhub_store *store, const char *username)
{
    fhub_store_begin(store);
    json_object *user = username ? fhub_store_user_by_name(store, username) : NULL;
    const char *id = fti_json_string(user, "id");
    if (id) {
        fti_strlcpy(store->act_id, id, sizeof(store->act_id));
        fti_strlcpy(store->act_name, username, sizeof(store->act_name));
        char *display = fhub_store_display_name(user);
        fti_strlcpy(store->act_display, display ? display : username, sizeof(store->act_display));
        free(display);
    }
    json_object_put(user);
}

json_object *fhub_store_usernames(fhub_store *store)
{
    json_object *names = json_object_new_array();
    sqlite3_stmt *stmt = NULL;
    pthread_mutex_lock(&store->lock);
    if (sqlite3_prepare_v2(store->db,
                           "SELECT DISTINCT json_extract(data, '$.username') FROM entity WHERE "
                           "type = 'User' AND json_extract(data, '$.username') IS NOT NULL "
                           "ORDER BY 1",
                           -1, &stmt, NULL) == SQLITE_OK)
        while (sqlite3_step(stmt) == SQLITE_ROW)
            json_object_array_add(names, json_object_new_string(
                                             (const char *)sqlite3_column_text(stmt, 0)));
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&store->lock);
    return names;
}

json_object *fhub_store_end(fhub_store *store, bool commit, bool *committed)
{
    json_object *ev = NULL;
    bool ok = false;
    if (store->in_batch) {
        if (commit && fhub_store_exec_sql(store, "COMMIT")) {
            ok = true;
            if (store->changes && json_object_array_length(store->changes) > 0)
                ev = fhub_store_build_event(store);
        } else {
            fhub_store_exec_sql(store, "ROLLBACK");
        }
    }
    store->in_batch = false;
    json_object_put(store->changes);
    store->changes = NULL;
    pthread_mutex_unlock(&store->lock);
    if (committed)
        *committed = ok;
    return ev;
}

static json_object *result(const char *action, json_object *data)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "action", json_object_new_string(action));
    json_object_object_add(r, "data", data);
    return r;
}

static bool not_in_batch(fhub_store *store, fhub_store_error *e)
{
    if (store->in_batch)
        return false;
    fhub_store_fail(e, "ServerError", "The store is not available.");
    return true;
}

json_object *fhub_store_create(fhub_store *store, const char *type_name, json_object *key,
                              json_object *input, fhub_store_error *e)
{
    const fhub_stype *type = fhub_store_writable_type(store, type_name, e);
    if (!type || not_in_batch(store, e))
        return NULL;
    if (type->abstract) {
        fhub_store_fail(e, "ValidationError", "%s is abstract; create one of its kinds instead.",
                       type->name);
        return NULL;
    }
    if (input && !json_object_is_type(input, json_type_object)) {
        fhub_store_fail(e, "ValidationError", "entity_data must be an object.");
        return NULL;
    }
    json_object *data = json_object_new_object();
    bool ok = (!input || fhub_store_apply_input(type, input, data, false, e)) &&
              fhub_store_apply_key(type, key, data, e);
    if (ok) {
        fhub_store_apply_defaults(store, type, data);
        fhub_store_derive(store, type, data);
        fhub_store_derive_workflows(store, type, data);
        for (size_t i = 0; ok && i < type->npk; i++) {
            if (!json_object_object_get(data, type->pk[i])) {
                fhub_store_fail(e, "ValidationError", "%s needs its primary key %s.", type->name,
                               type->pk[i]);
                ok = false;
            }
        }
    }
    ok = ok && fhub_store_check_references(store, type, data, NULL, e) &&
         fhub_store_check_unique_name(store, type, data, e) &&
         fhub_store_check_one_timer(store, type, data, e);
    if (ok) {
        int rc = fhub_store_insert_row(store, type, data);
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
            json_object *k = fhub_store_key_of(type, data);
            fhub_store_fail(e, "ValidationError", "A %s with the key %s already exists.", type->name,
                           json_object_to_json_string(k));
            json_object_put(k);
            ok = false;
        } else if (rc != SQLITE_OK) {
            fhub_store_fail(e, "ServerError", "Could not store the %s: %s", type->name,
                           sqlite3_errstr(rc));
            ok = false;
        }
    }
    if (!ok || !fhub_store_link_collections(store, type, data, input, e)) {
        json_object_put(data);
        return NULL;
    }
    fhub_store_record_change(store, "add", type, NULL, data);
    fhub_store_custom_values_for(store, type, data);
    json_object *out = fhub_store_output(type, data, true);
    fhub_store_echo_collections(type, input, out);
    json_object_put(data);
    return result("create", out);
}

static json_object *find_for_write(fhub_store *store, const char *type_name, json_object *key,
                                   const fhub_stype **type, sqlite3_int64 *seq, fhub_store_error *e)
{
    const fhub_stype *t = fhub_store_writable_type(store, type_name, e);
    if (!t || not_in_batch(store, e))
        return NULL;
    if (!json_object_is_type(key, json_type_array) || json_object_array_length(key) != t->npk) {
        fhub_store_fail(e, "ValidationError", "entity_key of %s must list %zu value(s).", t->name,
                       t->npk);
        return NULL;
    }
    json_object *data = fhub_store_row_by_key(store, t, key, type, seq);
    if (!data)
        fhub_store_fail(e, "NotFoundError", "No %s with the key %s.", t->name,
                       json_object_to_json_string_ext(key, JSON_C_TO_STRING_PLAIN));
    return data;
}

json_object *fhub_store_update(fhub_store *store, const char *type_name, json_object *key,
                              json_object *input, fhub_store_error *e)
{
    const fhub_stype *type = NULL;
    sqlite3_int64 seq = 0;
    json_object *old = find_for_write(store, type_name, key, &type, &seq, e);
    if (!old)
        return NULL;
    json_object *data = NULL;
    json_object_deep_copy(old, &data, NULL);
    bool ok = json_object_is_type(input, json_type_object);
    if (!ok)
        fhub_store_fail(e, "ValidationError", "entity_data must be an object.");
    ok = ok && fhub_store_apply_input(type, input, data, true, e) &&
         fhub_store_check_references(store, type, data, old, e) &&
         fhub_store_check_unique_name(store, type, data, e);
    if (ok && fhub_store_write_row(store, seq, data, false) != SQLITE_OK) {
        fhub_store_fail(e, "ServerError", "Could not update the %s: %s", type->name,
                       sqlite3_errmsg(store->db));
        ok = false;
    }
    ok = ok && fhub_store_link_collections(store, type, data, input, e);
    json_object *out = NULL;
    if (ok) {
        if (!json_object_equal(old, data))
            fhub_store_record_change(store, "update", type, old, data);
        json_object *entity = fhub_store_output(type, data, true);
        fhub_store_echo_collections(type, input, entity);
        out = result("update", entity);
    }
    json_object_put(old);
    json_object_put(data);
    return out;
}

json_object *fhub_store_delete(fhub_store *store, const char *type_name, json_object *key,
                              fhub_store_error *e)
{
    const fhub_stype *type = NULL;
    sqlite3_int64 seq = 0;
    json_object *old = find_for_write(store, type_name, key, &type, &seq, e);
    if (!old)
        return NULL;
    if (fhub_store_write_row(store, seq, NULL, true) != SQLITE_OK) {
        fhub_store_fail(e, "ServerError", "Could not delete the %s: %s", type->name,
                       sqlite3_errmsg(store->db));
        json_object_put(old);
        return NULL;
    }
    fhub_store_record_change(store, "remove", type, old, NULL);
    bool ok = fhub_store_delete_owned(store, type, old, e);
    json_object_put(old);
    return ok ? result("delete", json_object_new_boolean(1)) : NULL;
}

json_object *fhub_store_get(fhub_store *store, const char *type_name, const char *id)
{
    const fhub_stype *of = fhub_schema_type(store->schema, type_name);
    if (!of || !id)
        return NULL;
    const fhub_stype *t = NULL;
    json_object *data = fhub_store_row_by_id(store, of, id, &t);
    if (!data)
        return NULL;
    json_object *out = fhub_store_output(t, data, true);
    json_object_put(data);
    return out;
}
