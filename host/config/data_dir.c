/* SPDX-License-Identifier: Apache-2.0 */
/* The host's data dir (data_dir.h). */
#include <stdlib.h>

#include "common/internal.h"
#include "config/data_dir.h"
#include "hub_server.h"

char *fth_data_dir_or_default(const char *data_dir)
{
    return data_dir ? fti_strdup(data_dir) : fhub_default_data_dir();
}

char *fth_data_dir_control_path(const char *data_dir)
{
    char *dir = fth_data_dir_or_default(data_dir);
    char *path = dir ? fti_asprintf("%s/control.sock", dir) : NULL;
    free(dir);
    return path;
}

ftrack_status fth_data_dir_create(const char *dir, ftrack_error *err)
{
    ftrack_status st = fti_make_dirs(dir, err);
    if (st != FTRACK_OK)
        fti_error_prefix(err, "cannot create the data dir %s", dir);
    return st;
}

ftrack_status fth_data_dir_make(const char *data_dir, ftrack_error *err)
{
    char *dir = fth_data_dir_or_default(data_dir);
    if (!dir)
        return fti_error(err, FTRACK_ERR_CONFIG,
                         "no data dir for the journal: give --data-dir (or set HOME)");
    ftrack_status st = fth_data_dir_create(dir, err);
    free(dir);
    return st;
}
