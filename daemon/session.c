/* SPDX-License-Identifier: MIT */
/*
 * Sessions: one per client connection, a resumable state machine.
 *
 * Here: accepting, the backend choice, connecting with retries on other
 * backends, and the tcp mode (relay bytes both ways with half-close), which
 * the http mode also uses after a 101 Switching Protocols. The http mode
 * (HTTP/1.1 requests and responses, keep-alive, pooled upstream
 * connections) is in session-http.c.
 *
 * Every fd is non-blocking, and lbd_session_run() tries each I/O until
 * EAGAIN or until there is no room, so the models may use edge-triggered
 * readiness (see struct lbd_wait).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "access-log.h"
#include "engine.h"
#include "log.h"
#include "session-private.h"

void session_close_fd(int *fd) {
        if (*fd >= 0) {
                close(*fd);
                *fd = -1;
        }
}

void session_direction_release(struct direction *d) {
        free(d->buf);
        d->buf = NULL;
        d->start = d->end = 0;
}

/* The access log line of a tcp connection (access-log.h). */
static void log_tcp_session(struct lbd_session *s) {
        if (!lbd_access_log_enabled())
                return;
        uint64_t now = lbd_now_ms();
        struct lbd_access_entry e = {
                .tcp = true,
                .client_family = s->peer_family,
                .client_addr = s->peer_addr,
                .service = s->service->name,
                .status = s->tcp->connect_ms ? 200 : 502,
                .bytes_sent = s->tcp->sent,
                .bytes_received = s->tcp->received,
                .upstream = s->tries > 0 ? session_backend_text(s) : NULL,
                .upstream_ms = s->tcp->connect_ms ? (int64_t)s->tcp->connect_ms - 1
                                                  : (int64_t)(now - s->tcp->start_ms),
                .request_ms = now - s->tcp->start_ms,
        };
        lbd_access_log_write(&e);
}

void lbd_session_free(struct lbd_session *s) {
        if (!s)
                return;
        if (s->service->mode == LBD_SERVICE_MODE_TCP)
                log_tcp_session(s);
        if (s->service->mode == LBD_SERVICE_MODE_HTTP)
                http_session_free(s);
        session_release_backend(s); /* after the log lines that name it */
        session_close_fd(&s->cfd);
        session_close_fd(&s->ufd);
        session_direction_release(&s->up);
        session_direction_release(&s->down);
        atomic_fetch_sub_explicit(&s->worker->slot->connections, 1, memory_order_relaxed);
        free(s);
}

struct lbd_session *lbd_session_accept(struct lbd_worker *w, size_t listener) {
        const struct lbd_listener *l = &w->params->listeners[listener];
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
                return NULL;
        if (l->address.sa.ss_family != AF_UNIX) {
                int one = 1;
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        bool tcp = l->service->mode == LBD_SERVICE_MODE_TCP;
        struct lbd_session *s =
                calloc(1, sizeof(*s) + (tcp ? sizeof(struct session_tcp_stats) : 0));
        if (!s) {
                close(fd);
                errno = ENOMEM;
                return NULL;
        }
        s->worker = w;
        s->listener = l;
        s->service = l->service;
        s->cfd = fd;
        s->cfd_new = true;
        s->ufd = -1;
        s->detach_fd = -1;
        s->pool = w->listener_pool[listener];
        s->state = SESSION_CONNECTING;
        s->peer_family = (uint8_t)peer.ss_family;
        if (peer.ss_family == AF_INET)
                memcpy(s->peer_addr, &((struct sockaddr_in *)&peer)->sin_addr, 4);
        else if (peer.ss_family == AF_INET6)
                memcpy(s->peer_addr, &((struct sockaddr_in6 *)&peer)->sin6_addr, 16);
        if (s->service->mode == LBD_SERVICE_MODE_HTTP)
                http_session_start(s);
        else
                s->tcp->start_ms = lbd_now_ms();
        atomic_fetch_add_explicit(&w->slot->connections, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&w->slot->accepted, 1, memory_order_relaxed);
        return s;
}

/* ---- backend choice ---------------------------------------------------- */

uint64_t session_now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *session_backend_text(const struct lbd_session *s) {
        return lbd_table_address(s->worker->table, s->backend)->text;
}

void session_release_backend(struct lbd_session *s) {
        if (s->holding) {
                lbd_table_release(s->worker->table, s->backend);
                s->holding = false;
        }
}

void session_backend_failed(struct lbd_session *s, const char *reason) {
        if (s->tries > 0)
                lbd_table_report_failure(s->worker->table, s->backend, lbd_now_ms(), reason);
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
        const struct passwd *pw = getpwuid(st.st_uid);
        const struct group *gr = getgrgid(st.st_gid);
        const char *owner = pw ? pw->pw_name : "?";
        const char *group = gr ? gr->gr_name : "?";
        message(out, len,
                 "Permission denied (the worker is %s; the socket is owned by %s (uid %u), "
                 "group %s (gid %u), mode %04o: add its group to [daemon] extra-groups=)",
                 who, owner, (unsigned)st.st_uid, group, (unsigned)st.st_gid,
                 (unsigned)(st.st_mode & 07777));
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
        if (s->service->mode == LBD_SERVICE_MODE_TCP)
                s->tcp->connect_start_us = session_now_us();
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
        if (connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0 || errno == EINPROGRESS) {
                s->ufd = fd;
                s->ufd_new = true;
                s->deadline_ms = lbd_now_ms() + 1000ull * s->service->proxy_connect_timeout;
                return 0;
        }
        int err = errno;
        close(fd);
        log_full(LOG_WARNING, s->service->name, "cannot connect to %s",
                 session_note_connect_error(s, err));
        session_backend_failed(s, err == EAGAIN ? "listen queue full" : strerror(err));
        return -1;
}

/* Start a non-blocking connect to the next backend. Returns 0 when a connect
 * is under way, -1 when no backend is left to try. */
int session_start_connect(struct lbd_session *s) {
        while (s->tries < MAX_CONNECT_TRIES) {
                long i = session_pick_backend(s);
                if (i < 0)
                        return -1;
                s->tries++;
                if (session_connect_to(s, i) == 0)
                        return 0;
        }
        return -1;
}

int session_connect_result(struct lbd_session *s) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err == EALREADY)
                err = EINPROGRESS;
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

/* ---- relay ------------------------------------------------------------- */

/* Move bytes from `from` to `to` through d, adding what was written to
 * *total (if not NULL). Returns true if anything moved, and -1 in *error on
 * a fatal error. */
static bool pump(struct direction *d, int from, int to, uint64_t *total, int *error) {
        bool progress = false;
        for (;;) {
                if (d->start < d->end) {
                        ssize_t n = send(to, d->buf + d->start, d->end - d->start,
                                         MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        return progress;
                                *error = -errno;
                                return progress;
                        }
                        d->start += (uint32_t)n;
                        if (total)
                                *total += (uint64_t)n;
                        progress = true;
                        if (d->start < d->end)
                                return progress; /* socket buffer full */
                }
                d->start = d->end = 0;
                if (d->eof) {
                        if (!d->shut) {
                                (void)shutdown(to, SHUT_WR);
                                d->shut = true;
                                progress = true;
                        }
                        session_direction_release(d);
                        return progress;
                }
                if (!d->buf) {
                        d->buf = malloc(RELAY_BUFFER_SIZE);
                        if (!d->buf) {
                                *error = -ENOMEM;
                                return progress;
                        }
                }
                ssize_t n = recv(from, d->buf, RELAY_BUFFER_SIZE, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR) {
                                /* Idle: give the buffer back. */
                                session_direction_release(d);
                                return progress;
                        }
                        *error = -errno;
                        return progress;
                }
                progress = true;
                if (n == 0) {
                        d->eof = true;
                        continue;
                }
                d->end = (uint32_t)n;
        }
}

int session_relay(struct lbd_session *s) {
        int error = 0;
        bool progress, any = false;
        bool tcp = s->service->mode == LBD_SERVICE_MODE_TCP;
        uint64_t *received = tcp ? &s->tcp->received : NULL;
        uint64_t *sent = tcp ? &s->tcp->sent : NULL;
        do {
                progress = pump(&s->up, s->cfd, s->ufd, received, &error);
                if (error)
                        break;
                progress |= pump(&s->down, s->ufd, s->cfd, sent, &error);
                any |= progress;
        } while (progress && !error);
        if (any) /* the idle timeout counts from the last byte moved */
                s->deadline_ms = lbd_now_ms() + 1000ull * s->service->proxy_read_timeout;
        if (error) {
                if (error != -ECONNRESET && error != -EPIPE)
                        log_full(LOG_DEBUG, s->service->name, "relay ended: %s",
                                 strerror(-error));
                return 0;
        }
        if (s->up.shut && s->down.shut)
                return 0;
        return 1;
}

/* ---- the state machine ------------------------------------------------- */

void session_fill_wait_fds(struct lbd_session *s, struct lbd_wait *wait) {
        wait->fd[0] = s->cfd;
        wait->fd[1] = s->ufd;
        wait->fd_new[0] = s->cfd_new;
        wait->fd_new[1] = s->ufd_new;
        s->cfd_new = s->ufd_new = false;
        wait->deadline_ms = s->deadline_ms;
        wait->events[0] = wait->events[1] = 0;
}

void session_fill_relay_wait(struct lbd_session *s, struct lbd_wait *wait) {
        session_fill_wait_fds(s, wait);
        if (s->state == SESSION_CONNECTING) {
                wait->events[1] = LBD_WAIT_WRITE;
                return;
        }
        /* Relay: read where the direction is open and empty, write where it
         * has bytes waiting. */
        if (!s->up.eof && s->up.start == s->up.end)
                wait->events[0] |= LBD_WAIT_READ;
        if (s->up.start < s->up.end)
                wait->events[1] |= LBD_WAIT_WRITE;
        if (!s->down.eof && s->down.start == s->down.end)
                wait->events[1] |= LBD_WAIT_READ;
        if (s->down.start < s->down.end)
                wait->events[0] |= LBD_WAIT_WRITE;
}

static int finish_connect(struct lbd_session *s) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err == 0) {
                uint64_t now = lbd_now_ms();
                s->state = SESSION_RELAY;
                s->deadline_ms = now + 1000ull * s->service->proxy_read_timeout;
                if (s->service->mode == LBD_SERVICE_MODE_TCP) {
                        s->tcp->connect_ms = (uint32_t)(now - s->tcp->start_ms + 1);
                        /* tcp: the connect time is the response time. */
                        lbd_table_report_success(s->worker->table, s->backend,
                                                 (uint32_t)(session_now_us() -
                                                            s->tcp->connect_start_us));
                }
                /* A tcp connection counts as one request. */
                lbd_table_count_request(s->worker->table, s->backend);
                atomic_fetch_add_explicit(&s->worker->slot->requests, 1, memory_order_relaxed);
                return 1;
        }
        if (err == EINPROGRESS || err == EALREADY)
                return 0; /* not yet */
        log_full(LOG_WARNING, s->service->name, "connect to %s failed: %s; trying another backend",
                 session_backend_text(s), strerror(err));
        session_backend_failed(s, strerror(err));
        session_close_fd(&s->ufd);
        return session_start_connect(s) < 0 ? -1 : 0;
}

int lbd_session_run(struct lbd_session *s, struct lbd_wait *wait) {
        uint64_t now = 0;
        for (;;) {
                switch (s->state) {
                case SESSION_CONNECTING:
                        if (s->ufd < 0) {
                                if (session_start_connect(s) < 0) {
                                        log_full(LOG_ERR, s->service->name,
                                                 "no backend reachable; closing the client "
                                                 "connection");
                                        s->state = SESSION_DONE;
                                        continue;
                                }
                        } else {
                                int r = finish_connect(s);
                                if (r < 0) {
                                        log_full(LOG_ERR, s->service->name,
                                                 "no backend reachable; closing the client "
                                                 "connection");
                                        s->state = SESSION_DONE;
                                        continue;
                                }
                                if (r > 0)
                                        continue;
                        }
                        if (!now)
                                now = lbd_now_ms();
                        if (s->deadline_ms && now >= s->deadline_ms) {
                                log_full(LOG_WARNING, s->service->name,
                                         "connect to %s timed out; trying another backend",
                                         session_backend_text(s));
                                session_backend_failed(s, "connect timed out");
                                session_close_fd(&s->ufd);
                                continue; /* start_connect picks the next */
                        }
                        session_fill_relay_wait(s, wait);
                        return 1;
                case SESSION_RELAY:
                        if (s->deadline_ms && (now ? now : (now = lbd_now_ms())) >= s->deadline_ms &&
                            s->up.start == s->up.end && s->down.start == s->down.end) {
                                /* Nothing moved for proxy-read-timeout. */
                                s->state = SESSION_DONE;
                                continue;
                        }
                        if (session_relay(s) == 0) {
                                s->state = SESSION_DONE;
                                continue;
                        }
                        session_fill_relay_wait(s, wait);
                        return 1;
                case SESSION_HTTP: {
                        int r = http_session_run(s, wait);
                        if (r == 2)
                                continue; /* switched to SESSION_RELAY */
                        return r;
                }
                case SESSION_DONE:
                        return 0;
                }
        }
}
