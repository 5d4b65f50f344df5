/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack's query language: a tokenizer and a recursive-descent parser into the tree of
 * query.h. Pure (no schema, no SQL) so it can be unit-tested and fuzzed on its own. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/internal.h"
#include "query_parser.h"

typedef enum tok_kind {
    T_END,
    T_IDENT,  /* a name; keywords are names compared case-insensitively */
    T_STRING, /* quoted */
    T_NUMBER,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_DOT,
    T_OP, /* > < >= <= = != */
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t pos, len; /* in the source text */
    char *str;       /* T_STRING: unescaped (owned by the parser) */
} token;

typedef struct parser {
    const char *src;
    size_t len;
    size_t pos; /* scanning position */
    token tok;  /* current token */
    int depth;
    ftrack_error *err;
    ftrack_status status; /* first error */
} parser;

static void clear_token(token *t)
{
    free(t->str);
    t->str = NULL;
}

static bool fail_at(parser *p, size_t pos, ftrack_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail_at(parser *p, size_t pos, ftrack_status code, const char *fmt, ...)
{
    if (p->status != FTRACK_OK)
        return false;
    va_list ap;
    va_start(ap, fmt);
    fti_verror(p->err, code, fmt, ap);
    va_end(ap);
    p->status = code;
    if (p->err)
        p->err->position = (int)pos;
    return false;
}

/* ---- tokenizer ------------------------------------------------------------------------------ */

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The index of the quote closing the string that opens at `start`, or p->len. */
static size_t string_end(const parser *p, size_t start)
{
    char quote = p->src[start];
    size_t i = start + 1;
    while (i < p->len && p->src[i] != quote)
        i += p->src[i] == '\\' && i + 1 < p->len ? 2 : 1;
    return i;
}

static bool scan_string(parser *p, token *t)
{
    /* Sized to this string, not to the rest of the query: a long query of many short strings
     * must not cost the query's length for each of them. */
    size_t end = string_end(p, p->pos);
    if (end >= p->len)
        return fail_at(p, p->pos, FTRACK_ERR_PARSE, "unterminated string");
    size_t i = p->pos + 1;
    char *out = malloc(end - i + 1);
    if (!out)
        return fail_at(p, p->pos, FTRACK_ERR_NO_MEMORY, "out of memory");
    size_t n = 0;
    while (i < end) {
        char c = p->src[i];
        if (c == '\\' && i + 1 < p->len) {
            char e = p->src[i + 1];
            out[n++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            i += 2;
            continue;
        }
        out[n++] = c;
        i++;
    }
    out[n] = '\0';
    t->kind = T_STRING;
    t->str = out;
    t->len = i + 1 - p->pos;
    return true;
}

static bool scan_number(parser *p, token *t)
{
    size_t i = p->pos;
    if (p->src[i] == '-' || p->src[i] == '+')
        i++;
    size_t digits = 0;
    while (i < p->len && (isdigit((unsigned char)p->src[i]) || p->src[i] == '.')) {
        digits += isdigit((unsigned char)p->src[i]) != 0;
        i++;
    }
    if (digits && i < p->len && (p->src[i] == 'e' || p->src[i] == 'E')) {
        size_t j = i + 1;
        if (j < p->len && (p->src[j] == '-' || p->src[j] == '+'))
            j++;
        if (j < p->len && isdigit((unsigned char)p->src[j])) {
            while (j < p->len && isdigit((unsigned char)p->src[j]))
                j++;
            i = j;
        }
    }
    if (digits == 0)
        return fail_at(p, p->pos, FTRACK_ERR_PARSE, "a number was expected");
    t->kind = T_NUMBER;
    t->len = i - p->pos;
    return true;
}

/* Read the next token into p->tok. */
static bool next(parser *p)
{
    clear_token(&p->tok);
    while (p->pos < p->len && isspace((unsigned char)p->src[p->pos]))
        p->pos++;
    token *t = &p->tok;
    t->pos = p->pos;
    t->len = 1;
    if (p->pos >= p->len) {
        t->kind = T_END;
        t->len = 0;
        return true;
    }
    char c = p->src[p->pos];
    char d = p->pos + 1 < p->len ? p->src[p->pos + 1] : '\0';
    bool ok = true;
    if (is_ident_start(c)) {
        size_t i = p->pos;
        while (i < p->len && is_ident_char(p->src[i]))
            i++;
        t->kind = T_IDENT;
        t->len = i - p->pos;
    } else if (c == '"' || c == '\'') {
        ok = scan_string(p, t);
    } else if (isdigit((unsigned char)c) ||
               ((c == '-' || c == '+') && (isdigit((unsigned char)d) || d == '.'))) {
        ok = scan_number(p, t);
    } else if (c == '(' || c == ')' || c == ',' || c == '.') {
        t->kind = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : c == ',' ? T_COMMA : T_DOT;
    } else if (c == '>' || c == '<' || c == '=' || (c == '!' && d == '=')) {
        t->kind = T_OP;
        t->len = (d == '=' && c != '=') ? 2 : 1;
    } else {
        return fail_at(p, p->pos, FTRACK_ERR_PARSE, "unexpected character '%c'",
                       isprint((unsigned char)c) ? c : '?');
    }
    if (ok)
        p->pos += t->len;
    return ok;
}

static bool is_word(const parser *p, const char *word)
{
    return p->tok.kind == T_IDENT && strlen(word) == p->tok.len &&
           strncasecmp(p->src + p->tok.pos, word, p->tok.len) == 0;
}

static bool accept_word(parser *p, const char *word)
{
    return is_word(p, word) && next(p);
}

static bool expect_word(parser *p, const char *word)
{
    if (!is_word(p, word))
        return fail_at(p, p->tok.pos, FTRACK_ERR_PARSE, "'%s' was expected", word);
    return next(p);
}

static bool expect(parser *p, tok_kind kind, const char *what)
{
    if (p->tok.kind != kind)
        return fail_at(p, p->tok.pos, FTRACK_ERR_PARSE, "%s was expected", what);
    return next(p);
}

static char *tok_text(const parser *p)
{
    return fti_strndup(p->src + p->tok.pos, p->tok.len);
}

/* Words that end a path or cannot name an attribute where a path is expected. */
static bool is_reserved(const parser *p)
{
    static const char *const words[] = {"select", "from", "where", "and",    "or", "not",
                                        "order",  "by",   "limit", "offset", NULL};
    for (size_t i = 0; words[i]; i++)
        if (is_word(p, words[i]))
            return true;
    return false;
}

/* ---- tree ----------------------------------------------------------------------------------- */

static void path_clear(fhub_qpath *path)
{
    for (size_t i = 0; i < path->n; i++)
        free(path->parts[i]);
    free(path->parts);
    path->parts = NULL;
    path->n = 0;
}

static void value_clear(fhub_qvalue *v)
{
    free(v->text);
    for (size_t i = 0; i < v->nitems; i++)
        value_clear(&v->items[i]);
    free(v->items);
    fhub_query_free(v->subquery);
    memset(v, 0, sizeof(*v));
}

static void node_free(fhub_qnode *n)
{
    if (!n)
        return;
    node_free(n->left);
    node_free(n->right);
    path_clear(&n->path);
    value_clear(&n->value);
    free(n);
}

void fhub_query_free(fhub_query *q)
{
    if (!q)
        return;
    free(q->type);
    for (size_t i = 0; i < q->nprojections; i++)
        path_clear(&q->projections[i]);
    free(q->projections);
    node_free(q->where);
    for (size_t i = 0; i < q->norder; i++)
        path_clear(&q->order[i].path);
    free(q->order);
    free(q);
}

char *fhub_qpath_text(const fhub_qpath *path)
{
    size_t len = 1;
    for (size_t i = 0; i < path->n; i++)
        len += strlen(path->parts[i]) + 1;
    char *out = malloc(len);
    if (!out)
        return NULL;
    out[0] = '\0';
    size_t at = 0;
    for (size_t i = 0; i < path->n; i++) {
        size_t n = strlen(path->parts[i]);
        if (i)
            out[at++] = '.';
        memcpy(out + at, path->parts[i], n);
        at += n;
        out[at] = '\0';
    }
    return out;
}

const char *fhub_qop_name(fhub_qop op)
{
    static const char *const names[] = {"is",       "is_not", "in", "not_in", "like",
                                        "not_like", ">",      "<",  ">=",     "<="};
    return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

/* ---- grammar -------------------------------------------------------------------------------- */

static fhub_query *parse_query(parser *p);
static fhub_qnode *parse_or(parser *p);

/* A keyword names an attribute inside a path or right before its dot: links have a relation
 * called `from`, and ftrack's clients select `from.id`. */
static bool keyword_as_name(const parser *p, const fhub_qpath *path)
{
    size_t end = p->tok.pos + p->tok.len;
    return path->n > 0 || (end < p->len && p->src[end] == '.');
}

static bool parse_path(parser *p, fhub_qpath *out)
{
    memset(out, 0, sizeof(*out));
    for (;;) {
        if (p->tok.kind != T_IDENT || (is_reserved(p) && !keyword_as_name(p, out)))
            return fail_at(p, p->tok.pos, FTRACK_ERR_PARSE, "an attribute name was expected");
        if (out->n == FHUB_QUERY_MAX_PATH)
            return fail_at(p, p->tok.pos, FTRACK_ERR_INVALID_ARGUMENT,
                           "attribute paths are limited to %d names", FHUB_QUERY_MAX_PATH);
        char **parts = realloc(out->parts, (out->n + 1) * sizeof(*parts));
        if (!parts)
            return fail_at(p, p->tok.pos, FTRACK_ERR_NO_MEMORY, "out of memory");
        out->parts = parts;
        if (!(out->parts[out->n] = tok_text(p)))
            return fail_at(p, p->tok.pos, FTRACK_ERR_NO_MEMORY, "out of memory");
        out->n++;
        if (!next(p))
            return false;
        if (p->tok.kind != T_DOT)
            return true;
        if (!next(p))
            return false;
    }
}

static bool parse_number(parser *p, fhub_qvalue *v)
{
    v->text = tok_text(p);
    if (!v->text)
        return fail_at(p, p->tok.pos, FTRACK_ERR_NO_MEMORY, "out of memory");
    char *end = NULL;
    errno = 0;
    bool integral = strpbrk(v->text, ".eE") == NULL;
    if (integral) {
        long long n = strtoll(v->text, &end, 10);
        if (errno == 0 && end && *end == '\0') {
            v->kind = FHUB_QV_INTEGER;
            v->integer = n;
            v->number = (double)n;
            return next(p);
        }
    }
    errno = 0;
    double d = strtod(v->text, &end);
    if (!end || *end != '\0' || !isfinite(d))
        return fail_at(p, p->tok.pos, FTRACK_ERR_PARSE, "'%s' is not a number", v->text);
    v->kind = FHUB_QV_NUMBER;
    v->number = d;
    return next(p);
}

/* Length of the unquoted word starting at `at`: everything up to white space, a parenthesis, a
 * comma or a quote. */
static size_t bare_length(const parser *p, size_t at)
{
    size_t i = at;
    while (i < p->len && !isspace((unsigned char)p->src[i]) && !strchr("(),\"'", p->src[i]))
        i++;
    return i - at;
}

/* ftrack's clients write ids without quotes (`id is 6586c2e4-...`, `id in (a, b)`): a value
 * that starts like a number or a name but runs on past that token is taken whole as text, and
 * so is a lone name that is not true, false, null or none. */
static bool parse_bare(parser *p, fhub_qvalue *v)
{
    size_t at = p->tok.pos, n = bare_length(p, at);
    v->kind = FHUB_QV_STRING;
    if (!(v->text = fti_strndup(p->src + at, n)))
        return fail_at(p, at, FTRACK_ERR_NO_MEMORY, "out of memory");
    p->pos = at + n;
    return next(p);
}

/* A single value: string, number, boolean, null or an unquoted word. */
static bool parse_scalar(parser *p, fhub_qvalue *v)
{
    memset(v, 0, sizeof(*v));
    bool longer = (p->tok.kind == T_NUMBER || p->tok.kind == T_IDENT) &&
                  bare_length(p, p->tok.pos) > p->tok.len;
    if (longer)
        return parse_bare(p, v);
    if (p->tok.kind == T_STRING) {
        v->kind = FHUB_QV_STRING;
        v->text = p->tok.str;
        p->tok.str = NULL;
        return next(p);
    }
    if (p->tok.kind == T_NUMBER)
        return parse_number(p, v);
    if (is_word(p, "true") || is_word(p, "false")) {
        v->kind = FHUB_QV_BOOL;
        v->boolean = is_word(p, "true");
        return next(p);
    }
    if (is_word(p, "null") || is_word(p, "none")) {
        v->kind = FHUB_QV_NULL;
        return next(p);
    }
    if (p->tok.kind == T_IDENT && !is_reserved(p))
        return parse_bare(p, v);
    return fail_at(p, p->tok.pos, FTRACK_ERR_PARSE,
                   "a value (a quoted string, a number, true, false or null) was expected");
}

static bool parse_subquery(parser *p, fhub_qvalue *v)
{
    size_t at = p->tok.pos;
    v->kind = FHUB_QV_SUBQUERY;
    v->subquery = parse_query(p);
    if (!v->subquery)
        return false;
    if (v->subquery->nprojections != 1)
        return fail_at(p, at, FTRACK_ERR_PARSE, "a subquery selects exactly one attribute");
    return expect(p, T_RPAREN, "')'");
}

/* '(' value, ... ')' or '(' select ... ')' after in / not_in. */
static bool parse_list(parser *p, fhub_qvalue *v)
{
    memset(v, 0, sizeof(*v));
    if (!expect(p, T_LPAREN, "'(' and a list of values"))
        return false;
    if (is_word(p, "select"))
        return parse_subquery(p, v);
    v->kind = FHUB_QV_LIST;
    if (p->tok.kind == T_RPAREN)
        return next(p);
    for (;;) {
        if (v->nitems == FHUB_QUERY_MAX_LIST)
            return fail_at(p, p->tok.pos, FTRACK_ERR_INVALID_ARGUMENT,
                           "lists are limited to %d values", FHUB_QUERY_MAX_LIST);
        fhub_qvalue *items = realloc(v->items, (v->nitems + 1) * sizeof(*items));
        if (!items)
            return fail_at(p, p->tok.pos, FTRACK_ERR_NO_MEMORY, "out of memory");
        v->items = items;
        memset(&v->items[v->nitems], 0, sizeof(v->items[0]));
        v->nitems++;
        if (!parse_scalar(p, &v->items[v->nitems - 1]))
            return false;
        if (p->tok.kind == T_RPAREN)
            return next(p);
        if (!expect(p, T_COMMA, "',' or ')'"))
            return false;
    }
}

static bool parse_operator(parser *p, fhub_qop *op)
{
    static const struct {
        const char *word;
        fhub_qop op;
    } words[] = {
        {"is", FHUB_QOP_IS},         {"is_not", FHUB_QOP_IS_NOT}, {"in", FHUB_QOP_IN},
        {"not_in", FHUB_QOP_NOT_IN}, {"like", FHUB_QOP_LIKE},     {"not_like", FHUB_QOP_NOT_LIKE},
        {"before", FHUB_QOP_LT},     {"after", FHUB_QOP_GT},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (is_word(p, words[i].word)) {
            *op = words[i].op;
            return next(p);
        }
    }
    if (p->tok.kind == T_OP) {
        const char *s = p->src + p->tok.pos;
        bool two = p->tok.len == 2;
        *op = s[0] == '='   ? FHUB_QOP_IS
              : s[0] == '!' ? FHUB_QOP_IS_NOT
              : s[0] == '>' ? (two ? FHUB_QOP_GE : FHUB_QOP_GT)
                            : (two ? FHUB_QOP_LE : FHUB_QOP_LT);
        return next(p);
    }
    return fail_at(p, p->tok.pos, FTRACK_ERR_PARSE,
                   "an operator (is, is_not, in, not_in, like, not_like, has, any, >, <, >=, "
                   "<=) was expected");
}

static fhub_qnode *new_node(parser *p, fhub_qnode_kind kind, size_t pos)
{
    fhub_qnode *n = calloc(1, sizeof(*n));
    if (!n) {
        fail_at(p, pos, FTRACK_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->position = pos;
    return n;
}

static bool enter(parser *p)
{
    if (++p->depth > FHUB_QUERY_MAX_DEPTH)
        return fail_at(p, p->tok.pos, FTRACK_ERR_INVALID_ARGUMENT,
                       "conditions are nested more than %d deep", FHUB_QUERY_MAX_DEPTH);
    return true;
}

/* path has (...) / path any (...) */
static bool parse_nested(parser *p, fhub_qnode *n)
{
    n->kind = is_word(p, "has") ? FHUB_QN_HAS : FHUB_QN_ANY;
    if (!next(p) || !expect(p, T_LPAREN, "'('"))
        return false;
    if (!enter(p))
        return false;
    n->left = parse_or(p);
    p->depth--;
    return n->left && expect(p, T_RPAREN, "')'");
}

static fhub_qnode *parse_condition(parser *p)
{
    fhub_qnode *n = new_node(p, FHUB_QN_COND, p->tok.pos);
    if (!n || !parse_path(p, &n->path))
        goto fail;
    if (is_word(p, "has") || is_word(p, "any")) {
        if (!parse_nested(p, n))
            goto fail;
        return n;
    }
    if (!parse_operator(p, &n->op))
        goto fail;
    bool list = n->op == FHUB_QOP_IN || n->op == FHUB_QOP_NOT_IN;
    if (!(list ? parse_list(p, &n->value) : parse_scalar(p, &n->value)))
        goto fail;
    return n;
fail:
    node_free(n);
    return NULL;
}

static fhub_qnode *parse_unary(parser *p)
{
    if (!enter(p))
        return NULL;
    fhub_qnode *n = NULL;
    size_t at = p->tok.pos;
    if (is_word(p, "not")) {
        n = new_node(p, FHUB_QN_NOT, at);
        if (n && (!next(p) || !(n->left = parse_unary(p)))) {
            node_free(n);
            n = NULL;
        }
    } else if (p->tok.kind == T_LPAREN) {
        if (next(p) && (n = parse_or(p)) && !expect(p, T_RPAREN, "')'")) {
            node_free(n);
            n = NULL;
        }
    } else {
        n = parse_condition(p);
    }
    p->depth--;
    return n;
}

static fhub_qnode *parse_binary(parser *p, const char *word, fhub_qnode_kind kind,
                               fhub_qnode *(*operand)(parser *))
{
    fhub_qnode *left = operand(p);
    while (left && is_word(p, word)) {
        fhub_qnode *n = new_node(p, kind, left->position);
        if (!n || !next(p) || !enter(p)) {
            node_free(n);
            node_free(left);
            return NULL;
        }
        n->left = left;
        n->right = operand(p);
        p->depth--;
        if (!n->right) {
            node_free(n);
            return NULL;
        }
        left = n;
    }
    return left;
}

static fhub_qnode *parse_and(parser *p)
{
    return parse_binary(p, "and", FHUB_QN_AND, parse_unary);
}

static fhub_qnode *parse_or(parser *p)
{
    return parse_binary(p, "or", FHUB_QN_OR, parse_and);
}

static bool parse_projections(parser *p, fhub_query *q)
{
    q->has_select = true;
    for (;;) {
        if (q->nprojections == FHUB_QUERY_MAX_PROJECTIONS)
            return fail_at(p, p->tok.pos, FTRACK_ERR_INVALID_ARGUMENT,
                           "a query selects at most %d attributes", FHUB_QUERY_MAX_PROJECTIONS);
        fhub_qpath *proj = realloc(q->projections, (q->nprojections + 1) * sizeof(*proj));
        if (!proj)
            return fail_at(p, p->tok.pos, FTRACK_ERR_NO_MEMORY, "out of memory");
        q->projections = proj;
        /* Counted before it is parsed, so a half-parsed path is freed with the query. */
        memset(&q->projections[q->nprojections], 0, sizeof(q->projections[0]));
        q->nprojections++;
        if (!parse_path(p, &q->projections[q->nprojections - 1]))
            return false;
        if (p->tok.kind != T_COMMA)
            return expect_word(p, "from");
        if (!next(p))
            return false;
    }
}

static bool parse_order(parser *p, fhub_query *q)
{
    for (;;) {
        fhub_qorder *o = realloc(q->order, (q->norder + 1) * sizeof(*o));
        if (!o)
            return fail_at(p, p->tok.pos, FTRACK_ERR_NO_MEMORY, "out of memory");
        q->order = o;
        memset(&q->order[q->norder], 0, sizeof(q->order[0]));
        q->norder++;
        if (!parse_path(p, &q->order[q->norder - 1].path))
            return false;
        if (is_word(p, "descending") || is_word(p, "desc")) {
            q->order[q->norder - 1].descending = true;
            if (!next(p))
                return false;
        } else if ((is_word(p, "ascending") || is_word(p, "asc")) && !next(p)) {
            return false;
        }
        if (p->tok.kind != T_COMMA)
            return true;
        if (!next(p))
            return false;
    }
}

static bool parse_count(parser *p, const char *what, long long *out)
{
    if (*out >= 0)
        return fail_at(p, p->tok.pos, FTRACK_ERR_PARSE, "'%s' is given twice", what);
    if (!next(p))
        return false;
    if (p->tok.kind != T_NUMBER)
        return fail_at(p, p->tok.pos, FTRACK_ERR_PARSE, "a whole number was expected after '%s'",
                       what);
    char *text = tok_text(p);
    if (!text)
        return fail_at(p, p->tok.pos, FTRACK_ERR_NO_MEMORY, "out of memory");
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    bool ok = errno == 0 && end && *end == '\0' && n >= 0;
    free(text);
    if (!ok)
        return fail_at(p, p->tok.pos, FTRACK_ERR_PARSE,
                       "a whole number of at least 0 was expected after '%s'", what);
    *out = n;
    return next(p);
}

static fhub_query *parse_query(parser *p)
{
    fhub_query *q = calloc(1, sizeof(*q));
    if (!q) {
        fail_at(p, p->tok.pos, FTRACK_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    q->limit = q->offset = -1;
    if (accept_word(p, "select") && !parse_projections(p, q))
        goto fail;
    if (p->status != FTRACK_OK)
        goto fail;
    if (p->tok.kind != T_IDENT || is_reserved(p)) {
        fail_at(p, p->tok.pos, FTRACK_ERR_PARSE, "an entity type was expected");
        goto fail;
    }
    if (!(q->type = tok_text(p)) || !next(p))
        goto fail;
    if (accept_word(p, "where") && !(q->where = parse_or(p)))
        goto fail;
    if (is_word(p, "order")) {
        if (!next(p) || !expect_word(p, "by") || !parse_order(p, q))
            goto fail;
    }
    for (;;) {
        if (is_word(p, "limit")) {
            if (!parse_count(p, "limit", &q->limit))
                goto fail;
        } else if (is_word(p, "offset")) {
            if (!parse_count(p, "offset", &q->offset))
                goto fail;
        } else {
            break;
        }
    }
    if (p->status != FTRACK_OK)
        goto fail;
    return q;
fail:
    fhub_query_free(q);
    return NULL;
}

ftrack_status fhub_query_parse(const char *text, fhub_query **out, ftrack_error *err)
{
    *out = NULL;
    if (!text)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "no query");
    size_t len = strlen(text);
    if (len > FHUB_QUERY_MAX_TEXT)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "the query is longer than %d bytes",
                         FHUB_QUERY_MAX_TEXT);
    parser p = {.src = text, .len = len, .err = err, .status = FTRACK_OK};
    fhub_query *q = NULL;
    if (next(&p))
        q = parse_query(&p);
    if (q && p.tok.kind != T_END) {
        fail_at(&p, p.tok.pos, FTRACK_ERR_PARSE,
                "unexpected text after the query (expected where, order by, limit or offset)");
        fhub_query_free(q);
        q = NULL;
    }
    clear_token(&p.tok);
    if (!q)
        return p.status != FTRACK_OK ? p.status
                                     : fti_error(err, FTRACK_ERR_PARSE, "the query did not parse");
    *out = q;
    return FTRACK_OK;
}
