/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_ISOLATION_H
#define FTH_ISOLATION_H
/*
 * Isolated plugin instances: the plugin runs in a child process (`ftrack-host` re-executed
 * in its child mode, child.c, or any program that speaks the protocol) and talks to the host
 * over a socket pair in JSON lines (docs/reliability.md, "The child protocol").
 *
 * The host side subscribes, on the instance's own queue, one *proxy* subscriber per
 * subscription the child announced (same expression, priority and subscriber metadata), so
 * events for an isolated plugin go through the journal, deduplication and the failure policy
 * like any other. A proxy callback sends the event to the child and waits, at most the
 * deadline, for its result; a crash (EOF) or a hang (deadline; the child is killed) fails the
 * delivery, which the failure policy retries, and the child is started again with backoff.
 *
 * Threads: new/free on the main thread; register, the proxy callbacks and unregister on the
 * instance's worker thread. Ownership: strings are copied; the session is borrowed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>
#include <ftrack/host.h>
#include <ftrack/plugin.h>

typedef struct fth_isolation fth_isolation;

typedef struct fth_isolation_spec {
    const char *instance;
    const char *plugin_path;    /* the .so the child loads */
    ftrack_session *session;    /* the host's (for the server URL and user) */
    double deadline;            /* seconds per event, as the failure policy's */
    double restart_delay;       /* first restart backoff (the policy's retry_delay); 0 → 0.5 */
    double restart_max_delay;   /* its ceiling (the policy's retry_max_delay); 0 → 30 */
    const char *const *command; /* a program to run instead of ftrack-host's child mode (argv,
                                   NULL-terminated; copied), or NULL */
} fth_isolation_spec;

/* Credentials the children open their own sessions with (the key never goes on a command line
 * or in the environment: it crosses the socket in the init message), and the CA file that
 * verifies the server (--ca-file; NULL: the child reads the same environment). Copied. */
void fth_isolation_set_credentials(const char *server_url, const char *api_user,
                                   const char *api_key, const char *ca_file);

ftrack_status fth_isolation_new(const fth_isolation_spec *spec, fth_isolation **out,
                                ftrack_error *err);
/* Start the child, pass it the arguments (JSON text), wait for its register and subscribe
 * the proxies on the calling thread's bound queue. FTRACK_ERR_PLUGIN with the child's message
 * when its register failed. */
ftrack_status fth_isolation_register(fth_isolation *iso, ftrack_plugin_context *ctx,
                                     ftrack_hub *hub, const char *arguments_json,
                                     ftrack_error *err);
/* Ask the child to unregister and exit (killed after a few seconds). */
void fth_isolation_unregister(fth_isolation *iso);
void fth_isolation_free(fth_isolation *iso);
/* The descriptor of "command" instances (config: plugins.NAME.command): a program of any
 * language speaking the child protocol. Static storage. */
const ftrack_plugin_descriptor_v1 *fth_isolation_external_descriptor(void);

/* Children started so far (1 after a clean start; more after restarts). */
unsigned fth_isolation_starts(const fth_isolation *iso);

/* ---- shared by both ends (child.c) --------------------------------------------------------- */

/* A reader of newline-terminated lines from a file descriptor. */
typedef struct fth_lines {
    int fd;
    char *buf;
    size_t len, cap;
} fth_lines;

#define FTH_LINE_MAX ((size_t)16 * 1024 * 1024)

void fth_lines_init(fth_lines *l, int fd);
void fth_lines_clear(fth_lines *l);
/* The next line (without its newline; caller frees) within `timeout` seconds (< 0: no
 * limit). NULL with *eof set at end of file or on an error, or with *eof false on timeout. */
char *fth_lines_read(fth_lines *l, double timeout, bool *eof);
/* Write one JSON object as a line. False when the peer is gone. */
bool fth_lines_write(int fd, json_object *message);
/* The same, giving up at `until` (fti_now() time): false with errno ETIMEDOUT when the peer
 * has not taken the whole line by then. */
bool fth_lines_write_until(int fd, json_object *message, double until);

/* The child's entry point: `ftrack-host run --isolated-child` (fd 3 is the socket). */
int fth_child_main(int argc, char **argv);
#endif
