/* SPDX-License-Identifier: Apache-2.0 */
/* The per-instance handle a plugin receives (ftrack/plugin.h, ftrack/plugin_loader.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <ftrack/plugin_loader.h>
#include "common/internal.h"

struct ftrack_plugin_context {
    char *instance_name;
    ftrack_session *session;
};

ftrack_plugin_context *ftrack_plugin_context_new(const char *instance_name, ftrack_session *session)
{
    if (!instance_name)
        return NULL;
    ftrack_plugin_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    ctx->instance_name = fti_strdup(instance_name);
    if (!ctx->instance_name) {
        free(ctx);
        return NULL;
    }
    ctx->session = session;
    return ctx;
}

void ftrack_plugin_context_free(ftrack_plugin_context *context)
{
    if (!context)
        return;
    free(context->instance_name);
    free(context);
}

const char *ftrack_plugin_instance_name(const ftrack_plugin_context *context)
{
    return context ? context->instance_name : NULL;
}

ftrack_session *ftrack_plugin_session(const ftrack_plugin_context *context)
{
    return context ? context->session : NULL;
}

void ftrack_plugin_log(ftrack_plugin_context *context, ftrack_log_level level, const char *fmt, ...)
{
    if ((int)level < (int)ftrack_log_get_level() || !fmt)
        return;
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    ftrack_log_record record = {level, context ? context->instance_name : "plugin", NULL, NULL,
                                message};
    ftrack_log_record_emit(&record);
}
