/* SPDX-License-Identifier: MIT */
#include "admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "address.h"
#include "admin-metrics.h"
#include "admin-page.h"
#include "admin-request.h"
#include "cleanup.h"
#include "log.h"
#include "socket-file.h"

#define CLIENT_TIMEOUT_US (10 * 1000000ull)

struct client {
        struct lbd_admin *admin;
        int fd;
        sd_event_source *io, *timer;
        char head[LBD_ADMIN_HEAD_MAX];
        size_t head_len;
        GString *answer; /* once the head is read */
        size_t sent;
};

struct lbd_admin {
        sd_event *event;
        const struct lbd_table *table;
        const struct lbd_arbiter *arbiter;
        struct lbd_config *config; /* a copy: the services /metrics names */
        struct lbd_address address;
        struct lbd_socket_file file; /* unix: the one bind() made */
        int fd;
        sd_event_source *io;
        GPtrArray *clients; /* of struct client * */
};

static void client_free(struct client *c) {
        c->io = sd_event_source_disable_unref(c->io);
        c->timer = sd_event_source_disable_unref(c->timer);
        if (c->fd >= 0)
                close(c->fd);
        if (c->answer)
                g_string_free(c->answer, true);
        g_free(c);
}

/* The listener accepts again once a client slot is free. */
static void client_done(struct client *c) {
        struct lbd_admin *a = c->admin;
        g_ptr_array_remove_fast(a->clients, c); /* frees it */
        if (a->io)
                (void)sd_event_source_set_enabled(a->io, SD_EVENT_ON);
}

static const char *reason_phrase(unsigned status) {
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 431:
                return "Request Header Fields Too Large";
        case 505:
                return "HTTP Version Not Supported";
        }
        return "Internal Server Error";
}

static GString *make_answer(struct lbd_admin *a, const struct lbd_admin_request *req) {
        g_autoptr(GString) body = NULL;
        const char *type = "text/plain; charset=utf-8";
        unsigned status = req->status ? req->status : 200;
        if (req->status)
                body = g_string_new(req->reason), g_string_append_c(body, '\n');
        else if (req->page == LBD_ADMIN_METRICS) {
                body = lbd_admin_metrics(a->table, a->config, a->arbiter);
                type = "text/plain; version=0.0.4; charset=utf-8";
        } else {
                body = g_string_new(lbd_admin_page_html);
                type = "text/html; charset=utf-8";
        }
        GString *out = g_string_sized_new(body->len + 256);
        g_string_append_printf(out,
                               "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                               "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                               "%s"
                               "Connection: close\r\n\r\n",
                               status, reason_phrase(status), type, body->len,
                               status == 405 ? "Allow: GET, HEAD\r\n" : "");
        if (!req->head)
                g_string_append_len(out, body->str, (gssize)body->len);
        return out;
}

/* Write what is left of the answer; done: the client is freed. */
static void client_send(struct client *c) {
        while (c->sent < c->answer->len) {
                ssize_t n = send(c->fd, c->answer->str + c->sent, c->answer->len - c->sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        (void)sd_event_source_set_io_events(c->io, EPOLLOUT);
                        return;
                }
                if (n <= 0) { /* the client left: nothing to tell anyone */
                        client_done(c);
                        return;
                }
                c->sent += (size_t)n;
        }
        /* Our FIN first, so that the client's close does not find unread
         * data here and reset the connection. */
        (void)shutdown(c->fd, SHUT_WR);
        client_done(c);
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct client *c = userdata;
        if (c->answer) {
                client_send(c);
                return 0;
        }
        ssize_t n = recv(fd, c->head + c->head_len, sizeof c->head - c->head_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                client_done(c);
                return 0;
        }
        c->head_len += (size_t)n;
        struct lbd_admin_request req;
        if (lbd_admin_request_parse(c->head, c->head_len, &req) == 0)
                return 0;
        c->answer = make_answer(c->admin, &req);
        client_send(c);
        return 0;
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        client_done(userdata);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct lbd_admin *a = userdata;
        while (a->clients->len < LBD_ADMIN_CLIENTS) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warning_errno(-errno, "admin: cannot accept: %m");
                        return 0;
                }
                struct client *c = g_new0(struct client, 1);
                c->admin = a;
                c->fd = cfd;
                uint64_t now = 0;
                int r = sd_event_now(a->event, CLOCK_MONOTONIC, &now);
                if (r >= 0)
                        r = sd_event_add_io(a->event, &c->io, cfd, EPOLLIN, on_client_io, c);
                if (r >= 0)
                        r = sd_event_add_time(a->event, &c->timer, CLOCK_MONOTONIC,
                                              now + CLIENT_TIMEOUT_US, 0, on_client_timeout, c);
                if (r < 0) {
                        log_warning_errno(r, "admin: cannot watch a connection: %m");
                        client_free(c);
                        continue;
                }
                g_ptr_array_add(a->clients, c);
        }
        /* Full: the rest wait in the backlog until a client is done. */
        (void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static void stop(struct lbd_admin *a) {
        a->io = sd_event_source_disable_unref(a->io);
        g_ptr_array_set_size(a->clients, 0);
        if (a->fd >= 0) {
                close(a->fd);
                lbd_socket_file_remove(&a->file, &a->address);
        }
        a->file = (struct lbd_socket_file){ 0 };
        a->fd = -1;
        a->address.text[0] = '\0';
}

static bool is_local(const struct lbd_address *addr) {
        if (addr->sa.ss_family == AF_UNIX)
                return true;
        if (addr->sa.ss_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *)&addr->sa;
                return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        }
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr->sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* A listening socket on addr: its fd, or -errno (logged); *file is the
 * socket file it made (unix). */
static int bind_listener(const struct lbd_address *addr, struct lbd_socket_file *file) {
        *file = (struct lbd_socket_file){ 0 };
        if (addr->sa.ss_family == AF_UNIX) {
                const char *why = NULL;
                int r = lbd_socket_file_clear(addr, &why);
                if (r < 0 && why)
                        return log_error_errno(r, "admin: cannot listen on %s: %s", addr->text,
                                               why);
                if (r < 0)
                        return log_error_errno(r, "admin: cannot listen on %s: %m", addr->text);
        }
        int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(-errno, "admin: cannot open a socket for %s: %m",
                                       addr->text);
        int one = 1;
        if (addr->sa.ss_family != AF_UNIX)
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)&addr->sa, addr->len) < 0 || listen(fd, 64) < 0) {
                int r = -errno;
                close(fd);
                return log_error_errno(r, "admin: cannot listen on %s: %m", addr->text);
        }
        if (addr->sa.ss_family == AF_UNIX)
                lbd_socket_file_note(file, addr);
        return fd;
}

struct lbd_admin *lbd_admin_new(sd_event *event, const struct lbd_table *table,
                                const struct lbd_arbiter *arbiter) {
        struct lbd_admin *a = g_new0(struct lbd_admin, 1);
        a->event = event;
        a->table = table;
        a->arbiter = arbiter;
        a->fd = -1;
        a->clients = g_ptr_array_new_with_free_func((GDestroyNotify)client_free);
        return a;
}

int lbd_admin_apply(struct lbd_admin *a, const struct lbd_config *config) {
        g_clear_pointer(&a->config, lbd_config_free);
        a->config = lbd_config_copy(config);
        const char *want = config->daemon.admin_listen;
        if (want && strcmp(want, a->address.text) == 0)
                return 0;
        if (!want) {
                if (a->fd >= 0)
                        log_info("admin: no longer listening on %s", a->address.text);
                stop(a);
                return 0;
        }
        struct lbd_address addr;
        _cleanup_free_ char *why = NULL;
        int r = lbd_address_parse(want, &addr, &why);
        if (r < 0) { /* the configuration was checked: only memory can fail */
                log_error("admin: '%s': %s", want, why ? why : "out of memory");
                return r;
        }
        /* The new socket before giving up the old: a move that fails keeps
         * what worked. */
        struct lbd_socket_file file;
        int fd = bind_listener(&addr, &file);
        if (fd < 0)
                return fd;
        sd_event_source *io = NULL;
        r = sd_event_add_io(a->event, &io, fd, EPOLLIN, on_accept, a);
        if (r < 0) {
                close(fd);
                return log_error_errno(r, "admin: cannot watch %s: %m", addr.text);
        }
        stop(a);
        a->fd = fd;
        a->io = io;
        a->address = addr;
        a->file = file;
        if (is_local(&addr))
                log_info("admin: serving /metrics and the status page on %s", addr.text);
        else
                log_warning("admin: serving /metrics and the status page on %s, reachable from "
                            "other machines: they have no authentication",
                            addr.text);
        return 0;
}

size_t lbd_admin_fds(const struct lbd_admin *a, int *fds, size_t max) {
        size_t n = 0;
        if (!a)
                return 0;
        if (a->fd >= 0 && n < max)
                fds[n++] = a->fd;
        for (guint i = 0; i < a->clients->len && n < max; i++)
                fds[n++] = ((const struct client *)a->clients->pdata[i])->fd;
        return n;
}

struct lbd_admin *lbd_admin_free(struct lbd_admin *a) {
        if (!a)
                return NULL;
        stop(a);
        g_ptr_array_unref(a->clients);
        g_clear_pointer(&a->config, lbd_config_free);
        g_free(a);
        return NULL;
}
