/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_TEST_PLUGIN_H
#define FTH_TEST_PLUGIN_H
/*
 * The parts of `ftrack-host test-plugin` (cmd_test_plugin.c) that are ideas of their own:
 *   - test_plugin_output.c: making an output line deterministic (ids the run generated become
 *     placeholders) and comparing output with a saved --expect file;
 *   - test_plugin_studio.c: the embedded /api a plugin's session talks to (seeded with
 *     --seed) and the ftrack.update events its commits cause.
 *
 * Threads: main thread only. Ownership: as each function says.
 */
#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include <ftrack/common.h>

/* What the expected file may hold where a value changes from run to run. */
#define FTH_TP_ANY "<any>"

/* Ids generated during the run (uuids, 32-hex ids) that appear nowhere in the recording or
 * the seed, numbered in order of first appearance. */
typedef struct fth_tp_ids {
    json_object *map;  /* generated id → placeholder (owned) */
    const char *known; /* the recording and seed text (borrowed) */
    size_t known_len;
    unsigned next;
} fth_tp_ids;

void fth_tp_ids_init(fth_tp_ids *ids, const char *known, size_t known_len);
void fth_tp_ids_clear(fth_tp_ids *ids);
/* Replace generated ids anywhere inside *value (in place; *value may be replaced). */
void fth_tp_normalize(fth_tp_ids *ids, json_object **value);

/* Compare the run's lines (an array of objects, borrowed) with the file `path`: one JSON
 * object a line, where FTH_TP_ANY matches any value. Differences go to `report` in plain
 * words, at most a few per line. Returns 0 when equal, 1 when not, 2 when the file cannot be
 * read (said on `report`). */
int fth_tp_expect(const char *path, json_object *lines, FILE *report);

typedef struct fth_tp_studio fth_tp_studio;
/* Start the embedded /api on 127.0.0.1 with a random key nobody else knows (an in-memory
 * store, seeded from `seed_file` when not NULL) and a listener for its ftrack.update events. */
ftrack_status fth_tp_studio_start(const char *seed_file, fth_tp_studio **out, ftrack_error *err);
/* Where the plugin's session connects (borrowed). */
const char *fth_tp_studio_url(const fth_tp_studio *studio);
const char *fth_tp_studio_user(const fth_tp_studio *studio);
const char *fth_tp_studio_key(const fth_tp_studio *studio);
/* The ftrack.update events routed since the last call, in order (a new array), once the
 * server has routed everything committed before this call. NULL with err on a timeout. */
json_object *fth_tp_studio_updates(fth_tp_studio *studio, ftrack_error *err);
/* NULL is accepted. */
void fth_tp_studio_stop(fth_tp_studio *studio);
#endif
