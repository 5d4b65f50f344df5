/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_SERVER_H
#define FHUB_SERVER_H
/*
 * The embedded event hub: a real server on one port that speaks ftrack's protocol
 * (docs/internals/protocol.md §3, §5-§7, Appendices A-B):
 *   GET  /socket.io/1/                  socket.io 0.9 handshake (credentials checked)
 *   GET  /socket.io/1/websocket/<sid>   the websocket: subscribe, route, ack, heartbeat
 *   POST /api                           server information, schemas, the entity store
 *                                       (query/create/update/delete), encode_media,
 *                                       get_upload_metadata (api.h)
 *   PUT  /component/put?...             upload to a signed URL from get_upload_metadata
 *   GET  /component/get?id=&username=&apiKey=   download a component's file
 *
 * Threads. The server runs libwebsockets' service loop on one thread of its own, started by
 * fhub_server_start() and joined by fhub_server_stop(). All connection and routing
 * state lives on that thread. The functions below are safe to call from any thread.
 *
 * Ownership. The config is read during start only (strings are copied). A server is freed by
 * fhub_server_stop(). Strings returned by accessors are borrowed from the server and stay
 * valid until it is stopped.
 */
#include <stdbool.h>
#include <stddef.h>
#include <ftrack/common.h>

typedef struct fhub_server fhub_server;

typedef struct fhub_server_config {
    const char *listen_host;   /* NULL → "127.0.0.1"; "::1" (no brackets) for IPv6 */
    int port;                  /* 0 → an ephemeral port (see fhub_server_port) */
    const char *api_user;      /* required */
    const char *api_key;       /* required, non-empty; never logged */
    double heartbeat_interval; /* seconds between "2::" to each client; 0 → 10 */
    double heartbeat_timeout;  /* drop a client silent this long, seconds; 0 → 60 */
    size_t max_frame;          /* largest websocket message accepted, bytes; 0 → 1 MiB */
    size_t max_api_body;       /* largest POST /api body, bytes; 0 → 8 MiB */
    size_t max_upload;         /* largest PUT /component/put body, bytes; 0 → 4 GiB */
    int max_connections;       /* connections open at once (HTTP and websocket); more wait in
                                  the listen backlog until one closes; 0 → 256 */
    size_t max_header_bytes;   /* largest request head (request line and headers); 0 → 8 KiB */
    double client_timeout;     /* seconds a request's head and body may take to arrive, and
                                  an idle keep-alive connection is kept; 0 → 30 */
    int max_json_depth;        /* deepest JSON nesting accepted; 0 → FTRACK_EVENT_MAX_DEPTH */
    size_t max_queued_bytes;   /* per connection outbound backlog before events are dropped
                                  for it (logged); 0 → 64 MiB */
    const char *data_dir;      /* the hub's state folder (may be NULL: nothing persisted) */
    const char *schema_file;   /* NULL → the set shipped in the binary (host/hub/schemas.json) */
    /* The entity store behind /api (api.h): <data_dir>/hub.sqlite, or in memory when
     * memory_store is set or data_dir is NULL. */
    bool memory_store;
    const char *seed_file;     /* entities to load at start (NULL: none) */
    const char *user_keys_file; /* write the API keys of the other stored users here (mode
                                   0600) once the seed is loaded; NULL: don't */
    const char *ffmpeg;        /* encode_media's ffmpeg; NULL → "ffmpeg" on PATH */
    int encode_workers;        /* encode jobs run at once; 0 → 2 */
    double encode_timeout;     /* seconds per encode job; 0 → 600 */
    /* TLS: with both set the port serves https and wss only (PEM files, read at start). */
    const char *tls_cert;
    const char *tls_key;
    /* The address clients use when it is not the listen address (behind a reverse proxy):
     * "https://ftrack.example.com". Upload URLs are built on it. NULL: the listen URL, or
     * X-Forwarded-Proto/X-Forwarded-Host when a request comes from a loopback peer. */
    const char *public_url;
} fhub_server_config;

/* Fill *cfg with the defaults above (all zero/NULL). */
void fhub_server_config_init(fhub_server_config *cfg);

/* Bind, listen and start the service thread. Returns when the server accepts connections.
 * Fails with FTRACK_ERR_IO when the address cannot be bound (busy port, bad host),
 * FTRACK_ERR_INVALID_ARGUMENT for a bad config, FTRACK_ERR_CONFIG when the schema file is
 * unreadable. On failure *out is NULL. */
ftrack_status fhub_server_start(const fhub_server_config *cfg, fhub_server **out,
                                   ftrack_error *err);

/* "http://HOST:PORT" ("https://" with TLS) with the explicit (actual) port and no trailing
 * slash; IPv6 hosts in brackets. Borrowed. */
const char *fhub_server_url(const fhub_server *srv);
/* The port actually bound. */
int fhub_server_port(const fhub_server *srv);

/* Route an event as if the server itself had published it (e.g. ftrack.update): `event_json`
 * is one wire event object (normalised like any client event). Queued to the service
 * thread; returns FTRACK_ERR_PARSE when it is not a JSON object with a string topic. */
ftrack_status fhub_server_inject(fhub_server *srv, const char *event_json, size_t len,
                                    ftrack_error *err);

/* Make every connected client reconnect: send "0::" and drop the TCP connection
 * (Appendix B rule 7). Asynchronous. */
void fhub_server_drop_connections(fhub_server *srv);

/* Current number of websocket connections (for tests and health). */
size_t fhub_server_connection_count(const fhub_server *srv);

/* Stop the service thread, close every connection, free everything. NULL is accepted.
 * Must not be called from the service thread. */
void fhub_server_stop(fhub_server *srv);

/* ---- Credentials (credentials.c) ---------------------------------------------------------- */

typedef struct fhub_credentials {
    char *api_user; /* FTRACK_API_USER, else the login user */
    char *api_key;  /* FTRACK_API_KEY / FTRACK_APIKEY, else the key file's content */
    char *key_file; /* path of the key file when the key came from it, else NULL */
    bool generated; /* the key file was created just now */
} fhub_credentials;

/* The hub's default state folder: $XDG_STATE_HOME/ftrack-host, else
 * ~/.local/state/ftrack-host. Caller frees. NULL when neither HOME nor XDG_STATE_HOME is set. */
char *fhub_default_data_dir(void);

/* Resolve the hub's user and key from the environment; where no key is configured, read the
 * key file `<data_dir>/api-key` (creating the folder 0700 and the file 0600 with a random key
 * when missing; refusing a file readable by others). data_dir NULL → the default above.
 * Free with fhub_credentials_clear(). */
ftrack_status fhub_credentials_resolve(const char *data_dir, fhub_credentials *out,
                                          ftrack_error *err);
void fhub_credentials_clear(fhub_credentials *creds);

/* ---- The command line (command.c) -------------------------------------------------------- */

/* Run the hub alone until SIGINT/SIGTERM, as `ftrack-host hub` and `ftrack-hub` do: argv[0]
 * is the command word, prog the name messages start with ("ftrack-host hub", "ftrack-hub").
 * Returns the exit code: 0 ok, 1 the hub could not start, 2 usage or credentials. */
int fhub_command(int argc, char **argv, const char *prog);

#endif
