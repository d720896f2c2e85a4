/* SPDX-License-Identifier: MIT */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "access-log.h"
#include "engine.h"
#include "log.h"
#include "socket-io.h"
#include "upstream-pool.h"
#include "worker-confine.h"

/* What the worker's signal handlers set. A handler can reach nothing but
 * static storage, so this is the one static variable of the worker; the
 * engine sees it through struct lbd_worker. */
static volatile sig_atomic_t stop_request;

static void on_graceful_stop(int sig) {
        if (stop_request < LBD_WORKER_STOPPING)
                stop_request = LBD_WORKER_STOPPING;
}

static void on_stop_now(int sig) { stop_request = LBD_WORKER_STOP_NOW; }

/* The master has reopened (created, chowned) the log files: reopen them by
 * path, right here (async-signal-safe: see access-log.h). */
static void on_reopen_logs(int sig) { lbd_logs_reopen_signal_safe(); }

/* ---- the engine as worker plugins see it ------------------------------- */

static size_t host_listeners(struct lbd_worker *w, const int **fds) {
        *fds = w->listen_fds;
        return w->params->n_listeners;
}

static void host_heartbeat(struct lbd_worker *w) {
        uint64_t now = lbd_now_ms();
        atomic_store_explicit(&w->slot->heartbeat_ms, now, memory_order_relaxed);
        lbd_access_log_tick(now); /* a block's lines wait a second at most */
}

static unsigned host_max_connections(struct lbd_worker *w) {
        return w->config->daemon.worker_connections;
}

static unsigned host_threads(struct lbd_worker *w) { return w->config->daemon.threads; }

static bool host_fair_share(struct lbd_worker *w) {
        return !w->params->scoreboard ||
               lbd_scoreboard_fair_share(w->params->scoreboard, w->params->slot_index,
                                         lbd_now_ms());
}

static int host_queue_fd(struct lbd_worker *w) {
        return w->params->scoreboard ? w->params->scoreboard->queue_fd : -1;
}

static struct lbd_session *host_accept(struct lbd_worker *w, size_t listener) {
        return lbd_session_accept(w, listener);
}

/* ---- process setup ----------------------------------------------------- */

static int reset_signals(void) {
        struct sigaction ignore = { .sa_handler = SIG_IGN };
        struct sigaction graceful = { .sa_handler = on_graceful_stop };
        struct sigaction now = { .sa_handler = on_stop_now };
        struct sigaction reopen = { .sa_handler = on_reopen_logs, .sa_flags = SA_RESTART };
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        /* No SA_RESTART: a signal must interrupt epoll_wait()/poll() so the
         * model sees the new state at once. */
        if (sigaction(SIGTERM, &graceful, NULL) < 0 || sigaction(SIGINT, &now, NULL) < 0 ||
            sigaction(SIGQUIT, &now, NULL) < 0 || sigaction(SIGPIPE, &ignore, NULL) < 0 ||
            sigaction(SIGHUP, &ignore, NULL) < 0 || sigaction(SIGTTIN, &ignore, NULL) < 0 ||
            sigaction(SIGTTOU, &ignore, NULL) < 0 || sigaction(SIGUSR1, &reopen, NULL) < 0 ||
            sigaction(SIGCHLD, &dfl, NULL) < 0)
                return -errno;
        sigset_t none;
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                return -errno;
        return 0;
}

/* If the master dies, finish what is open and go. Set after the privilege
 * drop, which clears it; the master may have died before this line, which
 * getppid() then tells. */
static int follow_master(pid_t master) {
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
                return -errno;
        if (getppid() != master)
                return -ESRCH;
        return 0;
}

/* Become a worker: let go of the master's control plane, take the
 * worker's signals, drop privileges, follow the master, confine itself
 * (worker-confine.h). Exits on failure. */
static void become_worker(const struct lbd_worker_params *p) {
        pid_t master = getppid();
        /* The master's control plane is not ours: holding its bus socket
         * would keep the daemon's bus name alive after the master died. */
        for (size_t i = 0; i < p->n_close_fds; i++)
                if (p->close_fds[i] >= 0)
                        close(p->close_fds[i]);
        int r = reset_signals();
        if (r < 0) {
                log_error_errno(r, "worker (slot %u): cannot set up signals: %m", p->slot_index);
                _exit(1);
        }
        r = lbd_worker_identity_apply(p->identity);
        if (r < 0) {
                log_error_errno(r, "worker (slot %u): cannot become %s: %m", p->slot_index,
                                p->identity->text);
                _exit(1);
        }
        /* Nothing the worker runs can gain privileges again (a setuid
         * program, file capabilities), whatever the unit says; also what a
         * seccomp filter needs without CAP_SYS_ADMIN. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                log_error_errno(errno, "worker (slot %u): cannot set no_new_privs: %m",
                                p->slot_index);
                _exit(1);
        }
        if (follow_master(master) < 0)
                _exit(1);
        if (p->seccomp && lbd_worker_confine(p->landlock_abi, p->seccomp) < 0)
                _exit(1); /* logged */
}

/* The engine's view of this worker (engine.h). Exits when out of memory. */
static void worker_init(struct lbd_worker *w, const struct lbd_worker_params *p) {
        size_t n = p->n_listeners ? p->n_listeners : 1;
        int *fds = calloc(n, sizeof(int));
        int *pools = calloc(n, sizeof(int));
        if (!fds || !pools)
                _exit(1);
        for (size_t i = 0; i < p->n_listeners; i++) {
                fds[i] = p->listeners[i].fd;
                /* -ENOENT (no pool: cannot happen, the master synced the
                 * table before the fork) makes every pick fail: 502. */
                pools[i] = p->table ? lbd_table_pool_find(p->table, p->listeners[i].service->name)
                                    : -ENOENT;
        }
        *w = (struct lbd_worker){
                .params = p,
                .config = p->config,
                .slot = p->slot,
                .listen_fds = fds,
                .stop_request = &stop_request,
                .table = p->table,
                .listener_pool = pools,
        };
        if (p->config->daemon.max_requests) {
                /* Jitter spreads the recycling of workers started together. */
                unsigned jitter = p->config->daemon.max_requests_jitter;
                w->max_requests = p->config->daemon.max_requests +
                                  (jitter ? ((unsigned)getpid() * 2654435761u) % (jitter + 1) : 0);
        }
        atomic_store_explicit(&w->slot->stopping, 0, memory_order_relaxed);
        atomic_store_explicit(&w->slot->out_of_queue, 0, memory_order_relaxed);
        host_heartbeat(w);
        /* Idle upstream connections are kept per thread: the thread model's
         * threads share the fd limit. */
        upstream_pool_set_threads(strcmp(p->model->desc->name, "thread") == 0
                                          ? p->config->daemon.threads
                                          : 1);
}

static void host_set_features(struct lbd_worker *w, uint32_t features) {
        w->features = features & (LBD_WORKER_REPORTS_READINESS | LBD_WORKER_WATCHES_IDLE);
}

static struct lbd_session *host_adopt(struct lbd_worker *w, size_t listener, int fd) {
        struct lbd_session *s = lbd_session_adopt(w, listener, fd);
        if (!s)
                log_warning_errno(-errno, "worker %d: cannot start a session: %m", (int)getpid());
        return s;
}

static void host_hold_clock(struct lbd_worker *w, bool hold) {
        (void)w;
        (void)lbd_clock_hold(hold);
}

/* The bytes go through the model from now on (socket-io.h). A model that
 * carries them must report readiness: its reads never block nor fail with
 * a system call's EAGAIN, so only its reports wake a session. */
static void host_set_io(struct lbd_worker *w, const struct lbd_worker_io *io, void *io_data) {
        if (io && (io->struct_size < sizeof(*io) || !io->recv || !io->send || !io->shutdown ||
                   !io->close || !(w->features & LBD_WORKER_REPORTS_READINESS))) {
                log_error("worker %d: the %s model's I/O hooks are incomplete; not using them",
                          (int)getpid(), w->params->model->desc->name);
                return;
        }
        socket_io_set(io, io_data);
}

_Noreturn void lbd_worker_main(const struct lbd_worker_params *p) {
        become_worker(p);
        struct lbd_worker w;
        worker_init(&w, p);

        static const struct lbd_worker_host host = {
                .struct_size = sizeof(struct lbd_worker_host),
                .listeners = host_listeners,
                .accept = host_accept,
                .session_run = lbd_session_run,
                .session_free = lbd_session_free,
                .state = lbd_engine_worker_state,
                .heartbeat = host_heartbeat,
                .max_connections = host_max_connections,
                .threads = host_threads,
                .now_ms = lbd_now_ms,
                .fair_share = host_fair_share,
                .set_features = host_set_features,
                .session_ready = lbd_session_ready,
                .idle_event = lbd_engine_idle_event,
                .queue_fd = host_queue_fd,
                .adopt = host_adopt,
                .set_io = host_set_io,
                .hold_clock = host_hold_clock,
        };
        const struct lbd_plugin *model = p->model;
        log_debug("worker %d (slot %u) serving with the %s model", (int)getpid(), p->slot_index,
                  model->desc->name);
        int r = model->desc->ops.worker->run(model->data, &host, &w);
        lbd_access_log_flush();
        free(w.listen_fds);
        free(w.listener_pool);
        if (r < 0) {
                log_error_errno(r, "worker %d (slot %u): the %s worker model failed: %m",
                                (int)getpid(), p->slot_index, model->desc->name);
                _exit(1);
        }
        _exit(0);
}
