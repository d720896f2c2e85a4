/* SPDX-License-Identifier: MIT */
/*
 * The proxy engine, inside a worker process: struct lbd_worker (what the
 * worker plugins see as opaque) and the sessions, one per client connection.
 *
 * A session is a resumable state machine: lbd_session_run() does all the
 * I/O it can without blocking (or, with the readiness the model reports,
 * all that can succeed), then says what it waits for. Written once,
 * driven by every worker model (event: epoll, thread: a pool, sync: one at
 * a time) through struct lbd_worker_host. The engine calls nothing of the
 * worker (worker.c) that drives it: what it needs of the worker is in
 * struct lbd_worker.
 */
#pragma once

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend-table.h"
#include "lbd-plugin.h"
#include "worker.h"

struct lbd_worker {
        const struct lbd_worker_params *params;
        const struct lbd_config *config;
        struct lbd_worker_slot *slot;
        int *listen_fds; /* params->listeners[i].fd, as the plugins want them */
        /* Set from the worker's signal handlers (worker.c): the one piece of
         * state a signal handler must reach, hence a pointer to a
         * sig_atomic_t there. */
        volatile sig_atomic_t *stop_request;
        /* The shared backend table and, per listener, the pool of its
         * service there (resolved once: a generation holds its pools). */
        struct lbd_table *table;
        int *listener_pool;
        uint64_t max_requests; /* 0: never recycle; else this worker's count incl. jitter */
        uint32_t features;     /* enum lbd_worker_features the model declared */
};

struct lbd_session;

/* Accept one connection from listener i. NULL with errno EAGAIN if none. */
struct lbd_session *lbd_session_accept(struct lbd_worker *w, size_t listener);
/* Start a session for fd, a connection the model accepted from listener
 * i itself; NULL (fd closed, errno set) when it cannot. */
struct lbd_session *lbd_session_adopt(struct lbd_worker *w, size_t listener, int fd);
int lbd_session_run(struct lbd_session *s, struct lbd_wait *wait);
void lbd_session_free(struct lbd_session *s);
/* What the model saw of fd `which` of s (struct lbd_worker_host). */
void lbd_session_ready(struct lbd_session *s, unsigned which, uint32_t events);
/* What the model saw of an idle upstream fd (LBD_WORKER_WATCHES_IDLE). */
void lbd_engine_idle_event(struct lbd_worker *w, int fd, uint32_t events);

/* Whether w goes on: RUNNING, or STOPPING once asked to (TERM) or once it
 * served max_requests (then also marked stopping in its slot, out of the
 * fair share), or STOP_NOW. What the worker plugins ask through their host,
 * and what the engine asks before it keeps a connection alive. */
enum lbd_worker_state lbd_engine_worker_state(struct lbd_worker *w);
