/* SPDX-License-Identifier: Apache-2.0 */
/* Session options and the resolution of server, key and user (protocol §1.1). */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "session/session_internal.h"

void ftrack_session_options_init(ftrack_session_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof(*options));
    options->size = sizeof(*options);
    options->auto_populate = true;
    options->record_operations = true;
    options->discover_plugins = true;
    options->auto_connect_event_hub = false;
    options->check_server = true;
    options->timeout = 60.0;
    options->strict_api = false;
    options->insecure_skip_verify = false;
    options->max_retries = 3;
}

void fti_session_options_copy(const ftrack_session_options *in, ftrack_session_options *out)
{
    ftrack_session_options_init(out);
    if (!in)
        return;
    /* A caller built against an older header passes a smaller struct: the fields it does not
     * know keep their defaults. Size 0 means a caller that skipped _init: take it whole. */
    size_t n = in->size == 0 || in->size > sizeof(*out) ? sizeof(*out) : in->size;
    memcpy(out, in, n);
    out->size = sizeof(*out);
}

static const char *non_empty(const char *s)
{
    return s && *s ? s : NULL;
}

static const char *env(const char *name)
{
    return non_empty(getenv(name));
}

static char *password_db_user(void)
{
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t buf_len = size > 0 ? (size_t)size : 16384;
    char *buf = malloc(buf_len);
    if (!buf)
        return NULL;
    struct passwd pw, *found = NULL;
    char *name = NULL;
    if (getpwuid_r(getuid(), &pw, buf, buf_len, &found) == 0 && found && non_empty(found->pw_name))
        name = fti_strdup(found->pw_name);
    free(buf);
    return name;
}

char *fti_login_user(void)
{
    static const char *const vars[] = {"LOGNAME", "USER", "LNAME", "USERNAME"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (env(vars[i]))
            return fti_strdup(env(vars[i]));
    }
    char login[256];
    if (getlogin_r(login, sizeof(login)) == 0 && login[0])
        return fti_strdup(login);
    return password_db_user();
}

static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static ftrack_status resolve_url(const ftrack_session_options *o, char **out, ftrack_error *err)
{
    const char *url = non_empty(o->server_url);
    if (!url)
        url = env("FTRACK_SERVER");
    size_t len = url ? strlen(url) : 0;
    while (len > 0 && url[len - 1] == '/')
        len--;
    if (len == 0)
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "Required \"server_url\" not specified. Pass it as an option or set "
                         "FTRACK_SERVER.");
    if (has_line_break(url))
        return fti_error(err, FTRACK_ERR_CONFIG, "The server URL contains a line break.");
    *out = fti_strndup(url, len);
    return *out ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
}

static ftrack_status resolve_key(const ftrack_session_options *o, char **out, ftrack_error *err)
{
    const char *key = non_empty(o->api_key);
    if (!key)
        key = env("FTRACK_API_KEY");
    if (!key)
        key = env("FTRACK_APIKEY");
    if (!key)
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "Required \"api_key\" not specified. Pass it as an option or set "
                         "FTRACK_API_KEY.");
    /* Never quote the key itself. */
    if (has_line_break(key))
        return fti_error(err, FTRACK_ERR_CONFIG, "The API key contains a line break.");
    *out = fti_strdup(key);
    return *out ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "Out of memory.");
}

static ftrack_status resolve_user(const ftrack_session_options *o, char **out, ftrack_error *err)
{
    const char *user = non_empty(o->api_user);
    if (!user)
        user = env("FTRACK_API_USER");
    *out = user ? fti_strdup(user) : fti_login_user();
    if (!*out || !**out) {
        free(*out);
        *out = NULL;
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "Required \"api_user\" not specified. Pass it as an option or set "
                         "FTRACK_API_USER (the login user was not found either).");
    }
    if (has_line_break(*out)) {
        free(*out);
        *out = NULL;
        return fti_error(err, FTRACK_ERR_CONFIG, "The API user contains a line break.");
    }
    return FTRACK_OK;
}

static void wipe_free(char *secret)
{
    if (secret)
        explicit_bzero(secret, strlen(secret));
    free(secret);
}

ftrack_status ftrack_session_resolve(const ftrack_session_options *options, char **server_url,
                                     char **api_key, char **api_user, ftrack_error *err)
{
    ftrack_session_options o;
    fti_session_options_copy(options, &o);
    char *url = NULL, *key = NULL, *user = NULL;
    ftrack_status status = resolve_url(&o, &url, err);
    if (status == FTRACK_OK)
        status = resolve_key(&o, &key, err);
    if (status == FTRACK_OK)
        status = resolve_user(&o, &user, err);
    if (status != FTRACK_OK) {
        free(url);
        wipe_free(key);
        free(user);
        url = key = user = NULL;
    }
    if (server_url)
        *server_url = url;
    else
        free(url);
    if (api_key)
        *api_key = key;
    else
        wipe_free(key);
    if (api_user)
        *api_user = user;
    else
        free(user);
    return status;
}

char *fti_resolve_plugin_paths(const ftrack_session_options *options)
{
    if (options->plugin_paths)
        return fti_strdup(options->plugin_paths);
    return fti_strdup(getenv("FTRACK_EVENT_PLUGIN_PATH"));
}

char *fti_resolve_schema_cache_path(const ftrack_session_options *options)
{
    if (options->schema_cache_disabled)
        return NULL;
    const char *path = non_empty(options->schema_cache_path);
    if (!path)
        path = env("FTRACK_API_SCHEMA_CACHE_PATH");
    if (!path)
        path = env("TMPDIR");
    return fti_strdup(path ? path : "/tmp");
}
