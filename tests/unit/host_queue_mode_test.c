/* SPDX-License-Identifier: Apache-2.0 */
/* Queue mode's pure parts (host/scale/queue_mode.c, host/scale/queue_redis.c): the "queue" options, the
 * flags over the file, partitioning by entity, stream keys and registry keys. The Redis
 * behaviour itself is tested against a real redis-server in tests/integration/test_scale_*.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/host_options.h"
#include "scale/queue_mode.h"
#include "scale/queue_redis.h"

static ftrack_status parse_queue(const char *text, fth_queue_options *o, ftrack_error *err)
{
    json_object *v = json_tokener_parse(text);
    assert_non_null(v);
    fth_queue_options_init(o);
    ftrack_status st = fth_queue_options_parse(v, "test.json", o, err);
    json_object_put(v);
    return st;
}

static void test_defaults_and_full(void **state)
{
    (void)state;
    fth_queue_options o;
    ftrack_error err;
    assert_int_equal(parse_queue("{}", &o, &err), FTRACK_OK);
    assert_int_equal(o.mode, FTH_QUEUE_OFF);
    assert_int_equal(o.partitions, 1);
    assert_true(o.claim_idle == 60);
    assert_int_equal(o.batch, 16);
    fth_queue_options_clear(&o);
    assert_int_equal(parse_queue("{\"mode\":\"worker\",\"redis\":\"10.0.0.5:6380\","
                                 "\"stream\":\"s\",\"group\":\"g\",\"consumer\":\"c\","
                                 "\"partitions\":8,\"ordered\":[\"audit\"],\"claim_idle\":2.5,"
                                 "\"dedup_ttl\":60,\"max_length\":5000,\"batch\":4,"
                                 "\"subscription_ttl\":3600}",
                                 &o, &err),
                     FTRACK_OK);
    assert_int_equal(o.mode, FTH_QUEUE_WORKER);
    assert_string_equal(o.redis, "10.0.0.5:6380");
    assert_string_equal(o.group, "g");
    assert_int_equal(o.partitions, 8);
    assert_int_equal(o.ordered_count, 1);
    assert_string_equal(o.ordered[0], "audit");
    assert_true(o.claim_idle > 2.4 && o.claim_idle < 2.6);
    assert_int_equal(o.max_length, 5000);
    fth_queue_options_clear(&o);
}

static void expect_refused(const char *text, const char *needle)
{
    fth_queue_options o;
    ftrack_error err;
    ftrack_error_clear(&err);
    assert_int_equal(parse_queue(text, &o, &err), FTRACK_ERR_CONFIG);
    if (!strstr(err.message, needle))
        fail_msg("'%s' does not mention '%s'", err.message, needle);
    fth_queue_options_clear(&o);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("{\"mode\":\"both\"}", "queue.mode");
    expect_refused("{\"redis\":\"no-port\"}", "queue.redis");
    expect_refused("{\"redis\":\"h:99999\"}", "queue.redis");
    expect_refused("{\"partitions\":0}", "queue.partitions");
    expect_refused("{\"partitions\":2.5}", "queue.partitions");
    expect_refused("{\"claim_idle\":\"60\"}", "queue.claim_idle");
    expect_refused("{\"ordered\":\"audit\"}", "queue.ordered");
    expect_refused("{\"ordered\":[1]}", "queue.ordered");
    expect_refused("{\"strem\":\"x\"}", "unknown key \"strem\"");
}

static void test_config_key(void **state)
{
    (void)state;
    fth_config c;
    ftrack_error err;
    json_object *doc = json_tokener_parse("{\"queue\":{\"mode\":\"ingest\"}}");
    assert_int_equal(fth_config_parse(doc, "t.json", &c, &err), FTRACK_OK);
    assert_non_null(c.queue);
    fth_config_clear(&c);
    json_object_put(doc);
    doc = json_tokener_parse("{\"queue\":{\"mode\":\"sideways\"}}");
    assert_int_equal(fth_config_parse(doc, "t.json", &c, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "t.json: queue.mode"));
    json_object_put(doc);
}

/* Flags (and FTRACK_HOST_QUEUE_*) win over the file. */
static void test_flags_over_file(void **state)
{
    (void)state;
    char path[] = "/tmp/ftrack-queue-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "{\"queue\":{\"mode\":\"ingest\",\"redis\":\"127.0.0.1:1\"}}";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    setenv("FTRACK_HOST_QUEUE_REDIS", "127.0.0.1:2", 1);
    char *argv[] = {"run", "--config", path, "--queue-mode", "worker", NULL};
    fth_host_options options;
    assert_int_equal(fth_host_options_parse(5, argv, FTH_OPTIONS_RUN, &options), 0);
    assert_int_equal(fth_queue_mode_configure(&options), 0);
    assert_int_equal(fth_queue_mode_role(), FTH_QUEUE_WORKER);
    assert_string_equal(fth_queue_mode_options()->redis, "127.0.0.1:2");
    assert_true(fth_queue_worker_enabled());
    assert_non_null(fth_queue_mode_options()->consumer); /* host-pid by default */
    fth_queue_mode_stop();
    assert_int_equal(fth_queue_mode_role(), FTH_QUEUE_OFF);
    fth_host_options_clear(&options);
    unsetenv("FTRACK_HOST_QUEUE_REDIS");
    char *bad[] = {"run", "--queue-mode", "sometimes", NULL};
    assert_int_equal(fth_host_options_parse(3, bad, FTH_OPTIONS_RUN, &options), 0);
    assert_int_not_equal(fth_queue_mode_configure(&options), 0);
    fth_host_options_clear(&options);
    unlink(path);
}

static json_object *event_with_entity(const char *id, const char *entity)
{
    char text[512];
    if (entity)
        snprintf(text, sizeof(text),
                 "{\"id\":\"%s\",\"topic\":\"ftrack.update\",\"data\":{\"entities\":"
                 "[{\"entityId\":\"%s\",\"entityType\":\"task\"}]}}",
                 id, entity);
    else
        snprintf(text, sizeof(text), "{\"id\":\"%s\",\"topic\":\"x\",\"data\":{}}", id);
    return json_tokener_parse(text);
}

static void test_partitions(void **state)
{
    (void)state;
    /* the same entity always lands in the same partition, whatever the event */
    json_object *a = event_with_entity("e1", "task-42"), *b = event_with_entity("e2", "task-42");
    assert_int_equal(fth_queue_partition_of(a, 16), fth_queue_partition_of(b, 16));
    assert_int_equal(fth_queue_partition_of(a, 1), 0);
    json_object_put(a);
    json_object_put(b);
    /* entities spread over the partitions; events without one spread by event id */
    unsigned hits[8] = {0}, plain[8] = {0};
    for (int i = 0; i < 800; i++) {
        char id[32], ent[32];
        snprintf(id, sizeof(id), "ev-%d", i);
        snprintf(ent, sizeof(ent), "entity-%d", i);
        json_object *e = event_with_entity(id, ent), *p = event_with_entity(id, NULL);
        unsigned k = fth_queue_partition_of(e, 8);
        assert_true(k < 8);
        hits[k]++;
        plain[fth_queue_partition_of(p, 8)]++;
        json_object_put(e);
        json_object_put(p);
    }
    for (int k = 0; k < 8; k++) {
        assert_true(hits[k] > 50 && hits[k] < 150);
        assert_true(plain[k] > 50 && plain[k] < 150);
    }
    /* a known value keeps the hash stable across versions (hosts must agree) */
    json_object *known = event_with_entity("x", "abc");
    assert_int_equal(fth_queue_partition_of(known, 1000), 0xe71fa2190541574bULL % 1000);
    json_object_put(known);
}

static void test_keys(void **state)
{
    (void)state;
    fth_queue_options o;
    fth_queue_options_init(&o);
    o.stream = strdup("ev");
    char buf[64];
    assert_string_equal(fth_queue_stream_key(&o, 0, buf, sizeof(buf)), "ev");
    o.partitions = 4;
    assert_string_equal(fth_queue_stream_key(&o, 3, buf, sizeof(buf)), "ev:3");
    fth_queue_options_clear(&o);

    json_object *m1 = json_tokener_parse("{\"id\":\"a\",\"applicationId\":\"x\"}");
    json_object *m2 = json_tokener_parse("{\"id\":\"b\",\"applicationId\":\"x\"}");
    json_object *m3 = json_tokener_parse("{\"id\":\"a\",\"applicationId\":\"y\"}");
    char k1[41], k2[41], k3[41], k4[41];
    assert_true(fth_queue_subscription_key("topic=t", m1, k1));
    assert_true(fth_queue_subscription_key("topic=t", m2, k2));
    assert_true(fth_queue_subscription_key("topic=t", m3, k3));
    assert_true(fth_queue_subscription_key("topic=u", m1, k4));
    assert_int_equal(strlen(k1), 40);
    assert_string_equal(k1, k2);     /* the subscriber id does not count */
    assert_string_not_equal(k1, k3); /* the rest of the metadata does (targets) */
    assert_string_not_equal(k1, k4);
    assert_non_null(json_object_object_get_ex(m1, "id", NULL) ? m1 : NULL); /* not modified */
    json_object_put(m1);
    json_object_put(m2);
    json_object_put(m3);
}

static void test_redis_address(void **state)
{
    (void)state;
    fth_redis r;
    assert_true(fth_redis_init(&r, "127.0.0.1:6379", NULL, "t"));
    assert_string_equal(r.host, "127.0.0.1");
    assert_int_equal(r.port, 6379);
    fth_redis_clear(&r);
    assert_true(fth_redis_init(&r, "unix:/run/redis.sock", "pw", "t"));
    assert_string_equal(r.unix_path, "/run/redis.sock");
    fth_redis_clear(&r);
    assert_false(fth_redis_init(&r, "unix:", NULL, "t"));
    fth_redis_clear(&r);
    assert_false(fth_redis_init(&r, "host:0", NULL, "t"));
    fth_redis_clear(&r);
    /* nothing listens on port 1: ready() fails without hanging, and backs off */
    assert_true(fth_redis_init(&r, "127.0.0.1:1", NULL, "t"));
    assert_false(fth_redis_ready(&r, NULL));
    assert_null(r.ctx);
    assert_true(r.backoff > 0.2);
    fth_redis_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_full), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_config_key),        cmocka_unit_test(test_flags_over_file),
        cmocka_unit_test(test_partitions),        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_redis_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
