/* SPDX-License-Identifier: Apache-2.0 */
/* Opening the entity store (store.h): the SQLite file or memory database and its table, what
 * every ftrack server has from the start (locations, object types, the hub's user), the seed
 * file, and closing. Rows and writes are in store.c. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "store_internal.h"

#define LOG_COMPONENT "hub"

static const char *const SCHEMA_SQL =
    "CREATE TABLE IF NOT EXISTS entity ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " family TEXT NOT NULL," /* rows of one family share a key space (Context, Component) */
    " type TEXT NOT NULL,"   /* the concrete type */
    " key TEXT NOT NULL,"    /* JSON array of the primary key values */
    " id TEXT,"              /* the `id` attribute, when the type has one: the join target */
    " data TEXT NOT NULL,"   /* JSON object: the stored attributes */
    " UNIQUE (family, key));"
    "CREATE INDEX IF NOT EXISTS entity_type ON entity (type);"
    "CREATE INDEX IF NOT EXISTS entity_id ON entity (id);";

/* Locations every ftrack server has (ids as ftrack's clients hard-code them). */
static const struct {
    const char *id, *name, *label;
} BUILTIN_LOCATIONS[] = {
    {FHUB_SERVER_LOCATION_ID, "ftrack.server", "ftrack server"},
    {"cb268ecc-8809-11e3-a7e2-20c9d081909b", "ftrack.unmanaged", "Unmanaged"},
    {"ce9b348f-8809-11e3-821c-20c9d081909b", "ftrack.origin", "Origin"},
    {"cd41be70-8809-11e3-b98a-20c9d081909b", "ftrack.connect", "Connect"},
    {"4e2b7a0e-5a32-11e5-92fc-a0999b1ab7a9", "ftrack.review", "Review"},
};

static bool key_exists(fhub_store *store, const fhub_stype *type, json_object *data)
{
    json_object *key = fhub_store_key_of(type, data);
    const fhub_stype *t = NULL;
    sqlite3_int64 seq = 0;
    json_object *row = fhub_store_row_by_key(store, type, key, &t, &seq);
    json_object_put(key);
    json_object_put(row);
    return row != NULL;
}

/* Create `entity` unless its key exists; no change is recorded. */
static bool ensure_entity(fhub_store *store, json_object *entity, bool *added, fhub_store_error *e)
{
    const char *type_name = fti_json_string(entity, "__entity_type__");
    const fhub_stype *type = fhub_store_writable_type(store, type_name, e);
    *added = false;
    if (!type)
        return false;
    bool has_key = true;
    for (size_t i = 0; i < type->npk; i++)
        has_key = has_key && json_object_object_get(entity, type->pk[i]);
    if (has_key && key_exists(store, type, entity))
        return true;
    json_object *r = fhub_store_create(store, type_name, NULL, entity, e);
    if (!r)
        return false;
    json_object_put(r);
    *added = true;
    return true;
}

ftrack_status fhub_store_seed(fhub_store *store, const char *file, size_t *added, ftrack_error *err)
{
    *added = 0;
    json_object *root = json_object_from_file(file);
    json_object *list = root;
    if (json_object_is_type(root, json_type_object))
        list = json_object_object_get(root, "entities");
    if (!json_object_is_type(list, json_type_array)) {
        json_object_put(root);
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "seed file %s: not JSON, or not a list of entities (nor {\"entities\": "
                         "[...]})",
                         file);
    }
    fhub_store_error e = {{0}, {0}};
    size_t i = 0, n = json_object_array_length(list);
    fhub_store_begin(store);
    for (; i < n; i++) {
        bool one = false;
        if (!ensure_entity(store, json_object_array_get_idx(list, i), &one, &e))
            break;
        *added += one;
    }
    json_object_put(store->changes);
    store->changes = NULL; /* a seed is the starting state, not news */
    bool committed = false;
    json_object_put(fhub_store_end(store, i == n, &committed));
    json_object_put(root);
    if (i < n)
        return fti_error(err, FTRACK_ERR_CONFIG, "seed file %s: entity #%zu: %s: %s", file, i + 1,
                         e.exception, e.content);
    if (!committed)
        return fti_error(err, FTRACK_ERR_IO, "seed file %s: could not commit", file);
    return FTRACK_OK;
}

static void ensure_builtins(fhub_store *store)
{
    fhub_store_error e = {{0}, {0}};
    fhub_store_begin(store);
    for (size_t i = 0; i < sizeof(BUILTIN_LOCATIONS) / sizeof(BUILTIN_LOCATIONS[0]); i++) {
        json_object *loc = json_object_new_object();
        json_object_object_add(loc, "__entity_type__", json_object_new_string("Location"));
        json_object_object_add(loc, "id", json_object_new_string(BUILTIN_LOCATIONS[i].id));
        json_object_object_add(loc, "name", json_object_new_string(BUILTIN_LOCATIONS[i].name));
        json_object_object_add(loc, "label", json_object_new_string(BUILTIN_LOCATIONS[i].label));
        bool added = false;
        if (fhub_schema_type(store->schema, "Location"))
            ensure_entity(store, loc, &added, &e);
        json_object_put(loc);
    }
    json_object_put(store->changes);
    store->changes = NULL;
    json_object_put(fhub_store_end(store, true, NULL));
}

/* Every ftrack server has the object types its typed contexts name (Task, Shot, ...): their
 * ids are the schemas' classifiers, and new contexts point at them by default. */
static void ensure_object_types(fhub_store *store, json_object *schemas)
{
    if (!fhub_schema_type(store->schema, "ObjectType"))
        return;
    fhub_store_error e = {{0}, {0}};
    fhub_store_begin(store);
    for (size_t i = 0; i < json_object_array_length(schemas); i++) {
        json_object *schema = json_object_array_get_idx(schemas, i);
        json_object *alias = json_object_object_get(schema, "alias_for");
        const char *id =
            fti_json_string(json_object_object_get(alias, "classifiers"), "object_typeid");
        const char *name = fti_json_string(schema, "id");
        if (!id || !name)
            continue;
        json_object *ot = json_object_new_object();
        json_object_object_add(ot, "__entity_type__", json_object_new_string("ObjectType"));
        json_object_object_add(ot, "id", json_object_new_string(id));
        json_object_object_add(ot, "name", json_object_new_string(name));
        json_object_object_add(ot, "sort", json_object_new_int((int)i));
        bool added = false;
        ensure_entity(store, ot, &added, &e);
        json_object_put(ot);
    }
    json_object_put(store->changes);
    store->changes = NULL;
    json_object_put(fhub_store_end(store, true, NULL));
}

/* Find (or create) the hub user's User entity. */
static void ensure_user(fhub_store *store)
{
    if (!fhub_schema_type(store->schema, "User"))
        return;
    json_object *d = fhub_store_user_by_name(store, store->username);
    if (d) {
        const char *id = fti_json_string(d, "id");
        fti_strlcpy(store->user_id, id ? id : "", sizeof(store->user_id));
        char *display = fhub_store_display_name(d);
        if (display) {
            free(store->user_display);
            store->user_display = display;
        }
        json_object_put(d);
    }
    if (store->user_id[0])
        return;
    fhub_store_error e = {{0}, {0}};
    json_object *u = json_object_new_object();
    json_object_object_add(u, "username", json_object_new_string(store->username));
    json_object_object_add(u, "first_name", json_object_new_string(store->username));
    json_object_object_add(u, "last_name", json_object_new_string(""));
    json_object_object_add(u, "is_active", json_object_new_boolean(1));
    fhub_store_begin(store);
    json_object *r = fhub_store_create(store, "User", NULL, u, &e);
    const char *id = fti_json_string(json_object_object_get(r, "data"), "id");
    fti_strlcpy(store->user_id, id ? id : "", sizeof(store->user_id));
    json_object_put(store->changes);
    store->changes = NULL;
    json_object_put(fhub_store_end(store, r != NULL, NULL));
    json_object_put(r);
    json_object_put(u);
}

/* Jobs a previous run left unfinished have no worker any more. */
static void fail_orphan_jobs(fhub_store *store)
{
    char now[32];
    fhub_store_now(now);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(
            store->db,
            "UPDATE entity SET data = json_set(data, '$.status', 'failed', '$.finished_at', ?, "
            "'$.data', '' || json_set(CASE WHEN json_valid(json_extract(data, '$.data')) THEN "
            "json_extract(data, '$.data') ELSE '{}' END, '$.error', "
            "'The hub stopped before the job finished.')) WHERE type = 'Job' AND "
            "json_extract(data, '$.status') IN ('queued', 'running')",
            -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, now, -1, SQLITE_STATIC);
        sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
}

ftrack_status fhub_store_open(const fhub_schema *schema, const char *path, const char *api_user,
                             const char *seed_file, fhub_store **out, ftrack_error *err)
{
    *out = NULL;
    fhub_store *store = calloc(1, sizeof(*store));
    if (!store)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&store->lock, NULL);
    store->schema = schema;
    store->username = strdup(api_user ? api_user : "hub");
    store->user_display = strdup(store->username ? store->username : "hub");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    /* The store holds the studio's data: create it owner-only (SQLite gives its -wal and -shm
     * files the database file's mode). */
    if (path) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    int rc = sqlite3_open_v2(path ? path : ":memory:", &store->db, flags, NULL);
    if (rc != SQLITE_OK || !store->username || !store->user_display) {
        ftrack_status st = fti_error(err, FTRACK_ERR_IO, "cannot open the entity store %s: %s",
                                     path ? path : "(memory)",
                                     store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
        fhub_store_close(store);
        return st;
    }
    sqlite3_busy_timeout(store->db, 5000);
    bool ok = fhub_store_exec_sql(store, "PRAGMA journal_mode=WAL") &&
              fhub_store_exec_sql(store, "PRAGMA synchronous=NORMAL") && fhub_store_exec_sql(store, SCHEMA_SQL);
    if (!ok) {
        ftrack_status st = fti_error(err, FTRACK_ERR_IO, "cannot prepare the entity store %s: %s",
                                     path ? path : "(memory)", sqlite3_errmsg(store->db));
        fhub_store_close(store);
        return st;
    }
    fail_orphan_jobs(store);
    ensure_builtins(store);
    /* The seed first: it may define the hub user's User. */
    size_t added = 0;
    ftrack_status st = seed_file ? fhub_store_seed(store, seed_file, &added, err) : FTRACK_OK;
    if (st != FTRACK_OK) {
        fhub_store_close(store);
        return st;
    }
    if (seed_file)
        ftrack_log(FTRACK_LOG_INFO, LOG_COMPONENT, "seed %s: %zu new entities", seed_file, added);
    ensure_object_types(store, fhub_schema_list(schema));
    ensure_user(store);
    *out = store;
    return FTRACK_OK;
}

void fhub_store_set_server_url(fhub_store *store, const char *url)
{
    free(store->server_url);
    store->server_url = url ? fti_strdup(url) : NULL;
}

const char *fhub_store_user_id(const fhub_store *store)
{
    return store->user_id;
}

void fhub_store_close(fhub_store *store)
{
    if (!store)
        return;
    if (store->db)
        sqlite3_close(store->db);
    json_object_put(store->changes);
    free(store->username);
    free(store->user_display);
    free(store->server_url);
    pthread_mutex_destroy(&store->lock);
    free(store);
}
