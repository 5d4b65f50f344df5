/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_CONTROL_H
#define FTH_CONTROL_H
/*
 * The host's local control socket: a unix stream socket in the data dir (control.sock),
 * mode 0600 in a 0700 folder, and a peer-credential check (only the host's own user is
 * served). One JSON request per line, one JSON answer per line:
 *
 *   {"command":"replay","instance":"NAME","event":{...wire event...}}
 *       → {"ok":true} | {"ok":false,"error":"..."}
 *   {"command":"ping"} → {"ok":true,"pid":1234}
 *
 * `ftrack-host replay` is its client (fth_control_request). Requests run on the main thread's
 * libevent loop. Lines are limited to 16 MiB; a client may have at most 64 requests in flight.
 */
#include <event2/event.h>
#include <json-c/json.h>
#include <ftrack/common.h>

typedef struct fth_control fth_control;

/* What a replay request runs: hand `event` (borrowed) back to `instance`. */
typedef ftrack_status (*fth_control_replay_fn)(const char *instance, json_object *event,
                                               ftrack_error *err);

/* Listen at `path` (a stale socket file is replaced; a live one is FTRACK_ERR_IO); replay
 * requests go to `replay`. */
ftrack_status fth_control_start(struct event_base *base, const char *path,
                                fth_control_replay_fn replay, fth_control **out,
                                ftrack_error *err);
/* Close the socket and every client, unlink the file. NULL is accepted. */
void fth_control_stop(fth_control *control);

/* Client side: connect to `path`. Returns the socket, or -1 with err set. */
int fth_control_connect(const char *path, ftrack_error *err);
/* Send one request and read its answer (new object) within `timeout` seconds. */
ftrack_status fth_control_request(int fd, json_object *request, json_object **answer,
                                  double timeout, ftrack_error *err);
#endif
