/* SPDX-License-Identifier: Apache-2.0 */
/* Operations modules of the host: metrics (host/ops/metrics.c), log sinks (host/ops/logging.c),
 * health answers (host/ops/health.c), the operations configuration keys, secret files and the
 * FTRACK_HOST_<NAME> environment layer. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>
#include "config/config.h"
#include "ops/health.h"
#include "config/host_options.h"
#include "ops/logging.h"
#include "ops/metrics.h"

/* The value of the sample line starting with `prefix` (name and labels), or -1. */
static double sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, prefix, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    }
    return -1;
}

static int reset(void **state)
{
    (void)state;
    fth_metrics_reset();
    return 0;
}

static void test_counters_render(void **state)
{
    (void)state;
    fth_instance_metrics *m = fth_metrics_instance("hook-a", "webhook");
    assert_non_null(m);
    assert_ptr_equal(fth_metrics_instance("hook-a", NULL), m);
    assert_ptr_equal(fth_metrics_find("hook-a"), m);
    assert_null(fth_metrics_find("nobody"));
    fth_metrics_add(m, FTH_METRIC_RECEIVED, 3);
    fth_metrics_add(m, FTH_METRIC_DISPATCHED, 2);
    fth_metrics_add(m, FTH_METRIC_DEAD_LETTERED, 1);
    fth_metrics_add(NULL, FTH_METRIC_RECEIVED, 1); /* ignored */
    fth_metrics_set_queue_depth(m, 7);
    fth_metrics_add(m, FTH_METRIC_DEADLINE_EXCEEDED, 4);
    fth_metrics_set_paused(m, true);
    fth_metrics_global_add(FTH_GLOBAL_RECONNECTS, 2);
    fth_metrics_gauge_set(FTH_GAUGE_JOURNAL_BYTES, 4096);
    char *text = fth_metrics_render();
    assert_non_null(text);
    assert_true(
        sample(text, "ftrack_host_events_received_total{instance=\"hook-a\",plugin=\"webhook\"}") ==
        3);
    assert_true(
        sample(text,
               "ftrack_host_events_dispatched_total{instance=\"hook-a\",plugin=\"webhook\"}") == 2);
    assert_true(
        sample(text,
               "ftrack_host_events_dead_lettered_total{instance=\"hook-a\",plugin=\"webhook\"}") ==
        1);
    assert_true(sample(text, "ftrack_host_queue_depth{instance=\"hook-a\",plugin=\"webhook\"}") ==
                7);
    assert_true(sample(text, "ftrack_host_events_deadline_exceeded_total{instance=\"hook-a\","
                             "plugin=\"webhook\"}") == 4);
    assert_true(sample(text, "ftrack_host_plugin_paused{instance=\"hook-a\",plugin=\"webhook\"}") ==
                1);
    assert_non_null(strstr(text, "# TYPE ftrack_host_plugin_paused gauge\n"));
    assert_true(sample(text, "ftrack_host_hub_reconnects_total") == 2);
    assert_true(sample(text, "ftrack_host_journal_bytes") == 4096);
    assert_non_null(strstr(text, "# TYPE ftrack_host_events_received_total counter\n"));
    assert_non_null(strstr(text, "# TYPE ftrack_host_handler_seconds histogram\n"));
    free(text);
}

static void test_histogram(void **state)
{
    (void)state;
    fth_instance_metrics *m = fth_metrics_instance("h", NULL);
    fth_metrics_observe_latency(m, 0.0001); /* first bucket */
    fth_metrics_observe_latency(m, 0.03);   /* le 0.05 */
    fth_metrics_observe_latency(m, 60);     /* above every bound */
    fth_metrics_observe_latency(m, -1);     /* ignored */
    char *text = fth_metrics_render();
    assert_true(
        sample(text,
               "ftrack_host_handler_seconds_bucket{instance=\"h\",plugin=\"h\",le=\"0.0005\"}") ==
        1);
    assert_true(
        sample(text,
               "ftrack_host_handler_seconds_bucket{instance=\"h\",plugin=\"h\",le=\"0.025\"}") ==
        1);
    assert_true(
        sample(text,
               "ftrack_host_handler_seconds_bucket{instance=\"h\",plugin=\"h\",le=\"0.05\"}") == 2);
    assert_true(
        sample(text, "ftrack_host_handler_seconds_bucket{instance=\"h\",plugin=\"h\",le=\"10\"}") ==
        2);
    assert_true(
        sample(text,
               "ftrack_host_handler_seconds_bucket{instance=\"h\",plugin=\"h\",le=\"+Inf\"}") == 3);
    assert_true(sample(text, "ftrack_host_handler_seconds_count{instance=\"h\",plugin=\"h\"}") ==
                3);
    double sum = sample(text, "ftrack_host_handler_seconds_sum{instance=\"h\",plugin=\"h\"}");
    assert_true(sum > 60.03 && sum < 60.031);
    free(text);
}

static void test_label_escaping(void **state)
{
    (void)state;
    fth_metrics_instance("x", "we\"ird\\name\nhere");
    char *text = fth_metrics_render();
    assert_non_null(strstr(text, "plugin=\"we\\\"ird\\\\name\\nhere\""));
    free(text);
}

static void *count_many(void *arg)
{
    fth_instance_metrics *m = arg;
    for (int i = 0; i < 100000; i++) {
        fth_metrics_add(m, FTH_METRIC_RECEIVED, 1);
        fth_metrics_observe_latency(m, 0.001);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    fth_instance_metrics *m = fth_metrics_instance("busy", NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, count_many, m);
    for (int i = 0; i < 3; i++) { /* render while counting */
        char *text = fth_metrics_render();
        assert_non_null(text);
        free(text);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(fth_metrics_get(m, FTH_METRIC_RECEIVED), 400000);
    char *text = fth_metrics_render();
    assert_true(
        sample(text, "ftrack_host_handler_seconds_count{instance=\"busy\",plugin=\"busy\"}") ==
        400000);
    free(text);
}

static int collected;
static void collector(void *data)
{
    (void)data;
    collected++;
    fth_metrics_set_queue_depth(fth_metrics_instance("late", NULL), 5);
}

static void test_collector(void **state)
{
    (void)state;
    fth_metrics_set_collector(collector, NULL);
    char *text = fth_metrics_render();
    assert_int_equal(collected, 1);
    assert_true(sample(text, "ftrack_host_queue_depth{instance=\"late\",plugin=\"late\"}") == 5);
    free(text);
}

/* ---- logging ---------------------------------------------------------------------------- */

static void test_log_json(void **state)
{
    (void)state;
    fth_metrics_instance("echo-a", "echo");
    ftrack_log_record r = {FTRACK_LOG_WARNING, "echo-a", "ev-1", "ftrack.update",
                           "line one\nline \"two\""};
    char buf[1024];
    fth_logging_format(&r, FTH_LOG_JSON, 1700000000.5, buf, sizeof(buf));
    assert_null(strchr(buf, '\n'));
    json_object *o = json_tokener_parse(buf);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "plugin", &v));
    assert_string_equal(json_object_get_string(v), "echo-a");
    assert_true(json_object_object_get_ex(o, "event_id", &v));
    assert_string_equal(json_object_get_string(v), "ev-1");
    assert_true(json_object_object_get_ex(o, "topic", &v));
    assert_string_equal(json_object_get_string(v), "ftrack.update");
    assert_true(json_object_object_get_ex(o, "level", &v));
    assert_string_equal(json_object_get_string(v), "warning");
    assert_true(json_object_object_get_ex(o, "message", &v));
    assert_string_equal(json_object_get_string(v), "line one\nline \"two\"");
    assert_true(json_object_object_get_ex(o, "time", &v));
    assert_string_equal(json_object_get_string(v), "2023-11-14T22:13:20.500Z");
    json_object_put(o);
    /* a host component is not a plugin */
    ftrack_log_record h = {FTRACK_LOG_INFO, "host", NULL, NULL, "ready"};
    fth_logging_format(&h, FTH_LOG_JSON, 0, buf, sizeof(buf));
    o = json_tokener_parse(buf);
    assert_false(json_object_object_get_ex(o, "plugin", NULL));
    assert_false(json_object_object_get_ex(o, "event_id", NULL));
    json_object_put(o);
}

static void test_log_text(void **state)
{
    (void)state;
    ftrack_log_record r = {FTRACK_LOG_ERROR, "echo-a", "ev-1", "t.x", "a\nb"};
    char buf[1024];
    fth_logging_format(&r, FTH_LOG_TEXT, 0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z error echo-a: [event ev-1 topic t.x] a b");
    /* Other control characters (a child's log line, a topic from the wire) are escaped. */
    ftrack_log_record c = {FTRACK_LOG_INFO, "iso", NULL, "t\x1b[2J", "red \x1b[31mX\x07\x7f\tend"};
    fth_logging_format(&c, FTH_LOG_TEXT, 0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z info iso: [event - topic t\\x1b[2J] red "
                             "\\x1b[31mX\\x07\\x7f\tend");
}

/* A log file to install the sink on: a temporary file opened for writing and reading back. */
static FILE *temp_log(char path[static 32])
{
    snprintf(path, 32, "/tmp/ftrack-log-test.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "w+");
    assert_non_null(out);
    return out;
}

/* Everything written to a temp_log (which is closed and removed). */
static void read_back(FILE *out, const char *path, char *text, size_t size)
{
    fflush(out);
    rewind(out);
    size_t len = fread(text, 1, size - 1, out);
    text[len] = '\0';
    fclose(out);
    unlink(path);
}

/* fth_logging_say: the text format writes the line as it always was, the JSON format one
 * record, at any log level; the JSON format can be read back line by line. */
static void test_logging_say(void **state)
{
    (void)state;
    char path[32];
    FILE *out = temp_log(path);
    ftrack_log_set_level(FTRACK_LOG_ERROR); /* say is not filtered by level */
    fth_logging_install(FTH_LOG_TEXT, out);
    assert_false(fth_logging_is_json());
    fth_logging_say(FTRACK_LOG_INFO, "host", "ftrack-host: ", "joined at %s\n(see --help)", "x");
    fth_logging_install(FTH_LOG_JSON, out);
    assert_true(fth_logging_is_json());
    fth_logging_say(FTRACK_LOG_INFO, "host", "ftrack-host: ", "joined at %s", "y");
    fth_logging_uninstall();
    assert_false(fth_logging_is_json());
    ftrack_log_set_level(FTRACK_LOG_INFO);
    char text[4096];
    read_back(out, path, text, sizeof(text));
    const char *json = strstr(text, "{");
    assert_non_null(json);
    assert_memory_equal(text, "ftrack-host: joined at x\n(see --help)\n", (size_t)(json - text));
    json_object *r = json_tokener_parse(json);
    assert_non_null(r);
    assert_string_equal(json_object_get_string(json_object_object_get(r, "level")), "info");
    assert_string_equal(json_object_get_string(json_object_object_get(r, "component")), "host");
    assert_string_equal(json_object_get_string(json_object_object_get(r, "message")),
                        "joined at y");
    assert_non_null(json_object_object_get(r, "time"));
    json_object_put(r);
    assert_int_equal(json[strlen(json) - 1], '\n');
}

static void test_log_redaction_and_recent(void **state)
{
    (void)state;
    char path[32];
    FILE *out = temp_log(path);
    fth_logging_install(FTH_LOG_JSON, out);
    fth_logging_add_secret("s3cret-key-value");
    fth_logging_add_secret("ab"); /* too short: ignored */
    ftrack_log(FTRACK_LOG_ERROR, "host", "key is s3cret-key-value, ab stays");
    ftrack_log_event(FTRACK_LOG_WARNING, "hub", "id-s3cret-key-value", "t", "w");
    ftrack_log(FTRACK_LOG_INFO, "host", "info is not remembered");
    fth_log_entry recent[4];
    size_t n = fth_logging_recent(recent, 4);
    assert_int_equal(n, 2);
    assert_string_equal(recent[0].component, "hub");
    assert_string_equal(recent[0].event_id, "id-[redacted]");
    assert_string_equal(recent[1].message, "key is [redacted], ab stays");
    fth_logging_uninstall();
    char text[4096];
    read_back(out, path, text, sizeof(text));
    assert_null(strstr(text, "s3cret"));
    assert_non_null(strstr(text, "ab stays"));
    /* three lines, each one JSON object */
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_object *o = json_tokener_parse(line);
        assert_non_null(o);
        json_object_put(o);
        lines++;
    }
    assert_int_equal(lines, 3);
}

/* ---- health ------------------------------------------------------------------------------- */

static void test_health_check(void **state)
{
    (void)state;
    char why[256];
    fth_health_state s = {.started = true, .hub_connected = true, .running = 2};
    assert_int_equal(fth_health_check(&s, false, why, sizeof(why)), 200);
    assert_string_equal(why, "ok");
    assert_int_equal(fth_health_check(&s, true, why, sizeof(why)), 200);
    s.hub_connected = false;
    s.server_url = "http://x:1";
    assert_int_equal(fth_health_check(&s, false, why, sizeof(why)), 503);
    assert_string_equal(why, "not connected to the event hub at http://x:1");
    s.hub_connected = true;
    s.running = 0;
    assert_int_equal(fth_health_check(&s, false, why, sizeof(why)), 503);
    assert_string_equal(why, "no plugin instance is running");
    s.running = 1;
    s.stopping = true;
    assert_int_equal(fth_health_check(&s, false, why, sizeof(why)), 200);
    assert_int_equal(fth_health_check(&s, true, why, sizeof(why)), 503);
    s.stopping = false;
    s.started = false;
    assert_int_equal(fth_health_check(&s, true, why, sizeof(why)), 503);
}

/* ---- configuration and environment -------------------------------------------------------- */

static ftrack_status parse_text(const char *text, fth_config *c, ftrack_error *err)
{
    json_object *doc = json_tokener_parse(text);
    assert_non_null(doc);
    ftrack_status st = fth_config_parse(doc, "t.json", c, err);
    json_object_put(doc);
    return st;
}

static void test_config_ops_keys(void **state)
{
    (void)state;
    fth_config c;
    ftrack_error err;
    assert_int_equal(parse_text("{\"log_format\":\"json\",\"health_listen\":\"127.0.0.1:0\","
                                "\"api_key_file\":\"/k\"}",
                                &c, &err),
                     FTRACK_OK);
    assert_true(c.has_log_format);
    assert_int_equal(c.log_format, FTH_LOG_JSON);
    assert_string_equal(c.health_listen, "127.0.0.1:0");
    assert_string_equal(c.api_key_file, "/k");
    fth_config_clear(&c);
    assert_int_equal(parse_text("{\"log_format\":\"xml\"}", &c, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "log_format"));
    assert_int_equal(parse_text("{\"health_listen\":\"nowhere\"}", &c, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "health_listen"));
    assert_int_equal(parse_text("{\"api_key_file\":3}", &c, &err), FTRACK_ERR_CONFIG);
    assert_int_equal(parse_text("{\"helth_listen\":\"x\"}", &c, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "health_listen")); /* listed among the known keys */
}

static void test_secret_files(void **state)
{
    (void)state;
    char path[] = "/tmp/ftrack-secret-test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hunter2-secret\n", 15), 15);
    close(fd);
    char text[512];
    snprintf(text, sizeof(text),
             "{\"arguments\":{\"token\":{\"file\":\"%s\"},\"other\":{\"file\":1}},"
             "\"plugins\":{\"a\":{\"arguments\":{\"k\":{\"file\":\"%s\"}}}}}",
             path, path);
    fth_config c;
    ftrack_error err;
    assert_int_equal(parse_text(text, &c, &err), FTRACK_OK);
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(c.arguments, "token", &v));
    assert_string_equal(json_object_get_string(v), "hunter2-secret");
    assert_true(json_object_object_get_ex(c.arguments, "other", &v));
    assert_true(json_object_is_type(v, json_type_object)); /* not a file reference */
    assert_true(json_object_object_get_ex(c.instances[0].arguments, "k", &v));
    assert_string_equal(json_object_get_string(v), "hunter2-secret");
    fth_config_clear(&c);
    unlink(path);
    assert_int_equal(parse_text(text, &c, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "arguments.token"));
    assert_non_null(strstr(err.message, path));
}

static int parse_args(fth_host_options *o, int argc, char **argv)
{
    return fth_host_options_parse(argc, argv, FTH_OPTIONS_RUN, o);
}

static void test_env_precedence(void **state)
{
    (void)state;
    setenv("FTRACK_HOST_LOG_LEVEL", "debug", 1);
    setenv("FTRACK_HOST_HEALTH_LISTEN", "127.0.0.1:9999", 1);
    setenv("FTRACK_HOST_REQUIRE_SERVER", "yes", 1);
    setenv("FTRACK_HOST_PLUGIN_ARG_WEBHOOK_URL", "http://env", 1);
    char *argv[] = {"run", "--log-level", "error", "--plugin-arg", "other=1", NULL};
    fth_host_options o;
    assert_int_equal(parse_args(&o, 5, argv), 0);
    assert_int_equal(o.log_level, FTRACK_LOG_ERROR); /* the flag wins */
    assert_string_equal(o.health_listen, "127.0.0.1:9999");
    assert_true(o.require_server);
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(o.text_arguments, "webhook_url", &v));
    assert_string_equal(json_object_get_string(v), "http://env");
    fth_host_options_clear(&o);
    setenv("FTRACK_HOST_DRAIN_TIMEOUT", "forever", 1);
    char *argv2[] = {"run", NULL};
    assert_int_equal(parse_args(&o, 1, argv2), FTH_OPTIONS_INVALID);
    fth_host_options_clear(&o);
    unsetenv("FTRACK_HOST_DRAIN_TIMEOUT");
    unsetenv("FTRACK_HOST_LOG_LEVEL");
    unsetenv("FTRACK_HOST_HEALTH_LISTEN");
    unsetenv("FTRACK_HOST_REQUIRE_SERVER");
    unsetenv("FTRACK_HOST_PLUGIN_ARG_WEBHOOK_URL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_counters_render, reset),
        cmocka_unit_test_setup(test_histogram, reset),
        cmocka_unit_test_setup(test_label_escaping, reset),
        cmocka_unit_test_setup(test_threads, reset),
        cmocka_unit_test_setup(test_collector, reset),
        cmocka_unit_test_setup(test_log_json, reset),
        cmocka_unit_test(test_log_text),
        cmocka_unit_test_setup(test_log_redaction_and_recent, reset),
        cmocka_unit_test(test_health_check),
        cmocka_unit_test(test_config_ops_keys),
        cmocka_unit_test(test_secret_files),
        cmocka_unit_test(test_env_precedence),
        cmocka_unit_test(test_logging_say),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fth_metrics_reset();
    return rc;
}
