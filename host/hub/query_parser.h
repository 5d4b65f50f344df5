/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FHUB_QUERY_H
#define FHUB_QUERY_H
/*
 * ftrack's query language, parsed into a tree (no schema knowledge, no SQL here):
 *
 *   [select <path>, ... from] <Type> [where <condition>]
 *       [order by <path> [ascending|descending], ...] [limit N] [offset M]
 *
 *   condition := or; or := and ('or' and)*; and := not ('and' not)*;
 *   not := 'not' not | '(' condition ')' | <path> <op> <value> | <path> (has|any) '(' condition ')'
 *   op := is | is_not | in | not_in | like | not_like | before | after | > | < | >= | <= | = | !=
 *   value := "string" | 'string' | number | true | false | null | None | word
 *          | '(' value, ... ')' | '(' select <path> from ... ')'      (lists only after in/not_in)
 *   path := name ('.' name)*
 *
 * A word is an unquoted value read as text up to white space, a parenthesis, a comma or a
 * quote (ids as ftrack's clients write them: `id is 6586c2e4-...`); a number followed by more
 * such characters is a word too. Keywords are case-insensitive. Strings take backslash escapes
 * (\" \' \\). `limit` and `offset` come in either order, each at most once. Limits keep a
 * hostile query cheap: nesting depth, path length, list length and text length are bounded
 * (FHUB_QUERY_MAX_*).
 *
 * Ownership: fhub_query_parse() returns a tree the caller frees with fhub_query_free(); every
 * string in it is owned by the tree.
 */
#include <stdbool.h>
#include <stddef.h>
#include <ftrack/common.h>

#define FHUB_QUERY_MAX_TEXT 65536
#define FHUB_QUERY_MAX_DEPTH 32
#define FHUB_QUERY_MAX_PATH 8
#define FHUB_QUERY_MAX_LIST 4096
#define FHUB_QUERY_MAX_PROJECTIONS 256

typedef struct fhub_query fhub_query;

typedef struct fhub_qpath {
    char **parts;
    size_t n;
} fhub_qpath;

typedef enum fhub_qvalue_kind {
    FHUB_QV_STRING,
    FHUB_QV_INTEGER,
    FHUB_QV_NUMBER,
    FHUB_QV_BOOL,
    FHUB_QV_NULL,
    FHUB_QV_LIST,
    FHUB_QV_SUBQUERY,
} fhub_qvalue_kind;

typedef struct fhub_qvalue {
    fhub_qvalue_kind kind;
    char *text;               /* STRING: unescaped; INTEGER/NUMBER: the literal as written */
    long long integer;        /* INTEGER */
    double number;            /* NUMBER (and INTEGER, converted) */
    bool boolean;             /* BOOL */
    struct fhub_qvalue *items; /* LIST (never nested lists or subqueries) */
    size_t nitems;
    fhub_query *subquery; /* SUBQUERY: exactly one projection */
} fhub_qvalue;

typedef enum fhub_qop {
    FHUB_QOP_IS,
    FHUB_QOP_IS_NOT,
    FHUB_QOP_IN,
    FHUB_QOP_NOT_IN,
    FHUB_QOP_LIKE,
    FHUB_QOP_NOT_LIKE,
    FHUB_QOP_GT,
    FHUB_QOP_LT,
    FHUB_QOP_GE,
    FHUB_QOP_LE,
} fhub_qop;

typedef enum fhub_qnode_kind {
    FHUB_QN_AND,
    FHUB_QN_OR,
    FHUB_QN_NOT,
    FHUB_QN_COND, /* path op value */
    FHUB_QN_HAS,  /* path has (inner): a scalar relation whose target matches */
    FHUB_QN_ANY,  /* path any (inner): a collection with at least one matching item */
} fhub_qnode_kind;

typedef struct fhub_qnode {
    fhub_qnode_kind kind;
    struct fhub_qnode *left, *right; /* AND/OR: both; NOT, HAS, ANY: left */
    fhub_qpath path;                 /* COND, HAS, ANY */
    fhub_qop op;                     /* COND */
    fhub_qvalue value;               /* COND */
    size_t position;                /* offset of the node's first token, for messages */
} fhub_qnode;

typedef struct fhub_qorder {
    fhub_qpath path;
    bool descending;
} fhub_qorder;

struct fhub_query {
    char *type;
    bool has_select;        /* false: the caller applies the type's default projections */
    fhub_qpath *projections; /* has_select only */
    size_t nprojections;
    fhub_qnode *where; /* NULL when there is no where clause */
    fhub_qorder *order;
    size_t norder;
    long long limit;  /* -1: none */
    long long offset; /* -1: none */
};

/* Parse `text`. FTRACK_ERR_PARSE with err->position (byte offset) and a message naming what
 * was expected; FTRACK_ERR_INVALID_ARGUMENT when a limit is exceeded. *out is NULL on
 * failure. */
ftrack_status fhub_query_parse(const char *text, fhub_query **out, ftrack_error *err);
void fhub_query_free(fhub_query *q);

/* "a.b.c" for messages; malloc'ed. */
char *fhub_qpath_text(const fhub_qpath *path);

/* The operator as written in canonical form ("is", "is_not", ">", ...). */
const char *fhub_qop_name(fhub_qop op);

#endif
