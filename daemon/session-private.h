/* SPDX-License-Identifier: MIT */
/*
 * Inside the proxy engine's sessions: what session.c (accept, backend
 * choice, connect, the tcp byte relay) and session-http.c (the http mode)
 * share. Not an interface for anything else.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

#define RELAY_BUFFER_SIZE (16u * 1024u)
/* How many backends one request (http) or connection (tcp) tries before
 * giving up; each retry goes to another backend, like nginx's
 * proxy_next_upstream error timeout with proxy_next_upstream_tries. */
#define MAX_CONNECT_TRIES 3u

enum session_state {
        SESSION_CONNECTING, /* tcp: connecting to a backend */
        SESSION_RELAY,      /* tcp, and http after 101/Upgrade: byte relay */
        SESSION_HTTP,       /* http: the request/response machine (session-http.c) */
        SESSION_DONE,
};

/* One direction of a relay: bytes read from `from` wait in buf until written
 * to `to`. The buffer is allocated on first use and freed when empty, so an
 * idle connection costs no buffer memory. A buffer handed over from the
 * http mode may be larger than RELAY_BUFFER_SIZE, never smaller. */
struct direction {
        char *buf;
        uint32_t start, end;
        bool eof;      /* read returned 0 */
        bool shut;     /* shutdown(to, SHUT_WR) done after eof and drain */
};

/* tcp mode only, for its access log line: allocated after the session of a
 * tcp service (struct lbd_session.tcp), so an http connection does not pay
 * for it. */
struct session_tcp_stats {
        uint64_t start_ms;
        uint64_t connect_start_us; /* this connect attempt began (latency) */
        uint64_t sent;          /* to the client */
        uint64_t received;      /* from the client */
        uint32_t connect_ms;    /* connect time + 1; 0: never connected */
};

struct http_txn;

/* Kept small: an idle keep-alive http connection is this struct and its fd
 * (no buffer, no parser: those live in struct http_txn, attached only while
 * a request is under way). */
struct lbd_session {
        struct lbd_worker *worker;
        const struct lbd_listener *listener;
        const struct lbd_service_config *service;
        struct http_txn *txn;   /* http: the request under way, or NULL */
        enum session_state state;
        int cfd; /* client */
        int ufd; /* upstream */
        /* http: an upstream fd to hand to the pool once the worker model
         * stopped watching it for this session (LBD_WAIT_DETACH). */
        int detach_fd;
        bool ufd_new;
        bool cfd_new;
        uint8_t http_phase;     /* session-http.c's enum */
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
        struct session_tcp_stats tcp[]; /* tcp services only: one */
};

void session_close_fd(int *fd);
void session_direction_release(struct direction *d);
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
void session_backend_failed(struct lbd_session *s, const char *reason);
/* The address text of s->backend (valid while it is held, and until the
 * master reuses the slot after that). */
const char *session_backend_text(const struct lbd_session *s);
uint64_t session_now_us(void);
/* Connect to backend slot i (s->ufd); 0 under way, -1 failed at once (logged,
 * and kept for session_last_connect_error()). */
int session_connect_to(struct lbd_session *s, long i);
/* The result of a non-blocking connect of s->ufd: 0 connected, EINPROGRESS
 * not yet, else the error. */
int session_connect_result(struct lbd_session *s);
/* Relay bytes both ways (SESSION_RELAY); 0 when finished. */
int session_relay(struct lbd_session *s);
/* The fds, their news and the deadline; no events yet. */
void session_fill_wait_fds(struct lbd_session *s, struct lbd_wait *wait);
void session_fill_relay_wait(struct lbd_session *s, struct lbd_wait *wait);

/* http mode (session-http.c) */
void http_session_start(struct lbd_session *s);
/* Run the http machine: 1 waiting (wait filled), 0 done; may switch the
 * session to SESSION_RELAY (after a 101) and return 2 to be run again. */
int http_session_run(struct lbd_session *s, struct lbd_wait *wait);
void http_session_free(struct lbd_session *s);
