/* SPDX-License-Identifier: Apache-2.0 */
/* Whether a plugin file may be loaded (ftrack_plugin_file_trusted, ftrack/plugin_loader.h):
 * the rule sshd's StrictModes applies to authorized_keys. Loading a shared object runs its
 * code, so the file and every folder up to / must belong to this user or root and be writable
 * by nobody else; a symbolic link is judged by its target's path as well as by the folder the
 * link lies in. A folder owned by root with the sticky bit (/tmp) passes: there nobody else
 * can rename or delete what is ours. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ftrack/plugin_loader.h>
#include "common/internal.h"

/* One file or folder; false with *err describing it. */
static bool node_trusted(const char *path, ftrack_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fti_error(err, FTRACK_ERR_PLUGIN, "cannot check %s: %s", path, strerror(errno));
        return false;
    }
    const char *what = S_ISDIR(st.st_mode) ? "folder" : "file";
    uid_t me = geteuid();
    if (st.st_uid != 0 && st.st_uid != me) {
        fti_error(err, FTRACK_ERR_PLUGIN,
                  "%s %s belongs to user %u, neither this user (%u) nor root; loading would run "
                  "code another user controls",
                  what, path, (unsigned)st.st_uid, (unsigned)me);
        return false;
    }
    if (S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && st.st_uid == 0)
        return true;
    if (st.st_mode & (S_IWOTH | S_IWGRP)) {
        bool everyone = st.st_mode & S_IWOTH;
        fti_error(err, FTRACK_ERR_PLUGIN,
                  "%s %s is writable by %s; loading would run code others could have put there "
                  "(chmod %s it)",
                  what, path, everyone ? "everyone" : "its group", everyone ? "o-w" : "g-w");
        return false;
    }
    return true;
}

/* `path` (absolute) and each folder above it. */
static bool chain_trusted(char *path, ftrack_error *err)
{
    for (;;) {
        if (!node_trusted(path, err))
            return false;
        char *slash = strrchr(path, '/');
        if (!slash || slash == path)
            return slash ? node_trusted("/", err) : true;
        *slash = '\0';
    }
}

ftrack_status ftrack_plugin_file_trusted(const char *path, ftrack_error *err)
{
    if (!path || !*path)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "no plugin file given");
    char real[PATH_MAX];
    if (!realpath(path, real))
        return fti_error(err, FTRACK_ERR_PLUGIN, "cannot check %s: %s", path, strerror(errno));
    if (!chain_trusted(real, err))
        return FTRACK_ERR_PLUGIN;
    /* Whoever can write the folder a link lies in can point it elsewhere. */
    char *dir = fti_strdup(path);
    if (!dir)
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    bool ok = realpath(slash ? (*dir ? dir : "/") : ".", real) && chain_trusted(real, err);
    free(dir);
    if (!ok && err && err->code == FTRACK_OK)
        fti_error(err, FTRACK_ERR_PLUGIN, "cannot check the folder of %s", path);
    return ok ? FTRACK_OK : FTRACK_ERR_PLUGIN;
}
