/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: socket.io packet decoding, ack decoding, event-argument extraction, the
 * top-level object scanner the network thread routes with, and frame building round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/socketio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const char *base, size_t size, const char *p, size_t n)
{
    if (p && (p < base || p + n > base + size))
        abort();
}

typedef struct scan_ctx {
    const char *base;
    size_t size;
} scan_ctx;

static bool member_inside(const char *key, size_t key_len, const char *value, size_t value_len,
                          void *user_data)
{
    scan_ctx *c = user_data;
    check_inside(c->base, c->size, key, key_len);
    check_inside(c->base, c->size, value, value_len);
    if (!value || value_len == 0)
        abort();
    return true;
}

/* The scanner must read only inside the text, and accept every object strict json-c accepts
 * whose keys hold no backslash (else routing would fall back to a full parse for nothing). */
static void check_scan(const char *buf, size_t size)
{
    scan_ctx c = {buf, size};
    bool scanned = fti_json_scan_object(buf, size, 64, member_inside, &c);
    json_tokener *tok = json_tokener_new_ex(64);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, buf, (int)size);
    bool whole = o && json_tokener_get_parse_end(tok) == size &&
                 json_object_is_type(o, json_type_object) && !memchr(buf, '\\', size);
    json_tokener_free(tok);
    json_object_put(o);
    if (whole && !scanned)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    check_scan(buf, size);
    fti_sio_packet pkt;
    if (fti_sio_decode(buf, size, &pkt, NULL) == FTRACK_OK) {
        if ((unsigned)pkt.type > FTI_SIO_NOOP)
            abort();
        check_inside(buf, size, pkt.endpoint, pkt.endpoint_len);
        check_inside(buf, size, pkt.data, pkt.data_len);
        if (pkt.data && pkt.type == FTI_SIO_EVENT) {
            json_tokener *tok = json_tokener_new_ex(64);
            json_object *payload = json_tokener_parse_ex(tok, pkt.data, (int)pkt.data_len);
            json_tokener_free(tok);
            const char *why = NULL;
            json_object *arg = fti_sio_event_arg(payload, &why);
            if (!arg && !why)
                abort();
            if (arg && !json_object_is_type(arg, json_type_object))
                abort();
            json_object_put(payload);
        }
        if (pkt.data && pkt.type == FTI_SIO_ACK) {
            unsigned long id;
            const char *args;
            size_t args_len;
            if (fti_sio_decode_ack(pkt.data, pkt.data_len, &id, &args, &args_len, NULL) ==
                FTRACK_OK)
                check_inside(buf, size, args, args_len);
        }
    }

    /* Whatever we frame decodes back to itself. */
    unsigned long id = size > 0 ? data[0] : 0;
    size_t len = 0;
    char *f = fti_sio_frame_event(16, id, buf, size, &len);
    if (!f)
        return 0;
    if (fti_sio_decode(f + 16, len, &pkt, NULL) != FTRACK_OK || pkt.type != FTI_SIO_EVENT ||
        pkt.id != id || pkt.ack_with_data != (id != 0) || !pkt.data || pkt.data_len != size + 33 ||
        memcmp(pkt.data + 31, buf, size) != 0)
        abort();
    free(f);
    f = fti_sio_frame_ack(0, id, buf, size, &len);
    if (!f || fti_sio_decode(f, len, &pkt, NULL) != FTRACK_OK || pkt.type != FTI_SIO_ACK)
        abort();
    unsigned long acked;
    const char *args;
    size_t args_len;
    if (fti_sio_decode_ack(pkt.data, pkt.data_len, &acked, &args, &args_len, NULL) != FTRACK_OK ||
        acked != id || args_len != size + 2 || memcmp(args + 1, buf, size) != 0)
        abort();
    free(f);
    return 0;
}
