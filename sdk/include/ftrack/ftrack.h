/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTRACK_H
#define FTRACK_H
/* The whole public API for programs and plugins. Programs that run plugins add
 * ftrack/host.h and ftrack/plugin_loader.h. */
#include <ftrack/common.h>
#include <ftrack/log.h>
#include <ftrack/event.h>
#include <ftrack/expression.h>
#include <ftrack/hub.h>
#include <ftrack/cache.h>
#include <ftrack/session.h>
#include <ftrack/entity.h>
#include <ftrack/query.h>
#include <ftrack/plugin.h>
#include <ftrack/version.h>
#endif
