/* SPDX-License-Identifier: Apache-2.0 */
/* The local control socket (control.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include "common/internal.h"
#include "delivery/control.h"
#include "isolation/isolation.h"

#define LINE_MAX_BYTES ((size_t)16 * 1024 * 1024)
/* Requests answered per read before the answers must have left: a client that sends without
 * reading stops being read (its own sends then block) instead of growing our output buffer. */
#define MAX_IN_FLIGHT 64

struct fth_control {
    struct evconnlistener *listener;
    char *path;
    fth_control_replay_fn replay;
};

static void reply(struct bufferevent *bev, json_object *answer)
{
    size_t len = 0;
    const char *text = json_object_to_json_string_length(answer, JSON_C_TO_STRING_PLAIN, &len);
    evbuffer_add(bufferevent_get_output(bev), text, len);
    evbuffer_add(bufferevent_get_output(bev), "\n", 1);
}

static json_object *answer_of(ftrack_status st, const ftrack_error *err)
{
    json_object *a = json_object_new_object();
    json_object_object_add(a, "ok", json_object_new_boolean(st == FTRACK_OK));
    if (st != FTRACK_OK)
        json_object_object_add(a, "error", json_object_new_string(err->message));
    return a;
}

static json_object *handle(const fth_control *control, json_object *request)
{
    ftrack_error err;
    ftrack_error_clear(&err);
    json_object *v, *event = NULL;
    const char *command = json_object_object_get_ex(request, "command", &v) &&
                                  json_object_is_type(v, json_type_string)
                              ? json_object_get_string(v)
                              : "";
    if (strcmp(command, "ping") == 0) {
        json_object *a = answer_of(FTRACK_OK, &err);
        json_object_object_add(a, "pid", json_object_new_int(getpid()));
        return a;
    }
    if (strcmp(command, "replay") != 0)
        return answer_of(
            fti_error(&err, FTRACK_ERR_INVALID_ARGUMENT, "unknown command (known: replay, ping)"),
            &err);
    const char *instance = json_object_object_get_ex(request, "instance", &v) &&
                                   json_object_is_type(v, json_type_string)
                               ? json_object_get_string(v)
                               : NULL;
    if (!instance || !json_object_object_get_ex(request, "event", &event) ||
        !json_object_is_type(event, json_type_object))
        return answer_of(fti_error(&err, FTRACK_ERR_INVALID_ARGUMENT,
                                   "replay needs \"instance\" and an \"event\" object"),
                         &err);
    return answer_of(control->replay(instance, event, &err), &err);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    const fth_control *control = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len;
    char *line;
    int answered = 0;
    while (answered < MAX_IN_FLIGHT && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
        answered++;
        json_tokener *tok = json_tokener_new_ex(FTRACK_EVENT_MAX_DEPTH + 4);
        json_object *request = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL;
        json_tokener_free(tok);
        free(line);
        json_object *answer;
        if (!json_object_is_type(request, json_type_object)) {
            ftrack_error err;
            answer = answer_of(fti_error(&err, FTRACK_ERR_PARSE, "not a JSON object"), &err);
        } else {
            answer = handle(control, request);
        }
        reply(bev, answer);
        json_object_put(answer);
        json_object_put(request);
    }
    if (evbuffer_get_length(in) > LINE_MAX_BYTES) {
        bufferevent_free(bev); /* no newline in 16 MiB: not a client of ours */
        return;
    }
    /* Read on once the answers are out (on_written). */
    if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        bufferevent_disable(bev, EV_READ);
}

/* The output drained: take the next requests, including ones already buffered. */
static void on_written(struct bufferevent *bev, void *arg)
{
    bufferevent_enable(bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
        on_read(bev, arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bufferevent_free(bev);
}

static bool same_user(evutil_socket_t fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == geteuid();
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int socklen, void *arg)
{
    (void)addr;
    (void)socklen;
    (void)arg;
    if (!same_user(fd)) {
        ftrack_log(FTRACK_LOG_WARNING, "control", "refused a control connection from another user");
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev =
        bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    bufferevent_setcb(bev, on_read, on_written, on_event, arg);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static bool fill_address(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return false;
    fti_strlcpy(sa->sun_path, path, sizeof(sa->sun_path));
    return true;
}

ftrack_status fth_control_start(struct event_base *base, const char *path,
                                fth_control_replay_fn replay, fth_control **out,
                                ftrack_error *err)
{
    *out = NULL;
    struct sockaddr_un sa;
    if (!fill_address(path, &sa))
        return fti_error(err, FTRACK_ERR_IO, "the control socket path %s is too long", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fti_error(err, FTRACK_ERR_IO, "socket: %s", strerror(errno));
    unlink(path); /* stale from a crash: the journal lock already proved we are alone */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 16) != 0) {
        int e = errno;
        close(fd);
        return fti_error(err, FTRACK_ERR_IO, "cannot listen on the control socket %s: %s", path,
                         strerror(e));
    }
    fth_control *c = calloc(1, sizeof(*c));
    if (c) {
        c->path = fti_strdup(path);
        c->replay = replay;
    }
    if (c && c->path)
        c->listener = evconnlistener_new(base, on_accept, c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!c || !c->path || !c->listener) {
        if (!c || !c->listener)
            close(fd);
        if (c)
            free(c->path);
        free(c);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "cannot start the control socket");
    }
    ftrack_log(FTRACK_LOG_INFO, "control", "control socket %s (owner only)", path);
    *out = c;
    return FTRACK_OK;
}

void fth_control_stop(fth_control *c)
{
    if (!c)
        return;
    evconnlistener_free(c->listener);
    unlink(c->path);
    free(c->path);
    free(c);
}

int fth_control_connect(const char *path, ftrack_error *err)
{
    struct sockaddr_un sa;
    if (!fill_address(path, &sa)) {
        fti_error(err, FTRACK_ERR_IO, "the control socket path %s is too long", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fti_error(err, FTRACK_ERR_NOT_CONNECTED,
                  "cannot reach a running ftrack-host at %s: %s (is the host running with "
                  "this --data-dir?)",
                  path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

ftrack_status fth_control_request(int fd, json_object *request, json_object **answer,
                                  double timeout, ftrack_error *err)
{
    *answer = NULL;
    if (!fth_lines_write(fd, request))
        return fti_error(err, FTRACK_ERR_IO, "the host closed the control connection");
    fth_lines lines;
    fth_lines_init(&lines, fd);
    bool eof = false;
    /* One request in flight at a time, so nothing is read past this answer's line. */
    char *line = NULL;
    for (;;) {
        char c;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(timeout * 1000)) <= 0 || read(fd, &c, 1) != 1) {
            eof = true;
            break;
        }
        if (c == '\n')
            break;
        if (!fti_array_reserve(&lines.buf, &lines.cap, lines.len + 2, 1)) {
            eof = true;
            break;
        }
        lines.buf[lines.len++] = c;
    }
    if (!eof && lines.buf) {
        lines.buf[lines.len] = '\0';
        line = lines.buf;
        lines.buf = NULL;
    }
    fth_lines_clear(&lines);
    *answer = line ? json_tokener_parse(line) : NULL;
    free(line);
    if (!json_object_is_type(*answer, json_type_object)) {
        json_object_put(*answer);
        *answer = NULL;
        return fti_error(err, FTRACK_ERR_BAD_RESPONSE, "no answer from the host");
    }
    return FTRACK_OK;
}
