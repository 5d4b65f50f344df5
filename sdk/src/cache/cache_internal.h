/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_CACHE_INTERNAL_H
#define FTI_CACHE_INTERNAL_H
/* Private helpers shared by the cache implementations. */
#include <regex.h>
#include <stddef.h>
#include <ftrack/cache.h>

/* Compile `pattern` as a POSIX extended regex without submatches (search semantics: regexec
 * finds a match anywhere). A bad pattern is FTRACK_ERR_INVALID_ARGUMENT naming it. */
ftrack_status fti_cache_regcomp(regex_t *re, const char *pattern, ftrack_error *err);
bool fti_cache_key_matches(const regex_t *re, const char *key);

/* A growable NULL-terminated list of malloc'ed strings, the shape ftrack_cache_keys() returns. */
typedef struct fti_key_list {
    char **items;
    size_t count;
    size_t capacity;
} fti_key_list;

/* Append a copy of `key` (or take `key` itself with fti_key_list_take). false: out of memory
 * (a taken key is then freed). */
bool fti_key_list_add(fti_key_list *list, const char *key);
bool fti_key_list_take(fti_key_list *list, char *key);
/* Hand the array out (an empty list gives a one-element array holding NULL) and reset the
 * list. NULL when out of memory (the list is then freed). */
char **fti_key_list_finish(fti_key_list *list, size_t *count);
void fti_key_list_free(fti_key_list *list);

/* Shorten a key for a message: copies at most 80 bytes and marks the cut with "...". */
const char *fti_cache_key_for_message(const char *key, char *buf, size_t size);

#endif
