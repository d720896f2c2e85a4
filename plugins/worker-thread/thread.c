/* SPDX-License-Identifier: MIT */
/*
 * The thread worker model (Gunicorn's gthread): `threads` threads per
 * worker process, each accepting and serving one connection at a time.
 * Pick it when requests block on slow backends and you want concurrency
 * without many processes; memory per connection is a thread stack, so for
 * thousands of idle keep-alive clients pick event.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "../common/blocking.h"
#include "lbd-plugin.h"

struct pool {
        const struct lbd_worker_host *host;
        struct lbd_worker *worker;
};

static void *serve_thread(void *arg) {
        struct pool *p = arg;
        while (p->host->state(p->worker) == LBD_WORKER_RUNNING) {
                struct lbd_session *s = blocking_accept(p->host, p->worker);
                if (s)
                        blocking_serve(p->host, p->worker, s);
        }
        return NULL;
}

static int thread_run(void *data, const struct lbd_worker_host *host, struct lbd_worker *worker) {
        struct pool p = { .host = host, .worker = worker };
        blocking_set_features(host, worker); /* before the threads accept */
        unsigned n = host->threads(worker);
        if (n == 0)
                n = 1;
        pthread_t *threads = calloc(n, sizeof(pthread_t));
        if (!threads)
                return -ENOMEM;
        unsigned started = 0;
        int r = 0;
        for (; started < n; started++) {
                /* Small stacks: a proxy thread needs little. */
                pthread_attr_t attr;
                pthread_attr_init(&attr);
                pthread_attr_setstacksize(&attr, 256 * 1024);
                r = pthread_create(&threads[started], &attr, serve_thread, &p);
                pthread_attr_destroy(&attr);
                if (r != 0)
                        break;
        }
        for (unsigned i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        free(threads);
        return started == 0 ? -r : 0;
}

static const struct lbd_worker_ops ops = {
        .struct_size = sizeof(struct lbd_worker_ops),
        .run = thread_run,
};

/* Name and description: plugins/worker-thread/meson.build. */
LBD_WORKER_PLUGIN(PLUGIN_NAME, PLUGIN_DESCRIPTION, ops, NULL,
                 NULL);
