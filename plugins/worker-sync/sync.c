/* SPDX-License-Identifier: MIT */
/*
 * The sync worker model, as Gunicorn's default: one connection at a time,
 * start to end. Simplest and most predictable; pick it only for few clients
 * on a fast network (a slow client holds the whole worker), and give it
 * more worker processes.
 */
#include "../common/blocking.h"
#include "lbd-plugin.h"

static int sync_run(void *data, const struct lbd_worker_host *host, struct lbd_worker *worker) {
        blocking_set_features(host, worker);
        while (host->state(worker) == LBD_WORKER_RUNNING) {
                struct lbd_session *s = blocking_accept(host, worker);
                if (s)
                        blocking_serve(host, worker, s);
        }
        return 0;
}

static const struct lbd_worker_ops ops = {
        .struct_size = sizeof(struct lbd_worker_ops),
        .run = sync_run,
};

/* Name and description: plugins/worker-sync/meson.build. */
LBD_WORKER_PLUGIN(PLUGIN_NAME, PLUGIN_DESCRIPTION, ops, NULL,
                 NULL);
