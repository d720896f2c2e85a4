/* SPDX-License-Identifier: MIT */
/*
 * The tcp mode of sessions: connect to a backend (retrying others), then
 * relay bytes both ways with half-close, until both directions are shut or
 * nothing moved for proxy-read-timeout. The relay is also the tunnel mode
 * that an http session becomes after a 101 Switching Protocols, with the
 * buffers the http mode hands over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "access-log.h"
#include "engine.h"
#include "log.h"
#include "session-private.h"

enum tcp_phase {
        TCP_CONNECTING,
        TCP_RELAY,
};

/* For the tcp mode's access log line: after the session (mode->extra), so
 * an http connection does not pay for it. */
struct tcp_stats {
        uint64_t start_us;
        uint64_t start_ms;
        uint64_t sent;       /* to the client */
        uint64_t received;   /* from the client */
        uint32_t connect_ms; /* connect time + 1; 0: never connected */
};

static struct tcp_stats *tcp_stats(struct lbd_session *s) {
        return (struct tcp_stats *)s->extra;
}

/* ---- the relay ---------------------------------------------------------- */

static bool again(void) { return errno == EAGAIN || errno == EINTR; }

static bool shut_when_done(struct lbd_session *s, struct direction *d, unsigned to) {
        if (d->shut)
                return false;
        session_shutdown(s, to);
        d->shut = true;
        return true;
}

/* pump() for a spliced direction whose buffer is empty: socket to pipe,
 * pipe to socket, the bytes never in user space. */
static bool pump_spliced(struct lbd_session *s, struct direction *d, unsigned from,
                         uint64_t *total, int *error) {
        unsigned to = !from;
        bool progress = false;
        for (;;) {
                if (d->piped) {
                        ssize_t n = session_splice_out(s, to, d->pipe[0], d->piped);
                        if (n < 0) {
                                if (!again())
                                        *error = -errno;
                                return progress;
                        }
                        d->piped -= (uint32_t)n;
                        if (total)
                                *total += (uint64_t)n;
                        progress = true;
                        if (d->piped)
                                return progress; /* socket buffer full */
                }
                if (d->eof)
                        return shut_when_done(s, d, to) || progress;
                ssize_t n = session_splice_in(s, from, d->pipe[1], SPLICE_PIPE_SIZE);
                if (n < 0) {
                        if (!again())
                                *error = -errno;
                        return progress;
                }
                progress = true;
                if (n == 0)
                        d->eof = true;
                else
                        d->piped = (uint32_t)n;
        }
}

/* Move bytes from side `from` to the other side through d, adding what was
 * written to *total (if not NULL). Returns true if anything moved, and -1
 * in *error on a fatal error. */
static bool pump(struct lbd_session *s, struct direction *d, unsigned from, uint64_t *total,
                 int *error) {
        unsigned to = !from;
        bool progress = false;
        for (;;) {
                if (d->start < d->end) {
                        ssize_t n = session_send(s, to, d->buf + d->start, d->end - d->start);
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
                if (d->spliced) {
                        session_direction_release(d); /* the pipe from now on */
                        return pump_spliced(s, d, from, total, error) || progress;
                }
                if (d->eof) {
                        progress |= shut_when_done(s, d, to);
                        session_direction_release(d);
                        return progress;
                }
                if (session_read_idle(s, from)) {
                        session_direction_release(d); /* idle: no buffer */
                        return progress;
                }
                if (!d->buf) {
                        d->buf = malloc(RELAY_BUFFER_SIZE);
                        if (!d->buf) {
                                *error = -ENOMEM;
                                return progress;
                        }
                }
                ssize_t n = session_recv(s, from, d->buf, RELAY_BUFFER_SIZE);
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
                if ((size_t)n == RELAY_BUFFER_SIZE)
                        session_direction_splice(d); /* bulk: once this buffer is out */
        }
}

/* Relay bytes both ways, counting them in stats (NULL: the tunnel does
 * not). 0 when finished, 1 to wait. */
static int relay(struct lbd_session *s, struct tcp_stats *stats) {
        int error = 0;
        bool progress, any = false;
        do {
                progress = pump(s, &s->up, 0, stats ? &stats->received : NULL, &error);
                if (error)
                        break;
                progress |= pump(s, &s->down, 1, stats ? &stats->sent : NULL, &error);
                any |= progress;
        } while (progress && !error);
        if (any) /* the idle timeout counts from the last byte moved */
                s->deadline_ms = lbd_now_ms() + 1000ull * s->service->proxy_read_timeout;
        if (error) {
                if (error != -ECONNRESET && error != -EPIPE)
                        log_full_errno(LOG_DEBUG, error, s->service->name, "relay ended: %m");
                return 0;
        }
        return !(s->up.shut && s->down.shut);
}

/* Read where a direction is open and empty, write where it has bytes
 * waiting. */
static void fill_relay_wait(struct lbd_session *s, struct lbd_wait *wait) {
        session_fill_wait_fds(s, wait);
        if (!s->up.eof && !direction_pending(&s->up))
                wait->events[0] |= LBD_WAIT_READ;
        if (direction_pending(&s->up))
                wait->events[1] |= LBD_WAIT_WRITE;
        if (!s->down.eof && !direction_pending(&s->down))
                wait->events[1] |= LBD_WAIT_READ;
        if (direction_pending(&s->down))
                wait->events[0] |= LBD_WAIT_WRITE;
}

/* One run of the relay: SESSION_RUN_DONE or SESSION_RUN_WAIT. */
static int run_relay(struct lbd_session *s, struct tcp_stats *stats, struct lbd_wait *wait) {
        if (s->deadline_ms && lbd_now_ms() >= s->deadline_ms && !direction_pending(&s->up) &&
            !direction_pending(&s->down))
                return SESSION_RUN_DONE; /* nothing moved for proxy-read-timeout */
        if (relay(s, stats) == 0)
                return SESSION_RUN_DONE;
        fill_relay_wait(s, wait);
        return SESSION_RUN_WAIT;
}

/* ---- the tcp mode --------------------------------------------------------- */

static void tcp_start(struct lbd_session *s) {
        s->phase = TCP_CONNECTING;
        tcp_stats(s)->start_us = lbd_now_us();
        tcp_stats(s)->start_ms = tcp_stats(s)->start_us / LBD_USEC_PER_MSEC;
}

/* The connect under way: 1 connected (relaying), 0 not yet or another
 * backend is being tried, -1 none is left. */
static int finish_connect(struct lbd_session *s) {
        /* Not SO_ERROR alone: it is 0 while the handshake is under way, and
         * a run may come for the client's bytes before the connect is done. */
        int err = session_connect_result(s);
        if (err == 0) {
                uint64_t now = lbd_now_ms();
                struct tcp_stats *st = tcp_stats(s);
                s->phase = TCP_RELAY;
                s->deadline_ms = now + 1000ull * s->service->proxy_read_timeout;
                st->connect_ms = (uint32_t)(now - st->start_ms + 1);
                /* tcp: the connect time is the response time, and a
                 * connection counts as one request. */
                uint64_t connect_us = lbd_now_us() - s->attempt_us;
                lbd_table_report_success(s->worker->table, s->backend, (uint32_t)connect_us);
                lbd_table_count_connected(s->worker->table, s->backend, false, connect_us);
                lbd_table_count_request(s->worker->table, s->backend);
                atomic_fetch_add_explicit(&s->worker->slot->requests, 1, memory_order_relaxed);
                return 1;
        }
        if (err == EINPROGRESS)
                return 0; /* not yet */
        log_full_errno(LOG_WARNING, err, s->service->name,
                       "connect to %s failed: %m; trying another backend", session_backend_text(s));
        session_backend_failed(s, true, strerror(err));
        session_close_fd(&s->ufd);
        return session_start_connect(s) < 0 ? -1 : 0;
}

/* TCP_CONNECTING: 1 connected, 0 waiting (wait filled), -1 no backend. */
static int connect_step(struct lbd_session *s, struct lbd_wait *wait) {
        for (;;) {
                int r = s->ufd < 0 ? session_start_connect(s) : finish_connect(s);
                if (r != 0)
                        return r;
                if (!s->deadline_ms || lbd_now_ms() < s->deadline_ms)
                        break;
                log_full(LOG_WARNING, s->service->name,
                         "connect to %s timed out; trying another backend",
                         session_backend_text(s));
                session_backend_failed(s, true, "connect timed out");
                session_close_fd(&s->ufd); /* start_connect picks the next */
        }
        session_fill_wait_fds(s, wait);
        wait->events[1] = LBD_WAIT_WRITE;
        return 0;
}

static int tcp_run(struct lbd_session *s, struct lbd_wait *wait) {
        if (s->phase == TCP_CONNECTING) {
                int r = connect_step(s, wait);
                if (r == 0)
                        return SESSION_RUN_WAIT;
                if (r < 0) {
                        log_full(LOG_ERR, s->service->name,
                                 "no backend reachable; closing the client connection");
                        return SESSION_RUN_DONE;
                }
        }
        return run_relay(s, tcp_stats(s), wait);
}

/* The statistics and the access log line of a tcp connection
 * (traffic-stats.h, access-log.h). */
static void tcp_free(struct lbd_session *s) {
        const struct tcp_stats *st = tcp_stats(s);
        struct lbd_exchange x = {
                .status = st->connect_ms ? 200 : 502,
                .bytes_in = st->received,
                .bytes_out = st->sent,
                .total_us = lbd_now_us() - st->start_us,
        };
        lbd_table_count_exchange(s->worker->table, s->pool, s->tries > 0 ? (long)s->backend : -1,
                                 &x);
        if (!lbd_access_log_enabled())
                return;
        uint64_t now = lbd_now_ms();
        struct lbd_access_entry e = {
                .tcp = true,
                .client_family = s->peer_family,
                .client_addr = s->peer_addr,
                .service = s->service->name,
                .status = tcp_stats(s)->connect_ms ? 200 : 502,
                .bytes_sent = tcp_stats(s)->sent,
                .bytes_received = tcp_stats(s)->received,
                .upstream = s->tries > 0 ? session_backend_text(s) : NULL,
                .upstream_ms = tcp_stats(s)->connect_ms ? (int64_t)tcp_stats(s)->connect_ms - 1
                                                  : (int64_t)(now - tcp_stats(s)->start_ms),
                .request_ms = now - tcp_stats(s)->start_ms,
                .connect_ms = tcp_stats(s)->connect_ms ? (int64_t)tcp_stats(s)->connect_ms - 1
                                                       : -1,
                .header_ms = -1,
                .retries = s->tries > 1 ? s->tries - 1 : 0,
        };
        lbd_access_log_write(&e);
}

const struct session_mode session_mode_tcp = {
        .name = "tcp",
        .extra = sizeof(struct tcp_stats),
        .start = tcp_start,
        .run = tcp_run,
        .free = tcp_free,
};

/* ---- the tunnel: an http connection after a 101 ------------------------- */

static void tunnel_start(struct lbd_session *s) {
        s->deadline_ms = lbd_now_ms() + 1000ull * s->service->proxy_read_timeout;
}

static int tunnel_run(struct lbd_session *s, struct lbd_wait *wait) {
        return run_relay(s, NULL, wait);
}

const struct session_mode session_mode_tunnel = {
        .name = "tunnel",
        .start = tunnel_start,
        .run = tunnel_run,
};
