/* SPDX-License-Identifier: Apache-2.0 */
/* `--user-keys FILE`: the API keys of the hub's other users written for the people (and tests)
 * who act as them. The keys are derived (auth.c), so the file is the only place they are
 * written; it is created mode 0600 and replaced whole, and no key is ever logged. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "api_internal.h"
#include "common/internal.h"

static ftrack_status write_all(int fd, const char *text, size_t n, const char *path,
                               ftrack_error *err)
{
    while (n > 0) {
        ssize_t w = write(fd, text, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return fti_error(err, FTRACK_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        text += w;
        n -= (size_t)w;
    }
    return FTRACK_OK;
}

ftrack_status fhub_api_write_user_keys(fhub_api *api, const char *path, ftrack_error *err)
{
    json_object *names = fhub_store_usernames(api->store);
    json_object *keys = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(names); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(names, i));
        if (!name || strcmp(name, api->user) == 0)
            continue; /* the hub user's key is the hub's own */
        char key[FHUB_USER_KEY_LEN];
        fhub_auth_user_key(api->key, name, key);
        json_object_object_add(keys, name, json_object_new_string(key));
        OPENSSL_cleanse(key, sizeof(key));
    }
    json_object_put(names);
    size_t n = 0;
    const char *text = json_object_to_json_string_length(keys, JSON_C_TO_STRING_PRETTY, &n);
    char *tmp = fti_asprintf("%s.tmp.%ld", path, (long)getpid());
    ftrack_status st = FTRACK_OK;
    int fd = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (!tmp)
        st = fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory");
    else if (fd < 0)
        st = fti_error(err, FTRACK_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    if (st == FTRACK_OK)
        st = write_all(fd, text, n, tmp, err);
    if (st == FTRACK_OK)
        st = write_all(fd, "\n", 1, tmp, err);
    if (fd >= 0 && close(fd) != 0 && st == FTRACK_OK)
        st = fti_error(err, FTRACK_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (st == FTRACK_OK && rename(tmp, path) != 0)
        st = fti_error(err, FTRACK_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (st != FTRACK_OK && tmp)
        unlink(tmp);
    /* The serialised text holds the keys too. */
    if (text)
        OPENSSL_cleanse((void *)text, n);
    json_object_put(keys);
    free(tmp);
    return st;
}
