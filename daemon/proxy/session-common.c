/* SPDX-License-Identifier: MIT */
/*
 * What every proxy mode of a session uses (session-private.h): its fds,
 * the wait it fills, the backend choice through the shared table, and
 * connecting with retries on other backends (with the reason of the last
 * failed connect, for the 502 that may follow). Calls nothing above it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "engine.h"
#include "log.h"
#include "session-private.h"
#include "socket-io.h"

/* Whether the worker model reports readiness (session_recv()). */
static bool reported(const struct lbd_session *s) {
        return s->worker->features & LBD_WORKER_REPORTS_READINESS;
}

void session_close_fd(int *fd) {
        if (*fd >= 0) {
                socket_io_close(*fd);
                *fd = -1;
        }
}

void session_shutdown(struct lbd_session *s, unsigned side) {
        int fd = side ? s->ufd : s->cfd;
        if (fd >= 0)
                socket_io_shutdown(fd);
}

void session_direction_release(struct direction *d) {
        free(d->buf);
        d->buf = NULL;
        d->start = d->end = 0;
}

/* Pipes for splice() per thread at most (each is two fds and, while full,
 * its pages), so that bulk transfers cannot take the fds the connections
 * need; past it a direction stays on its buffer. */
#define SPLICE_PIPES_MAX 256u

static _Thread_local unsigned pipes_open;

void session_direction_splice(struct direction *d) {
        /* A model that carries the bytes may hold some of the socket's:
         * splice() would pass them by. */
        if (d->spliced || pipes_open >= SPLICE_PIPES_MAX || socket_io_owned())
                return;
        if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
                return;
        (void)fcntl(d->pipe[1], F_SETPIPE_SZ, (int)SPLICE_PIPE_SIZE);
        d->spliced = true;
        d->piped = 0;
        pipes_open++;
}

void session_direction_close(struct direction *d) {
        session_direction_release(d);
        if (d->spliced) {
                close(d->pipe[0]);
                close(d->pipe[1]);
                d->spliced = false;
                d->piped = 0;
                pipes_open--;
        }
}

/* ---- backend choice ---------------------------------------------------- */

const char *session_backend_text(const struct lbd_session *s) {
        return lbd_table_address(s->worker->table, s->backend)->text;
}

void session_release_backend(struct lbd_session *s) {
        if (s->holding) {
                lbd_table_release(s->worker->table, s->backend);
                s->holding = false;
        }
}

void session_backend_failed(struct lbd_session *s, bool connecting, const char *reason) {
        if (s->tries > 0)
                lbd_table_report_failure(s->worker->table, s->backend, connecting, lbd_now_ms(),
                                         reason);
}

long session_pick_backend(struct lbd_session *s) {
        session_release_backend(s);
        if (s->pool < 0 || s->tries >= MAX_CONNECT_TRIES)
                return -1;
        /* The client's address as the policies want it (ip_hash). */
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } client = { 0 };
        socklen_t client_len = 0;
        if (s->peer_family == AF_INET) {
                client.in.sin_family = AF_INET;
                memcpy(&client.in.sin_addr, s->peer_addr, 4);
                client_len = sizeof client.in;
        } else if (s->peer_family == AF_INET6) {
                client.in6.sin6_family = AF_INET6;
                memcpy(&client.in6.sin6_addr, s->peer_addr, 16);
                client_len = sizeof client.in6;
        }
        /* A retry skips what this request tried: a bitmap over the slots,
         * only as long as the highest slot tried needs (none at first). */
        uint64_t tried[LBD_TABLE_BACKENDS_MAX / 64];
        uint32_t words = 0;
        for (unsigned k = 0; k < s->tries; k++)
                if (s->tried[k] / 64 + 1 > words)
                        words = s->tried[k] / 64 + 1;
        if (words)
                memset(tried, 0, words * sizeof tried[0]);
        for (unsigned k = 0; k < s->tries; k++)
                tried[s->tried[k] / 64] |= UINT64_C(1) << (s->tried[k] % 64);
        uint32_t slot;
        int r = lbd_table_pick(s->worker->table, s->pool, s->worker->params->plugins,
                               client_len ? &client.sa : NULL, client_len,
                               words ? tried : NULL, words, &slot);
        if (r < 0)
                return -1;
        s->holding = true;
        s->backend = slot;
        s->tried[s->tries] = slot;
        return slot;
}

/* Why the last connect of this thread failed, and for which session: for
 * the 502 that may follow (sessions of a thread run one at a time; a
 * session's own note is newer than any other's). */
static _Thread_local char last_connect_error[SESSION_CONNECT_ERROR_MAX];
static _Thread_local const struct lbd_session *last_connect_session;

const char *session_last_connect_error(const struct lbd_session *s) {
        return s == last_connect_session && last_connect_error[0] ? last_connect_error : NULL;
}

/* snprintf() for messages that may be cut at len (vsnprintf: GCC does not
 * guess at truncation through it). */
__attribute__((format(printf, 3, 4))) static void message(char *out, size_t len,
                                                          const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(out, len, fmt, ap);
        va_end(ap);
}

/* A unix socket that refuses the worker: say who the worker is and what
 * it met, which is what the administrator needs to fix it (the seed's
 * Gunicorn socket is -m 007: owner and group only). */
static void describe_permission_error(const struct lbd_session *s, const char *path, char *out,
                                      size_t len) {
        struct stat st;
        const char *who = s->worker->params->identity->text;
        if (stat(path, &st) < 0) {
                message(out, len,
                         "Permission denied (the worker is %s; it cannot reach %s: %s)", who,
                         path, strerror(errno));
                return;
        }
        /* Numbers only: a worker can open no file (worker-confine.h), so
         * not /etc/passwd or /etc/group either. */
        message(out, len,
                 "Permission denied (the worker is %s; the socket is owned by uid %u, gid %u, "
                 "mode %04o: add group %u to [daemon] extra-groups=, by the name "
                 "`getent group %u` gives)",
                 who, (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777),
                 (unsigned)st.st_gid, (unsigned)st.st_gid);
}

const char *session_note_connect_error(struct lbd_session *s, int err) {
        const struct lbd_address *a = lbd_table_address(s->worker->table, s->backend);
        char why[SESSION_CONNECT_ERROR_MAX - sizeof a->text];
        if ((err == EACCES || err == EPERM) && a->sa.ss_family == AF_UNIX)
                describe_permission_error(s, ((const struct sockaddr_un *)&a->sa)->sun_path, why,
                                          sizeof why);
        else if (err == EAGAIN && a->sa.ss_family == AF_UNIX)
                message(why, sizeof why, "the backend's listen queue is full");
        else
                message(why, sizeof why, "%s", strerror(err));
        message(last_connect_error, sizeof last_connect_error, "%s: %s", a->text, why);
        last_connect_session = s;
        return last_connect_error;
}

int session_connect_to(struct lbd_session *s, long i) {
        const struct lbd_address *a = lbd_table_address(s->worker->table, (uint32_t)i);
        s->backend = (uint32_t)i; /* the one tried, also if it fails (access log) */
        s->attempt_us = lbd_now_us();
        lbd_table_count_attempt(s->worker->table, s->backend);
        int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (a->sa.ss_family != AF_UNIX) {
                int one = 1;
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        /* EAGAIN on a unix socket is no connect under way: the backend's
         * listen queue is full, and the socket is not connected (nginx
         * treats it as a failed connect too). */
        int r = connect(fd, (const struct sockaddr *)&a->sa, a->len);
        if (r == 0 || errno == EINPROGRESS) {
                s->ufd = fd;
                s->ufd_new = LBD_FD_NEW;
                /* Under way: the model reports writable once it is done. */
                s->ready[1] = r < 0 ? 0 : LBD_READY_WRITE;
                s->deadline_ms = lbd_now_ms() + 1000ull * s->service->proxy_connect_timeout;
                return 0;
        }
        int err = errno;
        close(fd); /* never the model's: it has not seen it */
        log_full(LOG_WARNING, s->service->name, "cannot connect to %s",
                 session_note_connect_error(s, err));
        session_backend_failed(s, true, err == EAGAIN ? "listen queue full" : strerror(err));
        return -1;
}

/* Start a non-blocking connect to the next backend. Returns 0 when a connect
 * is under way, -1 when no backend is left to try. */
int session_start_connect(struct lbd_session *s) {
        while (s->tries < MAX_CONNECT_TRIES) {
                long i = session_pick_backend(s);
                if (i < 0)
                        return -1;
                /* Another backend for a request one has failed: a retry
                 * of that one (s->backend, until connect_to sets i). */
                if (s->tries > 0)
                        lbd_table_count_retry(s->worker->table, s->backend);
                s->tries++;
                if (session_connect_to(s, i) == 0)
                        return 0;
        }
        return -1;
}

int session_connect_result(struct lbd_session *s) {
        if (reported(s) && !(s->ready[1] & LBD_READY_WRITE))
                return EINPROGRESS; /* no event yet */
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err == EALREADY)
                err = EINPROGRESS;
        if (err == 0 && reported(s))
                return 0; /* it was reported writable: the handshake is over */
        if (err == 0) {
                /* Connected, unless SO_ERROR is still clear because the
                 * handshake is under way: a writable socket tells. */
                struct pollfd p = { .fd = s->ufd, .events = POLLOUT };
                if (poll(&p, 1, 0) == 1 && (p.revents & (POLLOUT | POLLERR | POLLHUP)))
                        return (p.revents & POLLERR) ? ECONNREFUSED : 0;
                return EINPROGRESS;
        }
        return err;
}

/* ---- I/O --------------------------------------------------------------- */

static int side_fd(const struct lbd_session *s, unsigned side) { return side ? s->ufd : s->cfd; }

static bool is_again_errno(void) { return errno == EAGAIN || errno == EWOULDBLOCK; }

void session_ready_assume(struct lbd_session *s) {
        if (!reported(s))
                s->ready[0] = s->ready[1] = LBD_READY_READ | LBD_READY_WRITE;
}

bool session_read_idle(const struct lbd_session *s, unsigned side) {
        return !(s->ready[side] & LBD_READY_READ);
}

/* Readiness says the call can only fail: EAGAIN, without the system call. */
static bool not_ready(struct lbd_session *s, unsigned side, uint8_t what) {
        if (s->ready[side] & what)
                return false;
        errno = EAGAIN;
        return true;
}

/* A short transfer: the socket's queue (or room) was used up. Edges come
 * only when the model reports them; and not for reading when the peer's
 * close came already (nothing more would wake us up for it). */
static void transferred(struct lbd_session *s, unsigned side, uint8_t what, ssize_t n,
                        size_t len) {
        if (n < 0 ? is_again_errno()
                  : (size_t)n < len && reported(s) &&
                            !(what == LBD_READY_READ && (s->ready[side] & LBD_READY_HUP)))
                s->ready[side] &= (uint8_t)~what;
}

ssize_t session_recv(struct lbd_session *s, unsigned side, void *buf, size_t len) {
        if (not_ready(s, side, LBD_READY_READ))
                return -1;
        ssize_t n = socket_io_recv(side_fd(s, side), buf, len);
        transferred(s, side, LBD_READY_READ, n, len);
        return n;
}

ssize_t session_send(struct lbd_session *s, unsigned side, const void *buf, size_t len) {
        if (not_ready(s, side, LBD_READY_WRITE))
                return -1;
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
        ssize_t n = socket_io_send(side_fd(s, side), &iov, 1);
        transferred(s, side, LBD_READY_WRITE, n, len);
        return n;
}

ssize_t session_splice_in(struct lbd_session *s, unsigned side, int pipe_w, size_t len) {
        if (not_ready(s, side, LBD_READY_READ))
                return -1;
        ssize_t n = splice(side_fd(s, side), NULL, pipe_w, NULL, len,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        /* Short is not "drained" here: the pipe may run out of slots
         * (one per packet) first. Only EAGAIN ends readiness. */
        transferred(s, side, LBD_READY_READ, n, n > 0 ? (size_t)n : len);
        return n;
}

ssize_t session_splice_out(struct lbd_session *s, unsigned side, int pipe_r, size_t len) {
        if (not_ready(s, side, LBD_READY_WRITE))
                return -1;
        ssize_t n = splice(pipe_r, NULL, side_fd(s, side), NULL, len,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        transferred(s, side, LBD_READY_WRITE, n, len);
        return n;
}

ssize_t session_sendmsg(struct lbd_session *s, unsigned side, const struct msghdr *mh,
                        size_t len) {
        if (not_ready(s, side, LBD_READY_WRITE))
                return -1;
        ssize_t n = socket_io_send(side_fd(s, side), mh->msg_iov, (int)mh->msg_iovlen);
        transferred(s, side, LBD_READY_WRITE, n, len);
        return n;
}

void lbd_session_ready(struct lbd_session *s, unsigned which, uint32_t events) {
        if (which > 1)
                return;
        uint8_t r = (uint8_t)(events & (LBD_READY_READ | LBD_READY_WRITE | LBD_READY_HUP));
        if (r & LBD_READY_HUP)
                r |= LBD_READY_READ | LBD_READY_WRITE; /* the I/O says what happened */
        s->ready[which] |= r;
}

/* ---- waiting ---------------------------------------------------------- */

void session_fill_wait_fds(struct lbd_session *s, struct lbd_wait *wait) {
        wait->fd[0] = s->cfd;
        wait->fd[1] = s->ufd;
        wait->fd_new[0] = s->cfd_new;
        wait->fd_new[1] = s->ufd_new;
        s->cfd_new = s->ufd_new = false;
        wait->deadline_ms = s->deadline_ms;
        wait->events[0] = wait->events[1] = 0;
}
