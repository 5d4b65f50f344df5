/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "wire/socketio.h"

static const char EVENT_PREFIX[] = "{\"name\":\"ftrack.event\",\"args\":[";
static const char EVENT_SUFFIX[] = "]}";
/* How the official clients wrap an event: compact (JavaScript, and us) and Python's. */
static const char *const EVENT_PREFIXES[] = {EVENT_PREFIX,
                                             "{\"name\": \"ftrack.event\", \"args\": ["};

static ftrack_status parse_id(const char *s, size_t n, fti_sio_packet *out, ftrack_error *err)
{
    out->id = 0;
    out->ack_with_data = false;
    if (n > 0 && s[n - 1] == '+') {
        out->ack_with_data = true;
        n--;
    }
    if (n == 0)
        return out->ack_with_data
                   ? fti_error(err, FTRACK_ERR_PARSE, "packet id '+' without a number")
                   : FTRACK_OK;
    if (n > 18)
        return fti_error(err, FTRACK_ERR_PARSE, "packet id too long");
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return fti_error(err, FTRACK_ERR_PARSE, "packet id is not a number");
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    out->id = v;
    return FTRACK_OK;
}

ftrack_status fti_sio_decode(const char *buf, size_t len, fti_sio_packet *out, ftrack_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!buf || len == 0)
        return fti_error(err, FTRACK_ERR_PARSE, "empty socket.io packet");
    if (buf[0] < '0' || buf[0] > '8' || (len > 1 && buf[1] != ':'))
        return fti_error(err, FTRACK_ERR_PARSE, "unknown socket.io packet type");
    out->type = (fti_sio_type)(buf[0] - '0');
    if (len == 1)
        return FTRACK_OK;
    /* Fields after the type: id, endpoint, then everything else is data. */
    const char *p = buf + 2, *end = buf + len;
    const char *c1 = memchr(p, ':', (size_t)(end - p));
    if (!c1)
        return fti_error(err, FTRACK_ERR_PARSE, "socket.io packet with two fields");
    ftrack_status st = parse_id(p, (size_t)(c1 - p), out, err);
    if (st != FTRACK_OK)
        return st;
    const char *e = c1 + 1;
    const char *c2 = memchr(e, ':', (size_t)(end - e));
    out->endpoint = e;
    out->endpoint_len = (size_t)((c2 ? c2 : end) - e);
    if (c2) {
        out->data = c2 + 1;
        out->data_len = (size_t)(end - (c2 + 1));
    }
    return FTRACK_OK;
}

ftrack_status fti_sio_decode_ack(const char *data, size_t len, unsigned long *acked_id,
                                 const char **args, size_t *args_len, ftrack_error *err)
{
    size_t i = 0;
    unsigned long v = 0;
    while (i < len && i < 19 && data[i] >= '0' && data[i] <= '9')
        v = v * 10 + (unsigned long)(data[i++] - '0');
    if (i == 0)
        return fti_error(err, FTRACK_ERR_PARSE, "ack without an id");
    *acked_id = v;
    *args = NULL;
    *args_len = 0;
    if (i == len)
        return FTRACK_OK;
    if (data[i] != '+')
        return fti_error(err, FTRACK_ERR_PARSE, "malformed ack id");
    *args = data + i + 1;
    *args_len = len - i - 1;
    return FTRACK_OK;
}

static char *frame(size_t headroom, const char *head, size_t head_len, const char *a, size_t a_len,
                   const char *b, size_t b_len, const char *c, size_t c_len, size_t *len)
{
    size_t n = head_len + a_len + b_len + c_len;
    char *buf = malloc(headroom + n + 1);
    if (!buf)
        return NULL;
    char *p = buf + headroom;
    memcpy(p, head, head_len);
    p += head_len;
    if (a_len)
        memcpy(p, a, a_len);
    p += a_len;
    if (b_len)
        memcpy(p, b, b_len);
    p += b_len;
    if (c_len)
        memcpy(p, c, c_len);
    p += c_len;
    *p = '\0';
    if (len)
        *len = n;
    return buf;
}

char *fti_sio_frame_event(size_t headroom, unsigned long id, const char *event_json,
                          size_t event_len, size_t *len)
{
    char head[40];
    int hn =
        id ? snprintf(head, sizeof(head), "5:%lu+::", id) : snprintf(head, sizeof(head), "5:::");
    char *buf = frame(headroom, head, (size_t)hn, EVENT_PREFIX, sizeof(EVENT_PREFIX) - 1,
                      event_json, event_len, EVENT_SUFFIX, sizeof(EVENT_SUFFIX) - 1, len);
    return buf;
}

/* Bytes json-c writes for each input byte of a string (see fti_text_piece). */
static size_t escaped_len(const char *s, size_t n)
{
    size_t out = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            out += 1;
        else if (c < 0x20)
            out += (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r') ? 1 : 5;
    }
    return out;
}

static char *escape_into(char *p, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    static const char plain[] = "\b\t\n\f\r\"\\", letter[] = "btnfr\"\\";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *two =
            c && (c < 0x20 || c == '"' || c == '\\') ? memchr(plain, c, sizeof(plain) - 1) : NULL;
        if (two) {
            *p++ = '\\';
            *p++ = letter[two - plain];
        } else if (c < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hex[c >> 4];
            p[5] = hex[c & 0x0f];
            p += 6;
        } else {
            *p++ = (char)c;
        }
    }
    return p;
}

static size_t pieces_len(const fti_text_piece *pieces, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += pieces[i].escape ? escaped_len(pieces[i].text, pieces[i].len) : pieces[i].len;
    return total;
}

static char *pieces_write(char *p, const fti_text_piece *pieces, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (pieces[i].escape) {
            p = escape_into(p, pieces[i].text, pieces[i].len);
        } else if (pieces[i].len) {
            memcpy(p, pieces[i].text, pieces[i].len);
            p += pieces[i].len;
        }
    }
    return p;
}

/* head, pieces, tail: one allocation sized up front. */
static char *frame_pieces(size_t headroom, const char *head, size_t head_len,
                          const fti_text_piece *pieces, size_t n, const char *tail, size_t tail_len,
                          size_t *len)
{
    size_t total = head_len + pieces_len(pieces, n) + tail_len;
    char *buf = malloc(headroom + total + 1);
    if (!buf)
        return NULL;
    char *p = buf + headroom;
    memcpy(p, head, head_len);
    p = pieces_write(p + head_len, pieces, n);
    memcpy(p, tail, tail_len);
    p[tail_len] = '\0';
    if (len)
        *len = total;
    return buf;
}

char *fti_sio_join(size_t headroom, const fti_text_piece *pieces, size_t n, size_t *len)
{
    return frame_pieces(headroom, "", 0, pieces, n, "", 0, len);
}

char *fti_sio_frame_event_pieces(size_t headroom, unsigned long id, const fti_text_piece *pieces,
                                 size_t n, size_t *len)
{
    char head[80];
    int hn = id ? snprintf(head, sizeof(head), "5:%lu+::%s", id, EVENT_PREFIX)
                : snprintf(head, sizeof(head), "5:::%s", EVENT_PREFIX);
    return frame_pieces(headroom, head, (size_t)hn, pieces, n, EVENT_SUFFIX,
                        sizeof(EVENT_SUFFIX) - 1, len);
}

char *fti_sio_frame_ack(size_t headroom, unsigned long id, const char *args_json, size_t args_len,
                        size_t *len)
{
    char head[40];
    int hn = snprintf(head, sizeof(head), "6:::%lu+[", id);
    return frame(headroom, head, (size_t)hn, args_json, args_len, "]", 1, NULL, 0, len);
}

char *fti_sio_frame_simple(size_t headroom, fti_sio_type type, bool trailing_colon, size_t *len)
{
    char head[8];
    int hn = snprintf(head, sizeof(head), "%d::%s", (int)type, trailing_colon ? ":" : "");
    return frame(headroom, head, (size_t)hn, NULL, 0, NULL, 0, NULL, 0, len);
}

json_object *fti_sio_event_arg(json_object *payload, const char **why)
{
    json_object *name, *args;
    if (!json_object_is_type(payload, json_type_object)) {
        *why = "event payload is not an object";
        return NULL;
    }
    if (!json_object_object_get_ex(payload, "name", &name) ||
        !json_object_is_type(name, json_type_string) ||
        strcmp(json_object_get_string(name), "ftrack.event") != 0) {
        *why = "event name is not ftrack.event";
        return NULL;
    }
    if (!json_object_object_get_ex(payload, "args", &args) ||
        !json_object_is_type(args, json_type_array) || json_object_array_length(args) != 1) {
        *why = "event args is not a one-element list";
        return NULL;
    }
    json_object *arg = json_object_array_get_idx(args, 0);
    if (!json_object_is_type(arg, json_type_object)) {
        *why = "event argument is not an object";
        return NULL;
    }
    return arg;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Past the string whose opening quote is s[i], or 0 when it does not close within n.
 * *escaped when it holds a backslash. memchr: event data holds long strings (thumbnails,
 * descriptions) and this runs on the network thread for each event. */
static size_t string_end(const char *s, size_t i, size_t n, bool *escaped)
{
    size_t qi = 0; /* the next quote at or after i, once looked up: each byte is looked at once */
    for (i++; i < n;) {
        if (qi < i) {
            const char *q = memchr(s + i, '"', n - i);
            if (!q)
                return 0;
            qi = (size_t)(q - s);
        }
        const char *bs = memchr(s + i, '\\', qi - i);
        if (!bs)
            return qi + 1;
        *escaped = true;
        i = (size_t)(bs - s) + 2; /* the escaped byte may be that quote */
    }
    return 0;
}

/* Past the object or array that opens at s[i], or 0 when it does not close within n, its
 * brackets do not pair up, or it nests deeper than `room` levels (itself included). */
static size_t container_end(const char *s, size_t i, size_t n, size_t room)
{
    uint64_t curly = 0; /* bit k: level k opened with '{'; pairs deeper than 64 go unchecked */
    size_t depth = 0;
    bool escaped = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            size_t e = string_end(s, i, n, &escaped);
            if (!e)
                return 0;
            i = e - 1;
        } else if (c == '{' || c == '[') {
            if (depth >= room)
                return 0;
            if (depth < 64)
                curly = c == '{' ? curly | (1ULL << depth) : curly & ~(1ULL << depth);
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return 0;
            depth--;
            if (depth < 64 && (((curly >> depth) & 1) != 0) != (c == '}'))
                return 0;
            if (depth == 0)
                return i + 1;
        }
    }
    return 0;
}

/* Length of the object or array at s[0]; 0 when it does not close well within n. */
static size_t value_end(const char *s, size_t n)
{
    return container_end(s, 0, n, SIZE_MAX);
}

const char *fti_sio_event_arg_text(const char *data, size_t len, size_t *out_len)
{
    while (len > 0 && is_space(data[len - 1]))
        len--;
    size_t sl = sizeof(EVENT_SUFFIX) - 1;
    for (size_t k = 0; k < sizeof(EVENT_PREFIXES) / sizeof(EVENT_PREFIXES[0]); k++) {
        size_t pl = strlen(EVENT_PREFIXES[k]);
        if (len < pl + sl || memcmp(data, EVENT_PREFIXES[k], pl) != 0 ||
            memcmp(data + len - sl, EVENT_SUFFIX, sl) != 0)
            continue;
        const char *p = data + pl;
        size_t n = len - pl - sl;
        while (n > 0 && is_space(*p))
            p++, n--;
        while (n > 0 && is_space(p[n - 1]))
            n--;
        /* exactly one object between the brackets (a second "args" would leave more) */
        if (n == 0 || *p != '{' || value_end(p, n) != n)
            return NULL;
        *out_len = n;
        return p;
    }
    return NULL;
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && is_space(s[i]))
        i++;
    return i;
}

/* Numbers and literals (true, false, null; json-c also reads NaN and Infinity). */
static bool is_scalar_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '+' || c == '-' || c == '.';
}

/* Past the member value that starts at s[i], or 0; `room` as container_end's. */
static size_t member_value_end(const char *s, size_t i, size_t n, size_t room)
{
    bool escaped = false;
    if (i >= n)
        return 0;
    if (s[i] == '"')
        return string_end(s, i, n, &escaped);
    if (s[i] == '{' || s[i] == '[')
        return container_end(s, i, n, room);
    size_t j = i;
    while (j < n && is_scalar_char(s[j]))
        j++;
    return j;
}

bool fti_json_scan_object(const char *text, size_t len, int max_depth, fti_json_member_fn each,
                          void *user_data)
{
    if (!text || max_depth < 1)
        return false;
    size_t i = skip_ws(text, 0, len);
    if (i >= len || text[i] != '{')
        return false;
    size_t room = (size_t)max_depth - 1; /* levels left under the object */
    i = skip_ws(text, i + 1, len);
    if (i < len && text[i] == '}')
        return skip_ws(text, i + 1, len) == len;
    for (;;) {
        bool escaped = false;
        size_t key_at = i;
        size_t key_end = i < len && text[i] == '"' ? string_end(text, i, len, &escaped) : 0;
        if (!key_end || escaped)
            return false;
        i = skip_ws(text, key_end, len);
        if (i >= len || text[i] != ':')
            return false;
        size_t value_at = skip_ws(text, i + 1, len);
        size_t value_stop = member_value_end(text, value_at, len, room);
        if (value_stop <= value_at)
            return false;
        if (each && !each(text + key_at + 1, key_end - key_at - 2, text + value_at,
                          value_stop - value_at, user_data))
            return false;
        i = skip_ws(text, value_stop, len);
        if (i < len && text[i] == '}')
            return skip_ws(text, i + 1, len) == len;
        if (i >= len || text[i] != ',')
            return false;
        i = skip_ws(text, i + 1, len);
    }
}
