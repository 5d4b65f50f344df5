/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_SOCKETIO_H
#define FTI_SOCKETIO_H
/*
 * socket.io 0.9 packet codec (protocol §5.4): pure functions, no I/O, shared by the hub
 * client and the embedded hub server.
 *
 *   <type>:<id>:<endpoint>:<data>
 */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/common.h>

typedef enum fti_sio_type {
    FTI_SIO_DISCONNECT = 0,
    FTI_SIO_CONNECT = 1,
    FTI_SIO_HEARTBEAT = 2,
    FTI_SIO_MESSAGE = 3,
    FTI_SIO_JSON = 4,
    FTI_SIO_EVENT = 5,
    FTI_SIO_ACK = 6,
    FTI_SIO_ERROR = 7,
    FTI_SIO_NOOP = 8
} fti_sio_type;

/* A decoded packet. Pointers borrow from the decoded buffer. */
typedef struct fti_sio_packet {
    fti_sio_type type;
    unsigned long id;      /* packet id, 0 when absent */
    bool ack_with_data;    /* the id carried a trailing '+' */
    const char *endpoint;  /* may be empty */
    size_t endpoint_len;
    const char *data;      /* NULL when the packet has no data field */
    size_t data_len;
} fti_sio_packet;

/* Split a text frame. FTRACK_ERR_PARSE for an empty frame, a type that is not one digit
 * 0-8, exactly two fields (the Python client's rule), or a malformed id. */
ftrack_status fti_sio_decode(const char *buf, size_t len, fti_sio_packet *out, ftrack_error *err);

/* An ack packet's data "<n>" or "<n>+<json>": the acked id and (optionally) the args text. */
ftrack_status fti_sio_decode_ack(const char *data, size_t len, unsigned long *acked_id,
                                 const char **args, size_t *args_len, ftrack_error *err);

/* Frames are built with `headroom` spare bytes before the text (libwebsockets wants LWS_PRE)
 * and a NUL after it. Returns a malloc'ed buffer (text at buf + headroom) and the text's
 * length in *len, or NULL when out of memory. */

/* 5:<id>+::{"name":"ftrack.event","args":[<event_json>]}; id 0 omits the ack request. */
char *fti_sio_frame_event(size_t headroom, unsigned long id, const char *event_json,
                          size_t event_len, size_t *len);
/* A run of text to join. With `escape` it is written as the inside of a JSON string, escaped
 * byte for byte as json-c 0.16 escapes a string with JSON_C_TO_STRING_NOSLASHESCAPE (what
 * ftrack_event_serialize writes): \b \t \n \f \r \" \\ as two characters, other bytes below
 * 0x20 as \u00xx (lower-case hex), everything else (UTF-8, '/', 0x7f) as it is. */
typedef struct fti_text_piece {
    const char *text;
    size_t len;
    bool escape;
} fti_text_piece;

/* The pieces joined, as the frame functions return text (headroom, NUL after). */
char *fti_sio_join(size_t headroom, const fti_text_piece *pieces, size_t n, size_t *len);
/* fti_sio_frame_event with the event's text given as pieces: one buffer, no copy between. */
char *fti_sio_frame_event_pieces(size_t headroom, unsigned long id, const fti_text_piece *pieces,
                                 size_t n, size_t *len);
/* 6:::<id>+[<args_json>] */
char *fti_sio_frame_ack(size_t headroom, unsigned long id, const char *args_json, size_t args_len,
                        size_t *len);
/* A packet with no id, endpoint or data: "2::", "1::", "0::"; or "2:::" when `trailing_colon`. */
char *fti_sio_frame_simple(size_t headroom, fti_sio_type type, bool trailing_colon, size_t *len);

/* The event object inside an event packet's data: {"name":"ftrack.event","args":[{...}]}.
 * Returns a borrowed pointer into `payload`, or NULL with a reason in *why when the name is
 * not ftrack.event or args is not exactly one object. */
json_object *fti_sio_event_arg(json_object *payload, const char **why);

/* The bytes of args' one element when `data` (an event packet's data) is in one of the
 * official clients' wrappings, {"name":"ftrack.event","args":[…]} compact or as Python's
 * json.dumps spaces it. NULL for any other shape (e.g. a duplicate key), when the caller must
 * serialise the parsed element instead. Only the wrapping is checked, and that the element is
 * one object whose brackets pair up: it is valid JSON only if `data` is. */
const char *fti_sio_event_arg_text(const char *data, size_t len, size_t *out_len);

/* Receives one top-level member of an object's text: the key's bytes between its quotes and
 * the value's text from its first byte to its last. Returns false to stop the scan. */
typedef bool (*fti_json_member_fn)(const char *key, size_t key_len, const char *value,
                                   size_t value_len, void *user_data);

/* Walk the top level of the JSON object text[0..len) in one pass, without parsing it: calls
 * `each` (may be NULL) for every member in order, duplicates included. Values are skipped by
 * counting brackets outside strings (escapes respected) and are NOT validated; only their
 * shape is checked: strings close, brackets pair up, scalars are runs of number/literal
 * characters, nesting stays within `max_depth` levels (the object itself is level 1, as
 * json_tokener_new_ex counts). Returns false, possibly after some calls, when the text is not
 * one object (whitespace around it aside), a key holds a backslash (its bytes would not be
 * its value), the shape is wrong, the text ends early, or `each` returned false: then parse
 * it with json-c to learn more. */
bool fti_json_scan_object(const char *text, size_t len, int max_depth, fti_json_member_fn each,
                          void *user_data);

#endif
