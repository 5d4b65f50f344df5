/* Placeholder until the plugin loader lands: discovery finds nothing. */
#include "plugin/discover.h"

ftrack_status fti_plugin_discover_for_session(ftrack_session *session, const char *paths,
                                              json_object *arguments, ftrack_error *err)
{
    (void)session;
    (void)paths;
    (void)arguments;
    (void)err;
    return FTRACK_OK;
}

void fti_plugin_release_for_session(ftrack_session *session)
{
    (void)session;
}
