/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_API_INTERNAL_H
#define FHUB_API_INTERNAL_H
/* The fhub_api record, shared by api.c (/api actions) and files.c (component files). */
#include "api.h"
#include "encode.h"
#include "schema_catalog.h"
#include "store.h"

struct fhub_api {
    json_object *schemas; /* the schema list served by query_schemas */
    char schema_hash[33];
    fhub_schema *schema; /* the same list read as a data model */
    fhub_store *store;   /* NULL until fhub_api_attach() */
    fhub_media *media;
    char *files_dir; /* <data_dir>/components, or NULL */
    char *server_url;
    const char *request_url; /* the current request's own base URL, or NULL (borrowed) */
    char *user, *key;
    fhub_api_publish_fn publish;
    void *publish_data;
    size_t max_upload;
    struct fhub_spent_url *spent; /* upload URLs used already, until they expire (files.c) */
};

/* user_keys.c: write {username: API key} of every stored User but the hub's own to `path`
 * (mode 0600, replaced whole). */
ftrack_status fhub_api_write_user_keys(fhub_api *api, const char *path, ftrack_error *err);
/* Forget the spent upload URLs (files.c). */
void fhub_api_spent_free(fhub_api *api);

#endif
