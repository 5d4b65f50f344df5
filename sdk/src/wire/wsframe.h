/* SPDX-License-Identifier: Apache-2.0 */
/* Websocket text frames (RFC 6455 §5.2), several in one buffer, so a network thread sends all
 * the frames waiting for one connection with one write: the SDK client's outbox (masked
 * frames, client to server) and the embedded hub's per-connection queues (unmasked frames,
 * server to client: §5.1 forbids a server to mask).
 *
 * Why not lws_write(LWS_WRITE_TEXT) per frame: libwebsockets 4.1 issues one send() per frame
 * and reads 4 bytes of /dev/urandom per frame for its mask, i.e. two system calls per event a
 * plugin replies to. Here the frames are built back to back (header, mask, masked payload) and
 * go out through lws_write(LWS_WRITE_RAW), which keeps lws in charge of partial writes and
 * TLS; the masks come from getrandom() 64 at a time.
 *
 * Ownership: the batch owns its buffer; one batch belongs to one thread (the network thread).
 */
#ifndef FTI_HUB_WSFRAME_H
#define FTI_HUB_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fti_wsbatch {
    unsigned char *buf; /* `headroom` bytes, then the frames */
    size_t headroom;
    size_t len;  /* bytes of frames after the headroom */
    size_t cap;  /* bytes allocated after the headroom */
    bool masked; /* client frames; a server's are sent in the clear */
    unsigned char masks[256];
    size_t masks_used; /* 0 or sizeof(masks): empty */
} fti_wsbatch;

/* An empty batch of client (masked) frames whose buffer keeps `headroom` free bytes before
 * the frames (LWS_PRE). */
void fti_wsbatch_init(fti_wsbatch *b, size_t headroom);
/* The same for a server's frames: no mask bit, no masking key. */
void fti_wsbatch_init_server(fti_wsbatch *b, size_t headroom);
void fti_wsbatch_free(fti_wsbatch *b);
/* Forget the frames, keep the buffer. */
void fti_wsbatch_clear(fti_wsbatch *b);
/* Append one final text frame carrying `payload` (masked in a client batch); false when out
 * of memory. */
bool fti_wsbatch_add_text(fti_wsbatch *b, const char *payload, size_t len);
/* The frames (after the headroom) and their length. */
unsigned char *fti_wsbatch_data(fti_wsbatch *b);

#endif
