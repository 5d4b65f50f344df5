/* SPDX-License-Identifier: Apache-2.0 */
/* socket.io 0.9 codec (protocol §5.4): every packet form the Python and JS clients produce,
 * byte-exact frame builders and the event-argument extractor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/socketio.h"

static fti_sio_packet decode_ok(const char *text)
{
    fti_sio_packet pkt;
    ftrack_error err;
    ftrack_status st = fti_sio_decode(text, strlen(text), &pkt, &err);
    if (st != FTRACK_OK)
        fail_msg("'%s' did not decode: %s", text, err.message);
    return pkt;
}

static void decode_fails(const char *text, size_t len)
{
    fti_sio_packet pkt;
    ftrack_error err;
    ftrack_error_clear(&err);
    ftrack_status st = fti_sio_decode(text, len, &pkt, &err);
    if (st != FTRACK_ERR_PARSE)
        fail_msg("'%.*s' decoded (status %d)", (int)len, text ? text : "", (int)st);
    assert_int_equal(err.code, FTRACK_ERR_PARSE);
    assert_true(err.message[0] != '\0');
}

static void assert_field(const char *ptr, size_t len, const char *expected)
{
    assert_non_null(ptr);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(ptr, expected, len);
}

static void test_decode_one_part(void **state)
{
    (void)state;
    fti_sio_packet pkt = decode_ok("1");
    assert_int_equal(pkt.type, FTI_SIO_CONNECT);
    assert_int_equal(pkt.id, 0);
    assert_false(pkt.ack_with_data);
    assert_int_equal(pkt.endpoint_len, 0);
    assert_null(pkt.data);
    pkt = decode_ok("0");
    assert_int_equal(pkt.type, FTI_SIO_DISCONNECT);
}

static void test_decode_three_parts(void **state)
{
    (void)state;
    /* JS heartbeat reply and the server's packets: no data field at all. */
    const struct {
        const char *text;
        fti_sio_type type;
    } rows[] = {{"2::", FTI_SIO_HEARTBEAT},
                {"1::", FTI_SIO_CONNECT},
                {"0::", FTI_SIO_DISCONNECT},
                {"8::", FTI_SIO_NOOP}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        fti_sio_packet pkt = decode_ok(rows[i].text);
        assert_int_equal(pkt.type, rows[i].type);
        assert_int_equal(pkt.id, 0);
        assert_int_equal(pkt.endpoint_len, 0);
        assert_null(pkt.data);
        assert_int_equal(pkt.data_len, 0);
    }
    fti_sio_packet pkt = decode_ok("5:3+:");
    assert_int_equal(pkt.type, FTI_SIO_EVENT);
    assert_int_equal(pkt.id, 3);
    assert_true(pkt.ack_with_data);
    assert_null(pkt.data);
}

static void test_decode_four_parts(void **state)
{
    (void)state;
    /* Python's heartbeat reply: four fields, empty data. */
    fti_sio_packet pkt = decode_ok("2:::");
    assert_int_equal(pkt.type, FTI_SIO_HEARTBEAT);
    assert_field(pkt.data, pkt.data_len, "");

    /* Python's event: ack id with '+'. */
    static const char py[] = "5:1+::{\"name\": \"ftrack.event\", \"args\": [{\"topic\": \"a\"}]}";
    pkt = decode_ok(py);
    assert_int_equal(pkt.type, FTI_SIO_EVENT);
    assert_int_equal(pkt.id, 1);
    assert_true(pkt.ack_with_data);
    assert_int_equal(pkt.endpoint_len, 0);
    assert_field(pkt.data, pkt.data_len, py + 6);

    /* JS event: no id. */
    static const char js[] = "5:::{\"name\":\"ftrack.event\",\"args\":[{}]}";
    pkt = decode_ok(js);
    assert_int_equal(pkt.id, 0);
    assert_false(pkt.ack_with_data);
    assert_field(pkt.data, pkt.data_len, js + 4);

    /* Data keeps every colon after the third. */
    static const char colons[] = "5:12::{\"a\":\"b:c::d\",\"t\":\"10:00\"}";
    pkt = decode_ok(colons);
    assert_int_equal(pkt.id, 12);
    assert_false(pkt.ack_with_data);
    assert_field(pkt.data, pkt.data_len, "{\"a\":\"b:c::d\",\"t\":\"10:00\"}");

    /* An endpoint. */
    pkt = decode_ok("5::/ns:{}");
    assert_field(pkt.endpoint, pkt.endpoint_len, "/ns");
    assert_field(pkt.data, pkt.data_len, "{}");

    pkt = decode_ok("7:::Session expired");
    assert_int_equal(pkt.type, FTI_SIO_ERROR);
    assert_field(pkt.data, pkt.data_len, "Session expired");

    pkt = decode_ok("3:::hello");
    assert_int_equal(pkt.type, FTI_SIO_MESSAGE);
    pkt = decode_ok("4:::{\"a\":1}");
    assert_int_equal(pkt.type, FTI_SIO_JSON);

    /* The decoded fields borrow from the buffer; a length shorter than the text is honoured. */
    static const char longer[] = "2:::trailing";
    fti_sio_packet p2;
    assert_int_equal(fti_sio_decode(longer, 4, &p2, NULL), FTRACK_OK);
    assert_int_equal(p2.data_len, 0);
    assert_ptr_equal(p2.data, longer + 4);
}

static void test_decode_ack(void **state)
{
    (void)state;
    static const char ack[] = "6:::1+[{\"success\":true}]";
    fti_sio_packet pkt = decode_ok(ack);
    assert_int_equal(pkt.type, FTI_SIO_ACK);
    assert_int_equal(pkt.id, 0);
    assert_field(pkt.data, pkt.data_len, "1+[{\"success\":true}]");

    unsigned long id = 0;
    const char *args = (const char *)0x1;
    size_t args_len = 99;
    assert_int_equal(fti_sio_decode_ack(pkt.data, pkt.data_len, &id, &args, &args_len, NULL),
                     FTRACK_OK);
    assert_int_equal(id, 1);
    assert_field(args, args_len, "[{\"success\":true}]");

    assert_int_equal(fti_sio_decode_ack("42", 2, &id, &args, &args_len, NULL), FTRACK_OK);
    assert_int_equal(id, 42);
    assert_null(args);
    assert_int_equal(args_len, 0);

    assert_int_equal(fti_sio_decode_ack("7+", 2, &id, &args, &args_len, NULL), FTRACK_OK);
    assert_int_equal(id, 7);
    assert_field(args, args_len, "");

    const char *bad[] = {"", "+[]", "x", "1x", "1 +[]", "-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ftrack_error err;
        if (fti_sio_decode_ack(bad[i], strlen(bad[i]), &id, &args, &args_len, &err) !=
            FTRACK_ERR_PARSE)
            fail_msg("ack data '%s' accepted", bad[i]);
    }
    /* 20 digits cannot be an id. */
    assert_int_equal(fti_sio_decode_ack("12345678901234567890", 20, &id, &args, &args_len, NULL),
                     FTRACK_ERR_PARSE);
}

static void test_decode_errors(void **state)
{
    (void)state;
    /* Two fields are the Python client's EventHubPacketError. */
    const char *bad[] = {"1:",        "5:1",     "2:x",       "9::",      "9",
                         "a::",       ":::",     "::",        "10::",     "55:::{}",
                         "5:abc::{}", "5:+::{}", "5:1++::{}", "5:-1::{}", "5:1234567890123456789::",
                         " 2::"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        decode_fails(bad[i], strlen(bad[i]));
    decode_fails("", 0);
    decode_fails(NULL, 0);
    /* 18 digits still fit. */
    fti_sio_packet pkt = decode_ok("5:123456789012345678::{}");
    assert_int_equal(pkt.id, 123456789012345678UL);
}

/* len is read through a pointer: the builder fills it while the arguments are evaluated. */
static void check_frame(char *buf, size_t headroom, const size_t *lenp, const char *expected)
{
    size_t len = *lenp;
    assert_non_null(buf);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(buf + headroom, expected, len + 1); /* includes the NUL */
    free(buf);
}

static void test_frames(void **state)
{
    (void)state;
    size_t len = 0;
    static const char ev[] = "{\"id\":\"x\",\"topic\":\"t\"}";
    check_frame(fti_sio_frame_event(16, 7, ev, strlen(ev), &len), 16, &len,
                "5:7+::{\"name\":\"ftrack.event\",\"args\":[{\"id\":\"x\",\"topic\":\"t\"}]}");
    check_frame(fti_sio_frame_event(0, 0, ev, strlen(ev), &len), 0, &len,
                "5:::{\"name\":\"ftrack.event\",\"args\":[{\"id\":\"x\",\"topic\":\"t\"}]}");
    check_frame(fti_sio_frame_event(0, 4294967296UL, "{}", 2, &len), 0, &len,
                "5:4294967296+::{\"name\":\"ftrack.event\",\"args\":[{}]}");
    check_frame(fti_sio_frame_ack(8, 3, "{\"success\":true}", 16, &len), 8, &len,
                "6:::3+[{\"success\":true}]");
    static const char fail_ack[] = "{\"success\":false,\"message\":\"a:b\"}";
    check_frame(fti_sio_frame_ack(0, 12, fail_ack, strlen(fail_ack), &len), 0, &len,
                "6:::12+[{\"success\":false,\"message\":\"a:b\"}]");
    check_frame(fti_sio_frame_simple(4, FTI_SIO_HEARTBEAT, false, &len), 4, &len, "2::");
    check_frame(fti_sio_frame_simple(0, FTI_SIO_HEARTBEAT, true, &len), 0, &len, "2:::");
    check_frame(fti_sio_frame_simple(0, FTI_SIO_CONNECT, false, &len), 0, &len, "1::");
    check_frame(fti_sio_frame_simple(0, FTI_SIO_DISCONNECT, false, &len), 0, &len, "0::");
    /* len may be NULL. */
    free(fti_sio_frame_simple(0, FTI_SIO_CONNECT, false, NULL));
}

/* What we build, we decode. */
static void test_frame_round_trip(void **state)
{
    (void)state;
    size_t len;
    static const char ev[] = "{\"topic\":\"a:b\"}";
    char *f = fti_sio_frame_event(0, 99, ev, strlen(ev), &len);
    fti_sio_packet pkt;
    assert_int_equal(fti_sio_decode(f, len, &pkt, NULL), FTRACK_OK);
    assert_int_equal(pkt.type, FTI_SIO_EVENT);
    assert_int_equal(pkt.id, 99);
    assert_true(pkt.ack_with_data);
    json_object *payload = json_tokener_parse(pkt.data);
    const char *why = NULL;
    json_object *arg = fti_sio_event_arg(payload, &why);
    assert_non_null(arg);
    assert_string_equal(json_object_get_string(json_object_object_get(arg, "topic")), "a:b");
    json_object_put(payload);
    free(f);

    f = fti_sio_frame_ack(0, 5, "{}", 2, &len);
    assert_int_equal(fti_sio_decode(f, len, &pkt, NULL), FTRACK_OK);
    unsigned long id;
    const char *args;
    size_t args_len;
    assert_int_equal(fti_sio_decode_ack(pkt.data, pkt.data_len, &id, &args, &args_len, NULL),
                     FTRACK_OK);
    assert_int_equal(id, 5);
    assert_field(args, args_len, "[{}]");
    free(f);
}

static void test_event_arg(void **state)
{
    (void)state;
    const struct {
        const char *json;
        bool ok;
    } rows[] = {
        {"{\"name\":\"ftrack.event\",\"args\":[{\"topic\":\"t\"}]}", true},
        {"{\"args\":[{}],\"name\":\"ftrack.event\",\"extra\":1}", true},
        {"{\"name\":\"other\",\"args\":[{}]}", false},
        {"{\"args\":[{}]}", false},
        {"{\"name\":5,\"args\":[{}]}", false},
        {"{\"name\":\"ftrack.event\"}", false},
        {"{\"name\":\"ftrack.event\",\"args\":{}}", false},
        {"{\"name\":\"ftrack.event\",\"args\":[]}", false},
        {"{\"name\":\"ftrack.event\",\"args\":[{},{}]}", false},
        {"{\"name\":\"ftrack.event\",\"args\":[\"x\"]}", false},
        {"{\"name\":\"ftrack.event\",\"args\":[null]}", false},
        {"[]", false},
        {"\"ftrack.event\"", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_object *payload = json_tokener_parse(rows[i].json);
        assert_non_null(payload);
        const char *why = NULL;
        json_object *arg = fti_sio_event_arg(payload, &why);
        if (rows[i].ok) {
            assert_non_null(arg);
            json_object *args = json_object_object_get(payload, "args");
            assert_ptr_equal(arg, json_object_array_get_idx(args, 0));
        } else {
            if (arg)
                fail_msg("%s accepted", rows[i].json);
            assert_non_null(why);
            assert_true(why[0] != '\0');
        }
        json_object_put(payload);
    }
    const char *why = NULL;
    assert_null(fti_sio_event_arg(NULL, &why));
    assert_non_null(why);
}

static void test_event_arg_text(void **state)
{
    (void)state;
    const struct {
        const char *data;
        const char *arg; /* NULL: not found */
    } rows[] = {
        {"{\"name\":\"ftrack.event\",\"args\":[{\"topic\":\"t\"}]}", "{\"topic\":\"t\"}"},
        {"{\"name\": \"ftrack.event\", \"args\": [{\"topic\": \"t\", \"data\": {}}]}",
         "{\"topic\": \"t\", \"data\": {}}"},
        /* whitespace around the element and after the payload */
        {"{\"name\":\"ftrack.event\",\"args\":[ {\"a\":[1,{}]} \n]}  ", "{\"a\":[1,{}]}"},
        /* brackets, braces and escaped quotes inside strings do not end the value */
        {"{\"name\":\"ftrack.event\",\"args\":[{\"s\":\"}]\\\"}]}\",\"t\":\"\\\\\"}]}",
         "{\"s\":\"}]\\\"}]}\",\"t\":\"\\\\\"}"},
        /* a second "args" (json-c keeps the last): not the clients' shape */
        {"{\"name\":\"ftrack.event\",\"args\":[{\"a\":1}],\"args\":[{\"b\":2}]}", NULL},
        {"{\"name\":\"ftrack.event\",\"args\":[{\"a\":1},{\"b\":2}]}", NULL},
        {"{\"args\":[{\"a\":1}],\"name\":\"ftrack.event\"}", NULL},
        {"{\"name\":\"ftrack.event\",\"args\":[\"x\"]}", NULL},
        {"{\"name\":\"ftrack.event\",\"args\":[]}", NULL},
        {"{\"name\":\"ftrack.event\",\"args\":[", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t n = 12345;
        const char *got = fti_sio_event_arg_text(rows[i].data, strlen(rows[i].data), &n);
        if (!rows[i].arg) {
            if (got)
                fail_msg("row %zu: found %.*s", i, (int)n, got);
            continue;
        }
        if (!got)
            fail_msg("row %zu: not found in %s", i, rows[i].data);
        assert_int_equal(n, strlen(rows[i].arg));
        assert_memory_equal(got, rows[i].arg, n);
        assert_true(got > rows[i].data && got + n <= rows[i].data + strlen(rows[i].data));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_one_part),   cmocka_unit_test(test_decode_three_parts),
        cmocka_unit_test(test_decode_four_parts), cmocka_unit_test(test_decode_ack),
        cmocka_unit_test(test_decode_errors),     cmocka_unit_test(test_frames),
        cmocka_unit_test(test_frame_round_trip),  cmocka_unit_test(test_event_arg),
        cmocka_unit_test(test_event_arg_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
