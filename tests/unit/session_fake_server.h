/* SPDX-License-Identifier: Apache-2.0 */
/* A fake ftrack /api for the session's data-layer tests (entity, query, operations, media):
 * an http_responder whose handler answers query_server_information and query_schemas itself
 * and every other operation through the test's `answer` callback. Each operation received
 * (other than the two start-up ones) is appended to `ops` for assertions. Header-only: each
 * test includes it once. */
#ifndef SESSION_FAKE_SERVER_H
#define SESSION_FAKE_SERVER_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftrack/ftrack.h>

#include "http_responder.h"

#define FAKE_KEY "k3y-5ecret-data"
#define FAKE_USER "jane"

#define FAKE_SCHEMAS                                                                               \
    "[{\"id\": \"Foo\", \"primary_key\": [\"id\"], \"default_projections\": [\"id\", \"name\"],"   \
    " \"properties\": {\"id\": {}, \"name\": {}, \"value\": {}, \"bar\": {}, \"bars\": {}}},"      \
    " {\"id\": \"Bar\", \"primary_key\": [\"id\"], \"default_projections\": [\"id\"],"             \
    " \"properties\": {\"id\": {}, \"label\": {}}},"                                               \
    " {\"id\": \"Pair\", \"primary_key\": [\"a\", \"b\"], \"default_projections\": [\"a\", "       \
    "\"b\"],"                                                                                      \
    " \"properties\": {\"a\": {}, \"b\": {}, \"note\": {}}},"                                      \
    " {\"id\": \"FileComponent\", \"primary_key\": [\"id\"], \"default_projections\": [\"id\", "   \
    "\"name\", \"file_type\", \"system_type\"], \"properties\": {\"id\": {}, \"name\": {}, "       \
    "\"file_type\": {}, \"system_type\": {}, \"size\": {}, \"version_id\": {}}},"                  \
    " {\"id\": \"ComponentLocation\", \"primary_key\": [\"id\"], \"default_projections\": "        \
    "[\"id\"], \"properties\": {\"id\": {}, \"component_id\": {}, \"location_id\": {}, "           \
    "\"resource_identifier\": {}}},"                                                               \
    " {\"id\": \"Job\", \"primary_key\": [\"id\"], \"default_projections\": [\"id\", \"type\", "   \
    "\"status\", \"data\", \"created_at\", \"finished_at\"], \"properties\": {\"id\": {}, "        \
    "\"type\": {}, \"status\": {}, \"data\": {}, \"created_at\": {}, \"finished_at\": {}}}]"

typedef struct fake_server fake_server;
/* Return the result object for one operation (new), or NULL to answer the whole batch with
 * the error object in f->error. Runs on the responder's thread with f->lock held. */
typedef json_object *(*fake_answer_fn)(fake_server *f, json_object *op);

struct fake_server {
    http_responder *r;
    pthread_mutex_t lock;
    fake_answer_fn answer;
    void *user;
    json_object *ops;   /* every data operation received, in order */
    json_object *queue; /* canned results for fake_scripted_answer, consumed in order */
    char error[512];    /* the error object answered when `answer` returns NULL */
    int put_count;
    char put_body[4096];
    char put_headers[1024]; /* "name: value\n" of the last PUT */
};

static inline const char *fake_op_string(json_object *op, const char *key);

static inline void fake_handler(const http_request_record *request, int *status, char **body,
                                void *ud)
{
    fake_server *f = ud;
    *status = 200;
    if (strcmp(request->method, "PUT") == 0) {
        pthread_mutex_lock(&f->lock);
        f->put_count++;
        snprintf(f->put_body, sizeof(f->put_body), "%s", request->body);
        f->put_headers[0] = '\0';
        for (size_t i = 0; i < request->header_count; i++) {
            size_t used = strlen(f->put_headers);
            snprintf(f->put_headers + used, sizeof(f->put_headers) - used, "%s: %s\n",
                     request->header_names[i], request->header_values[i]);
        }
        pthread_mutex_unlock(&f->lock);
        *body = strdup("");
        return;
    }
    json_object *ops = json_tokener_parse(request->body);
    json_object *results = json_object_new_array();
    size_t n = json_object_is_type(ops, json_type_array) ? json_object_array_length(ops) : 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < n; i++) {
        json_object *op = json_object_array_get_idx(ops, i);
        const char *action = json_object_get_string(json_object_object_get(op, "action"));
        json_object *result = NULL;
        if (action && strcmp(action, "query_server_information") == 0) {
            result = json_tokener_parse("{\"version\": \"dev\"}");
        } else if (action && strcmp(action, "query_schemas") == 0) {
            result = json_tokener_parse(FAKE_SCHEMAS);
        } else {
            json_object_array_add(f->ops, json_object_get(op));
            result = f->answer ? f->answer(f, op) : NULL;
            if (!result) {
                json_object_put(results);
                results = json_tokener_parse(f->error[0] ? f->error
                                                         : "{\"exception\": \"ServerError\", "
                                                           "\"content\": \"unscripted\", "
                                                           "\"error_code\": null}");
                break;
            }
        }
        json_object_array_add(results, result);
    }
    pthread_mutex_unlock(&f->lock);
    *body = strdup(json_object_to_json_string_ext(results, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(results);
    json_object_put(ops);
}

static inline fake_server *fake_start(fake_answer_fn answer, void *user)
{
    fake_server *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->answer = answer;
    f->user = user;
    f->ops = json_object_new_array();
    f->queue = json_object_new_array();
    f->r = http_responder_start();
    http_responder_set_handler(f->r, fake_handler, f);
    return f;
}

static inline void fake_stop(fake_server *f)
{
    if (!f)
        return;
    http_responder_stop(f->r);
    json_object_put(f->ops);
    json_object_put(f->queue);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* Queue one canned result (JSON text) for fake_scripted_answer. */
static inline void fake_push(fake_server *f, const char *json)
{
    pthread_mutex_lock(&f->lock);
    json_object_array_add(f->queue, json_tokener_parse(json));
    pthread_mutex_unlock(&f->lock);
}

/* create/update echo their entity_data as the server's entity, delete answers true, anything
 * else takes the next canned result (none left: the batch fails). */
static inline json_object *fake_scripted_answer(fake_server *f, json_object *op)
{
    const char *action = fake_op_string(op, "action");
    if (strcmp(action, "create") == 0 || strcmp(action, "update") == 0) {
        json_object *r = json_object_new_object();
        json_object *data = NULL;
        json_object_deep_copy(json_object_object_get(op, "entity_data"), &data, NULL);
        /* an update's data carries the primary key back, as a server does */
        json_object *key = json_object_object_get(op, "entity_key");
        if (strcmp(action, "update") == 0 && json_object_array_length(key) == 1)
            json_object_object_add(data, "id", json_object_get(json_object_array_get_idx(key, 0)));
        json_object_object_add(r, "action", json_object_new_string(action));
        json_object_object_add(r, "data", data);
        return r;
    }
    if (strcmp(action, "delete") == 0)
        return json_tokener_parse("{\"action\": \"delete\", \"data\": true}");
    if (json_object_array_length(f->queue) == 0)
        return NULL;
    json_object *next = json_object_get(json_object_array_get_idx(f->queue, 0));
    json_object_array_del_idx(f->queue, 0, 1);
    return next;
}

/* Number of data operations received so far. */
static inline size_t fake_op_count(fake_server *f)
{
    pthread_mutex_lock(&f->lock);
    size_t n = json_object_array_length(f->ops);
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* A new copy of the index-th data operation. */
static inline json_object *fake_op(fake_server *f, size_t index)
{
    json_object *copy = NULL;
    pthread_mutex_lock(&f->lock);
    json_object *op = json_object_array_get_idx(f->ops, index);
    if (op)
        json_object_deep_copy(op, &copy, NULL);
    pthread_mutex_unlock(&f->lock);
    return copy;
}

static inline const char *fake_op_string(json_object *op, const char *key)
{
    return json_object_get_string(json_object_object_get(op, key));
}

static inline ftrack_session *fake_session(fake_server *f, ftrack_cache *cache)
{
    ftrack_session_options o;
    ftrack_session_options_init(&o);
    o.server_url = http_responder_url(f->r);
    o.api_key = FAKE_KEY;
    o.api_user = FAKE_USER;
    o.discover_plugins = false;
    o.schema_cache_disabled = true;
    o.cache = cache;
    o.max_retries = 0;
    ftrack_session *s = NULL;
    ftrack_error err;
    if (ftrack_session_open(&o, &s, &err) != FTRACK_OK) {
        fprintf(stderr, "session open failed: %s\n", err.message);
        return NULL;
    }
    return s;
}

#endif
