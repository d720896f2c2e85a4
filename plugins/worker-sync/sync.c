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

static const struct lbd_plugin_descriptor descriptor = {
        .abi_version = LBD_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct lbd_plugin_descriptor),
        .kind = LBD_PLUGIN_KIND_WORKER,
        .name = "sync",
        .description = "Sync worker: one connection at a time (Gunicorn's sync)",
        .ops = { .worker = &ops },
};

LBD_PLUGIN_DEFINE(descriptor);
