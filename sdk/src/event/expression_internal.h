/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_EXPRESSION_INTERNAL_H
#define FTI_EXPRESSION_INTERNAL_H
/* The expression module's internal API (expression.c), for the hub's router. */
#include <stdbool.h>
#include <ftrack/expression.h>

/* Receives one top-level key an expression reads: NUL-terminated, borrowed from the
 * expression (valid while it lives). */
typedef void (*fti_expression_key_fn)(const char *key, void *user_data);

/* Which top-level keys of a candidate `expression` reads: calls `each` with the first part of
 * every field it names (`data.foo` → "data", `topic` → "topic"; a field starting with '.'
 * reads the key ""; a key may come more than once) and returns true. Matching a candidate
 * that holds only those keys, with the same values, gives what matching the whole candidate
 * gives, so a router can parse only them. False when it cannot tell (no expression): then
 * the whole candidate is needed. */
bool fti_expression_top_keys(const ftrack_expression *expression, fti_expression_key_fn each,
                             void *user_data);

#endif
