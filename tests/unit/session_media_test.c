/* SPDX-License-Identifier: Apache-2.0 */
/* encode_media (protocol §4): request shapes, the unsupported-action error, the upload of a
 * local file (get_upload_metadata + PUT with exactly the returned headers) and following a Job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "common/internal.h"
#include "session/session_internal.h"
#include "session_fake_server.h"

#define JOB_QUERY(STATUS, DATA)                                                                    \
    "{\"action\": \"query\", \"data\": [{\"__entity_type__\": \"Job\", \"id\": \"j1\", "           \
    "\"status\": \"" STATUS "\", \"data\": " DATA "}], \"metadata\": {\"next\": {\"offset\": "     \
    "null}}}"

static void assert_json(json_object *actual, const char *expected_text)
{
    json_object *expected = json_tokener_parse(expected_text);
    assert_non_null(expected);
    if (!json_object_equal(actual, expected))
        fail_msg("got %s\nexpected %s",
                 json_object_to_json_string_ext(actual, JSON_C_TO_STRING_PLAIN),
                 json_object_to_json_string_ext(expected, JSON_C_TO_STRING_PLAIN));
    json_object_put(expected);
}

static void test_encode_request_shape(void **state)
{
    (void)state;
    fake_server *f = fake_start(fake_scripted_answer, NULL);
    ftrack_session *s = fake_session(f, NULL);
    fake_push(f, "{\"job_id\": \"j1\"}");
    ftrack_error err;
    assert_int_equal(ftrack_session_encode_media(s, "c1", NULL, true, NULL, &err), FTRACK_OK);
    json_object *op = fake_op(f, 0);
    assert_json(op, "{\"action\": \"encode_media\", \"component_id\": \"c1\", \"keep_original\": "
                    "true, \"version_id\": null}");
    json_object_put(op);
    assert_int_equal(fake_op_count(f), 1); /* no job asked for: no Job query */

    fake_push(f, "{\"job_id\": \"j1\"}");
    fake_push(f, JOB_QUERY("queued", "null"));
    ftrack_entity *job = NULL;
    assert_int_equal(ftrack_session_encode_media(s, "c2", "v9", false, &job, &err), FTRACK_OK);
    op = fake_op(f, 1);
    assert_json(op, "{\"action\": \"encode_media\", \"component_id\": \"c2\", \"keep_original\": "
                    "false, \"version_id\": \"v9\"}");
    json_object_put(op);
    op = fake_op(f, 2);
    assert_string_equal(fake_op_string(op, "expression"),
                        "select id, type, status, data, created_at, finished_at from Job where "
                        "(id is \"j1\") offset 0 limit 500");
    json_object_put(op);
    assert_string_equal(ftrack_entity_type(job), "Job");
    assert_string_equal(ftrack_entity_id(job), "j1");
    ftrack_entity_free(job);
    ftrack_session_free(s);
    fake_stop(f);
}

static void test_encode_errors(void **state)
{
    (void)state;
    fake_server *f = fake_start(fake_scripted_answer, NULL);
    ftrack_session *s = fake_session(f, NULL);
    ftrack_error err;
    snprintf(f->error, sizeof(f->error),
             "{\"exception\": \"ServerError\", \"content\": \"Invalid action u'encode_media'\", "
             "\"error_code\": null}");
    assert_int_equal(ftrack_session_encode_media(s, "c1", NULL, true, NULL, &err),
                     FTRACK_ERR_COMPATIBILITY);
    assert_non_null(strstr(err.message, "encode_media"));
    /* Another server error stays a server error. */
    snprintf(f->error, sizeof(f->error),
             "{\"exception\": \"ValidationError\", \"content\": \"no component\", "
             "\"error_code\": null}");
    assert_int_equal(ftrack_session_encode_media(s, "c1", NULL, true, NULL, &err),
                     FTRACK_ERR_SERVER);
    assert_string_equal(err.server_content, "no component");
    fake_push(f, "{\"nothing\": 1}");
    assert_int_equal(ftrack_session_encode_media(s, "c1", NULL, true, NULL, &err),
                     FTRACK_ERR_BAD_RESPONSE);
    assert_int_equal(ftrack_session_encode_media(s, "", NULL, true, NULL, &err),
                     FTRACK_ERR_INVALID_ARGUMENT);
    ftrack_session_free(s);
    fake_stop(f);
}

static void test_encode_local_file(void **state)
{
    (void)state;
    fake_server *f = fake_start(fake_scripted_answer, NULL);
    ftrack_session *s = fake_session(f, NULL);
    char dir[] = "/tmp/ftrack-media-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/clip.mov", dir);
    FILE *fp = fopen(path, "w");
    fputs("hello media\n", fp);
    fclose(fp);

    char upload[256];
    snprintf(upload, sizeof(upload),
             "{\"url\": \"%s/upload/abc?token=t0ken\", \"headers\": {\"Content-Type\": "
             "\"video/quicktime\", \"x-upload-check\": \"42\"}, \"component_id\": \"ignored\"}",
             http_responder_url(f->r));
    fake_push(f, upload);
    fake_push(f, "{\"job_id\": \"j1\"}");
    fake_push(f, JOB_QUERY("queued", "null"));
    ftrack_entity *job = NULL;
    ftrack_error err;
    assert_int_equal(ftrack_session_encode_media_file(s, path, NULL, false, &job, &err), FTRACK_OK);
    assert_string_equal(ftrack_entity_id(job), "j1");
    ftrack_entity_free(job);

    assert_int_equal(fake_op_count(f), 5);
    json_object *create = fake_op(f, 0);
    assert_string_equal(fake_op_string(create, "action"), "create");
    assert_string_equal(fake_op_string(create, "entity_type"), "FileComponent");
    json_object *data = json_object_object_get(create, "entity_data");
    const char *component_id = fake_op_string(data, "id");
    assert_string_equal(fake_op_string(data, "name"), "clip");
    assert_string_equal(fake_op_string(data, "file_type"), ".mov");
    assert_int_equal(json_object_get_int(json_object_object_get(data, "size")), 12);
    /* keep_original false: the upload does not join the version. */
    assert_false(json_object_object_get_ex(data, "version_id", NULL));

    json_object *meta = fake_op(f, 1);
    char expected[512];
    snprintf(expected, sizeof(expected),
             "{\"action\": \"get_upload_metadata\", \"checksum\": \"eQYelX+UNqrQp48E3nYjVA==\", "
             "\"component_id\": \"%s\", \"file_name\": \"clip.mov\", \"file_size\": 12}",
             component_id);
    assert_json(meta, expected);
    json_object_put(meta);

    pthread_mutex_lock(&f->lock);
    assert_int_equal(f->put_count, 1);
    assert_string_equal(f->put_body, "hello media\n");
    assert_non_null(strstr(f->put_headers, "Content-Type: video/quicktime\n"));
    assert_non_null(strstr(f->put_headers, "x-upload-check: 42\n"));
    /* Exactly the returned headers: no credentials, no Accept/Expect of curl's own. */
    assert_null(strstr(f->put_headers, "ftrack-api-key"));
    assert_null(strstr(f->put_headers, FAKE_KEY));
    assert_null(strstr(f->put_headers, "Accept:"));
    assert_null(strstr(f->put_headers, "Expect:"));
    pthread_mutex_unlock(&f->lock);

    json_object *location = fake_op(f, 2);
    assert_string_equal(fake_op_string(location, "entity_type"), "ComponentLocation");
    json_object *ldata = json_object_object_get(location, "entity_data");
    assert_string_equal(fake_op_string(ldata, "component_id"), component_id);
    assert_string_equal(fake_op_string(ldata, "location_id"), FTRACK_SERVER_LOCATION_ID);
    assert_string_equal(fake_op_string(ldata, "resource_identifier"), component_id);
    json_object_put(location);

    json_object *encode = fake_op(f, 3);
    snprintf(expected, sizeof(expected),
             "{\"action\": \"encode_media\", \"component_id\": \"%s\", \"keep_original\": false, "
             "\"version_id\": null}",
             component_id);
    assert_json(encode, expected);
    json_object_put(encode);
    json_object_put(create);
    assert_int_equal(ftrack_session_recorded_operation_count(s), 0);

    /* keep_original with a version: the component joins it. */
    fake_push(f, upload);
    fake_push(f, "{\"job_id\": \"j2\"}");
    assert_int_equal(ftrack_session_encode_media_file(s, path, "v1", true, NULL, &err), FTRACK_OK);
    create = fake_op(f, 5);
    assert_string_equal(fake_op_string(json_object_object_get(create, "entity_data"), "version_id"),
                        "v1");
    json_object_put(create);

    assert_int_equal(
        ftrack_session_encode_media_file(s, "/nonexistent/x.mov", NULL, false, NULL, &err),
        FTRACK_ERR_IO);
    unlink(path);
    rmdir(dir);
    ftrack_session_free(s);
    fake_stop(f);
}

static void test_upload_refused(void **state)
{
    (void)state;
    fake_server *f = fake_start(fake_scripted_answer, NULL);
    ftrack_session *s = fake_session(f, NULL);
    char path[] = "/tmp/ftrack-media-upload-XXXXXX";
    int fd = mkstemp(path);
    assert_true(write(fd, "x", 1) == 1);
    close(fd);
    /* An upload URL nobody listens on. */
    fake_push(f, "{\"url\": \"http://127.0.0.1:1/upload\", \"headers\": {}}");
    ftrack_error err;
    assert_int_equal(ftrack_session_create_component(s, path, NULL, NULL, &err),
                     FTRACK_ERR_NETWORK);
    assert_non_null(strstr(err.message, "Upload"));
    /* Headers that would inject lines are refused. */
    fake_push(f, "{\"url\": \"http://127.0.0.1:1/upload\", \"headers\": {\"X\": \"a\\r\\nB: c\"}}");
    assert_int_equal(ftrack_session_create_component(s, path, NULL, NULL, &err),
                     FTRACK_ERR_BAD_RESPONSE);
    unlink(path);
    ftrack_session_free(s);
    fake_stop(f);
}

static void test_wait_for_job(void **state)
{
    (void)state;
    fake_server *f = fake_start(fake_scripted_answer, NULL);
    ftrack_session *s = fake_session(f, NULL);
    fake_push(f, JOB_QUERY("queued", "null"));
    fake_push(f, JOB_QUERY("running", "null"));
    fake_push(f, JOB_QUERY("done", "\"{\\\"output\\\": []}\""));
    ftrack_entity *job = NULL;
    ftrack_error err;
    double t0 = fti_now();
    assert_int_equal(ftrack_session_wait_for_job(s, "j1", 10, &job, &err), FTRACK_OK);
    assert_true(fti_now() - t0 < 5);
    assert_int_equal(fake_op_count(f), 3);
    json_object *op = fake_op(f, 0);
    assert_string_equal(fake_op_string(op, "expression"),
                        "select id, status, data from Job where id is \"j1\" limit 1");
    json_object_put(op);
    char *status = NULL;
    assert_int_equal(ftrack_entity_get_string(job, "status", &status, &err), FTRACK_OK);
    assert_string_equal(status, "done");
    ftrack_free(status);
    ftrack_entity_free(job);

    fake_push(f, JOB_QUERY("failed", "\"{\\\"message\\\": \\\"ffmpeg exploded\\\"}\""));
    assert_int_equal(ftrack_session_wait_for_job(s, "j1", 10, &job, &err), FTRACK_ERR_SERVER);
    assert_non_null(strstr(err.message, "ffmpeg exploded"));
    assert_non_null(job);
    ftrack_entity_free(job);

    for (int i = 0; i < 50; i++)
        fake_push(f, JOB_QUERY("running", "null"));
    t0 = fti_now();
    assert_int_equal(ftrack_session_wait_for_job(s, "j1", 0.5, &job, &err), FTRACK_ERR_TIMEOUT);
    double took = fti_now() - t0;
    assert_true(took >= 0.45 && took < 3);
    assert_non_null(strstr(err.message, "running"));
    ftrack_entity_free(job);

    pthread_mutex_lock(&f->lock);
    json_object_array_del_idx(f->queue, 0, json_object_array_length(f->queue));
    pthread_mutex_unlock(&f->lock);
    fake_push(f, "{\"action\": \"query\", \"data\": [], \"metadata\": {\"next\": {\"offset\": "
                 "null}}}");
    assert_int_equal(ftrack_session_wait_for_job(s, "nope", 1, NULL, &err), FTRACK_ERR_NOT_FOUND);
    ftrack_session_free(s);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_request_shape), cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_encode_local_file),    cmocka_unit_test(test_upload_refused),
        cmocka_unit_test(test_wait_for_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
