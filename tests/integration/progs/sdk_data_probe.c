/* SPDX-License-Identifier: Apache-2.0 */
/* Drives the SDK's data layer against a real server (FTRACK_SERVER, FTRACK_API_USER,
 * FTRACK_API_KEY from the environment), for the integration tests.
 *
 *   sdk_data_probe crud                  create/commit/query/page/update/delete/rollback/populate
 *   sdk_data_probe encode FILE TIMEOUT   upload FILE, encode it, wait for the Job; prints
 *                                        "job <id> <status>", "output <id> <format>" and
 *                                        "queryable <id> <name>" per output
 *   sdk_data_probe wait-job ID TIMEOUT   prints "job <id> <status>"
 *   sdk_data_probe lazy-read TYPE ID ATTR  loads TYPE ID with `id` only, then reads ATTR (so
 *                                        the session fetches it); prints "value <JSON>"
 *
 * Prints "ok: <step>" per step; on the first failure prints "FAIL: <step>: <message>" to
 * stderr and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/ftrack.h>

static ftrack_session *session;
static ftrack_error err;

static void check(ftrack_status st, const char *step)
{
    if (st != FTRACK_OK) {
        fprintf(stderr, "FAIL: %s: %s (%s)\n", step, err.message, ftrack_strerror(st));
        exit(1);
    }
    printf("ok: %s\n", step);
    fflush(stdout);
}

static void expect(bool cond, const char *step)
{
    if (!cond) {
        fprintf(stderr, "FAIL: %s\n", step);
        exit(1);
    }
    printf("ok: %s\n", step);
    fflush(stdout);
}

static json_object *obj(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o) {
        fprintf(stderr, "FAIL: bad JSON in the probe: %s\n", text);
        exit(1);
    }
    return o;
}

static ftrack_entity *create(const char *type, const char *json)
{
    json_object *data = obj(json);
    ftrack_entity *e = NULL;
    char step[64];
    snprintf(step, sizeof(step), "create %s", type);
    check(ftrack_session_create(session, type, data, &e, &err), step);
    json_object_put(data);
    return e;
}

static void run_crud(void)
{
    char suffix[40];
    ftrack_uuid_hex(suffix);
    suffix[8] = '\0';
    char text[512];
    snprintf(text, sizeof(text), "{\"name\": \"probe-%s\", \"full_name\": \"Probe %s\"}", suffix,
             suffix);
    ftrack_entity *project = create("Project", text);
    for (int i = 0; i < 7; i++) {
        snprintf(text, sizeof(text), "{\"name\": \"probe-status-%s-%d\"}", suffix, i);
        ftrack_entity_free(create("Status", text));
    }
    expect(ftrack_session_recorded_operation_count(session) == 8, "8 operations recorded");
    check(ftrack_session_commit(session, &err), "commit");
    expect(ftrack_session_recorded_operation_count(session) == 0, "operations cleared");

    /* Paging: 7 statuses in pages of 3 → 3 requests, 7 entities. */
    snprintf(text, sizeof(text),
             "select id, name from Status where name like \"probe-status-%s-%%\"", suffix);
    ftrack_query *q = NULL;
    check(ftrack_session_query(session, text, 3, &q, &err), "query statuses");
    ftrack_entity_list *list = NULL;
    check(ftrack_query_all(q, &list, &err), "page through statuses");
    expect(list->count == 7, "7 statuses in pages of 3");
    ftrack_entity_list_free(list);
    ftrack_query_free(q);

    /* A fresh query sees the committed project; get() answers from the cache. */
    snprintf(text, sizeof(text), "Project where name is \"probe-%s\"", suffix);
    ftrack_entity *found = NULL;
    check(ftrack_session_query_one(session, text, &found, &err), "query_one project");
    expect(strcmp(ftrack_entity_id(found), ftrack_entity_id(project)) == 0, "same project id");
    ftrack_entity_free(found);

    /* Update, commit, then read back through a fresh query. */
    json_object *v = json_object_new_string("Renamed");
    check(ftrack_entity_set(project, "full_name", v, &err), "set full_name");
    json_object_put(v);
    check(ftrack_session_commit(session, &err), "commit update");
    snprintf(text, sizeof(text), "select id, full_name from Project where id is \"%s\"",
             ftrack_entity_id(project));
    check(ftrack_session_query_one(session, text, &found, &err), "query updated");
    char *full = NULL;
    check(ftrack_entity_get_string(found, "full_name", &full, &err), "read full_name");
    expect(full && strcmp(full, "Renamed") == 0, "update reached the server");
    ftrack_free(full);

    /* Auto-populate: `name` was not selected, so it is fetched. */
    snprintf(text, sizeof(text), "select id from Project where id is \"%s\"",
             ftrack_entity_id(project));
    /* A second session: its memory cache has never seen the project's name. */
    ftrack_session_options o;
    ftrack_session_options_init(&o);
    o.discover_plugins = false;
    o.schema_cache_disabled = true;
    ftrack_session *fresh = NULL;
    check(ftrack_session_open(&o, &fresh, &err), "open a second session");
    ftrack_entity *bare = NULL;
    check(ftrack_session_query_one(fresh, text, &bare, &err), "query bare");
    ftrack_session_set_auto_populate(fresh, false);
    json_object *value = NULL;
    ftrack_status st = ftrack_entity_get(bare, "name", &value, &err);
    expect(st == FTRACK_ERR_NOT_FOUND, "auto-populate off: not loaded");
    ftrack_session_set_auto_populate(fresh, true);
    check(ftrack_entity_get(bare, "name", &value, &err), "auto-populate on: fetched");
    expect(json_object_is_type(value, json_type_string) &&
               strncmp(json_object_get_string(value), "probe-", 6) == 0,
           "fetched the right name");
    json_object_put(value);
    ftrack_entity_free(bare);
    ftrack_session_free(fresh);
    ftrack_entity_free(found);

    /* Rollback: nothing reaches the server. */
    ftrack_entity *temp = create("Status", "{\"name\": \"probe-rolled-back\"}");
    ftrack_session_rollback(session);
    check(ftrack_session_commit(session, &err), "commit after rollback");
    snprintf(text, sizeof(text), "select id from Status where id is \"%s\"",
             ftrack_entity_id(temp));
    ftrack_entity *none = NULL;
    check(ftrack_session_query_first(session, text, &none, &err), "query rolled back");
    expect(none == NULL, "rolled back entity absent");
    ftrack_entity_free(temp);

    /* Delete. */
    check(ftrack_session_delete(session, project, &err), "delete project");
    check(ftrack_session_commit(session, &err), "commit delete");
    snprintf(text, sizeof(text), "select id from Project where id is \"%s\"",
             ftrack_entity_id(project));
    check(ftrack_session_query_first(session, text, &none, &err), "query deleted");
    expect(none == NULL, "deleted project absent");
    ftrack_entity_free(project);
}

static void print_job(ftrack_entity *job)
{
    char *status = NULL;
    ftrack_entity_get_string(job, "status", &status, NULL);
    printf("job %s %s\n", ftrack_entity_id(job), status ? status : "?");
    ftrack_free(status);
}

static void run_encode(const char *path, double timeout)
{
    ftrack_entity *job = NULL;
    check(ftrack_session_encode_media_file(session, path, NULL, false, &job, &err),
          "encode_media of a local file");
    char *job_id = strdup(ftrack_entity_id(job));
    ftrack_entity_free(job);
    job = NULL;
    ftrack_status st = ftrack_session_wait_for_job(session, job_id, timeout, &job, &err);
    if (job)
        print_job(job);
    check(st, "job done");
    json_object *data = NULL;
    check(ftrack_entity_get(job, "data", &data, &err), "job data");
    json_object *parsed = json_tokener_parse(json_object_get_string(data));
    json_object *outputs = json_object_object_get(parsed, "output");
    expect(json_object_array_length(outputs) > 0, "job has outputs");
    for (size_t i = 0; i < json_object_array_length(outputs); i++) {
        json_object *o = json_object_array_get_idx(outputs, i);
        const char *id = json_object_get_string(json_object_object_get(o, "component_id"));
        printf("output %s %s\n", id, json_object_get_string(json_object_object_get(o, "format")));
        char text[256];
        snprintf(text, sizeof(text), "select id, name from FileComponent where id is \"%s\"", id);
        ftrack_entity *c = NULL;
        check(ftrack_session_query_one(session, text, &c, &err), "output queryable");
        char *name = NULL;
        ftrack_entity_get_string(c, "name", &name, NULL);
        printf("queryable %s %s\n", id, name ? name : "?");
        ftrack_free(name);
        ftrack_entity_free(c);
    }
    json_object_put(parsed);
    json_object_put(data);
    ftrack_entity_free(job);
    free(job_id);
}

/* An attribute not selected is fetched on first read: the query the session sends for it is what
 * the Python tests compare with ftrack_api's. */
static void run_lazy_read(const char *type, const char *id, const char *attribute)
{
    char expression[256];
    snprintf(expression, sizeof(expression), "select id from %s where id is \"%s\"", type, id);
    ftrack_entity *entity = NULL;
    check(ftrack_session_query_one(session, expression, &entity, &err), "query");
    expect(!ftrack_entity_loaded(entity, attribute), "attribute not loaded yet");
    json_object *value = NULL;
    check(ftrack_entity_get(entity, attribute, &value, &err), "lazy read");
    printf("value %s\n", json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
    json_object_put(value);
    ftrack_entity_free(entity);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sdk_data_probe crud | encode FILE TIMEOUT | wait-job ID TIMEOUT | "
                        "lazy-read TYPE ID ATTR\n");
        return 2;
    }
    ftrack_session_options o;
    ftrack_session_options_init(&o);
    o.discover_plugins = false;
    o.schema_cache_disabled = true;
    o.timeout = 20;
    check(ftrack_session_open(&o, &session, &err), "open session");
    if (strcmp(argv[1], "crud") == 0) {
        run_crud();
    } else if (strcmp(argv[1], "encode") == 0 && argc == 4) {
        run_encode(argv[2], strtod(argv[3], NULL));
    } else if (strcmp(argv[1], "wait-job") == 0 && argc == 4) {
        ftrack_entity *job = NULL;
        ftrack_status st =
            ftrack_session_wait_for_job(session, argv[2], strtod(argv[3], NULL), &job, &err);
        if (job)
            print_job(job);
        ftrack_entity_free(job);
        check(st, "job done");
    } else if (strcmp(argv[1], "lazy-read") == 0 && argc == 5) {
        run_lazy_read(argv[2], argv[3], argv[4]);
    } else {
        fprintf(stderr, "unknown command\n");
        return 2;
    }
    ftrack_session_free(session);
    return 0;
}
