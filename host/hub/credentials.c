/* SPDX-License-Identifier: Apache-2.0 */
/* The hub's user and key: from the environment, else a generated key kept in a file only its
 * owner can read. The key itself is never printed or logged. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/internal.h"
#include "server_internal.h"
#include "hub_server.h"

#define KEY_FILE_NAME "api-key"
#define KEY_HEX_CHARS 48

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

char *fhub_default_data_dir(void)
{
    const char *state = env_nonempty("XDG_STATE_HOME");
    if (state && state[0] == '/')
        return fti_asprintf("%s/ftrack-host", state);
    const char *home = env_nonempty("HOME");
    if (!home) {
        struct passwd *pw = getpwuid(geteuid());
        home = pw ? pw->pw_dir : NULL;
    }
    return home ? fti_asprintf("%s/.local/state/ftrack-host", home) : NULL;
}

static char *login_user(void)
{
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && *pw->pw_name)
        return strdup(pw->pw_name);
    const char *u = env_nonempty("USER");
    return strdup(u ? u : "ftrack");
}

static ftrack_status read_key_file(const char *path, int fd, char **key, ftrack_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return fti_error(err, FTRACK_ERR_CONFIG, "%s is not a regular file", path);
    if (st.st_uid != geteuid())
        return fti_error(err, FTRACK_ERR_CONFIG, "%s belongs to another user", path);
    if (st.st_mode & 077)
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "%s is readable by others; run `chmod 600 %s` or remove it", path, path);
    char buf[512];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n < 0)
        return fti_error(err, FTRACK_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0)
        return fti_error(err, FTRACK_ERR_CONFIG, "%s is empty", path);
    *key = strdup(buf);
    memset(buf, 0, sizeof(buf));
    return *key ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
}

/* Write a new key next to `path` and link it into place, so two hubs starting at once end
 * up with the same key (the loser reads the winner's file). */
static ftrack_status create_key_file(const char *dir, const char *path, bool *created,
                                     ftrack_error *err)
{
    char *tmp = fti_asprintf("%s/.api-key.XXXXXX", dir);
    if (!tmp)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        ftrack_status st =
            fti_error(err, FTRACK_ERR_IO, "cannot create a file in %s: %s", dir, strerror(errno));
        free(tmp);
        return st;
    }
    char key[KEY_HEX_CHARS + 2];
    fti_random_hex(key, KEY_HEX_CHARS);
    key[KEY_HEX_CHARS] = '\n';
    bool ok = fchmod(fd, 0600) == 0 && write(fd, key, KEY_HEX_CHARS + 1) == KEY_HEX_CHARS + 1 &&
              fsync(fd) == 0;
    memset(key, 0, sizeof(key));
    close(fd);
    ftrack_status st = FTRACK_OK;
    if (!ok) {
        st = fti_error(err, FTRACK_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    } else if (link(tmp, path) == 0) {
        *created = true;
    } else if (errno != EEXIST) {
        st = fti_error(err, FTRACK_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    }
    unlink(tmp);
    free(tmp);
    return st;
}

static ftrack_status key_from_file(const char *dir, fhub_credentials *out, ftrack_error *err)
{
    ftrack_status st = fti_make_dirs(dir, err);
    if (st != FTRACK_OK)
        return st;
    out->key_file = fti_asprintf("%s/%s", dir, KEY_FILE_NAME);
    if (!out->key_file)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    int fd = open(out->key_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        st = create_key_file(dir, out->key_file, &out->generated, err);
        if (st != FTRACK_OK)
            return st;
        fd = open(out->key_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return fti_error(err, FTRACK_ERR_IO, "cannot open %s: %s", out->key_file, strerror(errno));
    st = read_key_file(out->key_file, fd, &out->api_key, err);
    close(fd);
    return st;
}

ftrack_status fhub_credentials_resolve(const char *data_dir, fhub_credentials *out,
                                          ftrack_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *user = env_nonempty("FTRACK_API_USER");
    out->api_user = user ? strdup(user) : login_user();
    if (!out->api_user)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    const char *key = env_nonempty("FTRACK_API_KEY");
    if (!key)
        key = env_nonempty("FTRACK_APIKEY");
    if (key) {
        out->api_key = strdup(key);
        return out->api_key ? FTRACK_OK : fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    }
    char *dir = data_dir ? strdup(data_dir) : fhub_default_data_dir();
    if (!dir) {
        fhub_credentials_clear(out);
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "no API key configured and no data folder (set FTRACK_API_KEY or HOME)");
    }
    ftrack_status st = key_from_file(dir, out, err);
    free(dir);
    if (st != FTRACK_OK)
        fhub_credentials_clear(out);
    return st;
}

void fhub_credentials_clear(fhub_credentials *creds)
{
    if (!creds)
        return;
    if (creds->api_key)
        memset(creds->api_key, 0, strlen(creds->api_key));
    free(creds->api_key);
    free(creds->api_user);
    free(creds->key_file);
    memset(creds, 0, sizeof(*creds));
}
