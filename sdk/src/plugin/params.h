/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_PLUGIN_PARAMS_H
#define FTI_PLUGIN_PARAMS_H
/* Declared plugin parameters: validation of a descriptor's list and conversion of values to
 * the declared types (the public filter is in ftrack/plugin_loader.h). */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <ftrack/plugin.h>

/* Checks names (unique, [A-Za-z0-9_.-]+), types and that each default parses and has its
 * parameter's type. On failure writes one sentence to reason. */
bool fti_plugin_params_valid(const ftrack_plugin_param *params, size_t count, char *reason,
                             size_t reason_size);

/* Convert `value` (borrowed) for parameter `p`: text values are parsed as the declared type,
 * JSON values checked. On success *out is a new reference (NULL stands for JSON null). On
 * failure writes the problem (without the value) to reason and returns false. */
bool fti_plugin_param_convert(const ftrack_plugin_param *p, json_object *value, bool from_text,
                              json_object **out, char *reason, size_t reason_size);
#endif
