/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_MEDIA_H
#define FHUB_MEDIA_H
/*
 * encode_media's background side (protocol §4): a small pool of worker threads that take
 * queued Jobs, run ffmpeg on the source component's file (an H.264 mp4 and a jpeg thumbnail),
 * store the outputs as FileComponents in the server location linked to the Job through
 * JobComponent, and move the Job queued → running → done | failed, publishing ftrack.update
 * for each step. Without ffmpeg, when ffmpeg fails, or past the time limit, the Job fails with
 * the reason in its data ("error").
 *
 * Ownership: the store, the files folder and the publisher must outlive the fhub_media;
 * strings in the config are copied.
 */
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

typedef void (*fhub_media_publish_fn)(const char *event_json, size_t len, void *user_data);

typedef struct fhub_media_config {
    fhub_store *store;
    const char *files_dir; /* component files: <files_dir>/<component id> */
    const char *ffmpeg;    /* NULL → "ffmpeg" on PATH; a path with '/' is used as is */
    int workers;           /* 0 → 2: jobs encoded at once */
    double timeout;        /* seconds per job; 0 → 600 */
    fhub_media_publish_fn publish;
    void *publish_data;
} fhub_media_config;

typedef struct fhub_media fhub_media;

/* NULL when out of memory or when no thread can be started. */
fhub_media *fhub_media_new(const fhub_media_config *cfg);
/* Queue the encode of an existing queued Job. */
void fhub_media_enqueue(fhub_media *m, const char *job_id, const char *component_id,
                       const char *version_id, bool keep_original);
/* Stop: running ffmpeg processes are killed, their Jobs fail, queued Jobs stay queued (the next
 * start fails them). Joins the workers. NULL is accepted. */
void fhub_media_free(fhub_media *m);

/* The path of the file of component `id` under `files_dir`, or NULL when `id` is not a safe
 * file name (letters, digits, '-', '_'; at most 64). Caller frees. */
char *fhub_media_component_path(const char *files_dir, const char *id);

#endif
