/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_PLUGIN_DISCOVER_H
#define FTI_PLUGIN_DISCOVER_H
/* Plugin discovery for a session used without the host (protocol §8's model): load the
 * plugins on `paths` and register them with the session. The host turns this off and loads
 * plugins itself. */
#include <json-c/json.h>
#include <ftrack/session.h>

ftrack_status fti_plugin_discover_for_session(ftrack_session *session, const char *paths,
                                              json_object *arguments, ftrack_error *err);
/* Unregister and unload what discovery loaded for this session (at close). */
void fti_plugin_release_for_session(ftrack_session *session);
#endif
