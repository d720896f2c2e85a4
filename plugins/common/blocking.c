/* SPDX-License-Identifier: MIT */
#include "blocking.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>

#define MAX_LISTENERS 64

bool blocking_reports(const struct lbd_worker_host *host) {
        return host->struct_size >= sizeof(*host) && host->set_features && host->session_ready;
}

void blocking_set_features(const struct lbd_worker_host *host, struct lbd_worker *w) {
        if (blocking_reports(host))
                host->set_features(w, LBD_WORKER_REPORTS_READINESS);
}

static uint32_t ready_events(short revents) {
        return (revents & POLLIN ? LBD_READY_READ : 0) | (revents & POLLOUT ? LBD_READY_WRITE : 0) |
               (revents & (POLLHUP | POLLERR | POLLRDHUP) ? LBD_READY_HUP : 0);
}

struct lbd_session *blocking_accept(const struct lbd_worker_host *host, struct lbd_worker *w) {
        const int *fds;
        size_t n = host->listeners(w, &fds);
        if (n > MAX_LISTENERS)
                n = MAX_LISTENERS;
        struct pollfd p[MAX_LISTENERS];
        for (size_t i = 0; i < n; i++)
                p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
        int r = poll(p, n, 1000);
        host->heartbeat(w);
        if (r <= 0 || host->state(w) != LBD_WORKER_RUNNING)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (!(p[i].revents & POLLIN))
                        continue;
                struct lbd_session *s = host->accept(w, i);
                if (s)
                        return s;
        }
        return NULL;
}

void blocking_serve(const struct lbd_worker_host *host, struct lbd_worker *w,
                    struct lbd_session *s) {
        struct lbd_wait wait;
        while (host->session_run(s, &wait) > 0) {
                if ((wait.events[0] | wait.events[1]) & LBD_WAIT_DETACH)
                        continue; /* poll() holds no registration: run again */
                struct pollfd p[2];
                unsigned which[2];
                nfds_t n = 0;
                for (unsigned i = 0; i < 2; i++) {
                        if (wait.fd[i] < 0 || !wait.events[i])
                                continue;
                        which[n] = i;
                        p[n++] = (struct pollfd){
                                .fd = wait.fd[i],
                                .events = (short)(((wait.events[i] & LBD_WAIT_READ) ? POLLIN : 0) |
                                                  ((wait.events[i] & LBD_WAIT_WRITE) ? POLLOUT : 0)),
                        };
                }
                /* Wake at least once a second: heartbeat, stop requests. */
                int timeout = 1000;
                if (wait.deadline_ms) {
                        uint64_t now = host->now_ms();
                        uint64_t left = wait.deadline_ms > now ? wait.deadline_ms - now : 0;
                        if (left < (uint64_t)timeout)
                                timeout = (int)left;
                }
                int ready = poll(p, n, timeout);
                host->heartbeat(w);
                for (nfds_t k = 0; ready > 0 && k < n && blocking_reports(host); k++)
                        if (p[k].revents)
                                host->session_ready(s, which[k], ready_events(p[k].revents));
                if (host->state(w) == LBD_WORKER_STOP_NOW)
                        break;
        }
        host->session_free(s);
}
