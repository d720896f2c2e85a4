/* SPDX-License-Identifier: MIT */
/*
 * Inside the proxy engine's sessions: the session, its modes' operations,
 * and what session-common.c gives every mode (fds, waiting, the backend
 * choice, connecting). Calls run one way: session.c (the core) runs a mode
 * through its struct session_mode; the modes (session-tcp.c,
 * session-http.c) call session-common.c, which calls neither. Not an
 * interface for anything outside the engine.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "engine.h"

#define RELAY_BUFFER_SIZE (16u * 1024u)
/* How many backends one request (http) or connection (tcp) tries before
 * giving up; each retry goes to another backend, like nginx's
 * proxy_next_upstream error timeout with proxy_next_upstream_tries. */
#define MAX_CONNECT_TRIES 3u

struct lbd_session;

/* What a mode's run() returns. */
enum {
        SESSION_RUN_DONE = 0,  /* finished: the model frees the session */
        SESSION_RUN_WAIT = 1,  /* waiting for what wait says */
        SESSION_RUN_AGAIN = 2, /* the session switched mode (s->mode): run it again */
};

/* A proxy mode, as the core sees it (nginx's upstream handlers, one
 * table per protocol). */
struct session_mode {
        const char *name;
        size_t extra; /* bytes the mode wants after struct lbd_session */
        void (*start)(struct lbd_session *s); /* right after accept */
        int (*run)(struct lbd_session *s, struct lbd_wait *wait);
        /* Before the core closes the fds and gives back the backend (the
         * access log line names it); may be NULL. */
        void (*free)(struct lbd_session *s);
};

extern const struct session_mode session_mode_tcp;    /* session-tcp.c */
extern const struct session_mode session_mode_tunnel; /* session-tcp.c: after a 101 */
extern const struct session_mode session_mode_http;   /* session-http.c */

/* One direction of a relay: bytes read from `from` wait in buf until written
 * to `to`. The buffer is allocated on first use and freed when empty, so an
 * idle connection costs no buffer memory. A buffer handed over from the
 * http mode may be larger than RELAY_BUFFER_SIZE, never smaller. */
struct direction {
        char *buf;
        uint32_t start, end;
        bool eof;      /* read returned 0 */
        bool shut;     /* shutdown(to, SHUT_WR) done after eof and drain */
        /* Bulk (a read filled the whole buffer): the bytes go through a pipe
         * with splice() instead, never through user space (HAProxy's
         * splice-auto). pipe[] is valid only when spliced; piped bytes wait
         * in it. */
        bool spliced;
        int pipe[2];
        uint32_t piped;
};

/* Bytes of d read and not yet written. */
static inline uint32_t direction_pending(const struct direction *d) {
        return d->end - d->start + d->piped;
}

struct http_txn;

/* Kept small: an idle keep-alive http connection is this struct and its fd
 * (no buffer, no parser: those live in struct http_txn, attached only while
 * a request is under way). */
struct lbd_session {
        struct lbd_worker *worker;
        const struct lbd_listener *listener;
        const struct lbd_service_config *service;
        const struct session_mode *mode;
        struct http_txn *txn;   /* http: the request under way, or NULL */
        int cfd; /* client */
        int ufd; /* upstream */
        /* http: an upstream fd to hand to the pool once the worker model
         * stopped watching it for this session (LBD_WAIT_DETACH). */
        int detach_fd;
        uint8_t cfd_new, ufd_new; /* enum lbd_fd_news, for the next wait */
        /* What may be tried on cfd (0) and ufd (1) without a system call
         * that can only fail with EAGAIN: enum lbd_ready_events (nginx's
         * ready flags). See session_recv(). */
        uint8_t ready[2];
        uint8_t phase;          /* the mode's own state */
        uint8_t peer_family;    /* AF_INET, AF_INET6, AF_UNIX */
        uint8_t peer_addr[16];  /* the client's address, for X-Forwarded-For */
        bool holding;           /* backend's active count raised (by the pick) */
        struct direction up;   /* client → upstream */
        struct direction down; /* upstream → client */
        unsigned tries;
        int pool;               /* the service's pool in the backend table */
        uint32_t backend;       /* the table slot of the last backend picked */
        uint32_t tried[MAX_CONNECT_TRIES]; /* slots this request tried, tries of them */
        uint64_t deadline_ms;
        uint64_t attempt_us;    /* this try at a backend began (its latency) */
        uint64_t extra[];       /* the mode's mode->extra bytes (8-aligned) */
};

/* Close a socket of the session (or the upstream connection it detaches),
 * through the model when it carries the bytes; sets *fd to -1. */
void session_close_fd(int *fd);
/* shutdown(SHUT_WR) of side's socket, once what was sent on it is out. */
void session_shutdown(struct lbd_session *s, unsigned side);
/* Give the buffer back (an idle direction). */
void session_direction_release(struct direction *d);
/* At the session's end: the buffer and the pipe. */
void session_direction_close(struct direction *d);
/* Bulk: move d to a pipe of its own for splice(), if one can be had (at
 * most a few hundred per thread); else it goes on through its buffer. */
#define SPLICE_PIPE_SIZE (256u * 1024u)
void session_direction_splice(struct direction *d);
/* Pick a backend and start a non-blocking connect (s->ufd, s->backend).
 * Returns 0 when a connect is under way, -1 when no backend is left. */
int session_start_connect(struct lbd_session *s);
/* The longest of those texts, with its NUL. */
#define SESSION_CONNECT_ERROR_MAX 640u
/* A connect of s->backend failed with err: "ADDRESS: why" (a refused unix
 * socket says who the worker is and what mode the socket has), kept for
 * session_last_connect_error() until the thread's next failed connect. */
const char *session_note_connect_error(struct lbd_session *s, int err);
/* That text, if the last failed connect of this thread was s's; else NULL.
 * For the 502 answered when no backend is left. */
const char *session_last_connect_error(const struct lbd_session *s);
/* Pick the next backend to try through the shared table (the service's
 * policy), not one this request tried already; its slot, or -1 if none is
 * usable or MAX_CONNECT_TRIES were made. Gives back the backend held
 * before. The caller counts the try (s->tries++). */
long session_pick_backend(struct lbd_session *s);
/* Give back the backend this session holds (its active count), if any.
 * After the access log line that names it. */
void session_release_backend(struct lbd_session *s);
/* Passive health: how the backend in s->backend did. */
void session_backend_failed(struct lbd_session *s, bool connecting, const char *reason);
/* The address text of s->backend (valid while it is held, and until the
 * master reuses the slot after that). */
const char *session_backend_text(const struct lbd_session *s);
/* Connect to backend slot i (s->ufd); 0 under way, -1 failed at once (logged,
 * and kept for session_last_connect_error()). */
int session_connect_to(struct lbd_session *s, long i);
/* The result of a non-blocking connect of s->ufd: 0 connected, EINPROGRESS
 * not yet, else the error. */
int session_connect_result(struct lbd_session *s);
/* ---- I/O: the session's only way to its fds' bytes ---------------------
 *
 * side 0 is the client (cfd), 1 the upstream (ufd). A call that readiness
 * says would fail fails with EAGAIN without a system call. A short read or
 * write ends readiness when the model reports it (the next edge brings it
 * back), unless the peer's close was reported with it (read on to the
 * end); else only EAGAIN ends it, until the next run. */
ssize_t session_recv(struct lbd_session *s, unsigned side, void *buf, size_t len);
ssize_t session_send(struct lbd_session *s, unsigned side, const void *buf, size_t len);
/* splice() from side's socket into a pipe, or from a pipe to side's
 * socket, with the same readiness rules. */
ssize_t session_splice_in(struct lbd_session *s, unsigned side, int pipe_w, size_t len);
ssize_t session_splice_out(struct lbd_session *s, unsigned side, int pipe_r, size_t len);
/* sendmsg() of len bytes in total. */
ssize_t session_sendmsg(struct lbd_session *s, unsigned side, const struct msghdr *mh,
                        size_t len);
/* Whether readiness says a read of side would find nothing now. */
bool session_read_idle(const struct lbd_session *s, unsigned side);
/* At each run's start: without reported readiness, anything may have come. */
void session_ready_assume(struct lbd_session *s);
/* The fds, their news and the deadline; no events yet. */
void session_fill_wait_fds(struct lbd_session *s, struct lbd_wait *wait);
