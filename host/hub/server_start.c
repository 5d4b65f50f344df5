/* SPDX-License-Identifier: Apache-2.0 */
/* Starting and stopping the embedded hub server (hub_server.h): the configuration checked and
 * applied (TLS, limits, the public URL), the libwebsockets context and vhost, /api attached,
 * the service thread, and everything freed at the end. What runs on the service thread once
 * it started is in server.c. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <ftrack/event.h>
#include "common/internal.h"
#include "wire/socketio.h"
#include "wire/wsframe.h"
#include "server_lws.h"

#define LOG_COMPONENT "hub"
/* lws stops accepting one descriptor short of its limit. */
#define LWS_INTERNAL_FDS 1

static void lws_log_emit(int level, const char *line)
{
    char msg[512];
    fti_strlcpy(msg, line, sizeof(msg));
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    ftrack_log(level == LLL_ERR ? FTRACK_LOG_WARNING : FTRACK_LOG_DEBUG, "lws", "%s", msg);
}

static void *service_main(void *arg)
{
    fhub_server *srv = arg;
    while (!atomic_load(&srv->stop))
        if (lws_service(srv->ctx, 0) < 0)
            break;
    return NULL;
}

void fhub_server_config_init(fhub_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
}

static void server_free(fhub_server *srv)
{
    /* Encode workers publish through the context: stop them first. */
    fhub_api_shutdown(srv->api);
    if (srv->ctx)
        lws_context_destroy(srv->ctx);
    SSL_CTX_free(srv->unused_client_ctx); /* lws leaves a provided context to its owner */
    fhub_sids_free(srv);
    while (srv->inject_head) {
        injected *i = srv->inject_head;
        srv->inject_head = i->next;
        free(i->text);
        free(i);
    }
    fhub_frame_unref(srv->hb_frame);
    fhub_frame_unref(srv->connect_frame);
    fhub_frame_unref(srv->disconnect_frame);
    fti_wsbatch_free(&srv->out);
    fhub_router_free(srv->router);
    fhub_api_free(srv->api);
    if (srv->key)
        OPENSSL_cleanse(srv->key, strlen(srv->key));
    free(srv->key);
    free(srv->user);
    free(srv->host);
    free(srv->public_url);
    free(srv->data_dir);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}

/* A file lws would fail on with a vague "cannot create the vhost" is named here instead. */
static ftrack_status check_readable(const char *what, const char *path, ftrack_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fti_error(err, FTRACK_ERR_CONFIG, "cannot read the TLS %s %s: %s", what, path,
                         strerror(errno));
    fclose(f);
    return FTRACK_OK;
}

static ftrack_status apply_tls_config(fhub_server *srv, const fhub_server_config *cfg,
                                      ftrack_error *err)
{
    bool cert = cfg->tls_cert && *cfg->tls_cert, key = cfg->tls_key && *cfg->tls_key;
    if (cert != key)
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "TLS needs both a certificate and its private key (--tls-cert and "
                         "--tls-key)");
    srv->tls = cert;
    ftrack_status st = FTRACK_OK;
    if (cert && (st = check_readable("certificate", cfg->tls_cert, err)) == FTRACK_OK)
        st = check_readable("private key", cfg->tls_key, err);
    if (st != FTRACK_OK)
        return st;
    if (!cfg->public_url || !*cfg->public_url)
        return FTRACK_OK;
    if (strncmp(cfg->public_url, "http://", 7) != 0 && strncmp(cfg->public_url, "https://", 8) != 0)
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "the public URL must start with http:// or https://, got '%s'",
                         cfg->public_url);
    srv->public_url = fti_strdup(cfg->public_url);
    size_t n = srv->public_url ? strlen(srv->public_url) : 0;
    while (n > 0 && srv->public_url[n - 1] == '/')
        srv->public_url[--n] = '\0';
    return srv->public_url ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
}

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

static ftrack_status apply_config(fhub_server *srv, const fhub_server_config *cfg,
                                  ftrack_error *err)
{
    if (!cfg->api_user || !*cfg->api_user || !cfg->api_key || !*cfg->api_key)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "the hub needs an API user and key");
    if (cfg->port < 0 || cfg->port > 65535)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "port %d is out of range", cfg->port);
    srv->user = strdup(cfg->api_user);
    srv->key = strdup(cfg->api_key);
    srv->host = strdup(cfg->listen_host && *cfg->listen_host ? cfg->listen_host : "127.0.0.1");
    srv->data_dir = fti_strdup(cfg->data_dir);
    ftrack_status st = apply_tls_config(srv, cfg, err);
    if (st != FTRACK_OK)
        return st;
    srv->hb_interval = cfg->heartbeat_interval > 0 ? cfg->heartbeat_interval : 10.0;
    srv->hb_timeout = cfg->heartbeat_timeout > 0 ? cfg->heartbeat_timeout : 60.0;
    srv->max_frame = cfg->max_frame ? cfg->max_frame : 1024 * 1024;
    srv->max_api_body = cfg->max_api_body ? cfg->max_api_body : 8 * 1024 * 1024;
    srv->max_depth = cfg->max_json_depth > 0 ? cfg->max_json_depth : FTRACK_EVENT_MAX_DEPTH;
    srv->max_queued = cfg->max_queued_bytes ? cfg->max_queued_bytes : 64 * 1024 * 1024;
    srv->max_upload = cfg->max_upload ? cfg->max_upload : (size_t)4 * 1024 * 1024 * 1024;
    srv->max_connections = cfg->max_connections > 0 ? cfg->max_connections : 256;
    srv->max_header = cfg->max_header_bytes ? cfg->max_header_bytes : 8192;
    srv->client_timeout = cfg->client_timeout > 0 ? cfg->client_timeout : 30.0;
    srv->router = fhub_router_new();
    srv->hb_frame = fhub_frame_simple(FTI_SIO_HEARTBEAT);
    srv->connect_frame = fhub_frame_simple(FTI_SIO_CONNECT);
    srv->disconnect_frame = fhub_frame_simple(FTI_SIO_DISCONNECT);
    if (!srv->user || !srv->key || !srv->host || !srv->router || !srv->hb_frame ||
        !srv->connect_frame || !srv->disconnect_frame)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    return fhub_api_new(cfg->schema_file, &srv->api, err);
}

static ftrack_status create_context(fhub_server *srv, const fhub_server_config *cfg,
                                    ftrack_error *err)
{
    lws_set_log_level(LLL_ERR, lws_log_emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (srv->tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = srv;
    info.gid = -1;
    info.uid = -1;
    int port = cfg->port;
    /* lws stops accepting (the listen socket leaves the poll set) once this many descriptors
     * are in use, so a flood of connections waits in the kernel's backlog instead of using up
     * the process's descriptors and memory. */
    info.fd_limit_per_thread = (unsigned)srv->max_connections + LWS_INTERNAL_FDS;
    info.max_http_header_data2 = (unsigned)srv->max_header;
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx)
        return fti_error(err, FTRACK_ERR_INTERNAL, "cannot create the websocket context");
    memset(&info, 0, sizeof(info));
    info.vhost_name = "ftrack-hub";
    info.port = port;
    info.iface = srv->host;
    info.protocols = fhub_server_protocols;
    info.timeout_secs = (unsigned)(srv->client_timeout + 0.999);
    info.timeout_secs_ah_idle = info.timeout_secs;
    if (!strchr(srv->host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (srv->tls) {
        /* lws reads this flag from the vhost's options too: without it the vhost is plain. */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        /* HTTP/1.1 only: over h2, lws offers no custom headers (ftrack-user, ftrack-api-key)
         * and ftrack's clients open the websocket with an HTTP/1.1 upgrade anyway. */
        info.alpn = "http/1.1";
        srv->unused_client_ctx = SSL_CTX_new(TLS_client_method());
        info.provided_client_ssl_ctx = srv->unused_client_ctx;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
    }
    srv->vhost = lws_create_vhost(srv->ctx, &info);
    if (!srv->vhost)
        return fti_error(err, FTRACK_ERR_IO,
                         "cannot listen on %s port %d (address in use or not available%s)",
                         srv->host, port,
                         srv->tls ? ", or the TLS certificate and key do not load or match" : "");
    srv->port = lws_get_vhost_listen_port(srv->vhost);
    bool v6 = strchr(srv->host, ':') != NULL;
    const char *scheme = srv->tls ? "https" : "http";
    snprintf(srv->url, sizeof(srv->url), v6 ? "%s://[%s]:%d" : "%s://%s:%d", scheme, srv->host,
             srv->port);
    if (!srv->tls && !is_loopback(srv->host))
        ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT,
                   "listening on %s without TLS: API keys and events travel in clear text over "
                   "the network; give the hub --tls-cert and --tls-key, or put it behind a "
                   "reverse proxy that terminates TLS",
                   srv->url);
    return FTRACK_OK;
}

/* Committed store changes and job progress go out as if the server published them. */
static void publish_from_api(const char *event_json, size_t len, void *user_data)
{
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fhub_server_inject(user_data, event_json, len, &err) != FTRACK_OK)
        ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT, "ftrack.update not published: %s",
                   err.message);
}

static ftrack_status attach_api(fhub_server *srv, const fhub_server_config *cfg,
                                ftrack_error *err)
{
    fhub_api_options opt = {
        .data_dir = cfg->data_dir,
        .memory_store = cfg->memory_store,
        .seed_file = cfg->seed_file,
        .user_keys_file = cfg->user_keys_file,
        .server_url = srv->public_url ? srv->public_url : srv->url,
        .api_user = srv->user,
        .api_key = srv->key,
        .ffmpeg = cfg->ffmpeg,
        .encode_workers = cfg->encode_workers,
        .encode_timeout = cfg->encode_timeout,
        .max_upload = srv->max_upload,
        .publish = publish_from_api,
        .publish_data = srv,
    };
    return fhub_api_attach(srv->api, &opt, err);
}

ftrack_status fhub_server_start(const fhub_server_config *cfg, fhub_server **out,
                                   ftrack_error *err)
{
    *out = NULL;
    fhub_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&srv->lock, NULL);
    fti_wsbatch_init_server(&srv->out, LWS_PRE);
    ftrack_status st = apply_config(srv, cfg, err);
    if (st == FTRACK_OK)
        st = create_context(srv, cfg, err);
    if (st == FTRACK_OK)
        st = attach_api(srv, cfg, err);
    if (st == FTRACK_OK && pthread_create(&srv->thread, NULL, service_main, srv) != 0)
        st = fti_error(err, FTRACK_ERR_INTERNAL, "cannot start the hub thread");
    if (st != FTRACK_OK) {
        server_free(srv);
        return st;
    }
    srv->thread_started = true;
    ftrack_log(FTRACK_LOG_DEBUG, LOG_COMPONENT, "listening on %s", srv->url);
    *out = srv;
    return FTRACK_OK;
}

const char *fhub_server_url(const fhub_server *srv)
{
    return srv->url;
}

int fhub_server_port(const fhub_server *srv)
{
    return srv->port;
}

void fhub_server_stop(fhub_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stop, true);
    if (srv->thread_started) {
        lws_cancel_service(srv->ctx);
        pthread_join(srv->thread, NULL);
    }
    server_free(srv);
}
