#ifndef FTH_HUB_STORE_INTERNAL_H
#define FTH_HUB_STORE_INTERNAL_H
/* Pieces shared by store.c (tables, writes, events) and store_query.c (reads). */
#include <pthread.h>
#include <sqlite3.h>

#include "store.h"

struct fth_store {
    sqlite3 *db;
    const fth_schema *schema;
    pthread_mutex_t lock;
    bool in_batch;
    json_object *changes; /* this batch's change records (array) */
    char user_id[64];
    char *username;
    char *user_display;
};

/* A growable string. */
typedef struct fth_sbuf {
    char *s;
    size_t len, cap;
    bool oom;
} fth_sbuf;

void fth_sbuf_add(fth_sbuf *b, const char *s);
void fth_sbuf_addf(fth_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fth_sbuf_free(fth_sbuf *b);

/* Values bound to a statement's '?' in order (json values; NULL binds SQL NULL). */
typedef struct fth_binds {
    json_object *list; /* array */
} fth_binds;

/* Bind every value; returns the sqlite status. */
int fth_binds_apply(const fth_binds *b, sqlite3_stmt *stmt);
/* Append "?, ?, ..." for the concrete types of `type` to sql and their names to binds. */
void fth_sql_type_list(fth_sbuf *sql, fth_binds *binds, const fth_stype *type);

/* The entity as a client sees it: {"__entity_type__", every stored attribute}, dates as
 * {"__type__":"datetime"}. `data` is the stored object (borrowed). */
json_object *fth_store_output(const fth_stype *type, json_object *data, bool all_attributes);
/* A value as a client sees it (dates wrapped). New reference. */
json_object *fth_store_output_value(const fth_sprop *prop, json_object *value);
/* Reference {"__entity_type__", pk...}. */
json_object *fth_store_reference(const fth_stype *type, json_object *data);

/* Look up one row by id among the concrete types of `of` (NULL: any type). Returns the stored
 * data (new reference) and its concrete type, or NULL. */
json_object *fth_store_row_by_id(fth_store *store, const fth_stype *of, const char *id,
                                 const fth_stype **type);

#endif
