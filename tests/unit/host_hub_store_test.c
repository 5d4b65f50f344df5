/* SPDX-License-Identifier: Apache-2.0 */
/* The hub's entity store (host/hub/store.c, store_query.c, schema_catalog.c) on the shipped schemas:
 * writes and their validation, queries, transactions, the ftrack.update of a batch, seeds and
 * persistence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hub/store.h"

extern const char fhub_shipped_schemas[];

typedef struct fixture {
    json_object *schemas;
    fhub_schema *schema;
    fhub_store *store;
    char project[64], seq[64], shot[64], task1[64], task2[64], status_a[64], status_b[64];
} fixture;

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o)
        fail_msg("bad JSON in test: %s", text);
    return o;
}

static const char *str(json_object *o, const char *key)
{
    json_object *v = json_object_object_get(o, key);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Create inside the current batch; returns the created entity's data (borrowed from *hold). */
static json_object *create_in(fhub_store *s, const char *type, const char *data, json_object **hold)
{
    fhub_store_error e = {{0}, {0}};
    json_object *d = parse(data);
    json_object *r = fhub_store_create(s, type, NULL, d, &e);
    json_object_put(d);
    if (!r)
        fail_msg("create %s %s: %s: %s", type, data, e.exception, e.content);
    *hold = r;
    return json_object_object_get(r, "data");
}

static void create_id(fhub_store *s, const char *type, const char *data, char out[64])
{
    json_object *hold = NULL;
    json_object *d = create_in(s, type, data, &hold);
    const char *id = str(d, "id");
    assert_non_null(id);
    snprintf(out, 64, "%s", id ? id : ""); /* gcc -O3 cannot see that cmocka's assert returns */
    json_object_put(hold);
}

static json_object *query(fhub_store *s, const char *expr)
{
    fhub_store_error e = {{0}, {0}};
    fhub_store_begin(s);
    json_object *r = fhub_store_query(s, expr, &e);
    json_object_put(fhub_store_end(s, false, NULL));
    if (!r)
        fail_msg("query '%s': %s: %s", expr, e.exception, e.content);
    return r;
}

static void query_fails(fhub_store *s, const char *expr, const char *exception, const char *part)
{
    fhub_store_error e = {{0}, {0}};
    fhub_store_begin(s);
    json_object *r = fhub_store_query(s, expr, &e);
    json_object_put(fhub_store_end(s, false, NULL));
    if (r)
        fail_msg("query '%s' should have failed: %s", expr, json_object_to_json_string(r));
    assert_string_equal(e.exception, exception);
    if (!strstr(e.content, part))
        fail_msg("'%s' → '%s', wanted '%s'", expr, e.content, part);
}

static size_t count(json_object *r)
{
    return json_object_array_length(json_object_object_get(r, "data"));
}

static json_object *row(json_object *r, size_t i)
{
    return json_object_array_get_idx(json_object_object_get(r, "data"), i);
}

static json_object *next_offset(json_object *r)
{
    json_object *meta = json_object_object_get(r, "metadata");
    json_object *next = json_object_object_get(meta, "next");
    assert_true(json_object_is_type(next, json_type_object));
    assert_true(json_object_object_get_ex(next, "offset", NULL));
    return json_object_object_get(next, "offset");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->schemas = json_tokener_parse(fhub_shipped_schemas);
    assert_int_equal(fhub_schema_new(f->schemas, &f->schema, NULL), FTRACK_OK);
    ftrack_error err;
    assert_int_equal(fhub_store_open(f->schema, NULL, "tester", NULL, &f->store, &err), FTRACK_OK);
    fhub_store *s = f->store;
    char buf[512];
    fhub_store_begin(s);
    create_id(s, "Status", "{\"name\": \"Not started\", \"sort\": 1}", f->status_a);
    create_id(s, "Status", "{\"name\": \"In progress\", \"sort\": 2}", f->status_b);
    create_id(s, "Project", "{\"name\": \"alpha\", \"full_name\": \"Alpha\"}", f->project);
    snprintf(buf, sizeof(buf),
             "{\"name\": \"sq010\", \"parent_id\": \"%s\", \"project_id\": \"%s\"}", f->project,
             f->project);
    create_id(s, "Sequence", buf, f->seq);
    snprintf(
        buf, sizeof(buf),
        "{\"name\": \"sh010\", \"parent\": {\"__entity_type__\": \"Sequence\", \"id\": \"%s\"}}",
        f->seq);
    create_id(s, "Shot", buf, f->shot);
    snprintf(buf, sizeof(buf),
             "{\"name\": \"comp\", \"parent_id\": \"%s\", \"status_id\": \"%s\", \"bid\": 3.5}",
             f->shot, f->status_a);
    create_id(s, "Task", buf, f->task1);
    snprintf(buf, sizeof(buf),
             "{\"name\": \"anim\", \"parent_id\": \"%s\", \"status_id\": \"%s\", \"bid\": 1}",
             f->shot, f->status_b);
    create_id(s, "Task", buf, f->task2);
    bool committed = false;
    json_object_put(fhub_store_end(s, true, &committed));
    assert_true(committed);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fhub_store_close(f->store);
    fhub_schema_free(f->schema);
    json_object_put(f->schemas);
    free(f);
    return 0;
}

static void test_builtins_and_hub_user(void **state)
{
    fixture *f = *state;
    json_object *r = query(f->store, "select name from Location where id is "
                                     "\"3a372bde-05bc-11e4-8908-20c9d081909b\"");
    assert_int_equal(count(r), 1);
    assert_string_equal(str(row(r, 0), "name"), "ftrack.server");
    json_object_put(r);
    r = query(f->store, "select id from User where username is \"tester\"");
    assert_int_equal(count(r), 1);
    assert_string_equal(str(row(r, 0), "id"), fhub_store_user_id(f->store));
    json_object_put(r);
}

static void test_create_defaults(void **state)
{
    fixture *f = *state;
    json_object *r = query(f->store, "select context_type, object_type_id, created_by_id, "
                                     "created_at from Task where name is \"comp\"");
    assert_int_equal(count(r), 1);
    json_object *t = row(r, 0);
    assert_string_equal(str(t, "__entity_type__"), "Task");
    assert_string_equal(str(t, "context_type"), "task");
    assert_string_equal(str(t, "object_type_id"), "11c137c0-ee7e-4f9c-91c5-8c77cec22b2c");
    assert_string_equal(str(t, "created_by_id"), fhub_store_user_id(f->store));
    json_object *at = json_object_object_get(t, "created_at");
    assert_string_equal(str(at, "__type__"), "datetime");
    assert_int_equal(strlen(str(at, "value")), 19);
    json_object_put(r);
    r = query(f->store, "select context_type from Project");
    assert_string_equal(str(row(r, 0), "context_type"), "show");
    json_object_put(r);
}

static void test_query_relations_and_projections(void **state)
{
    fixture *f = *state;
    json_object *r = query(f->store, "select name, parent.name, parent.parent.name, status.name "
                                     "from Task where parent.parent.name is \"sq010\" and "
                                     "status.name is \"In progress\"");
    assert_int_equal(count(r), 1);
    json_object *t = row(r, 0);
    assert_string_equal(str(t, "name"), "anim");
    json_object *parent = json_object_object_get(t, "parent");
    assert_string_equal(str(parent, "__entity_type__"), "Shot");
    assert_string_equal(str(parent, "id"), f->shot);
    assert_string_equal(str(parent, "name"), "sh010");
    assert_string_equal(str(json_object_object_get(parent, "parent"), "name"), "sq010");
    assert_string_equal(str(json_object_object_get(t, "status"), "name"), "In progress");
    json_object_put(r);

    /* Collections: projected as lists, filtered with any. */
    r = query(f->store,
              "select name, children.name from Shot where children any (name is \"comp\")");
    assert_int_equal(count(r), 1);
    json_object *kids = json_object_object_get(row(r, 0), "children");
    assert_int_equal(json_object_array_length(kids), 2);
    assert_string_equal(str(json_object_array_get_idx(kids, 0), "name"), "comp");
    json_object_put(r);
    r = query(f->store, "Shot where children any (name is \"nothing\")");
    assert_int_equal(count(r), 0);
    json_object_put(r);

    /* Default projections without select. */
    r = query(f->store, "Task where name is \"comp\"");
    t = row(r, 0);
    assert_non_null(str(t, "id"));
    assert_string_equal(str(t, "name"), "comp");
    assert_string_equal(str(t, "context_type"), "task");
    assert_false(json_object_object_get_ex(t, "bid", NULL));
    json_object_put(r);

    /* Polymorphic: Context finds the project and every typed context. */
    r = query(f->store, "select name from Context");
    assert_int_equal(count(r), 5);
    json_object_put(r);
    r = query(f->store, "select name from TypedContext where name like \"s%\"");
    assert_int_equal(count(r), 2);
    json_object_put(r);

    /* has, subquery, relation id shortcut, null relations. */
    char expr[256];
    snprintf(expr, sizeof(expr),
             "select name from Task where parent has (name is \"sh010\") and "
             "parent.id is \"%s\"",
             f->shot);
    r = query(f->store, expr);
    assert_int_equal(count(r), 2);
    json_object_put(r);
    r = query(f->store,
              "select name from Shot where id in (select parent_id from Task where bid > 2)");
    assert_int_equal(count(r), 1);
    json_object_put(r);
    r = query(f->store, "select name, status from Sequence");
    assert_true(json_object_object_get_ex(row(r, 0), "status", NULL));
    assert_null(json_object_object_get(row(r, 0), "status"));
    json_object_put(r);
}

static void test_query_conditions(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *where;
        size_t n;
    } cases[] = {
        {"name is \"comp\"", 1},
        {"name is_not \"comp\"", 1},
        {"name in (\"comp\", \"anim\", \"x\")", 2},
        {"name not_in (\"comp\")", 1},
        {"name in ()", 0},
        {"name like \"%om%\"", 1},
        {"name not_like \"c%\"", 1},
        {"bid > 1", 1},
        {"bid >= 1", 2},
        {"bid < 3.5", 1},
        {"bid <= 3.5", 2},
        {"bid is \"1\"", 1},
        {"not name is \"comp\"", 1},
        {"(name is \"comp\" or name is \"anim\") and bid > 2", 1},
        {"name is \"comp\" or name is \"anim\" and bid > 2", 1},
        {"description is null", 2},
        {"status_id is_not None", 2},
        {"created_at after \"2000-01-01\"", 2},
        {"created_at before \"2000-01-01\"", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char expr[256];
        snprintf(expr, sizeof(expr), "select id from Task where %s", cases[i].where);
        json_object *r = query(f->store, expr);
        if (count(r) != cases[i].n)
            fail_msg("'%s': %zu rows, want %zu", cases[i].where, count(r), cases[i].n);
        json_object_put(r);
    }
}

static void test_order_and_paging(void **state)
{
    fixture *f = *state;
    fhub_store_begin(f->store);
    for (int i = 0; i < 7; i++) {
        char buf[128], id[64];
        snprintf(buf, sizeof(buf), "{\"username\": \"user%d\", \"first_name\": \"F%d\"}",
                 (i * 3) % 7, i);
        create_id(f->store, "User", buf, id);
    }
    json_object_put(fhub_store_end(f->store, true, NULL));

    json_object *r = query(f->store, "select username from User where username like \"user%\" "
                                     "order by username descending limit 3");
    assert_int_equal(count(r), 3);
    assert_string_equal(str(row(r, 0), "username"), "user6");
    assert_string_equal(str(row(r, 2), "username"), "user4");
    assert_int_equal(json_object_get_int(next_offset(r)), 3);
    json_object_put(r);

    /* Walk the pages as the clients do until next.offset is null. */
    char seen[8] = {0};
    int offset = 0, pages = 0;
    for (;;) {
        char expr[200];
        snprintf(expr, sizeof(expr),
                 "select username from User where username like \"user%%\" order by username "
                 "offset %d limit 3",
                 offset);
        r = query(f->store, expr);
        for (size_t i = 0; i < count(r); i++) {
            const char *u = str(row(r, i), "username");
            assert_int_equal(seen[u[4] - '0'], 0);
            seen[u[4] - '0'] = 1;
        }
        pages++;
        json_object *next = next_offset(r);
        if (!next) {
            json_object_put(r);
            break;
        }
        offset = json_object_get_int(next);
        json_object_put(r);
        assert_true(pages < 10);
    }
    assert_int_equal(pages, 3);
    assert_memory_equal(seen, "\1\1\1\1\1\1\1", 7);

    /* limit 0: nothing, and no next page to loop on. */
    r = query(f->store, "select username from User limit 0");
    assert_int_equal(count(r), 0);
    assert_null(next_offset(r));
    json_object_put(r);
    r = query(f->store, "select username from User where username like \"user%\" offset 5");
    assert_int_equal(count(r), 2);
    assert_null(next_offset(r));
    json_object_put(r);

    /* Order by a relation. */
    r = query(f->store, "select name from Task order by status.name");
    assert_string_equal(str(row(r, 0), "name"), "anim");
    json_object_put(r);
    r = query(f->store, "select name from Task order by status.name descending");
    assert_string_equal(str(row(r, 0), "name"), "comp");
    assert_null(next_offset(r));
    json_object_put(r);
}

static void test_query_errors(void **state)
{
    fixture *f = *state;
    query_fails(f->store, "select id from Nope", "ValidationError", "not an entity type");
    query_fails(f->store, "select nope from Task", "ValidationError", "not an attribute of Task");
    query_fails(f->store, "Task where nope is 1", "ValidationError", "not an attribute of Task");
    query_fails(f->store, "Task where name.x is 1", "ValidationError", "not a relation");
    query_fails(f->store, "Task where children is 1", "ValidationError", "collection");
    query_fails(f->store, "Task order by children", "ValidationError", "collection");
    query_fails(f->store, "Task where name like null", "ValidationError", "null");
    query_fails(f->store, "Task where", "ValidationError", "parse");
}

static json_object *write_op(fhub_store *s, const char *op, const char *type, const char *key,
                             const char *data, fhub_store_error *e)
{
    json_object *k = key ? parse(key) : NULL;
    json_object *d = data ? parse(data) : NULL;
    json_object *r = strcmp(op, "create") == 0   ? fhub_store_create(s, type, k, d, e)
                     : strcmp(op, "update") == 0 ? fhub_store_update(s, type, k, d, e)
                                                 : fhub_store_delete(s, type, k, e);
    json_object_put(k);
    json_object_put(d);
    return r;
}

static void write_fails(fixture *f, const char *op, const char *type, const char *key,
                        const char *data, const char *exception, const char *part)
{
    fhub_store_error e = {{0}, {0}};
    fhub_store_begin(f->store);
    json_object *r = write_op(f->store, op, type, key, data, &e);
    json_object_put(fhub_store_end(f->store, false, NULL));
    if (r)
        fail_msg("%s %s %s should fail", op, type, data ? data : "");
    assert_string_equal(e.exception, exception);
    if (!strstr(e.content, part))
        fail_msg("%s %s: '%s', wanted '%s'", op, type, e.content, part);
}

static void test_write_validation(void **state)
{
    fixture *f = *state;
    char key[100], buf[200];
    snprintf(key, sizeof(key), "[\"%s\"]", f->task1);
    write_fails(f, "create", "Nope", NULL, "{}", "ValidationError", "not an entity type");
    write_fails(f, "create", "Context", NULL, "{\"name\": \"x\"}", "ValidationError", "abstract");
    write_fails(f, "create", "Task", NULL, "{\"bogus\": 1}", "ValidationError",
                "\"bogus\" is not an attribute of Task");
    write_fails(f, "create", "Task", NULL, "{\"name\": 5}", "ValidationError", "must be a string");
    write_fails(f, "create", "Task", NULL, "{\"bid\": \"x\"}", "ValidationError",
                "must be a number");
    write_fails(f, "create", "Task", NULL, "{\"parent_id\": \"missing\"}", "ValidationError",
                "no Context with id \"missing\"");
    write_fails(f, "create", "Task", NULL, "{\"parent\": {\"__entity_type__\": \"Shot\"}}",
                "ValidationError", "entity reference");
    snprintf(buf, sizeof(buf), "{\"id\": \"%s\"}", f->task1);
    write_fails(f, "create", "Shot", NULL, buf, "ValidationError", "already exists");
    write_fails(f, "create", "Task", "[\"a\", \"b\"]", "{}", "ValidationError", "entity_key");
    write_fails(f, "update", "Task", "[\"missing\"]", "{\"name\": \"x\"}", "NotFoundError",
                "No Task");
    write_fails(f, "update", "Task", key, "{\"id\": \"other\"}", "ValidationError", "immutable");
    write_fails(f, "update", "Task", key, "{\"status_id\": \"missing\"}", "ValidationError",
                "no Status");
    write_fails(f, "update", "Shot", key, "{\"name\": \"x\"}", "NotFoundError", "No Shot");
    write_fails(f, "delete", "Task", "[\"missing\"]", NULL, "NotFoundError", "No Task");
    write_fails(f, "delete", "Task", "\"notalist\"", NULL, "ValidationError", "entity_key");
}

static void test_update_delete_and_event(void **state)
{
    fixture *f = *state;
    char key[100], data[200];
    snprintf(key, sizeof(key), "[\"%s\"]", f->task1);
    snprintf(data, sizeof(data),
             "{\"__entity_type__\": \"Task\", \"status_id\": \"%s\", "
             "\"description\": \"first\"}",
             f->status_b);
    fhub_store_error e = {{0}, {0}};
    fhub_store_begin(f->store);
    /* Update through a supertype, as clients may. */
    json_object *r = write_op(f->store, "update", "TypedContext", key, data, &e);
    assert_non_null(r);
    json_object *d = json_object_object_get(r, "data");
    assert_string_equal(str(d, "__entity_type__"), "Task");
    assert_string_equal(str(d, "status_id"), f->status_b);
    assert_string_equal(str(d, "name"), "comp");
    json_object_put(r);
    bool committed = false;
    json_object *ev = fhub_store_end(f->store, true, &committed);
    assert_true(committed);
    assert_non_null(ev);
    assert_string_equal(str(ev, "topic"), "ftrack.update");
    json_object *src = json_object_object_get(ev, "source");
    assert_string_equal(str(json_object_object_get(src, "user"), "username"), "tester");
    json_object *ents = json_object_object_get(json_object_object_get(ev, "data"), "entities");
    assert_int_equal(json_object_array_length(ents), 1);
    json_object *ent = json_object_array_get_idx(ents, 0);
    assert_string_equal(str(ent, "entityId"), f->task1);
    assert_string_equal(str(ent, "entityType"), "task");
    assert_string_equal(str(ent, "entity_type"), "Task");
    assert_string_equal(str(ent, "action"), "update");
    assert_string_equal(str(ent, "objectTypeId"), "11c137c0-ee7e-4f9c-91c5-8c77cec22b2c");
    assert_string_equal(str(ent, "parentId"), f->shot);
    /* Legacy attribute names in keys and changes. */
    json_object *keys = json_object_object_get(ent, "keys");
    assert_int_equal(json_object_array_length(keys), 2);
    json_object *changes = json_object_object_get(ent, "changes");
    json_object *st = json_object_object_get(changes, "statusid");
    assert_non_null(st);
    assert_string_equal(str(st, "new"), f->status_b);
    assert_string_equal(str(st, "old"), f->status_a);
    json_object *desc = json_object_object_get(changes, "description");
    assert_string_equal(str(desc, "new"), "first");
    assert_true(json_object_object_get_ex(desc, "old", NULL));
    assert_null(json_object_object_get(desc, "old"));
    /* Parents: self first, up to the project. */
    json_object *parents = json_object_object_get(ent, "parents");
    assert_int_equal(json_object_array_length(parents), 4);
    assert_string_equal(str(json_object_array_get_idx(parents, 0), "entityId"), f->task1);
    assert_string_equal(str(json_object_array_get_idx(parents, 1), "entityType"), "task");
    assert_string_equal(str(json_object_array_get_idx(parents, 1), "entity_type"), "Shot");
    json_object *proj = json_object_array_get_idx(parents, 3);
    assert_string_equal(str(proj, "entityType"), "show");
    assert_string_equal(str(proj, "entity_type"), "Project");
    assert_null(json_object_object_get(proj, "parentId"));
    json_object *flat = json_object_object_get(json_object_object_get(ev, "data"), "parents");
    assert_int_equal(json_object_array_length(flat), 4);
    json_object_put(ev);

    /* An update that changes nothing publishes nothing. */
    fhub_store_begin(f->store);
    json_object_put(write_op(f->store, "update", "Task", key, "{\"name\": \"comp\"}", &e));
    ev = fhub_store_end(f->store, true, &committed);
    assert_true(committed);
    assert_null(ev);

    /* Delete: remove with the old values. */
    fhub_store_begin(f->store);
    r = write_op(f->store, "delete", "Task", key, NULL, &e);
    assert_true(json_object_get_boolean(json_object_object_get(r, "data")));
    json_object_put(r);
    ev = fhub_store_end(f->store, true, &committed);
    ent = json_object_array_get_idx(
        json_object_object_get(json_object_object_get(ev, "data"), "entities"), 0);
    assert_string_equal(str(ent, "action"), "remove");
    json_object *name = json_object_object_get(json_object_object_get(ent, "changes"), "name");
    assert_string_equal(str(name, "old"), "comp");
    assert_null(json_object_object_get(name, "new"));
    json_object_put(ev);
    json_object *q = query(f->store, "select id from Task");
    assert_int_equal(count(q), 1);
    json_object_put(q);
}

static void test_batch_rolls_back(void **state)
{
    fixture *f = *state;
    fhub_store_error e = {{0}, {0}};
    char buf[200];
    fhub_store_begin(f->store);
    snprintf(buf, sizeof(buf), "{\"name\": \"new-task\", \"parent_id\": \"%s\"}", f->shot);
    json_object *r = write_op(f->store, "create", "Task", NULL, buf, &e);
    assert_non_null(r);
    json_object_put(r);
    /* Visible inside the batch... */
    r = fhub_store_query(f->store, "select id from Task where name is \"new-task\"", &e);
    assert_int_equal(count(r), 1);
    json_object_put(r);
    r = write_op(f->store, "create", "Task", NULL, "{\"bogus\": 1}", &e);
    assert_null(r);
    bool committed = true;
    json_object *ev = fhub_store_end(f->store, false, &committed);
    assert_false(committed);
    assert_null(ev);
    /* ...and gone after the rollback. */
    json_object *q = query(f->store, "select id from Task where name is \"new-task\"");
    assert_int_equal(count(q), 0);
    json_object_put(q);
}

static void test_asset_version_numbers(void **state)
{
    fixture *f = *state;
    char buf[200], asset[64];
    fhub_store_begin(f->store);
    snprintf(buf, sizeof(buf), "{\"name\": \"plate\", \"context_id\": \"%s\"}", f->shot);
    create_id(f->store, "Asset", buf, asset);
    for (int i = 1; i <= 3; i++) {
        json_object *hold = NULL;
        snprintf(buf, sizeof(buf), "{\"asset\": {\"__entity_type__\": \"Asset\", \"id\": \"%s\"}}",
                 asset);
        json_object *v = create_in(f->store, "AssetVersion", buf, &hold);
        assert_int_equal(json_object_get_int(json_object_object_get(v, "version")), i);
        json_object_put(hold);
    }
    json_object_put(fhub_store_end(f->store, true, NULL));
    json_object *r = query(f->store, "select version, asset.name, asset.parent.name from "
                                     "AssetVersion where asset.name is \"plate\" order by version "
                                     "descending limit 1");
    json_object *v = row(r, 0);
    assert_int_equal(json_object_get_int(json_object_object_get(v, "version")), 3);
    json_object *a = json_object_object_get(v, "asset");
    assert_string_equal(str(json_object_object_get(a, "parent"), "name"), "sh010");
    json_object_put(r);
}

static void test_seed(void **state)
{
    fixture *f = *state;
    char path[] = "/tmp/ftrack-seed-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *seed =
        "{\"entities\": [{\"__entity_type__\": \"Project\", \"id\": \"p-seed\", \"name\": "
        "\"seeded\"},"
        " {\"__entity_type__\": \"Shot\", \"id\": \"s-seed\", \"name\": \"sh1\", \"parent_id\": "
        "\"p-seed\"},"
        " {\"__entity_type__\": \"User\", \"id\": \"u-seed\", \"username\": \"seeded.user\"}]}";
    assert_int_equal(write(fd, seed, strlen(seed)), (ssize_t)strlen(seed));
    close(fd);
    size_t added = 0;
    ftrack_error err;
    assert_int_equal(fhub_store_seed(f->store, path, &added, &err), FTRACK_OK);
    assert_int_equal(added, 3);
    /* Again: nothing new, nothing fails. */
    assert_int_equal(fhub_store_seed(f->store, path, &added, &err), FTRACK_OK);
    assert_int_equal(added, 0);
    json_object *r = query(f->store, "select name, parent.name from Shot where id is \"s-seed\"");
    assert_string_equal(str(json_object_object_get(row(r, 0), "parent"), "name"), "seeded");
    json_object_put(r);

    /* A bad entity names itself and loads nothing of the file. */
    FILE *fp = fopen(path, "w");
    fputs("[{\"__entity_type__\": \"Project\", \"id\": \"p2\", \"name\": \"two\"},"
          " {\"__entity_type__\": \"Shot\", \"nonsense\": true}]",
          fp);
    fclose(fp);
    assert_int_equal(fhub_store_seed(f->store, path, &added, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "entity #2"));
    assert_non_null(strstr(err.message, "nonsense"));
    r = query(f->store, "select id from Project where id is \"p2\"");
    assert_int_equal(count(r), 0);
    json_object_put(r);
    fp = fopen(path, "w");
    fputs("not json", fp);
    fclose(fp);
    assert_int_equal(fhub_store_seed(f->store, path, &added, &err), FTRACK_ERR_CONFIG);
    unlink(path);
}

static void test_file_store_persists(void **state)
{
    fixture *f = *state;
    char dir[] = "/tmp/ftrack-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/hub.sqlite", dir);
    fhub_store *s = NULL;
    ftrack_error err;
    assert_int_equal(fhub_store_open(f->schema, path, "tester", NULL, &s, &err), FTRACK_OK);
    char user_id[64];
    snprintf(user_id, sizeof(user_id), "%s", fhub_store_user_id(s));
    char project[64], job[64];
    fhub_store_begin(s);
    create_id(s, "Project", "{\"name\": \"kept\"}", project);
    create_id(s, "Job", "{\"status\": \"running\"}", job);
    json_object_put(fhub_store_end(s, true, NULL));
    fhub_store_close(s);

    assert_int_equal(fhub_store_open(f->schema, path, "tester", NULL, &s, &err), FTRACK_OK);
    assert_string_equal(fhub_store_user_id(s), user_id); /* not a second hub user */
    json_object *r = query(s, "select name from Project");
    assert_int_equal(count(r), 1);
    assert_string_equal(str(row(r, 0), "id"), project);
    json_object_put(r);
    /* The job's worker died with the previous run. */
    r = query(s, "select status, data, finished_at from Job");
    json_object *j = row(r, 0);
    assert_string_equal(str(j, "status"), "failed");
    json_object *data = json_tokener_parse(str(j, "data"));
    assert_non_null(strstr(str(data, "error"), "stopped"));
    json_object_put(data);
    assert_non_null(json_object_object_get(j, "finished_at"));
    json_object_put(r);
    fhub_store_close(s);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtins_and_hub_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_relations_and_projections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_conditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_delete_and_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_version_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_store_persists, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
