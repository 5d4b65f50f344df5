/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_DATA_DIR_H
#define FTH_DATA_DIR_H
/*
 * The host's data dir (--data-dir, else the embedded hub's default state folder): the
 * journal, the dead-letter file, the control socket and the embedded hub's store live there.
 * Every returned string is the caller's to free.
 */
#include <ftrack/common.h>

/* data_dir copied, or the default ($XDG_STATE_HOME/ftrack-host, ~/.local/state/ftrack-host);
 * NULL when there is none (no HOME) or out of memory. */
char *fth_data_dir_or_default(const char *data_dir);
/* The control socket's path in a data dir (NULL: the default). */
char *fth_data_dir_control_path(const char *data_dir);
/* Create `dir` and every missing folder above it, 0700; the error names the folder. */
ftrack_status fth_data_dir_create(const char *dir, ftrack_error *err);
/* fth_data_dir_create of the data dir (NULL: the default). Called before anything else uses
 * it. FTRACK_ERR_CONFIG when there is no default, FTRACK_ERR_IO naming the folder. */
ftrack_status fth_data_dir_make(const char *data_dir, ftrack_error *err);
#endif
