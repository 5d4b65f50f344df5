#ifndef FTH_HUB_QUERY_H
#define FTH_HUB_QUERY_H
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
 * (FTH_QUERY_MAX_*).
 *
 * Ownership: fth_query_parse() returns a tree the caller frees with fth_query_free(); every
 * string in it is owned by the tree.
 */
#include <stdbool.h>
#include <stddef.h>
#include <ftrack/common.h>

#define FTH_QUERY_MAX_TEXT 65536
#define FTH_QUERY_MAX_DEPTH 32
#define FTH_QUERY_MAX_PATH 8
#define FTH_QUERY_MAX_LIST 4096
#define FTH_QUERY_MAX_PROJECTIONS 256

typedef struct fth_query fth_query;

typedef struct fth_qpath {
    char **parts;
    size_t n;
} fth_qpath;

typedef enum fth_qvalue_kind {
    FTH_QV_STRING,
    FTH_QV_INTEGER,
    FTH_QV_NUMBER,
    FTH_QV_BOOL,
    FTH_QV_NULL,
    FTH_QV_LIST,
    FTH_QV_SUBQUERY,
} fth_qvalue_kind;

typedef struct fth_qvalue {
    fth_qvalue_kind kind;
    char *text;               /* STRING: unescaped; INTEGER/NUMBER: the literal as written */
    long long integer;        /* INTEGER */
    double number;            /* NUMBER (and INTEGER, converted) */
    bool boolean;             /* BOOL */
    struct fth_qvalue *items; /* LIST (never nested lists or subqueries) */
    size_t nitems;
    fth_query *subquery; /* SUBQUERY: exactly one projection */
} fth_qvalue;

typedef enum fth_qop {
    FTH_QOP_IS,
    FTH_QOP_IS_NOT,
    FTH_QOP_IN,
    FTH_QOP_NOT_IN,
    FTH_QOP_LIKE,
    FTH_QOP_NOT_LIKE,
    FTH_QOP_GT,
    FTH_QOP_LT,
    FTH_QOP_GE,
    FTH_QOP_LE,
} fth_qop;

typedef enum fth_qnode_kind {
    FTH_QN_AND,
    FTH_QN_OR,
    FTH_QN_NOT,
    FTH_QN_COND, /* path op value */
    FTH_QN_HAS,  /* path has (inner): a scalar relation whose target matches */
    FTH_QN_ANY,  /* path any (inner): a collection with at least one matching item */
} fth_qnode_kind;

typedef struct fth_qnode {
    fth_qnode_kind kind;
    struct fth_qnode *left, *right; /* AND/OR: both; NOT, HAS, ANY: left */
    fth_qpath path;                 /* COND, HAS, ANY */
    fth_qop op;                     /* COND */
    fth_qvalue value;               /* COND */
    size_t position;                /* offset of the node's first token, for messages */
} fth_qnode;

typedef struct fth_qorder {
    fth_qpath path;
    bool descending;
} fth_qorder;

struct fth_query {
    char *type;
    bool has_select;        /* false: the caller applies the type's default projections */
    fth_qpath *projections; /* has_select only */
    size_t nprojections;
    fth_qnode *where; /* NULL when there is no where clause */
    fth_qorder *order;
    size_t norder;
    long long limit;  /* -1: none */
    long long offset; /* -1: none */
};

/* Parse `text`. FTRACK_ERR_PARSE with err->position (byte offset) and a message naming what
 * was expected; FTRACK_ERR_INVALID_ARGUMENT when a limit is exceeded. *out is NULL on
 * failure. */
ftrack_status fth_query_parse(const char *text, fth_query **out, ftrack_error *err);
void fth_query_free(fth_query *q);

/* "a.b.c" for messages; malloc'ed. */
char *fth_qpath_text(const fth_qpath *path);

/* The operator as written in canonical form ("is", "is_not", ">", ...). */
const char *fth_qop_name(fth_qop op);

#endif
