/* SPDX-License-Identifier: MIT */
/*
 * Sessions: one per client connection, a resumable state machine; this is
 * the engine's core, which every worker model drives (engine.h). It names
 * no proxy mode: a session runs its mode's operations (struct
 * session_mode), chosen by the service at accept: tcp (session-tcp.c),
 * http (session-http.c), and the tunnel a 101 switches an http session to
 * (session-tcp.c). What the modes share (fds, waiting, the backend choice,
 * connecting with retries) is session-common.c.
 *
 * Every fd is non-blocking, and lbd_session_run() tries each I/O until
 * EAGAIN or until there is no room, or, when the model reports readiness,
 * until readiness ends (session_recv()), so the models may use
 * edge-triggered readiness (see struct lbd_wait).
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine.h"
#include "session-private.h"
#include "socket-io.h"
#include "upstream-pool.h"

/* The mode of each service mode (config.h's enum). */
static const struct session_mode *const service_modes[] = {
        [LBD_SERVICE_MODE_TCP] = &session_mode_tcp,
        [LBD_SERVICE_MODE_HTTP] = &session_mode_http,
};

void lbd_engine_idle_event(struct lbd_worker *w, int fd, uint32_t events) {
        assert(w);
        upstream_pool_event(fd, events & LBD_READY_HUP ? UPSTREAM_POOL_CLOSED
                                : events & LBD_READY_READ ? UPSTREAM_POOL_READABLE
                                                          : UPSTREAM_POOL_NOTHING);
}

enum lbd_worker_state lbd_engine_worker_state(struct lbd_worker *w) {
        assert(w);
        enum lbd_worker_state st = (enum lbd_worker_state)*w->stop_request;
        if (st == LBD_WORKER_RUNNING && w->max_requests &&
            atomic_load_explicit(&w->slot->requests, memory_order_relaxed) >= w->max_requests)
                st = LBD_WORKER_STOPPING; /* recycle: max-requests reached */
        if (st != LBD_WORKER_RUNNING)
                atomic_store_explicit(&w->slot->stopping, 1, memory_order_relaxed);
        return st;
}

void lbd_session_free(struct lbd_session *s) {
        if (!s)
                return;
        if (s->mode->free)
                s->mode->free(s);
        session_release_backend(s); /* after the log lines that name it */
        session_close_fd(&s->cfd);
        session_close_fd(&s->ufd);
        session_direction_close(&s->up);
        session_direction_close(&s->down);
        atomic_fetch_sub_explicit(&s->worker->slot->connections, 1, memory_order_relaxed);
        free(s);
}

/* The session of an accepted connection fd (peer: its address, or NULL
 * to ask the socket). Closes fd on failure. */
static struct lbd_session *session_start(struct lbd_worker *w, size_t listener, int fd,
                                         const struct sockaddr_storage *peer) {
        const struct lbd_listener *l = &w->params->listeners[listener];
        struct sockaddr_storage asked = { 0 };
        if (!peer) {
                socklen_t len = sizeof asked;
                if (getpeername(fd, (struct sockaddr *)&asked, &len) < 0)
                        asked.ss_family = AF_UNSPEC; /* gone already: it ends at its first read */
                peer = &asked;
        }
        if (l->address.sa.ss_family != AF_UNIX) {
                int one = 1;
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        const struct session_mode *mode = service_modes[l->service->mode];
        struct lbd_session *s = calloc(1, sizeof(*s) + mode->extra);
        if (!s) {
                socket_io_close(fd);
                errno = ENOMEM;
                return NULL;
        }
        s->worker = w;
        s->listener = l;
        s->service = l->service;
        s->mode = mode;
        s->cfd = fd;
        s->cfd_new = LBD_FD_NEW;
        s->ready[0] = LBD_READY_READ | LBD_READY_WRITE; /* a request may be here */
        s->ufd = -1;
        s->detach_fd = -1;
        s->pool = w->listener_pool[listener];
        s->peer_family = (uint8_t)peer->ss_family;
        if (peer->ss_family == AF_INET)
                memcpy(s->peer_addr, &((const struct sockaddr_in *)peer)->sin_addr, 4);
        else if (peer->ss_family == AF_INET6)
                memcpy(s->peer_addr, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
        mode->start(s);
        atomic_fetch_add_explicit(&w->slot->connections, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&w->slot->accepted, 1, memory_order_relaxed);
        return s;
}

struct lbd_session *lbd_session_accept(struct lbd_worker *w, size_t listener) {
        assert(w);
        assert(listener < w->params->n_listeners);
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int fd = accept4(w->params->listeners[listener].fd, (struct sockaddr *)&peer, &peer_len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
                return NULL;
        return session_start(w, listener, fd, &peer);
}

struct lbd_session *lbd_session_adopt(struct lbd_worker *w, size_t listener, int fd) {
        assert(w);
        assert(fd >= 0);
        if (listener >= w->params->n_listeners) {
                socket_io_close(fd);
                errno = EINVAL;
                return NULL;
        }
        return session_start(w, listener, fd, NULL);
}

int lbd_session_run(struct lbd_session *s, struct lbd_wait *wait) {
        assert(s);
        assert(wait);
        session_ready_assume(s);
        for (;;) {
                int r = s->mode->run(s, wait);
                if (r != SESSION_RUN_AGAIN)
                        return r;
                /* The mode changed (a 101: http to the tunnel). */
        }
}
