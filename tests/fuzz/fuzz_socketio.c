/* libFuzzer target: socket.io packet decoding, ack decoding, event-argument extraction, and
 * frame building round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/socketio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const char *base, size_t size, const char *p, size_t n)
{
    if (p && (p < base || p + n > base + size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
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
