/* SPDX-License-Identifier: MIT */
/*
 * The uring worker model: one thread serves up to worker-connections
 * client connections through one io_uring, completion-based: the ring
 * accepts (multishot, on the shared listeners), receives into buffers
 * the kernel picks when bytes come (multishot, a provided buffer ring, so
 * an idle connection holds none), sends, connects, shuts down and closes,
 * and the worker submits everything one batch queued and waits for the
 * next completions in one io_uring_enter(): a busy worker makes far fewer
 * system calls than requests. The sessions are the engine's, the same as
 * in every model; their bytes come and go through the hooks of sockets.c
 * (struct lbd_worker_io).
 *
 * Like the event model: the fair share leaves and rejoins the accept
 * queue (here: cancels and re-arms the multishot accepts), the host's
 * queue fd is watched, idle upstream connections stay watched (their
 * receive is armed) and a close or out-of-turn bytes is reported to the
 * engine, and timeouts are checked once a second by walking the open
 * connections; the ring's wait has a timeout, so a quiet worker still
 * beats its heart.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "lbd-plugin.h"
#include "probe.h"
#include "ring.h"
#include "sockets.h"

#define RING_ENTRIES 4096u

struct conn {
        struct lbd_session *session;
        struct conn *prev, *next;
        struct conn *ready_next; /* on the loop's ready list */
        uint64_t deadline_ms;
        bool ready;              /* something came for it in this batch */
        bool dead;
};

/* A listener's multishot accept as the ring has it. A cancel takes a
 * turn to land: until its completion comes the accept is neither live
 * nor gone, and must be neither armed again nor cancelled twice. */
enum accept_state { ACCEPT_OFF, ACCEPT_ARMED, ACCEPT_CANCELLING };

struct loop {
        const struct lbd_worker_host *host;
        struct lbd_worker *worker;
        struct ring ring;
        struct sockets *sockets;
        const int *listeners;
        size_t n_listeners;
        bool accepting;            /* wanted: in the accept queue */
        enum accept_state *accept; /* per listener: what the ring has */
        bool queue_armed;
        uint64_t accept_retry_ms; /* after an accept failed (no fds left) */
        int queue_fd;
        unsigned n_conns;
        unsigned max_conns;
        struct conn *conns; /* open connections, for the timeout walk */
        struct conn *dead;  /* finished in this batch, freed after it */
        struct conn *ready; /* to run after this batch of completions */
};

static void on_ready(void *data, void *owner, unsigned which, uint32_t events) {
        struct loop *l = data;
        struct conn *c = owner;
        if (c->dead)
                return;
        l->host->session_ready(c->session, which, events);
        if (!c->ready) {
                c->ready = true;
                c->ready_next = l->ready;
                l->ready = c;
        }
}

static void on_idle_closed(void *data, int fd) {
        struct loop *l = data;
        l->host->idle_event(l->worker, fd, LBD_READY_HUP);
}

static const struct sockets_hooks hooks = {
        .ready = on_ready,
        .idle_closed = on_idle_closed,
};

static void unlink_conn(struct loop *l, struct conn *c) {
        if (c->prev)
                c->prev->next = c->next;
        else
                l->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = NULL;
        l->n_conns--;
}

/* Advance a connection; on its end, park it on the dead list (a completion
 * for it may still be in this batch). */
static void drive(struct loop *l, struct conn *c) {
        if (c->dead)
                return;
        struct lbd_wait wait;
        int r;
again:
        r = l->host->session_run(c->session, &wait);
        if (r != 0 && ((wait.events[0] | wait.events[1]) & LBD_WAIT_DETACH)) {
                for (int i = 0; i < 2; i++)
                        if ((wait.events[i] & LBD_WAIT_DETACH) && wait.fd[i] >= 0)
                                sockets_detach(l->sockets, wait.fd[i]);
                goto again;
        }
        if (r == 0) {
                l->host->session_free(c->session); /* its closes go through sockets.c */
                c->session = NULL;
                c->dead = true;
                unlink_conn(l, c);
                c->next = l->dead;
                l->dead = c;
                return;
        }
        c->deadline_ms = wait.deadline_ms;
        for (unsigned i = 0; i < 2; i++) {
                if (wait.fd[i] < 0)
                        continue;
                if (wait.fd_new[i] == LBD_FD_NEW)
                        sockets_watch_new(l->sockets, wait.fd[i], c, i);
                else if (wait.fd_new[i] == LBD_FD_FROM_IDLE)
                        sockets_watch_from_idle(l->sockets, wait.fd[i], c, i);
        }
}

static void drive_ready(struct loop *l) {
        while (l->ready) {
                struct conn *c = l->ready;
                l->ready = c->ready_next;
                c->ready = false;
                drive(l, c);
        }
}

static void free_dead(struct loop *l) {
        while (l->dead) {
                struct conn *c = l->dead;
                l->dead = c->next;
                free(c);
        }
}

/* ---- accepting ---------------------------------------------------------- */

static void arm_accept(struct loop *l, size_t i) {
        struct io_uring_sqe *sqe = ring_sqe(&l->ring);
        io_uring_prep_multishot_accept(sqe, l->listeners[i], NULL, NULL,
                                       SOCK_NONBLOCK | SOCK_CLOEXEC);
        io_uring_sqe_set_data64(sqe, ring_data(OP_ACCEPT, (uint32_t)i, 0));
        l->accept[i] = ACCEPT_ARMED;
}

/* Brings every listener's accept to what is wanted. Looked at on every
 * turn, not only when the wish changes: an accept the kernel ended (a
 * full completion queue, a cancel that crossed a new wish) is armed
 * again here. A worker that believed itself in the queue while no accept
 * was armed left both workers out of it, and the kernel's accept queue
 * overflowed. */
static void set_accepting(struct loop *l, bool on) {
        l->accepting = on;
        for (size_t i = 0; i < l->n_listeners; i++) {
                if (on && l->accept[i] == ACCEPT_OFF) {
                        arm_accept(l, i);
                } else if (!on && l->accept[i] == ACCEPT_ARMED) {
                        struct io_uring_sqe *sqe = ring_sqe(&l->ring);
                        io_uring_prep_cancel64(sqe, ring_data(OP_ACCEPT, (uint32_t)i, 0), 0);
                        io_uring_sqe_set_data64(sqe, ring_data(OP_IGNORE, 0, 0));
                        l->accept[i] = ACCEPT_CANCELLING;
                }
        }
}

static void accepted(struct loop *l, const struct io_uring_cqe *cqe) {
        size_t i = ring_data_fd(cqe->user_data);
        if (i >= l->n_listeners)
                return;
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
                l->accept[i] = ACCEPT_OFF;
                /* Ended by our cancel, by the kernel (a full completion
                 * queue) or by an error: armed again by the next turn's
                 * set_accepting() if wanted; after an error (no fds left,
                 * say) not before 100 ms. */
                if (cqe->res < 0 && cqe->res != -ECANCELED) {
                        l->accepting = false;
                        l->accept_retry_ms = l->host->now_ms() + 100;
                }
        }
        if (cqe->res < 0)
                return;
        /* Taken from the queue already: served even past the share. */
        struct lbd_session *s = l->host->adopt(l->worker, i, cqe->res);
        if (!s)
                return;
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
                l->host->session_free(s);
                return;
        }
        c->session = s;
        c->next = l->conns;
        if (l->conns)
                l->conns->prev = c;
        l->conns = c;
        l->n_conns++;
        drive(l, c);
}

static bool may_accept(struct loop *l) {
        if (l->accept_retry_ms && l->host->now_ms() < l->accept_retry_ms)
                return false;
        l->accept_retry_ms = 0;
        return l->n_conns < l->max_conns && l->host->fair_share(l->worker);
}

static void arm_queue(struct loop *l) {
        if (l->queue_fd < 0 || l->queue_armed)
                return;
        struct io_uring_sqe *sqe = ring_sqe(&l->ring);
        io_uring_prep_poll_multishot(sqe, l->queue_fd, POLLIN);
        io_uring_sqe_set_data64(sqe, ring_data(OP_QUEUE, 0, 0));
        l->queue_armed = true;
}

/* ---- the loop ----------------------------------------------------------- */

static void complete(struct loop *l, const struct io_uring_cqe *cqe) {
        switch (ring_data_op(cqe->user_data)) {
        case OP_ACCEPT:
                accepted(l, cqe);
                break;
        case OP_QUEUE:
                /* Another worker left the queue: join it if under share. */
                if (!(cqe->flags & IORING_CQE_F_MORE))
                        l->queue_armed = false;
                if (!l->accepting && l->host->state(l->worker) == LBD_WORKER_RUNNING &&
                    may_accept(l))
                        set_accepting(l, true);
                break;
        case OP_RX:
        case OP_TX:
        case OP_CONNECT:
                sockets_complete(l->sockets, cqe);
                break;
        case OP_IGNORE:
                break;
        }
}

static void check_timeouts(struct loop *l, uint64_t now) {
        for (struct conn *c = l->conns, *next; c; c = next) {
                next = c->next;
                if (c->deadline_ms && c->deadline_ms <= now)
                        drive(l, c);
        }
}

static void drive_all(struct loop *l) {
        for (struct conn *c = l->conns, *next; c; c = next) {
                next = c->next;
                drive(l, c);
        }
}

static int uring_run(void *data, const struct lbd_worker_host *host, struct lbd_worker *worker) {
        (void)data;
        struct loop l = {
                .host = host,
                .worker = worker,
                .max_conns = host->max_connections(worker),
                .queue_fd = -1,
        };
        if (host->struct_size < sizeof(*host) || !host->set_features || !host->session_ready ||
            !host->idle_event || !host->adopt || !host->set_io || !host->hold_clock)
                return -EPROTO;
        const char *what = NULL;
        int r = ring_open(&l.ring, RING_ENTRIES, &what);
        if (r < 0)
                return r;
        l.sockets = sockets_new(&l.ring, &hooks, &l);
        l.n_listeners = host->listeners(worker, &l.listeners);
        l.accept = calloc(l.n_listeners ? l.n_listeners : 1, sizeof(*l.accept));
        if (!l.sockets || !l.accept) {
                r = -ENOMEM;
                goto out;
        }
        host->set_features(worker, LBD_WORKER_REPORTS_READINESS | LBD_WORKER_WATCHES_IDLE);
        host->set_io(worker, &sockets_io, l.sockets);
        l.queue_fd = host->queue_fd ? host->queue_fd(worker) : -1;
        set_accepting(&l, true);
        arm_queue(&l);

        uint64_t last_walk = host->now_ms();
        for (;;) {
                enum lbd_worker_state st = host->state(worker);
                if (st == LBD_WORKER_STOP_NOW)
                        break;
                if (st == LBD_WORKER_STOPPING && l.accepting) {
                        set_accepting(&l, false);
                        drive_all(&l); /* idle connections see the stop and close */
                        free_dead(&l);
                }
                if (st != LBD_WORKER_RUNNING && l.n_conns == 0 &&
                    sockets_sending(l.sockets) == 0)
                        break;
                if (st == LBD_WORKER_RUNNING)
                        set_accepting(&l, may_accept(&l));
                arm_queue(&l);

                r = ring_wait(&l.ring, st == LBD_WORKER_RUNNING && !l.accepting ? 100 : 1000);
                /* One clock reading for the whole batch. */
                host->hold_clock(worker, true);
                host->heartbeat(worker);
                if (r < 0 && r != -EINTR && r != -ETIME && r != -EAGAIN && r != -EBUSY)
                        break;
                r = 0;
                struct io_uring_cqe *cqe;
                unsigned head, seen = 0;
                io_uring_for_each_cqe(&l.ring.uring, head, cqe) {
                        complete(&l, cqe);
                        seen++;
                }
                io_uring_cq_advance(&l.ring.uring, seen);
                drive_ready(&l);
                sockets_after_batch(l.sockets);
                free_dead(&l);
                uint64_t now = host->now_ms();
                if (now - last_walk >= 1000) {
                        last_walk = now;
                        check_timeouts(&l, now);
                        free_dead(&l);
                }
                host->hold_clock(worker, false);
        }

        for (struct conn *c = l.conns, *next; c; c = next) {
                next = c->next;
                host->session_free(c->session);
                free(c);
        }
        free_dead(&l);
        l.ring.enters++;
        (void)io_uring_submit(&l.ring.uring); /* the closes those queued */
out:
        host->hold_clock(worker, false);
        host->set_io(worker, NULL, NULL); /* what is left closes with plain close() */
        ring_close(&l.ring);
        sockets_free(l.sockets);
        free(l.accept);
        return r < 0 ? r : 0;
}

/* The ring's own calls; what the ring does (accept, recv, send, close)
 * the kernel checks as it would those system calls, Landlock included,
 * but not seccomp, which sees only these. */
static const char *const ring_syscalls[] = {
        "io_uring_setup", "io_uring_enter", "io_uring_register", NULL,
};

static const struct lbd_worker_ops ops = {
        .struct_size = sizeof(struct lbd_worker_ops),
        .run = uring_run,
        .extra_syscalls = ring_syscalls,
};

/* Name and description: plugins/worker-uring/meson.build. */
LBD_WORKER_PLUGIN(PLUGIN_NAME, PLUGIN_DESCRIPTION, ops, uring_probe, NULL);
