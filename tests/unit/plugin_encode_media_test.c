/* SPDX-License-Identifier: Apache-2.0 */
/* The encode-media trigger's logic: configuration, rules, candidates from ftrack.update /
 * component-added / action selections, the action and result shapes, job data, and the
 * bookkeeping that stops it re-triggering on its own outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin's logic is compiled into this test (it is not part of any library). */
#include "../../plugins/encode_media/encode_logic.c"

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

static void test_defaults(void **state)
{
    (void)state;
    encode_config cfg;
    ftrack_error err;
    assert_int_equal(encode_config_from_args(NULL, &cfg, &err), FTRACK_OK);
    assert_true(cfg.file_types.count >= 2);
    assert_int_equal(cfg.component_names.count, 0);
    assert_int_equal(cfg.projects.count, 0);
    assert_true(cfg.keep_original);
    assert_true(cfg.offer_action);
    assert_true(cfg.ignore_own_user);
    assert_int_equal(cfg.max_jobs, 16);
    assert_string_equal(cfg.result_topic, "ftrack.host.encode-media.result");
    assert_null(encode_component_refusal(&cfg, "main", ".MOV"));
    assert_non_null(encode_component_refusal(&cfg, "main", ".exr"));
    encode_config_clear(&cfg);
}

static void test_lists_from_strings_and_arrays(void **state)
{
    (void)state;
    encode_config cfg;
    ftrack_error err;
    json_object *args = parse("{\"encode_media_file_types\": \" mov, .MP4 ,,\", "
                              "\"encode_media_component_names\": [\"main\", \"proxy\"], "
                              "\"encode_media_projects\": \"Alpha, p-123\", "
                              "\"encode_media_keep_original\": false, "
                              "\"encode_media_job_timeout\": 30, \"encode_media_max_jobs\": 2, "
                              "\"encode_media_result_topic\": \"my.topic\"}");
    assert_int_equal(encode_config_from_args(args, &cfg, &err), FTRACK_OK);
    json_object_put(args);
    assert_int_equal(cfg.file_types.count, 2);
    assert_string_equal(cfg.file_types.items[0], ".mov");
    assert_string_equal(cfg.file_types.items[1], ".mp4");
    assert_int_equal(cfg.component_names.count, 2);
    assert_int_equal(cfg.projects.count, 2);
    assert_false(cfg.keep_original);
    assert_true(cfg.job_timeout == 30.0);
    assert_int_equal(cfg.max_jobs, 2);
    assert_string_equal(cfg.result_topic, "my.topic");

    assert_null(encode_component_refusal(&cfg, "main", ".mp4"));
    assert_string_equal(encode_component_refusal(&cfg, "other", ".mp4"), "its name is not listed");
    assert_string_equal(encode_component_refusal(&cfg, "main", ".exr"),
                        "its file type is not listed");
    assert_string_equal(encode_component_refusal(&cfg, "main", NULL),
                        "its file type is not listed");
    assert_true(encode_project_matches(&cfg, "p-123", NULL));
    assert_true(encode_project_matches(&cfg, "p-9", "Alpha"));
    assert_false(encode_project_matches(&cfg, "p-9", "Beta"));
    assert_false(encode_project_matches(&cfg, NULL, NULL));
    encode_config_clear(&cfg);
}

static void test_outputs_are_never_candidates(void **state)
{
    (void)state;
    encode_config cfg;
    json_object *args = parse("{\"encode_media_file_types\": \"\"}"); /* any type */
    assert_int_equal(encode_config_from_args(args, &cfg, NULL), FTRACK_OK);
    json_object_put(args);
    assert_null(encode_component_refusal(&cfg, "main", ".whatever"));
    assert_string_equal(encode_component_refusal(&cfg, "ftrackreview-mp4", ".mp4"),
                        "it is an encode output");
    assert_string_equal(encode_component_refusal(&cfg, "ftrackreview-image", ".jpg"),
                        "it is an encode output");
    encode_config_clear(&cfg);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    encode_config cfg;
    ftrack_error err;
    const char *bad[] = {
        "{\"encode_media_file_types\": 3}",    "{\"encode_media_component_names\": [1]}",
        "{\"encode_media_job_timeout\": 0}",   "{\"encode_media_job_timeout\": \"10\"}",
        "{\"encode_media_max_jobs\": 100000}", "{\"encode_media_result_topic\": \"\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_object *args = parse(bad[i]);
        assert_int_equal(encode_config_from_args(args, &cfg, &err), FTRACK_ERR_CONFIG);
        assert_non_null(strstr(err.message, "encode_media_"));
        json_object_put(args);
    }
}

static void test_candidates_from_update(void **state)
{
    (void)state;
    /* An ftrack.update in the shape of protocol §11.1. */
    json_object *data = parse(
        "{\"entities\": ["
        " {\"entityId\": \"c1\", \"entityType\": \"component\", \"entity_type\": \"FileComponent\","
        "  \"action\": \"add\", \"keys\": [], \"changes\": {}, \"parents\": ["
        "   {\"entityId\": \"c1\", \"entityType\": \"component\", \"entity_type\": "
        "\"FileComponent\"},"
        "   {\"entityId\": \"p1\", \"entityType\": \"show\", \"entity_type\": \"Project\", "
        "\"parentId\": null}]},"
        " {\"entityId\": \"v1\", \"entityType\": \"assetversion\", \"entity_type\": "
        "\"AssetVersion\", \"action\": \"add\"},"
        " {\"entityId\": \"c2\", \"entity_type\": \"FileComponent\", \"action\": \"update\"},"
        " {\"entityId\": \"t1\", \"entity_type\": \"Task\", \"action\": \"add\"},"
        " {\"entityId\": \"c3\", \"entityType\": \"component\", \"action\": \"add\"},"
        " {\"entityId\": \"c1\", \"entity_type\": \"FileComponent\", \"action\": \"add\"},"
        " {\"entityId\": \"cl1\", \"entity_type\": \"ComponentLocation\", \"action\": \"add\"}"
        "], \"user\": {\"userid\": \"u\"}}");
    encode_candidates c = {0};
    encode_candidates_from_update(data, &c);
    json_object_put(data);
    assert_int_equal(c.count, 4);
    assert_int_equal(c.items[3].kind, ENCODE_CANDIDATE_LOCATION);
    assert_string_equal(c.items[3].id, "cl1");
    assert_int_equal(c.items[0].kind, ENCODE_CANDIDATE_COMPONENT);
    assert_string_equal(c.items[0].id, "c1");
    assert_string_equal(c.items[0].project_id, "p1");
    assert_int_equal(c.items[1].kind, ENCODE_CANDIDATE_VERSION);
    assert_string_equal(c.items[1].id, "v1");
    assert_null(c.items[1].project_id);
    assert_string_equal(c.items[2].id, "c3"); /* legacy type only */
    encode_candidates_clear(&c);

    data = parse("{\"component_id\": \"c9\", \"location_id\": \"loc\"}");
    encode_candidates_from_component_added(data, &c);
    json_object_put(data);
    assert_int_equal(c.count, 1);
    assert_string_equal(c.items[0].id, "c9");
    encode_candidates_clear(&c);

    data = parse("{\"entities\": \"nonsense\"}");
    encode_candidates_from_update(data, &c);
    encode_candidates_from_component_added(data, &c);
    json_object_put(data);
    assert_int_equal(c.count, 0);
}

static void test_action_discover_and_selection(void **state)
{
    (void)state;
    json_object *data = parse("{\"selection\": [{\"entityId\": \"v1\", \"entityType\": "
                              "\"assetversion\"}, {\"entityId\": \"t1\", \"entityType\": "
                              "\"task\"}]}");
    json_object *reply = encode_discover_reply(data);
    assert_non_null(reply);
    json_object *item = json_object_array_get_idx(json_object_object_get(reply, "items"), 0);
    assert_string_equal(json_object_get_string(json_object_object_get(item, "label")),
                        "Encode media");
    assert_string_equal(json_object_get_string(json_object_object_get(item, "actionIdentifier")),
                        ENCODE_ACTION_IDENTIFIER);
    json_object_put(reply);
    encode_candidates c = {0};
    encode_candidates_from_selection(data, &c);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.items[0].kind, ENCODE_CANDIDATE_VERSION);
    assert_string_equal(c.items[0].id, "v1");
    encode_candidates_clear(&c);
    json_object_put(data);

    data = parse("{\"selection\": [{\"entityId\": \"t1\", \"entityType\": \"task\"}]}");
    assert_null(encode_discover_reply(data));
    json_object_put(data);
}

static void test_result_and_job_data(void **state)
{
    (void)state;
    json_object *job_data = json_object_new_string(
        "{\"output\": [{\"format\": \"video/mp4\", \"component_id\": \"o1\"}, {\"format\": "
        "\"image/jpeg\", \"component_id\": \"o2\"}], \"source_component_id\": \"c1\", "
        "\"keep_original\": true}");
    json_object *outputs = encode_job_outputs(job_data);
    assert_int_equal(json_object_array_length(outputs), 2);
    assert_null(encode_job_error(job_data));
    json_object *result = encode_result_data("c1", NULL, "j1", "done", outputs, NULL);
    json_object *expected =
        parse("{\"component_id\": \"c1\", \"version_id\": null, \"job_id\": \"j1\", \"status\": "
              "\"done\", \"outputs\": [{\"format\": \"video/mp4\", \"component_id\": \"o1\"}, "
              "{\"format\": \"image/jpeg\", \"component_id\": \"o2\"}], \"message\": null}");
    assert_true(json_object_equal(result, expected));
    json_object_put(expected);
    json_object_put(result);
    json_object_put(outputs);
    json_object_put(job_data);

    job_data = parse("{\"error\": \"ffmpeg is not installed\"}");
    char *why = encode_job_error(job_data);
    assert_string_equal(why, "ffmpeg is not installed");
    free(why);
    assert_null(encode_job_outputs(job_data));
    json_object_put(job_data);
    assert_null(encode_job_outputs(NULL));
}

static void test_registry(void **state)
{
    (void)state;
    encode_registry r;
    assert_true(encode_registry_init(&r, 3));
    assert_true(encode_registry_add(&r, "a"));
    assert_false(encode_registry_add(&r, "a"));
    assert_true(encode_registry_add(&r, "b"));
    assert_true(encode_registry_add(&r, "c"));
    assert_true(encode_registry_has(&r, "a"));
    assert_true(encode_registry_add(&r, "d")); /* forgets the oldest */
    assert_false(encode_registry_has(&r, "a"));
    assert_true(encode_registry_has(&r, "d"));
    assert_false(encode_registry_has(&r, NULL));
    encode_registry_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_lists_from_strings_and_arrays),
        cmocka_unit_test(test_outputs_are_never_candidates),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_candidates_from_update),
        cmocka_unit_test(test_action_discover_and_selection),
        cmocka_unit_test(test_result_and_job_data),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
