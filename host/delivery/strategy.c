/* SPDX-License-Identifier: Apache-2.0 */
/* The one worker loop over a delivery strategy (delivery/strategy.h). */
#include "delivery/strategy.h"

ftrack_status fth_delivery_run(const fth_delivery *delivery, fth_inbox *inbox,
                               fth_deliver_fn deliver, void *ctx, ftrack_error *err)
{
    const fth_delivery_ops *ops = delivery->ops;
    if (ops->start) {
        ftrack_status st = ops->start(delivery->impl, err);
        if (st != FTRACK_OK)
            return st;
    }
    for (;;) {
        double wait = -1;
        fth_step s = ops->step(delivery->impl, deliver, ctx, &wait);
        if (s == FTH_STEP_DONE)
            break;
        if (s == FTH_STEP_IDLE)
            fth_inbox_wait_fd(inbox, ops->wait_fd ? ops->wait_fd(delivery->impl) : -1, wait);
    }
    if (ops->finish)
        ops->finish(delivery->impl);
    return FTRACK_OK;
}

void fth_delivery_notify_inbox(ftrack_hub_queue *queue, void *inbox)
{
    (void)queue;
    fth_inbox_wake(inbox);
}
