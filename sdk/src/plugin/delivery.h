/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTI_PLUGIN_DELIVERY_H
#define FTI_PLUGIN_DELIVERY_H
/* The SDK's side of delivery records (the public side is ftrack_delivery_init in ftrack/host.h). */
#include <ftrack/hub.h>

/* A full-size copy of `in` (NULL: a first attempt) in `out`: fields past in->size are zero,
 * `size` is this build's, attempt 0 becomes 1. */
void fti_delivery_copy(ftrack_delivery *out, const ftrack_delivery *in);

#endif
