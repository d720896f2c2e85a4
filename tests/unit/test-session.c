/* SPDX-License-Identifier: MIT */
/*
 * The session state machine (daemon/proxy/session*.c) through a fake
 * worker host: the test is the worker model (it runs a session, then
 * poll()s exactly what struct lbd_wait asks for) and, between runs, the
 * client and the backend, on unix sockets in a temporary directory. The
 * engine is the one lbd runs; only the worker process around it is
 * missing (no fork, no plugin).
 *
 * Each case says what a user would see: the bytes the client gets, what
 * the backend got, how many connections it accepted, and the backend's
 * counters in the shared table.
 *
 * Every case runs under three models: one that reports nothing (the
 * session reads until EAGAIN), one that reports readiness from an
 * edge-triggered epoll as the event model does (a short read is "nothing
 * more"; an edge comes once), and one that also keeps idle upstream
 * connections watched and reports their events to the engine's pool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend-table.h"
#include "config-files.h"
#include "engine.h"
#include "upstream-pool.h"

#define BUF 65536
/* What a case may take, at most; a case that hangs fails instead. */
#define CASE_MS 3000u

/* The model under test (enum lbd_worker_features), set per group. */
static uint32_t model_features;

/* The backend, as a test plays it: accepts, reads a request head (and
 * any body that came with it), answers `response` once, then closes if
 * told to. */
struct backend {
        int listen_fd;
        int fd;
        unsigned accepted;
        char got[BUF];
        size_t got_len;
        size_t answered_at; /* got_len when the last answer went out */
        unsigned answers;
        const char *response; /* NULL: never answers */
        bool close_after;     /* close once the answer is written */
        bool close_at_once;   /* close without reading or answering */
        bool tunnel;          /* after answering: echo "pong" for "ping" */
};

struct fx {
        char dir[64];
        char listen_path[100];
        char backend_path[100];
        struct lbd_config *config;
        struct lbd_table *table;
        struct lbd_worker_slot slot;
        struct lbd_listener listener;
        struct lbd_worker_identity identity;
        struct lbd_worker_params params;
        volatile sig_atomic_t stop;
        int pool;
        struct lbd_worker w;
        struct lbd_session *s;
        struct lbd_wait wait;
        bool session_done;
        int client;
        char got[BUF];
        size_t got_len;
        bool client_eof;
        /* The client does not read (what it reads wakes the session's side
         * of a unix socket for writing, and such an edge reports readable
         * again too: a test of edges must keep still). */
        bool client_still;
        struct backend be;
        /* A reporting model's epoll (edge-triggered) and whose each fd is:
         * 0 client, 1 upstream, 2 idle in the pool. */
        int epfd;
        int idle_fd;
        uint8_t role[1024];
};

/* ---- setting up --------------------------------------------------------- */

static int unix_listener(const char *path) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        assert_int_equal(listen(fd, 16), 0);
        return fd;
}

static int unix_connect(const char *path) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        return fd;
}

/* A worker of one service (mode, extra lines) with one backend, the
 * backend listening unless no_backend. */
static struct fx *fx_new(const char *mode, const char *extra, bool no_backend) {
        struct fx *f = calloc(1, sizeof *f);
        assert_non_null(f);
        snprintf(f->dir, sizeof f->dir, "/tmp/lbd-test-session-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->listen_path, sizeof f->listen_path, "%s/lbd.sock", f->dir);
        snprintf(f->backend_path, sizeof f->backend_path, "%s/backend.sock", f->dir);
        g_autofree char *text = g_strdup_printf("[daemon]\nkeepalive=5\n"
                                                "[service web]\nlisten=unix:%s\nmode=%s\n"
                                                "backends=unix:%s\n%s",
                                                f->listen_path, mode, f->backend_path,
                                                extra ? extra : "");
        g_autofree char *error = NULL;
        f->config = lbd_config_load_from_data(text, "test.conf", &error);
        if (!f->config)
                print_error("config: %s\n", error);
        assert_non_null(f->config);
        f->table = lbd_table_new();
        assert_non_null(f->table);
        g_autofree char *reason = NULL;
        assert_int_equal(lbd_table_sync(f->table, f->config, &reason), 0);
        lbd_table_pool_hold(f->table, f->config);
        f->pool = lbd_table_pool_find(f->table, "web");
        assert_true(f->pool >= 0);

        const struct lbd_service_config *svc = f->config->services->pdata[0];
        f->listener.fd = unix_listener(f->listen_path);
        f->listener.service = svc;
        f->listener.address = g_array_index(svc->listen, struct lbd_address, 0);
        snprintf(f->identity.text, sizeof f->identity.text, "the test (uid %u)",
                 (unsigned)getuid());
        f->params = (struct lbd_worker_params){
                .config = f->config,
                .table = f->table,
                .slot = &f->slot,
                .listeners = &f->listener,
                .n_listeners = 1,
                .identity = &f->identity,
        };
        f->w = (struct lbd_worker){
                .params = &f->params,
                .config = f->config,
                .slot = &f->slot,
                .listen_fds = &f->listener.fd,
                .stop_request = &f->stop,
                .table = f->table,
                .listener_pool = &f->pool,
        };
        f->w.features = model_features;
        f->epfd = model_features ? epoll_create1(EPOLL_CLOEXEC) : -1;
        f->idle_fd = -1;
        f->be.fd = -1;
        f->be.listen_fd = no_backend ? -1 : unix_listener(f->backend_path);
        f->client = -1;
        return f;
}

static void fx_free(struct fx *f) {
        lbd_session_free(f->s);
        /* The pool is the thread's, kept across cases: what a watching
         * model would report once this backend is gone empties it. */
        if (f->idle_fd >= 0)
                lbd_engine_idle_event(&f->w, f->idle_fd, LBD_READY_HUP);
        if (f->client >= 0)
                close(f->client);
        if (f->be.fd >= 0)
                close(f->be.fd);
        if (f->be.listen_fd >= 0)
                close(f->be.listen_fd);
        close(f->listener.fd);
        if (f->epfd >= 0)
                close(f->epfd);
        unlink(f->listen_path);
        unlink(f->backend_path);
        rmdir(f->dir);
        lbd_table_pool_release(f->table, f->config);
        lbd_table_free(f->table);
        lbd_config_free(f->config);
        free(f);
}

/* A client connects and the worker accepts it. */
static void fx_connect(struct fx *f) {
        f->client = unix_connect(f->listen_path);
        f->s = lbd_session_accept(&f->w, 0);
        assert_non_null(f->s);
        f->session_done = false;
        f->got_len = 0;
        f->client_eof = false;
}

static void client_send(struct fx *f, const char *data) {
        size_t n = strlen(data);
        assert_int_equal(send(f->client, data, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* ---- the three parties, one step each ----------------------------------- */

static void backend_step(struct backend *b) {
        if (b->listen_fd >= 0 && b->fd < 0) {
                int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                        return;
                b->accepted++;
                if (b->close_at_once) {
                        close(fd);
                        return;
                }
                b->fd = fd;
        }
        if (b->fd < 0)
                return;
        ssize_t n = recv(b->fd, b->got + b->got_len, sizeof b->got - 1 - b->got_len, 0);
        if (n == 0) {
                close(b->fd); /* the proxy let go of the connection */
                b->fd = -1;
                return;
        }
        if (n > 0) {
                b->got_len += (size_t)n;
                b->got[b->got_len] = '\0';
        }
        const char *since = b->got + b->answered_at;
        if (b->tunnel && b->answers > 0 && strstr(since, "ping")) {
                assert_int_equal(send(b->fd, "pong", 4, MSG_NOSIGNAL), 4);
                b->answered_at = b->got_len;
                return;
        }
        if (!b->response || !strstr(since, "\r\n\r\n"))
                return;
        size_t len = strlen(b->response);
        assert_int_equal(send(b->fd, b->response, len, MSG_NOSIGNAL), (ssize_t)len);
        b->answers++;
        b->answered_at = b->got_len;
        if (b->close_after) {
                close(b->fd);
                b->fd = -1;
        }
}

static void client_step(struct fx *f) {
        if (f->client < 0 || f->client_eof || f->client_still)
                return;
        ssize_t n = recv(f->client, f->got + f->got_len, sizeof f->got - 1 - f->got_len,
                         MSG_DONTWAIT);
        if (n == 0)
                f->client_eof = true;
        if (n > 0) {
                f->got_len += (size_t)n;
                f->got[f->got_len] = '\0';
        }
}

/* A reporting model: register a new fd once, edge-triggered (the event
 * model's registration); one from the pool is registered already. */
static void model_watch(struct fx *f) {
        for (int i = 0; i < 2; i++) {
                int fd = f->wait.fd[i];
                if (fd < 0 || !f->wait.fd_new[i])
                        continue;
                assert_true(fd < (int)sizeof f->role);
                f->role[fd] = (uint8_t)i;
                if (f->wait.fd_new[i] == LBD_FD_FROM_IDLE) {
                        assert_int_equal(fd, f->idle_fd); /* the one it kept watching */
                        f->idle_fd = -1;
                        continue;
                }
                struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                          .data.fd = fd };
                assert_int_equal(epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev), 0);
        }
}

/* A reporting model: what epoll saw goes to the session or the pool. */
static void model_report(struct fx *f) {
        struct epoll_event evs[8];
        int n = epoll_wait(f->epfd, evs, 8, 0);
        for (int i = 0; i < n; i++) {
                uint32_t e = evs[i].events;
                uint32_t ready = (e & EPOLLIN ? LBD_READY_READ : 0) |
                                 (e & EPOLLOUT ? LBD_READY_WRITE : 0) |
                                 (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR) ? LBD_READY_HUP : 0);
                int fd = evs[i].data.fd;
                if (fd == f->idle_fd) {
                        lbd_engine_idle_event(&f->w, fd, ready);
                        if (fcntl(fd, F_GETFD) < 0)
                                f->idle_fd = -1; /* the pool closed it */
                } else if (f->s && !f->session_done) {
                        lbd_session_ready(f->s, f->role[fd], ready);
                }
        }
}

/* The fake worker host: run the session, then wait (poll) for what it
 * asked, or for the client or the backend, a few milliseconds at most. */
static void session_step(struct fx *f) {
        struct pollfd p[6];
        nfds_t n = 0;
        if (f->s && !f->session_done) {
                int r = lbd_session_run(f->s, &f->wait);
                if (r == 0) {
                        f->session_done = true;
                } else {
                        assert_int_equal(r, 1);
                        if (f->epfd >= 0 && (f->wait.events[1] & LBD_WAIT_DETACH)) {
                                if (model_features & LBD_WORKER_WATCHES_IDLE)
                                        f->idle_fd = f->wait.fd[1]; /* still watched */
                                else
                                        (void)epoll_ctl(f->epfd, EPOLL_CTL_DEL, f->wait.fd[1],
                                                        NULL);
                                return;
                        }
                        if (f->epfd >= 0)
                                model_watch(f);
                        for (int i = 0; i < 2 && f->epfd < 0; i++) {
                                if (f->wait.events[i] & LBD_WAIT_DETACH)
                                        return; /* forgotten; run again at once */
                                short ev = 0;
                                if (f->wait.events[i] & LBD_WAIT_READ)
                                        ev |= POLLIN;
                                if (f->wait.events[i] & LBD_WAIT_WRITE)
                                        ev |= POLLOUT;
                                if (ev && f->wait.fd[i] >= 0)
                                        p[n++] = (struct pollfd){ .fd = f->wait.fd[i],
                                                                  .events = ev };
                        }
                }
        }
        if (f->client >= 0 && !f->client_eof)
                p[n++] = (struct pollfd){ .fd = f->client, .events = POLLIN };
        if (f->be.fd >= 0)
                p[n++] = (struct pollfd){ .fd = f->be.fd, .events = POLLIN };
        if (f->be.listen_fd >= 0)
                p[n++] = (struct pollfd){ .fd = f->be.listen_fd, .events = POLLIN };
        if (f->epfd >= 0)
                p[n++] = (struct pollfd){ .fd = f->epfd, .events = POLLIN };
        (void)poll(p, n, 5);
        if (f->epfd >= 0)
                model_report(f);
}

typedef bool (*until_fn)(const struct fx *f);

/* Run everything until done(f); fails the case after CASE_MS. */
static void run_until(struct fx *f, until_fn done) {
        uint64_t end = lbd_now_ms() + CASE_MS;
        while (!done(f)) {
                if (lbd_now_ms() > end)
                        fail_msg("timed out; the client got %zu bytes:\n%s\nthe backend got:\n%s",
                                 f->got_len, f->got, f->be.got);
                session_step(f);
                backend_step(&f->be);
                client_step(f);
        }
}

/* A whole response at the client: its head, and as many body bytes as
 * its Content-Length says (or the close, without one). */
static bool response_in(const struct fx *f) {
        const char *end = strstr(f->got, "\r\n\r\n");
        if (!end)
                return f->client_eof;
        const char *cl = strcasestr(f->got, "\r\nContent-Length: ");
        if (!cl || cl > end)
                return f->client_eof;
        size_t want = strtoul(cl + 18, NULL, 10);
        return f->got_len - (size_t)(end + 4 - f->got) >= want;
}

static bool session_over(const struct fx *f) { return f->session_done; }

/* The client has what it wanted and leaves; the session ends (without
 * the linger time a client that stays would cost). */
static void finish(struct fx *f) {
        shutdown(f->client, SHUT_WR);
        run_until(f, session_over);
}
static bool client_closed(const struct fx *f) { return f->client_eof; }

/* The session waits for the client's next request and for nothing else. */
static bool idle_keep_alive(const struct fx *f) {
        return !f->session_done && f->wait.fd[0] >= 0 && f->wait.events[0] == LBD_WAIT_READ &&
               (f->wait.fd[1] < 0 || f->wait.events[1] == 0) && response_in(f);
}

static struct lbd_backend_stats stats(const struct fx *f) {
        struct lbd_backend_stats st;
        g_autofree char *address = g_strdup_printf("unix:%s", f->backend_path);
        assert_int_equal(lbd_table_backend_stats(f->table, "web", address, &st), 0);
        return st;
}

static void assert_contains(const char *haystack, const char *needle) {
        if (!strstr(haystack, needle))
                fail_msg("'%s' not in:\n%s", needle, haystack);
}

/* ---- http ----------------------------------------------------------------- */

#define GET "GET /hello HTTP/1.1\r\nHost: example.test\r\n\r\n"
#define OK_HELLO "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

/* An http worker with one backend answering "hello", after one GET: the
 * client's connection kept alive, the backend's in the pool. */
static struct fx *fx_after_hello(void) {
        struct fx *f = fx_new("http", NULL, false);
        f->be.response = OK_HELLO;
        fx_connect(f);
        client_send(f, GET);
        run_until(f, idle_keep_alive);
        return f;
}

/* The client's next GET on its kept-alive connection, answered "hello". */
static void get_hello_again(struct fx *f) {
        f->got_len = 0;
        f->got[0] = '\0';
        client_send(f, GET);
        run_until(f, idle_keep_alive);
        assert_string_equal(strstr(f->got, "\r\n\r\n") + 4, "hello");
}

/* Keep-alive on both sides: two requests on one client connection go over
 * one backend connection (the second from the pool); the head the backend
 * gets is rewritten (X-Forwarded-For, X-Forwarded-Proto, Connection). */
static void test_http_keep_alive(void **state) {
        struct fx *f = fx_after_hello();
        assert_contains(f->got, "HTTP/1.1 200 OK\r\n");
        assert_contains(f->got, "Connection: keep-alive\r\n");
        assert_string_equal(strstr(f->got, "\r\n\r\n") + 4, "hello");
        assert_contains(f->be.got, "GET /hello HTTP/1.1\r\nHost: example.test\r\n");
        assert_contains(f->be.got, "X-Forwarded-For: unix:\r\n");
        assert_contains(f->be.got, "X-Forwarded-Proto: http\r\n");
        assert_contains(f->be.got, "Connection: keep-alive\r\n");

        get_hello_again(f);
        assert_int_equal(f->be.accepted, 1); /* the pooled connection again */
        assert_int_equal(f->be.answers, 2);

        finish(f); /* the client leaves: the session ends */
        struct lbd_backend_stats st = stats(f);
        assert_int_equal(st.requests, 2);
        assert_int_equal(st.failures, 0);
        assert_int_equal(f->slot.requests, 2);
        fx_free(f);
}

/* Gunicorn's sync worker closes after every response: a close after a
 * complete response is no failure, no retry and no 502. */
static void test_http_backend_closes_after_response(void **state) {
        struct fx *f = fx_new("http", NULL, false);
        f->be.response = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                         "hello";
        f->be.close_after = true;
        fx_connect(f);
        for (int i = 0; i < 3; i++) {
                f->got_len = 0;
                f->got[0] = '\0';
                client_send(f, GET);
                run_until(f, idle_keep_alive);
                assert_contains(f->got, "HTTP/1.1 200 OK\r\n");
                assert_contains(f->got, "Connection: keep-alive\r\n");
                assert_string_equal(strstr(f->got, "\r\n\r\n") + 4, "hello");
        }
        assert_int_equal(f->be.accepted, 3); /* a fresh connection each time */
        struct lbd_backend_stats st = stats(f);
        assert_int_equal(st.requests, 3);
        assert_int_equal(st.failures, 0);
        assert_int_equal(st.state, LBD_BACKEND_UP);
        fx_free(f);
}

/* A body the close delimits: relayed whole, with Connection: close. */
static void test_http_close_delimited(void **state) {
        struct fx *f = fx_new("http", NULL, false);
        f->be.response = "HTTP/1.1 200 OK\r\n\r\nuntil the close";
        f->be.close_after = true;
        fx_connect(f);
        client_send(f, GET);
        run_until(f, client_closed);
        assert_contains(f->got, "Connection: close\r\n");
        assert_string_equal(strstr(f->got, "\r\n\r\n") + 4, "until the close");
        finish(f);
        assert_int_equal(stats(f).failures, 0);
        fx_free(f);
}

/* A backend that closes before answering: a failure, and a 502 once no
 * other backend is left (the only one was tried). */
static void test_http_backend_closes_before_answer(void **state) {
        struct fx *f = fx_new("http", NULL, false);
        f->be.close_at_once = true;
        fx_connect(f);
        client_send(f, GET);
        run_until(f, response_in);
        assert_contains(f->got, "HTTP/1.1 502 Bad Gateway\r\n");
        assert_contains(f->got, "Connection: close\r\n");
        finish(f);
        assert_int_equal(f->be.accepted, 1);
        assert_int_equal(stats(f).failures, 1);
        fx_free(f);
}

/* No backend listening: 502, and the session ends. */
static void test_http_no_backend(void **state) {
        struct fx *f = fx_new("http", NULL, true);
        fx_connect(f);
        client_send(f, GET);
        run_until(f, response_in);
        assert_contains(f->got, "HTTP/1.1 502 Bad Gateway\r\n");
        finish(f);
        assert_int_equal(stats(f).failures, 1);
        fx_free(f);
}

/* A worker that was asked to stop answers what it is serving with
 * "Connection: close", then closes (the engine asks the worker's state). */
static void test_http_stopping_worker_closes(void **state) {
        struct fx *f = fx_new("http", NULL, false);
        f->be.response = OK_HELLO;
        fx_connect(f);
        f->stop = LBD_WORKER_STOPPING;
        client_send(f, GET);
        run_until(f, client_closed);
        assert_contains(f->got, "HTTP/1.1 200 OK\r\n");
        assert_contains(f->got, "Connection: close\r\n");
        assert_int_equal(f->slot.stopping, 1);
        finish(f);
        fx_free(f);
}

/* HTTP/1.0 without Host: the backend gets one (a unix backend's is
 * localhost), and a chunked answer is de-chunked for the old client. */
static void test_http_10_client(void **state) {
        struct fx *f = fx_new("http", NULL, false);
        f->be.response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        fx_connect(f);
        client_send(f, "GET / HTTP/1.0\r\n\r\n");
        run_until(f, client_closed);
        assert_contains(f->be.got, "GET / HTTP/1.1\r\nHost: localhost\r\n");
        assert_null(strcasestr(f->got, "Transfer-Encoding"));
        assert_contains(f->got, "Connection: close\r\n");
        assert_string_equal(strstr(f->got, "\r\n\r\n") + 4, "hello world");
        finish(f);
        fx_free(f);
}

/* A request line the parser refuses: 400 from lbd, the backend never
 * sees a byte. */
static void test_http_bad_request(void **state) {
        struct fx *f = fx_new("http", NULL, false);
        fx_connect(f);
        client_send(f, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n");
        run_until(f, response_in);
        assert_contains(f->got, "HTTP/1.1 400 Bad Request\r\n");
        finish(f);
        assert_int_equal(f->be.accepted, 0);
        fx_free(f);
}

static bool pong_in(const struct fx *f) { return strstr(f->got, "pong") != NULL; }
static bool upgraded(const struct fx *f) { return strstr(f->got, "\r\n\r\n") != NULL; }

/* 101 Switching Protocols: the http mode hands the connection to the
 * tunnel, which relays bytes both ways. */
static void test_http_upgrade_tunnel(void **state) {
        struct fx *f = fx_new("http", NULL, false);
        f->be.response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\n\r\n";
        f->be.tunnel = true;
        fx_connect(f);
        client_send(f, "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\n\r\n");
        run_until(f, upgraded);
        assert_contains(f->got, "HTTP/1.1 101 Switching Protocols\r\n");
        assert_contains(f->got, "Connection: upgrade\r\n");
        assert_contains(f->be.got, "Connection: upgrade\r\n");
        client_send(f, "ping");
        run_until(f, pong_in);
        assert_string_equal(strstr(f->got, "\r\n\r\n") + 4, "pong");
        close(f->be.fd); /* both sides done: the tunnel ends */
        f->be.fd = -1;
        finish(f);
        fx_free(f);
}

/* The client sends its request and its FIN at once: with an
 * edge-triggered model the one edge says both, so a short read must not
 * end readiness (no edge would come for the FIN). The session answers,
 * sees the close and ends. */
static void test_http_request_with_fin(void **state) {
        struct fx *f = fx_new("http", NULL, false);
        f->be.response = OK_HELLO;
        fx_connect(f);
        /* Registered and waiting first: else the registration, not the
         * edge, would report the FIN (epoll reports the state at ADD). */
        session_step(f);
        session_step(f);
        assert_false(f->session_done);
        client_send(f, GET);
        shutdown(f->client, SHUT_WR);
        /* The session must see the FIN by itself: the client does not read
         * until the session is over. */
        f->client_still = true;
        run_until(f, session_over);
        f->client_still = false;
        lbd_session_free(f->s); /* as the model does: the client's fd closes */
        f->s = NULL;
        run_until(f, client_closed);
        assert_contains(f->got, "HTTP/1.1 200 OK\r\n");
        assert_string_equal(strstr(f->got, "\r\n\r\n") + 4, "hello");
        assert_int_equal(f->be.answers, 1);
        fx_free(f);
}

static bool idle_gone(const struct fx *f) { return f->idle_fd < 0; }

/* The backend closes an idle pooled connection: the next request goes
 * over a new one, no failure, no retry. A watching model reports the close
 * and the engine closes the fd there and then; else the pool's check
 * finds it at reuse. */
static void test_http_idle_closed_by_backend(void **state) {
        struct fx *f = fx_after_hello();
        int pooled = f->idle_fd;
        close(f->be.fd); /* the backend's keep-alive timeout */
        f->be.fd = -1;
        if (model_features & LBD_WORKER_WATCHES_IDLE) {
                assert_true(pooled >= 0);
                run_until(f, idle_gone);
        }
        get_hello_again(f);
        assert_int_equal(f->be.accepted, 2);
        finish(f);
        struct lbd_backend_stats st = stats(f);
        assert_int_equal(st.requests, 2);
        assert_int_equal(st.failures, 0);
        fx_free(f);
}

/* Events of an idle connection that say nothing (writable; or readable
 * with nothing to read: an edge of bytes the session read already) leave
 * it in the pool: the next request reuses it. */
static void test_http_idle_stale_event_keeps_it(void **state) {
        if (!(model_features & LBD_WORKER_WATCHES_IDLE))
                skip();
        struct fx *f = fx_after_hello();
        int pooled = f->idle_fd;
        assert_true(pooled >= 0);
        lbd_engine_idle_event(&f->w, pooled, LBD_READY_WRITE);
        lbd_engine_idle_event(&f->w, pooled, LBD_READY_READ);
        assert_true(fcntl(pooled, F_GETFD) >= 0);
        get_hello_again(f);
        assert_int_equal(f->be.accepted, 1);
        finish(f);
        fx_free(f);
}

/* ---- tcp ------------------------------------------------------------------ */

static bool backend_has_hello(const struct fx *f) { return strstr(f->be.got, "hello") != NULL; }

/* Bytes both ways, and a half-close passed on. */
static void test_tcp_relay(void **state) {
        struct fx *f = fx_new("tcp", NULL, false);
        f->be.response = "welcome\r\n\r\n";
        f->be.close_after = true;
        fx_connect(f);
        client_send(f, "hello\r\n\r\n");
        run_until(f, backend_has_hello);
        run_until(f, client_closed);
        assert_string_equal(f->got, "welcome\r\n\r\n");
        finish(f);
        struct lbd_backend_stats st = stats(f);
        assert_int_equal(st.requests, 1); /* a tcp connection is one request */
        assert_int_equal(st.failures, 0);
        fx_free(f);
}

/* No backend: the tcp session gives up and closes the client. */
static void test_tcp_no_backend(void **state) {
        struct fx *f = fx_new("tcp", NULL, true);
        fx_connect(f);
        run_until(f, session_over);
        lbd_session_free(f->s);
        f->s = NULL;
        run_until(f, client_closed);
        assert_int_equal(f->got_len, 0);
        assert_int_equal(stats(f).failures, 1);
        fx_free(f);
}

static int model_reports_nothing(void **state) {
        model_features = 0;
        return 0;
}
static int model_reports_readiness(void **state) {
        model_features = LBD_WORKER_REPORTS_READINESS;
        return 0;
}
static int model_watches_idle(void **state) {
        model_features = LBD_WORKER_REPORTS_READINESS | LBD_WORKER_WATCHES_IDLE;
        return 0;
}

int main(void) {
        upstream_pool_set_threads(1);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_http_request_with_fin),
                cmocka_unit_test(test_http_idle_closed_by_backend),
                cmocka_unit_test(test_http_idle_stale_event_keeps_it),
                cmocka_unit_test(test_http_keep_alive),
                cmocka_unit_test(test_http_backend_closes_after_response),
                cmocka_unit_test(test_http_close_delimited),
                cmocka_unit_test(test_http_backend_closes_before_answer),
                cmocka_unit_test(test_http_no_backend),
                cmocka_unit_test(test_http_stopping_worker_closes),
                cmocka_unit_test(test_http_10_client),
                cmocka_unit_test(test_http_bad_request),
                cmocka_unit_test(test_http_upgrade_tunnel),
                cmocka_unit_test(test_tcp_relay),
                cmocka_unit_test(test_tcp_no_backend),
        };
        int failed = cmocka_run_group_tests_name("a model that reports nothing", tests,
                                                 model_reports_nothing, NULL);
        failed += cmocka_run_group_tests_name("an edge-triggered model reporting readiness",
                                              tests, model_reports_readiness, NULL);
        failed += cmocka_run_group_tests_name("a model that also watches idle connections",
                                              tests, model_watches_idle, NULL);
        return failed;
}
