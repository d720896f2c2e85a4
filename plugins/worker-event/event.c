/* SPDX-License-Identifier: MIT */
/*
 * The event worker model: one thread multiplexes up to worker-connections
 * client connections on epoll, edge-triggered, as nginx's workers do. Pick
 * it for many concurrent or slow clients and for keep-alive: an idle
 * connection costs a few hundred bytes, not a thread.
 *
 * Listeners are registered with EPOLLEXCLUSIVE so one connection wakes one
 * worker, not all of them. Timeouts are checked once a second by walking
 * the open connections (a connection's timeouts are whole seconds).
 *
 * Each fd is registered once, with its number and a generation in the
 * event's data: a table indexed by fd says whose it is (a session's client
 * or upstream side, or an idle upstream connection in the engine's pool,
 * which stays registered when a session gives it back and when another
 * takes it: no epoll_ctl per request). The generation changes with every
 * new file under a number, so an event of a closed file that is still in
 * the batch is dropped. What is seen goes to the session before it runs
 * (LBD_WORKER_REPORTS_READINESS), so it reads and writes only what can
 * succeed; what is seen of an idle connection goes to the engine
 * (LBD_WORKER_WATCHES_IDLE).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>
#include <unistd.h>

#include "lbd-plugin.h"

#define MAX_EVENTS 256
/* Per listener wakeup, a worker accepts until the queue is empty (EAGAIN),
 * as nginx's multi_accept: a storm of new connections is taken as fast as
 * it comes, not a few per turn of the loop while the kernel's queue
 * overflows and drops SYNs (each one a client waiting a second or three
 * to retry). Bounded only so that the connections it already has are
 * served too; the fair share is looked at every ACCEPT_SHARE_EVERY, so
 * that one worker does not swallow the whole storm while the others idle. */
#define ACCEPT_MAX 1024
#define ACCEPT_SHARE_EVERY 16
/* Listener entries carry their index with the low bit set; connection
 * entries carry an fd and its generation, with the low bit clear. The
 * host's queue fd is the listener entry with index QUEUE_INDEX. */
#define LISTENER_TAG 1u
#define QUEUE_INDEX UINT32_MAX

/* Whose an fd is. */
struct fd_owner {
        struct conn *conn; /* NULL: idle in the engine's pool, or closed */
        uint32_t generation;
        uint8_t which;     /* 0 client, 1 upstream (struct lbd_wait) */
};

struct conn {
        struct lbd_session *session;
        struct conn *prev, *next;
        uint64_t deadline_ms;
        bool dead;
};

struct loop {
        const struct lbd_worker_host *host;
        struct lbd_worker *worker;
        int epfd;
        const int *listeners;
        size_t n_listeners;
        bool accepting;
        unsigned n_conns;
        unsigned max_conns;
        struct conn *conns; /* open connections, for the timeout walk */
        struct conn *dead;  /* finished in this batch, freed after it */
        struct fd_owner *owners; /* indexed by fd, n_owners of them */
        size_t n_owners;
};

static uint64_t fd_data(int fd, uint32_t generation) {
        return ((uint64_t)generation << 32) | ((uint64_t)(uint32_t)fd << 1);
}

static struct fd_owner *owner_of(struct loop *l, int fd) {
        if ((size_t)fd < l->n_owners)
                return &l->owners[fd];
        size_t n = l->n_owners ? l->n_owners : 1024;
        while (n <= (size_t)fd)
                n *= 2;
        struct fd_owner *o = realloc(l->owners, n * sizeof(*o));
        if (!o)
                return NULL;
        memset(o + l->n_owners, 0, (n - l->n_owners) * sizeof(*o));
        l->owners = o;
        l->n_owners = n;
        return &o[fd];
}

/* The session's fd `which` is new (a new file: register it) or came back
 * from the pool (registered: only its owner changes). */
static void watch_fd(struct loop *l, struct conn *c, int fd, unsigned which, uint8_t news) {
        struct fd_owner *o = owner_of(l, fd);
        if (!o)
                return; /* cannot watch it: let the timeout end the session */
        o->conn = c;
        o->which = (uint8_t)which;
        if (news == LBD_FD_FROM_IDLE)
                return;
        o->generation++;
        struct epoll_event ev = {
                .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                .data.u64 = fd_data(fd, o->generation),
        };
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST)
                (void)epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

static uint32_t ready_events(uint32_t ev) {
        return (ev & EPOLLIN ? LBD_READY_READ : 0) | (ev & EPOLLOUT ? LBD_READY_WRITE : 0) |
               (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR) ? LBD_READY_HUP : 0);
}

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

/* Advance a connection; on its end, park it on the dead list (an event for
 * its other fd may still be in this batch). */
static void drive(struct loop *l, struct conn *c) {
        if (c->dead)
                return;
        struct lbd_wait wait;
        int r;
again:
        r = l->host->session_run(c->session, &wait);
        if (r != 0 && ((wait.events[0] | wait.events[1]) & LBD_WAIT_DETACH)) {
                /* Idle now: still watched, for the engine's pool. */
                for (int i = 0; i < 2; i++) {
                        if (!(wait.events[i] & LBD_WAIT_DETACH) || wait.fd[i] < 0)
                                continue;
                        struct fd_owner *o = owner_of(l, wait.fd[i]);
                        if (o)
                                o->conn = NULL;
                }
                goto again;
        }
        if (r == 0) {
                l->host->session_free(c->session);
                c->session = NULL;
                c->dead = true;
                unlink_conn(l, c);
                c->next = l->dead;
                l->dead = c;
                return;
        }
        c->deadline_ms = wait.deadline_ms;
        for (unsigned i = 0; i < 2; i++)
                if (wait.fd_new[i] && wait.fd[i] >= 0)
                        watch_fd(l, c, wait.fd[i], i, wait.fd_new[i]);
}

/* An event of a connection's fd: to its session, or to the engine's pool. */
static void fd_event(struct loop *l, const struct epoll_event *e) {
        int fd = (int)((uint32_t)e->data.u64 >> 1);
        if ((size_t)fd >= l->n_owners)
                return;
        struct fd_owner *o = &l->owners[fd];
        if (o->generation != (uint32_t)(e->data.u64 >> 32))
                return; /* of a file closed since */
        uint32_t ready = ready_events(e->events);
        if (!o->conn) {
                l->host->idle_event(l->worker, fd, ready);
                return;
        }
        if (o->conn->dead)
                return;
        l->host->session_ready(o->conn->session, o->which, ready);
        drive(l, o->conn);
}

static void free_dead(struct loop *l) {
        while (l->dead) {
                struct conn *c = l->dead;
                l->dead = c->next;
                free(c);
        }
}

static int set_accepting(struct loop *l, bool on) {
        if (l->accepting == on)
                return 0;
        for (size_t i = 0; i < l->n_listeners; i++) {
                struct epoll_event ev = {
                        .events = EPOLLIN | EPOLLEXCLUSIVE,
                        .data.u64 = ((uint64_t)i << 1) | LISTENER_TAG,
                };
                if (epoll_ctl(l->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, l->listeners[i],
                              &ev) < 0)
                        return -errno;
        }
        l->accepting = on;
        return 0;
}

static void accept_some(struct loop *l, size_t listener) {
        for (int k = 0; k < ACCEPT_MAX && l->n_conns < l->max_conns &&
                        (k % ACCEPT_SHARE_EVERY != 0 || l->host->fair_share(l->worker));
             k++) {
                struct lbd_session *s = l->host->accept(l->worker, listener);
                if (!s)
                        return; /* EAGAIN (another worker was faster), or logged */
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
}

/* Another worker is over its share: what is queued may wake it alone
 * (EPOLLEXCLUSIVE). Join the queue if this one is under its share, and
 * take from every listener now. */
static void queue_moved(struct loop *l) {
        if (!l->accepting) {
                if (l->host->state(l->worker) != LBD_WORKER_RUNNING ||
                    l->n_conns >= l->max_conns || !l->host->fair_share(l->worker) ||
                    set_accepting(l, true) < 0)
                        return;
        }
        for (size_t i = 0; i < l->n_listeners; i++)
                accept_some(l, i);
}

/* Watch the host's queue fd, edge-triggered (it is never read). */
static void watch_queue(struct loop *l) {
        int fd = l->host->queue_fd ? l->host->queue_fd(l->worker) : -1;
        if (fd < 0)
                return;
        struct epoll_event ev = {
                .events = EPOLLIN | EPOLLET,
                .data.u64 = ((uint64_t)QUEUE_INDEX << 1) | LISTENER_TAG,
        };
        (void)epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
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

static int event_run(void *data, const struct lbd_worker_host *host, struct lbd_worker *worker) {
        struct loop l = {
                .host = host,
                .worker = worker,
                .max_conns = host->max_connections(worker),
        };
        /* The host must have what this model relies on (ABI 1's reserved
         * slots): the readiness and idle reports. */
        if (host->struct_size < sizeof(*host) || !host->set_features || !host->session_ready ||
            !host->idle_event || !host->queue_fd)
                return -EPROTO;
        host->set_features(worker, LBD_WORKER_REPORTS_READINESS | LBD_WORKER_WATCHES_IDLE);
        l.n_listeners = host->listeners(worker, &l.listeners);
        l.epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l.epfd < 0)
                return -errno;
        int r = set_accepting(&l, true);
        if (r < 0) {
                close(l.epfd);
                return r;
        }
        watch_queue(&l);

        uint64_t last_walk = host->now_ms();
        struct epoll_event events[MAX_EVENTS];
        for (;;) {
                enum lbd_worker_state st = host->state(worker);
                if (st == LBD_WORKER_STOP_NOW)
                        break;
                if (st == LBD_WORKER_STOPPING && l.accepting) {
                        (void)set_accepting(&l, false);
                        /* Let idle connections see the stop and close. */
                        drive_all(&l);
                        free_dead(&l);
                }
                if (st != LBD_WORKER_RUNNING && l.n_conns == 0)
                        break;
                /* Out of the accept queue while full or over this
                 * worker's share: the connections go to the others. */
                if (st == LBD_WORKER_RUNNING)
                        (void)set_accepting(&l, l.n_conns < l.max_conns &&
                                                        host->fair_share(worker));

                /* Out of the accept queue for the fair share, look again
                 * soon: the others' counts change without waking this
                 * worker. */
                int n = epoll_wait(l.epfd, events, MAX_EVENTS,
                                   st == LBD_WORKER_RUNNING && !l.accepting ? 100 : 1000);
                host->heartbeat(worker);
                if (n < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                for (int i = 0; i < n; i++) {
                        uint64_t tag = events[i].data.u64;
                        if (tag == (((uint64_t)QUEUE_INDEX << 1) | LISTENER_TAG))
                                queue_moved(&l);
                        else if (tag & LISTENER_TAG)
                                accept_some(&l, (size_t)(tag >> 1));
                        else
                                fd_event(&l, &events[i]);
                }
                free_dead(&l);
                uint64_t now = host->now_ms();
                if (now - last_walk >= 1000) {
                        last_walk = now;
                        check_timeouts(&l, now);
                        free_dead(&l);
                }
        }

        for (struct conn *c = l.conns, *next; c; c = next) {
                next = c->next;
                host->session_free(c->session);
                free(c);
        }
        free_dead(&l);
        free(l.owners);
        close(l.epfd);
        return r < 0 ? r : 0;
}

static const struct lbd_worker_ops ops = {
        .struct_size = sizeof(struct lbd_worker_ops),
        .run = event_run,
};

/* Name and description: plugins/worker-event/meson.build. */
LBD_WORKER_PLUGIN(PLUGIN_NAME, PLUGIN_DESCRIPTION, ops, NULL,
                 NULL);
