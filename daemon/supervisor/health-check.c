/* SPDX-License-Identifier: MIT */
/*
 * One struct check per (service, backend) checked. Its one timer is either
 * the next start (idle) or the running check's deadline; its io source
 * exists only while a check runs. A check is a small state machine:
 * CONNECTING → (http) SENDING → RECEIVING → finish(). Every way out of a
 * running check goes through check_finish() or check_cancel(), which close
 * the socket.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend-table.h"
#include "clock.h"
#include "health-check.h"
#include "health-state.h"
#include "log.h"

/* Timers may fire this late, so that sd-event wakes up once for checks
 * that are due at nearly the same time (its default is 250 ms). */
#define TIMER_ACCURACY_USEC (10 * LBD_USEC_PER_MSEC)

enum phase { IDLE, CONNECTING, SENDING, RECEIVING };

struct lbd_health {
        sd_event *event;         /* the master's loop (not owned) */
        struct lbd_table *table; /* where results go (not owned) */
        GHashTable *checks; /* "service\naddress" -> struct check (owned) */
};

struct check {
        struct lbd_health *h;
        char *service;
        struct lbd_address address;
        struct lbd_health_check_config cfg; /* cfg.path owned */
        char *request;                      /* http: what is sent */
        struct lbd_health_state state;
        bool seen; /* reconcile's mark */

        enum phase phase;
        int fd;
        size_t sent;
        size_t got;
        char buf[LBD_HEALTH_STATUS_LINE_MAX];
        uint64_t started_usec;
        sd_event_source *timer;
        sd_event_source *io;
};

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* The checker whose sockets a forked worker must not keep: a global,
 * because a pthread_atfork() handler gets no argument. */
static struct lbd_health *atfork_health;

/* In a new child (a worker), right after fork(): close the copies of the
 * running checks' sockets, so that a connection the master ends is not
 * kept open by a worker. Only close(): async-signal-safe, no allocation. */
static void close_in_child(void) {
        if (!atfork_health)
                return;
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, atfork_health->checks);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                struct check *c = value;
                if (c->fd >= 0)
                        close(c->fd);
        }
}

/* Close the running check's socket. shutdown() first, in case a copy of
 * the fd lives on anywhere: it ends the connection for every copy. */
static void check_close(struct check *c) {
        c->io = sd_event_source_disable_unref(c->io);
        if (c->fd >= 0) {
                (void)shutdown(c->fd, SHUT_RDWR);
                close(c->fd);
                c->fd = -1;
        }
        c->phase = IDLE;
        c->sent = 0;
        c->got = 0;
}

static void schedule(struct check *c, uint64_t at_usec) {
        if (c->timer) {
                sd_event_source_set_time(c->timer, at_usec);
                sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
                return;
        }
        int r = sd_event_add_time(c->h->event, &c->timer, CLOCK_MONOTONIC, at_usec,
                                  TIMER_ACCURACY_USEC, on_timer, c);
        if (r < 0)
                log_full_errno(LOG_ERR, r, c->service, "cannot schedule the health check of %s: %m",
                               c->address.text);
}

static void check_free(struct check *c) {
        if (!c)
                return;
        check_close(c);
        sd_event_source_disable_unref(c->timer);
        g_free(c->service);
        g_free(c->cfg.path);
        g_free(c->request);
        g_free(c);
}

/* Tell the table; log here only what the table's tick will not (it logs
 * changes of the backend's State, and a health change under draining,
 * disabled or a passive hold is none). */
static void publish(struct check *c, bool up, const char *reason) {
        struct lbd_table *t = c->h->table;
        if (!t)
                return;
        struct lbd_backend_stats before, after;
        if (lbd_table_backend_stats(t, c->service, c->address.text, &before) < 0 ||
            lbd_table_set_health(t, c->service, c->address.text, up, reason) < 0) {
                log_full(LOG_DEBUG, c->service, "health check of %s: not in the backend table",
                         c->address.text);
                return;
        }
        if (lbd_table_backend_stats(t, c->service, c->address.text, &after) == 0 &&
            after.state == before.state)
                log_full(up ? LOG_NOTICE : LOG_WARNING, c->service,
                         "backend %s health: %s (its state stays %s): %s", c->address.text,
                         up ? "up" : "down", lbd_backend_state_to_string(after.state),
                         reason);
}

static void check_finish(struct check *c, bool ok, char *reason /* owned */) {
        check_close(c);
        bool was_up = c->state.up;
        enum lbd_health_transition tr =
                lbd_health_state_record(&c->state, ok, c->cfg.rise, c->cfg.fall);
        log_full(LOG_DEBUG, c->service, "health check of %s %s (%s): %s", c->address.text,
                 ok ? "passed" : "failed", was_up ? "up" : "down", reason);
        if (tr != LBD_HEALTH_UNCHANGED)
                publish(c, tr == LBD_HEALTH_WENT_UP, reason);
        g_free(reason);
        uint64_t interval_ms = (uint64_t)c->cfg.interval * 1000u;
        uint64_t next_ms = lbd_health_next_start_ms(c->started_usec / LBD_USEC_PER_MSEC,
                                                    lbd_now_us() / LBD_USEC_PER_MSEC, interval_ms);
        schedule(c, next_ms * LBD_USEC_PER_MSEC);
}

static void check_fail_errno(struct check *c, int error) {
        check_finish(c, false, lbd_health_reason_errno(error));
}

static void set_events(struct check *c, uint32_t events) {
        int r = sd_event_source_set_io_events(c->io, events);
        if (r < 0)
                check_fail_errno(c, r);
}

static void on_connected(struct check *c) {
        if (c->cfg.type == LBD_HEALTH_CHECK_TCP) {
                check_finish(c, true, g_strdup("health check: connected"));
                return;
        }
        c->phase = SENDING;
        size_t len = strlen(c->request);
        while (c->sent < len) {
                ssize_t n = send(c->fd, c->request + c->sent, len - c->sent, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                set_events(c, EPOLLOUT);
                                return;
                        }
                        check_fail_errno(c, errno);
                        return;
                }
                c->sent += (size_t)n;
        }
        c->phase = RECEIVING;
        set_events(c, EPOLLIN);
}

static void on_readable(struct check *c) {
        for (;;) {
                size_t room = sizeof c->buf - c->got;
                ssize_t n = room ? recv(c->fd, c->buf + c->got, room, 0) : 0;
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        check_fail_errno(c, errno);
                        return;
                }
                c->got += (size_t)n;
                unsigned status;
                int r = lbd_health_parse_status_line(c->buf, c->got, &status);
                if (r == 0) {
                        bool ok = status >= c->cfg.expect_min && status <= c->cfg.expect_max;
                        check_finish(c, ok,
                                     lbd_health_reason_status(status, c->cfg.expect_min,
                                                              c->cfg.expect_max));
                        return;
                }
                if (r == -EBADMSG) {
                        check_finish(c, false,
                                     g_strdup("health check: not an HTTP/1.x response"));
                        return;
                }
                if (n == 0) {
                        check_finish(c, false,
                                     g_strdup("health check: connection closed before the "
                                              "status line"));
                        return;
                }
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct check *c = userdata;
        (void)s;
        switch (c->phase) {
        case CONNECTING: {
                int error = 0;
                socklen_t len = sizeof error;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                        error = errno;
                if (error) {
                        check_fail_errno(c, error);
                        return 0;
                }
                if (!(revents & EPOLLOUT))
                        return 0;
                on_connected(c);
                return 0;
        }
        case SENDING:
                on_connected(c);
                return 0;
        case RECEIVING:
                on_readable(c);
                return 0;
        case IDLE:
                break;
        }
        return 0;
}

static void check_start(struct check *c) {
        uint64_t now = lbd_now_us();
        c->started_usec = now;
        c->fd = socket(c->address.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
                /* Our problem (fds, memory), not the backend's: no verdict. */
                log_full_errno(LOG_ERR, errno, c->service,
                               "cannot run the health check of %s: socket: %m", c->address.text);
                uint64_t interval_ms = (uint64_t)c->cfg.interval * 1000u;
                schedule(c, (now / LBD_USEC_PER_MSEC + interval_ms) * LBD_USEC_PER_MSEC);
                return;
        }
        c->phase = CONNECTING;
        /* The deadline of the whole check: connect, request, status line. */
        schedule(c, now + (uint64_t)c->cfg.timeout * 1000000u);
        int r = sd_event_add_io(c->h->event, &c->io, c->fd, EPOLLOUT, on_io, c);
        if (r < 0) {
                check_fail_errno(c, r);
                return;
        }
        if (connect(c->fd, (const struct sockaddr *)&c->address.sa, c->address.len) == 0) {
                on_connected(c);
                return;
        }
        if (errno != EINPROGRESS && errno != EINTR) {
                /* Refused at once (unix sockets, a local port), or a unix
                 * socket's full backlog (EAGAIN). */
                check_fail_errno(c, errno);
                return;
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct check *c = userdata;
        (void)s;
        (void)usec;
        if (c->phase == IDLE)
                check_start(c);
        else
                check_finish(c, false, lbd_health_reason_timeout(c->cfg.timeout));
        return 0;
}

static bool same_settings(const struct lbd_health_check_config *a,
                          const struct lbd_health_check_config *b) {
        return a->type == b->type && g_strcmp0(a->path, b->path) == 0 &&
               a->expect_min == b->expect_min && a->expect_max == b->expect_max &&
               a->interval == b->interval && a->rise == b->rise && a->fall == b->fall &&
               a->timeout == b->timeout;
}

static void check_configure(struct check *c, const struct lbd_health_check_config *cfg) {
        g_free(c->cfg.path);
        c->cfg = *cfg;
        c->cfg.path = g_strdup(cfg->path);
        g_clear_pointer(&c->request, g_free);
        if (cfg->type == LBD_HEALTH_CHECK_HTTP)
                c->request = lbd_health_build_request(
                        cfg->path ? cfg->path : "/",
                        c->address.sa.ss_family == AF_UNIX ? NULL : c->address.text);
        /* A run in progress under other settings: the counts start over. */
        c->state.count = 0;
        uint64_t interval_ms = (uint64_t)cfg->interval * 1000u;
        uint64_t first = lbd_now_us() / LBD_USEC_PER_MSEC +
                         lbd_health_first_delay_ms(c->service, c->address.text, interval_ms);
        schedule(c, first * LBD_USEC_PER_MSEC);
}

static char *check_key(const char *service, const char *address) {
        return g_strconcat(service, "\n", address, NULL);
}

static bool backend_configured(const struct lbd_config *config, const struct check *c) {
        const struct lbd_service_config *svc = lbd_config_find_service(config, c->service);
        if (!svc)
                return false;
        for (guint i = 0; i < svc->backends->len; i++)
                if (strcmp(g_array_index(svc->backends, struct lbd_backend_config, i)
                                   .address.text,
                           c->address.text) == 0)
                        return true;
        return false;
}

void lbd_health_apply(struct lbd_health *h, const struct lbd_config *config) {
        assert(h);
        assert(config);
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, h->checks);
        while (g_hash_table_iter_next(&it, NULL, &value))
                ((struct check *)value)->seen = false;

        unsigned added = 0, changed = 0, removed = 0;
        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *svc = config->services->pdata[i];
                if (svc->health_check.type == LBD_HEALTH_CHECK_NONE)
                        continue;
                for (guint j = 0; j < svc->backends->len; j++) {
                        const struct lbd_backend_config *b =
                                &g_array_index(svc->backends, struct lbd_backend_config, j);
                        if (b->down)
                                continue; /* administratively off: nothing to learn */
                        g_autofree char *key = check_key(svc->name, b->address.text);
                        struct check *c = g_hash_table_lookup(h->checks, key);
                        if (c) {
                                if (!same_settings(&c->cfg, &svc->health_check)) {
                                        check_close(c);
                                        check_configure(c, &svc->health_check);
                                        changed++;
                                }
                                c->seen = true;
                                continue;
                        }
                        c = g_new0(struct check, 1);
                        c->h = h;
                        c->fd = -1;
                        c->service = g_strdup(svc->name);
                        c->address = b->address;
                        c->seen = true;
                        lbd_health_state_init(&c->state);
                        check_configure(c, &svc->health_check);
                        g_hash_table_insert(h->checks, g_steal_pointer(&key), c);
                        added++;
                }
        }

        g_hash_table_iter_init(&it, h->checks);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                struct check *c = value;
                if (c->seen)
                        continue;
                /* Still a backend, no longer checked: nothing holds it
                 * down any more. */
                if (!c->state.up && backend_configured(config, c))
                        publish(c, true, "health check: off");
                g_hash_table_iter_remove(&it);
                removed++;
        }
        if (added || changed || removed)
                log_info("health checks: %u backend(s) checked (%u new, %u changed, %u stopped)",
                         g_hash_table_size(h->checks), added, changed, removed);
}

struct lbd_health *lbd_health_new(sd_event *event, struct lbd_table *table) {
        assert(event);
        assert(table);
        struct lbd_health *h = g_new0(struct lbd_health, 1);
        h->event = event;
        h->table = table;
        h->checks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)check_free);
        static bool atfork_registered;
        if (!atfork_registered) {
                int r = pthread_atfork(NULL, NULL, close_in_child);
                if (r != 0)
                        log_warning_errno(r, "health checks: pthread_atfork: %m (a worker forked "
                                          "during a check keeps a copy of its socket)");
                atfork_registered = r == 0;
        }
        atfork_health = h;
        return h;
}

struct lbd_health *lbd_health_free(struct lbd_health *h) {
        if (!h)
                return NULL;
        atfork_health = NULL;
        g_hash_table_unref(h->checks);
        g_free(h);
        return NULL;
}
