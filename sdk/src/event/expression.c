/* SPDX-License-Identifier: Apache-2.0 */
/* ftrack's subscription/target expression language (protocol §7): a recursive-descent parser
 * that mirrors the Python client's pyparsing grammar, compiled into an immutable tree.
 *
 * Matching runs per event per subscriber, so it never allocates: dotted paths are split into
 * NUL-terminated parts at compile time and walked with json-c lookups only.
 *
 * Where we differ from the Python client, on purpose:
 *  - a trailing `*` under `=` is a prefix match (docs, JS client), not Python's substring test;
 *    a list candidate matches when one of its string elements has that prefix;
 *  - comparisons Python would raise on (ordering between a string and a number, a wildcard
 *    against null) simply do not match;
 *  - keywords end at any non-field character except '.', so `not.x=1` is the field `not.x`
 *    (pyparsing would read it as `not .x=1`);
 *  - nesting (parentheses and `not`) is capped at MAX_NESTING levels. */
#include <stdlib.h>
#include <string.h>

#include <ftrack/expression.h>
#include "common/internal.h"
#include "event/expression_internal.h"

#define MAX_NESTING 64
#define STR_(x) #x
#define STR(x) STR_(x)
/* Longest expression echoed in a parse error; longer ones are cut and get no caret line. */
#define MAX_SHOWN 200

typedef enum op { OP_EQ, OP_NE, OP_GE, OP_LE, OP_GT, OP_LT } op;
typedef enum kind { N_COND, N_NOT, N_ALL, N_ANY } kind;

typedef struct node node;
struct node {
    kind kind;
    /* N_COND */
    op op;
    bool prefix; /* `=` with a trailing '*': value holds the prefix without it */
    size_t nparts;
    const char **parts; /* point into path */
    char *path;         /* the field with every '.' replaced by NUL */
    char *value;        /* NUL-terminated */
    size_t value_len;
    /* N_NOT */
    node *child;
    /* N_ALL, N_ANY */
    node **kids;
    size_t nkids;
};

struct ftrack_expression {
    char *text;
    node *root;
};

/* ---- tree ---------------------------------------------------------------------------- */

static void node_free(node *n)
{
    if (!n)
        return;
    node_free(n->child);
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->parts);
    free(n->path);
    free(n->value);
    free(n);
}

static node *cond_new(const char *field, size_t field_len, op o, const char *value,
                      size_t value_len)
{
    node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->kind = N_COND;
    n->op = o;
    if (o == OP_EQ && value_len > 0 && value[value_len - 1] == '*') {
        n->prefix = true;
        value_len--;
    }
    n->value = fti_strndup(value, value_len);
    n->value_len = value_len;
    n->path = fti_strndup(field, field_len);
    n->nparts = 1;
    for (size_t i = 0; i < field_len; i++)
        n->nparts += field[i] == '.';
    n->parts = calloc(n->nparts, sizeof(*n->parts));
    if (!n->value || !n->path || !n->parts) {
        node_free(n);
        return NULL;
    }
    /* Python splits on every '.', so empty parts are kept and look up the key "". */
    size_t k = 0;
    n->parts[k++] = n->path;
    for (size_t i = 0; i < field_len; i++) {
        if (n->path[i] == '.') {
            n->path[i] = '\0';
            n->parts[k++] = n->path + i + 1;
        }
    }
    return n;
}

/* ---- parser -------------------------------------------------------------------------- */

typedef struct parser {
    const char *s;
    size_t len; /* end of the stripped input */
    size_t pos;
    int nesting;
    bool failed;
    bool oom;
    size_t err_pos;
    const char *expected;
} parser;

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_field_char(char c)
{
    return is_alnum(c) || c == '_' || c == '.';
}

static bool is_value_char(char c)
{
    return is_alnum(c) || (c != '\0' && strchr("-_,./*@+", c) != NULL);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static node *fail(parser *p, size_t pos, const char *expected)
{
    if (!p->failed) {
        p->failed = true;
        p->err_pos = pos;
        p->expected = expected;
    }
    return NULL;
}

static node *fail_oom(parser *p)
{
    p->oom = true;
    return fail(p, p->pos, "out of memory");
}

static void skip_space(parser *p)
{
    while (p->pos < p->len && is_space(p->s[p->pos]))
        p->pos++;
}

static char peek(const parser *p)
{
    return p->pos < p->len ? p->s[p->pos] : '\0';
}

/* A case-insensitive whole-word keyword at the current position (after blanks). */
static bool at_keyword(parser *p, const char *word)
{
    skip_space(p);
    size_t n = strlen(word);
    if (p->len - p->pos < n || strncasecmp(p->s + p->pos, word, n) != 0)
        return false;
    return p->pos + n == p->len || !is_field_char(p->s[p->pos + n]);
}

static node *parse_or(parser *p);

/* Grow a node list by one. */
static bool push(node ***list, size_t *n, size_t *cap, node *item)
{
    if (!fti_array_reserve(list, cap, *n + 1, sizeof(**list)))
        return false;
    (*list)[(*n)++] = item;
    return true;
}

static node *group(kind k, node **kids, size_t n)
{
    if (n == 1) {
        node *only = kids[0];
        free(kids);
        return only;
    }
    node *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->kind = k;
    g->kids = kids;
    g->nkids = n;
    return g;
}

static void free_list(node **kids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        node_free(kids[i]);
    free(kids);
}

/* pyparsing's quotedString: a quote char, then anything but that quote, a line break or a
 * backslash; a doubled quote; or a backslash escape (\x needs hex digits). Escapes are kept. */
static bool parse_quoted(parser *p, const char **value, size_t *value_len)
{
    size_t open = p->pos;
    char q = p->s[open];
    size_t i = open + 1;
    for (;;) {
        if (i >= p->len || p->s[i] == '\n' || p->s[i] == '\r') {
            fail(p, open, "Unterminated quoted value");
            return false;
        }
        char c = p->s[i];
        if (c == q) {
            if (i + 1 < p->len && p->s[i + 1] == q) {
                i += 2;
                continue;
            }
            break;
        }
        if (c == '\\') {
            if (i + 1 >= p->len) {
                fail(p, open, "Unterminated quoted value");
                return false;
            }
            if (p->s[i + 1] == 'x') {
                size_t j = i + 2;
                while (j < p->len && is_hex(p->s[j]))
                    j++;
                if (j == i + 2) {
                    fail(p, i, "Expected hex digits after \\x in quoted value");
                    return false;
                }
                i = j;
            } else {
                i += 2;
            }
            continue;
        }
        i++;
    }
    *value = p->s + open + 1;
    *value_len = i - open - 1;
    p->pos = i + 1;
    return true;
}

static bool parse_op(parser *p, op *out)
{
    static const struct {
        const char *text;
        op op;
    } ops[] = {{"!=", OP_NE}, {">=", OP_GE}, {"<=", OP_LE},
               {"=", OP_EQ},  {">", OP_GT},  {"<", OP_LT}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i].text);
        if (p->len - p->pos >= n && memcmp(p->s + p->pos, ops[i].text, n) == 0) {
            p->pos += n;
            *out = ops[i].op;
            return true;
        }
    }
    return false;
}

static node *parse_condition(parser *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && is_field_char(p->s[p->pos]))
        p->pos++;
    if (p->pos == start)
        return fail(p, start, "Expected a condition, \"(\" or \"not\"");
    const char *field = p->s + start;
    size_t field_len = p->pos - start;
    skip_space(p);
    op o;
    if (!parse_op(p, &o))
        return fail(p, p->pos, "Expected an operator (=, !=, >=, <=, >, <)");
    skip_space(p);
    const char *value = p->s + p->pos;
    size_t value_len = 0;
    char c = peek(p);
    if (c == '"' || c == '\'') {
        if (!parse_quoted(p, &value, &value_len))
            return NULL;
    } else {
        while (p->pos < p->len && is_value_char(p->s[p->pos]))
            p->pos++;
        value_len = p->pos - (size_t)(value - p->s);
        if (value_len == 0)
            return fail(p, p->pos, "Expected a value");
    }
    node *n = cond_new(field, field_len, o, value, value_len);
    return n ? n : fail_oom(p);
}

/* `not` is a keyword unless an operator follows it: then it is a field named "not". */
static bool at_not_keyword(parser *p)
{
    if (!at_keyword(p, "not"))
        return false;
    size_t i = p->pos + 3;
    while (i < p->len && is_space(p->s[i]))
        i++;
    return i >= p->len || !strchr("=!<>", p->s[i]);
}

static node *parse_not_expr(parser *p)
{
    skip_space(p);
    if (p->nesting >= MAX_NESTING)
        return fail(p, p->pos,
                    "Expression nested too deeply (more than " STR(MAX_NESTING) " levels)");
    p->nesting++;
    node *result = NULL;
    if (at_not_keyword(p)) {
        p->pos += 3;
        node *inner = parse_not_expr(p);
        if (inner) {
            result = calloc(1, sizeof(*result));
            if (result) {
                result->kind = N_NOT;
                result->child = inner;
            } else {
                node_free(inner);
                fail_oom(p);
            }
        }
    } else if (peek(p) == '(') {
        p->pos++;
        result = parse_or(p);
        if (result) {
            skip_space(p);
            if (peek(p) == ')') {
                p->pos++;
            } else {
                node_free(result);
                result = fail(p, p->pos, "Expected \")\"");
            }
        }
    } else {
        result = parse_condition(p);
    }
    p->nesting--;
    return result;
}

/* and_expr / or_expr: n-ary chains of the next tighter level. */
static node *parse_chain(parser *p, const char *keyword, kind k, node *(*next)(parser *))
{
    node **kids = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        node *item = next(p);
        if (!item) {
            free_list(kids, n);
            return NULL;
        }
        if (!push(&kids, &n, &cap, item)) {
            node_free(item);
            free_list(kids, n);
            return fail_oom(p);
        }
        if (!at_keyword(p, keyword))
            break;
        p->pos += strlen(keyword);
    }
    node *g = group(k, kids, n);
    if (!g) {
        free_list(kids, n);
        return fail_oom(p);
    }
    return g;
}

static node *parse_and(parser *p)
{
    return parse_chain(p, "and", N_ALL, parse_not_expr);
}

static node *parse_or(parser *p)
{
    return parse_chain(p, "or", N_ANY, parse_and);
}

/* ---- errors -------------------------------------------------------------------------- */

static bool is_blank(char c)
{
    return is_space(c) || c == '\v' || c == '\f';
}

static ftrack_status parse_error(ftrack_error *err, const char *text, size_t lead, size_t end,
                                 size_t pos, const char *expected)
{
    size_t shown = end - lead;
    bool cut = shown > MAX_SHOWN;
    fti_error(err, FTRACK_ERR_PARSE, "Failed to parse: %.*s%s. %s at position %zu",
              (int)(cut ? MAX_SHOWN : shown), text + lead, cut ? "..." : "", expected, pos);
    if (!err)
        return FTRACK_ERR_PARSE;
    err->position = (int)pos;
    if (cut || pos < lead)
        return FTRACK_ERR_PARSE;
    /* A caret line under the expression, when it fits; blanks become spaces so it lines up. */
    size_t used = strlen(err->message), col = pos - lead;
    if (used + 1 + shown + 1 + col + 2 > sizeof(err->message))
        return FTRACK_ERR_PARSE;
    char *w = err->message + used;
    *w++ = '\n';
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)text[lead + i];
        *w++ = (char)(c < 0x20 ? ' ' : c);
    }
    *w++ = '\n';
    memset(w, ' ', col);
    w += col;
    *w++ = '^';
    *w = '\0';
    return FTRACK_ERR_PARSE;
}

/* ---- public API ---------------------------------------------------------------------- */

ftrack_status ftrack_expression_compile(const char *text, ftrack_expression **out,
                                        ftrack_error *err)
{
    if (!out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "no place for the expression");
    *out = NULL;
    if (!text)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "no expression text");
    size_t len = strlen(text), lead = 0, end = len;
    while (lead < len && is_blank(text[lead]))
        lead++;
    while (end > lead && is_blank(text[end - 1]))
        end--;
    if (lead == end) {
        fti_error(err, FTRACK_ERR_PARSE, "Failed to parse: the expression is empty");
        if (err)
            err->position = 0;
        return FTRACK_ERR_PARSE;
    }
    parser p = {.s = text, .len = end, .pos = lead};
    node *root = parse_or(&p);
    if (root) {
        skip_space(&p);
        if (p.pos < p.len) {
            node_free(root);
            root =
                fail(&p, p.pos,
                     text[p.pos] == ')' ? "Unexpected \")\""
                                        : "Expected \"and\", \"or\" or the end of the expression");
        }
    }
    if (!root) {
        if (p.oom)
            return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory compiling an expression");
        return parse_error(err, text, lead, end, p.err_pos, p.expected);
    }
    ftrack_expression *e = calloc(1, sizeof(*e));
    char *copy = fti_strdup(text);
    if (!e || !copy) {
        free(e);
        free(copy);
        node_free(root);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory compiling an expression");
    }
    e->text = copy;
    e->root = root;
    *out = e;
    return FTRACK_OK;
}

void ftrack_expression_free(ftrack_expression *expression)
{
    if (!expression)
        return;
    node_free(expression->root);
    free(expression->text);
    free(expression);
}

const char *ftrack_expression_text(const ftrack_expression *expression)
{
    return expression ? expression->text : NULL;
}

/* ---- matching ------------------------------------------------------------------------ */

/* The value at the condition's path. False when a key is missing or an intermediate is not
 * an object (Python's KeyError/TypeError); *value is NULL for a JSON null. */
static bool walk(const node *n, const json_object *candidate, json_object **value)
{
    json_object *cur = (json_object *)candidate;
    for (size_t i = 0; i < n->nparts; i++) {
        if (!json_object_is_type(cur, json_type_object) ||
            !json_object_object_get_ex(cur, n->parts[i], &cur))
            return false;
    }
    *value = cur;
    return true;
}

static bool has_prefix(json_object *s, const char *prefix, size_t prefix_len)
{
    if (!json_object_is_type(s, json_type_string))
        return false;
    size_t len = (size_t)json_object_get_string_len(s);
    return len >= prefix_len && memcmp(json_object_get_string(s), prefix, prefix_len) == 0;
}

static bool prefix_match(const node *n, json_object *v)
{
    if (json_object_is_type(v, json_type_array)) {
        size_t count = json_object_array_length(v);
        for (size_t i = 0; i < count; i++)
            if (has_prefix(json_object_array_get_idx(v, i), n->value, n->value_len))
                return true;
        return false;
    }
    return has_prefix(v, n->value, n->value_len);
}

/* Python's str comparison: by code point, which for UTF-8 is byte order. */
static int compare(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static bool cond_match(const node *n, const json_object *candidate)
{
    json_object *v;
    if (!walk(n, candidate, &v))
        return false;
    if (n->prefix)
        return prefix_match(n, v);
    /* A non-string never equals the expression's string; ordering against it is undefined in
     * Python (TypeError), which we read as no match. */
    if (!json_object_is_type(v, json_type_string))
        return n->op == OP_NE;
    int c = compare(json_object_get_string(v), (size_t)json_object_get_string_len(v), n->value,
                    n->value_len);
    switch (n->op) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_GE:
        return c >= 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    case OP_LT:
        return c < 0;
    }
    return false;
}

static bool node_match(const node *n, const json_object *candidate)
{
    switch (n->kind) {
    case N_COND:
        return cond_match(n, candidate);
    case N_NOT:
        return !node_match(n->child, candidate);
    case N_ALL:
        for (size_t i = 0; i < n->nkids; i++)
            if (!node_match(n->kids[i], candidate))
                return false;
        return true;
    case N_ANY:
        for (size_t i = 0; i < n->nkids; i++)
            if (node_match(n->kids[i], candidate))
                return true;
        return false;
    }
    return false;
}

bool ftrack_expression_match(const ftrack_expression *expression, const json_object *candidate)
{
    return expression && node_match(expression->root, candidate);
}

static const node *find_topic(const node *n)
{
    if (n->kind == N_COND)
        return n->op == OP_EQ && n->nparts == 1 && strcmp(n->parts[0], "topic") == 0 ? n : NULL;
    if (n->kind != N_ALL)
        return NULL;
    for (size_t i = 0; i < n->nkids; i++) {
        const node *t = find_topic(n->kids[i]);
        if (t)
            return t;
    }
    return NULL;
}

bool ftrack_expression_topic_hint(const ftrack_expression *expression, const char **topic,
                                  bool *is_prefix)
{
    const node *t = expression ? find_topic(expression->root) : NULL;
    if (!t)
        return false;
    if (topic)
        *topic = t->value;
    if (is_prefix)
        *is_prefix = t->prefix;
    return true;
}

/* Every condition reads one path from the candidate's top level down: its first part is
 * the only top-level key it can look at (no wildcards in paths, and a prefix `*` belongs to
 * the value), whatever the operators and nesting around it. */
static void visit_keys(const node *n, fti_expression_key_fn each, void *user_data)
{
    switch (n->kind) {
    case N_COND:
        each(n->parts[0], user_data);
        return;
    case N_NOT:
        visit_keys(n->child, each, user_data);
        return;
    case N_ALL:
    case N_ANY:
        for (size_t i = 0; i < n->nkids; i++)
            visit_keys(n->kids[i], each, user_data);
        return;
    }
}

bool fti_expression_top_keys(const ftrack_expression *expression, fti_expression_key_fn each,
                             void *user_data)
{
    if (!expression || !each)
        return false;
    visit_keys(expression->root, each, user_data);
    return true;
}
