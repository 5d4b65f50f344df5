/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_EXPRESSION_H
#define FTRACK_EXPRESSION_H
/*
 * ftrack's subscription and target expression language (protocol §7):
 *
 *   expression := or_expr
 *   or_expr    := and_expr ("or" and_expr)*
 *   and_expr   := not_expr ("and" not_expr)*
 *   not_expr   := "not" not_expr | "(" expression ")" | field op value
 *   op         := = != >= <= > <
 *
 * Keywords are case-insensitive whole words. Values are strings, bare or quoted ('..' or
 * ".."; quotes removed, backslashes kept as written). Fields are dotted paths into nested
 * objects. A missing key never matches (under any operator; `not` inverts that).
 * Comparison follows the Python client: the candidate value is compared with the *string*
 * from the expression, so `id=10` does not match the integer 10 while `id!=10` does, and an
 * ordering operator between a non-string and a string never matches.
 * A value ending in `*` under `=` is a prefix match (as ftrack's documentation and the
 * JavaScript client define it); a list candidate matches when one of its string elements
 * starts with that prefix.
 *
 * A compiled expression is immutable: one may be shared by any number of threads and
 * matched concurrently.
 */
#include <json-c/json.h>
#include <ftrack/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ftrack_expression ftrack_expression;

/* Compile `text`. On a syntax error returns FTRACK_ERR_PARSE with err->position set to the
 * byte offset where parsing failed and a message that quotes the input and points at it. An
 * empty (or all-blank) expression is a parse error. */
FTRACK_API ftrack_status ftrack_expression_compile(const char *text, ftrack_expression **out,
                                                   ftrack_error *err);
FTRACK_API void ftrack_expression_free(ftrack_expression *expression);

/* Match against a candidate (an event's wire object for subscriptions, a subscriber's
 * metadata for targets). The candidate is only read. */
FTRACK_API bool ftrack_expression_match(const ftrack_expression *expression,
                                        const json_object *candidate);

/* The text as given to compile (borrowed). */
FTRACK_API const char *ftrack_expression_text(const ftrack_expression *expression);

/* When the expression can only match events of one topic or topic prefix (it is
 * `topic=X` or `topic=X*`, alone or and-ed with other conditions), write that topic to
 * *topic (borrowed) and whether it is a prefix, and return true. Routers use it as an
 * index key. */
FTRACK_API bool ftrack_expression_topic_hint(const ftrack_expression *expression,
                                             const char **topic, bool *is_prefix);

#ifdef __cplusplus
}
#endif
#endif
