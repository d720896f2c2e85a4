/* SPDX-License-Identifier: MIT */
#include "arbiter.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "access-log.h"
#include "listeners.h"
#include "log.h"
#include "scoreboard.h"
#include "worker.h"
#include "worker-landlock.h"
#include "worker-seccomp.h"

/* A worker that dies sooner than this after its start died "at start". */
#define QUICK_DEATH_MS 1000u
/* This many deaths at start in a row, and respawning backs off. */
#define QUICK_DEATHS_BEFORE_BACKOFF 3u
#define BACKOFF_MAX_S 30u
/* How long a fast stop (INT/QUIT) waits before SIGKILL. */
#define FAST_STOP_MS 1000u
#define TICK_USEC (1000u * 1000u)

enum stop_mode {
        RUNNING,
        STOPPING_GRACEFULLY, /* TERM */
        STOPPING_NOW,        /* INT, QUIT */
};

/* One configuration and the workers started with it. */
struct generation {
        unsigned id;
        /* While the generation is current these are the caller's (the
         * manager's config and plugins in effect); once retired, owned
         * here. */
        struct lbd_config *config;
        struct lbd_plugin_set *plugins;
        bool owns_config;  /* config: retired generations own theirs */
        bool owns_plugins; /* plugins: the same, unless the next generation shares them */
        const struct lbd_plugin *model;
        struct lbd_listener_set *listeners;
        struct lbd_table *table; /* holds its services' pools while set */
        struct lbd_worker_identity identity; /* who its workers run as */
        /* Its workers' system call filter; none (len 0) with
         * confine-workers=no. */
        struct lbd_seccomp_program seccomp;
        unsigned n_workers; /* alive */
};

struct worker {
        pid_t pid;
        unsigned slot;
        struct generation *gen;
        uint64_t started_ms;
        uint64_t kill_at_ms; /* when stopping: SIGKILL once this passes */
        bool stopping;       /* asked to stop: not replaced when it exits */
        bool killed;         /* SIGKILL sent */
        bool timed_out;      /* killed for a silent heartbeat */
        bool proven;         /* lived longer than QUICK_DEATH_MS */
};

static const int handled_signals[] = {
        SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGTTIN, SIGTTOU, SIGUSR1,
};
#define N_SIGNALS (sizeof(handled_signals) / sizeof(handled_signals[0]))

struct lbd_arbiter {
        sd_event *event;
        const char *logs_dir;
        struct lbd_arbiter_hooks hooks;
        int close_fds[LBD_ARBITER_CLOSE_FDS_MAX]; /* the master's, not the workers' */
        size_t n_close_fds;
        int landlock_abi; /* lbd_landlock_abi(): what the workers confine with */
        bool said_no_landlock; /* ...and that there is none, once */
        struct lbd_scoreboard *scoreboard;
        struct lbd_table *table; /* the shared backend table (the manager's) */
        struct lbd_listeners *listeners;
        struct generation *current;
        GPtrArray *retired; /* of struct generation *: draining */
        struct worker *slots[LBD_SCOREBOARD_SLOTS];
        unsigned n_workers; /* alive, of every generation */
        unsigned target;    /* workers of the current generation to run */
        unsigned next_generation;
        enum stop_mode stop;

        sd_event_source *signal_sources[N_SIGNALS];
        sd_event_source *tick;    /* every second: heartbeats, kill deadlines */
        sd_event_source *backoff; /* one-shot: start the next worker after a crash loop */

        unsigned quick_deaths; /* in a row */
        unsigned backoff_step; /* 0: 1 s, 1: 2 s, … */
        pid_t probe;           /* the one worker started by the back-off timer */
};

static const char *signal_name(int sig) {
        const char *n = sigabbrev_np(sig);
        return n ? n : "unknown";
}

static struct lbd_worker_slot *worker_slot(const struct lbd_arbiter *a, const struct worker *w) {
        return &a->scoreboard->slots[w->slot];
}

/* ---- generations ------------------------------------------------------- */

static void generation_free(struct generation *g) {
        if (!g)
                return;
        if (g->table)
                lbd_table_pool_release(g->table, g->config);
        lbd_listener_set_free(g->listeners);
        lbd_worker_seccomp_program_done(&g->seccomp);
        if (g->owns_plugins)
                lbd_plugin_set_free(g->plugins);
        if (g->owns_config)
                lbd_config_free(g->config);
        g_free(g);
}

/* Drop a retired generation whose workers are gone. Its plugins may still
 * be another retired generation's (a run-time change keeps the plugins):
 * then that one owns them from now on. */
static void retired_remove(struct lbd_arbiter *a, struct generation *g) {
        for (guint i = 0; g->owns_plugins && i < a->retired->len; i++) {
                struct generation *other = a->retired->pdata[i];
                if (other != g && other->plugins == g->plugins) {
                        other->owns_plugins = true;
                        g->owns_plugins = false;
                }
        }
        g_ptr_array_remove(a->retired, g); /* frees it */
}

/* Where confine-workers= was set, for messages. */
static const char *confine_origin(const struct lbd_config *config) {
        const char *origin = lbd_config_origin(config, "daemon", "confine-workers");
        return origin ? origin : "default";
}

/* The system call filter of g's workers: the allow-list and what g's
 * worker model adds. A kernel without Landlock is said here, once: only
 * confined workers would have used it. */
static int build_filter(struct lbd_arbiter *a, struct generation *g) {
        if (a->landlock_abi < 0 && !a->said_no_landlock) {
                log_warning_errno(a->landlock_abi,
                                  "Landlock is not available (%m): workers are confined by "
                                  "their system call filter alone");
                a->said_no_landlock = true;
        }
        const char *unknown = NULL;
        int r = lbd_worker_seccomp_build(g->model->desc->ops.worker->extra_syscalls, &unknown,
                                         &g->seccomp);
        if (r == -EOPNOTSUPP)
                log_error("%s: [daemon] confine-workers=yes, but workers cannot load a seccomp "
                          "filter here (no seccomp() with SECCOMP_RET_KILL_PROCESS: an old "
                          "kernel, valgrind, or a system call filter around lbd that refuses "
                          "seccomp()); no unconfined worker is started unless "
                          "confine-workers=no says so",
                          confine_origin(g->config));
        else if (r == -EINVAL && unknown)
                log_error("the %s worker model asks for a system call this build does not "
                          "know: %s",
                          g->model->desc->name, unknown);
        else if (r < 0)
                log_error_errno(r, "cannot build the workers' system call filter: %m");
        return r;
}

/* A generation for config: user, worker model and listeners. */
static int generation_new(struct lbd_arbiter *a, struct lbd_config *config,
                          struct lbd_plugin_set *plugins, struct generation **ret) {
        struct generation *g = g_new0(struct generation, 1);
        g->config = config;
        g->plugins = plugins;
        g->model = lbd_plugin_set_find(plugins, LBD_PLUGIN_KIND_WORKER,
                                       config->daemon.worker_model);
        int r = g->model ? 0 : -ENOENT; /* checked when loading: cannot happen */
        if (r >= 0 && config->daemon.confine_workers)
                r = build_filter(a, g);
        if (r >= 0)
                r = lbd_worker_identity_resolve(config, &g->identity);
        if (r >= 0)
                r = lbd_listeners_bind(a->listeners, config, &g->listeners);
        /* Last: the log files the workers of g inherit (see access-log.h). */
        if (r >= 0)
                r = lbd_logs_open(&config->daemon, a->logs_dir, g->identity.drop,
                                  g->identity.gid);
        if (r < 0) {
                generation_free(g);
                return r;
        }
        g->id = ++a->next_generation;
        if (!config->daemon.confine_workers)
                log_warning("%s: [daemon] confine-workers=no: the workers run without Landlock "
                            "and without a system call filter",
                            confine_origin(config));
        /* Its services' pools stay while its workers may pick from them
         * (the configuration was synced to the table before). */
        lbd_table_pool_hold(a->table, config);
        g->table = a->table;
        *ret = g;
        return 0;
}

/* ---- workers ----------------------------------------------------------- */

static int find_free_slot(const struct lbd_arbiter *a) {
        for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++)
                if (!a->slots[i])
                        return (int)i;
        return -EBUSY;
}

static struct worker *find_worker(const struct lbd_arbiter *a, pid_t pid) {
        for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++)
                if (a->slots[i] && a->slots[i]->pid == pid)
                        return a->slots[i];
        return NULL;
}

/* Fork one worker of generation g. -EBUSY when every slot is taken (old
 * workers still draining); fork's errno otherwise. */
static int spawn_worker(struct lbd_arbiter *a, struct generation *g, pid_t *ret_pid) {
        int slot = find_free_slot(a);
        if (slot < 0)
                return slot;

        /* What the worker must not keep: the master's control plane, and
         * listening sockets of other generations (else a socket lbd closes
         * after a reload would go on queueing connections nobody takes). */
        const int *all_fds;
        size_t n_all = lbd_listeners_fds(a->listeners, &all_fds);
        g_autofree int *close_fds =
                g_new(int, n_all + a->n_close_fds + LBD_ARBITER_PRIVATE_FDS_MAX);
        size_t n_close = 0;
        for (size_t i = 0; i < a->n_close_fds; i++)
                close_fds[n_close++] = a->close_fds[i];
        if (a->hooks.private_fds)
                n_close += a->hooks.private_fds(a->hooks.userdata, close_fds + n_close,
                                                LBD_ARBITER_PRIVATE_FDS_MAX);
        for (size_t i = 0; i < n_all; i++)
                if (!lbd_listener_set_has_fd(g->listeners, all_fds[i]))
                        close_fds[n_close++] = all_fds[i];

        size_t n_listeners;
        const struct lbd_listener *listeners = lbd_listener_set_get(g->listeners, &n_listeners);
        struct lbd_worker_slot *ws = &a->scoreboard->slots[slot];
        struct lbd_worker_params params = {
                .config = g->config,
                .model = g->model,
                .plugins = g->plugins,
                .table = a->table,
                .slot = ws,
                .scoreboard = a->scoreboard,
                .slot_index = (unsigned)slot,
                .listeners = listeners,
                .n_listeners = n_listeners,
                .identity = &g->identity,
                .close_fds = close_fds,
                .n_close_fds = n_close,
                .landlock_abi = a->landlock_abi,
                .seccomp = g->seccomp.len ? &g->seccomp : NULL,
        };

        /* A fresh slot: the counters are this worker's (max-requests counts
         * its requests), and the heartbeat starts now. */
        uint64_t now = lbd_now_ms();
        atomic_store(&ws->requests, 0);
        atomic_store(&ws->connections, 0);
        atomic_store(&ws->accepted, 0);
        atomic_store(&ws->heartbeat_ms, now);
        if (atomic_load(&a->scoreboard->high) < (unsigned)slot + 1)
                atomic_store(&a->scoreboard->high, (unsigned)slot + 1);

        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                lbd_worker_main(&params);

        struct worker *w = g_new0(struct worker, 1);
        w->pid = pid;
        w->slot = (unsigned)slot;
        w->gen = g;
        w->started_ms = now;
        a->slots[slot] = w;
        a->n_workers++;
        g->n_workers++;
        log_debug("started worker %d (slot %d, generation %u, %s model)", (int)pid, slot, g->id,
                  g->model->desc->name);
        if (ret_pid)
                *ret_pid = pid;
        return 0;
}

static void worker_signal(struct worker *w, int sig) {
        if (kill(w->pid, sig) < 0 && errno != ESRCH)
                log_warning_errno(errno, "cannot send %s to worker %d: %m", signal_name(sig),
                                  (int)w->pid);
}

/* Ask w to stop with sig; SIGKILL if it is still there after grace_ms. */
static void worker_stop(struct worker *w, int sig, uint64_t grace_ms) {
        uint64_t deadline = lbd_now_ms() + grace_ms;
        if (!w->stopping || deadline < w->kill_at_ms)
                w->kill_at_ms = deadline;
        w->stopping = true;
        if (!w->killed)
                worker_signal(w, sig);
}

static void worker_kill(struct worker *w) {
        w->killed = true;
        worker_signal(w, SIGKILL);
}

/* ---- keeping the count ------------------------------------------------- */

static unsigned backoff_seconds(unsigned step) {
        return step >= 5 ? BACKOFF_MAX_S : 1u << step;
}

static void arm_backoff(struct lbd_arbiter *a) {
        int enabled = SD_EVENT_OFF;
        sd_event_source_get_enabled(a->backoff, &enabled);
        if (enabled != SD_EVENT_OFF || a->probe)
                return;
        unsigned delay = backoff_seconds(a->backoff_step);
        if (a->backoff_step < 5)
                a->backoff_step++;
        log_warning("workers keep exiting right after they start (%u times in a row); starting "
                    "the next one in %us",
                    a->quick_deaths, delay);
        uint64_t now_usec;
        sd_event_now(a->event, CLOCK_MONOTONIC, &now_usec);
        sd_event_source_set_time(a->backoff, now_usec + (uint64_t)delay * 1000000u);
        sd_event_source_set_enabled(a->backoff, SD_EVENT_ONESHOT);
}

static bool backing_off(const struct lbd_arbiter *a) {
        return a->quick_deaths >= QUICK_DEATHS_BEFORE_BACKOFF;
}

/* Bring the current generation to `target` workers: start the missing ones
 * (unless backing off) and stop the surplus, highest slot first. */
static void maintain(struct lbd_arbiter *a) {
        if (a->stop != RUNNING)
                return;
        struct generation *g = a->current;
        unsigned live = 0;
        for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++) {
                const struct worker *w = a->slots[i];
                if (w && w->gen == g && !w->stopping)
                        live++;
        }
        for (unsigned i = LBD_SCOREBOARD_SLOTS; i-- > 0 && live > a->target;) {
                struct worker *w = a->slots[i];
                if (w && w->gen == g && !w->stopping) {
                        log_info("stopping worker %d (slot %u): %u worker(s) wanted", (int)w->pid,
                                 w->slot, a->target);
                        worker_stop(w, SIGTERM, (uint64_t)g->config->daemon.graceful_timeout * 1000u);
                        live--;
                }
        }
        if (live >= a->target)
                return;
        if (backing_off(a)) {
                arm_backoff(a);
                return;
        }
        while (live < a->target) {
                int r = spawn_worker(a, g, NULL);
                if (r == -EBUSY) {
                        /* Draining workers hold every slot; their exit
                         * calls us again. */
                        log_debug("no free scoreboard slot; %u worker(s) wait for draining ones",
                                  a->target - live);
                        return;
                }
                if (r < 0) {
                        log_error_errno(r, "cannot start a worker: %m");
                        /* As a crash at start: retried with back-off. */
                        a->quick_deaths++;
                        if (backing_off(a))
                                arm_backoff(a);
                        return;
                }
                live++;
        }
}

static void check_stopped(struct lbd_arbiter *a) {
        if (a->stop != RUNNING && a->n_workers == 0) {
                log_info("all workers are gone; exiting");
                if (a->hooks.stopped)
                        a->hooks.stopped(a->hooks.userdata);
        }
}

static int on_backoff(sd_event_source *s, uint64_t usec, void *userdata) {
        struct lbd_arbiter *a = userdata;
        if (a->stop != RUNNING)
                return 0;
        pid_t pid;
        int r = spawn_worker(a, a->current, &pid);
        if (r == -EBUSY)
                return 0; /* slots come back as draining workers exit */
        if (r < 0) {
                log_error_errno(r, "cannot start a worker: %m");
                a->quick_deaths++;
                arm_backoff(a);
                return 0;
        }
        a->probe = pid;
        return 0;
}

/* ---- reaping ----------------------------------------------------------- */

static void log_exit(const struct worker *w, int status, uint64_t requests, const char *what) {
        if (WIFEXITED(status)) {
                int code = WEXITSTATUS(status);
                const struct lbd_daemon_config *d = &w->gen->config->daemon;
                if (code == 0 && w->stopping)
                        log_info("worker %d (slot %u) stopped", (int)w->pid, w->slot);
                else if (code == 0 && d->max_requests && requests >= d->max_requests)
                        log_info("worker %d (slot %u) exited after %" PRIu64
                                 " requests (max-requests); %s",
                                 (int)w->pid, w->slot, requests, what);
                else if (code == 0)
                        log_warning("worker %d (slot %u) exited unasked; %s", (int)w->pid,
                                    w->slot, what);
                else
                        log_error("worker %d (slot %u) exited with status %d; %s", (int)w->pid,
                                  w->slot, code, what);
        } else if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                if (w->timed_out)
                        log_info("worker %d (slot %u) killed after its heartbeat timeout; %s",
                                 (int)w->pid, w->slot, what);
                else if (sig == SIGSYS && !w->killed)
                        /* SECCOMP_RET_KILL_PROCESS (proxy/worker-seccomp.h). */
                        log_error("worker %d (slot %u) was killed by its system call filter: "
                                  "it made a system call workers may not make (a bug in a "
                                  "plugin, or an attack on it; see SECURITY in lbd(8)); %s",
                                  (int)w->pid, w->slot, what);
                else
                        log_full(w->killed ? LOG_WARNING : LOG_ERR, NULL,
                                 "worker %d (slot %u) was killed by signal %s%s; %s",
                                 (int)w->pid, w->slot, signal_name(sig),
                                 WCOREDUMP(status) ? " (core dumped)" : "", what);
        }
}

static void worker_exited(struct lbd_arbiter *a, struct worker *w, int status) {
        struct lbd_worker_slot *ws = worker_slot(a, w);
        uint64_t requests = atomic_load(&ws->requests);
        uint64_t lived = lbd_now_ms() - w->started_ms;

        /* Replaced: any worker of the current generation that was not
         * asked to stop, also after a clean exit (max-requests). One that
         * dies at start, unless it exited cleanly having served requests
         * (a tiny max-requests under load), counts toward the back-off. */
        bool replace = !w->stopping && w->gen == a->current && a->stop == RUNNING;
        if (replace) {
                bool recycled = WIFEXITED(status) && WEXITSTATUS(status) == 0 && requests > 0;
                if (lived < QUICK_DEATH_MS && !recycled) {
                        a->quick_deaths++;
                } else {
                        a->quick_deaths = 0;
                        a->backoff_step = 0;
                }
        }
        log_exit(w, status, requests,
                 !replace             ? (a->stop != RUNNING ? "stopping" : "not replaced") :
                 backing_off(a)       ? "replacing it after a back-off" :
                                        "replacing it");
        if (w->pid == a->probe)
                a->probe = 0;

        struct generation *g = w->gen;
        a->slots[w->slot] = NULL;
        a->n_workers--;
        g->n_workers--;
        g_free(w);
        if (g != a->current && g->n_workers == 0) {
                log_info("the workers of generation %u are gone", g->id);
                retired_remove(a, g);
        }
}

static void reap(struct lbd_arbiter *a) {
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);
                if (pid == 0)
                        break;
                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != ECHILD)
                                log_error_errno(errno, "waitpid: %m");
                        break;
                }
                struct worker *w = find_worker(a, pid);
                if (!w) {
                        log_debug("reaped process %d, which is not a worker", (int)pid);
                        continue;
                }
                worker_exited(a, w, status);
        }
        maintain(a);
        check_stopped(a);
}

/* ---- the heartbeat tick ------------------------------------------------ */

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct lbd_arbiter *a = userdata;
        uint64_t now = lbd_now_ms();
        for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++) {
                struct worker *w = a->slots[i];
                if (!w || w->killed)
                        continue;
                if (w->stopping) {
                        if (now >= w->kill_at_ms) {
                                log_warning("worker %d (slot %u) did not stop in time; killing it",
                                            (int)w->pid, w->slot);
                                worker_kill(w);
                        }
                        continue;
                }
                uint64_t timeout_ms = (uint64_t)w->gen->config->daemon.timeout * 1000u;
                uint64_t beat = atomic_load_explicit(&worker_slot(a, w)->heartbeat_ms,
                                                     memory_order_relaxed);
                if (timeout_ms && now > beat && now - beat > timeout_ms) {
                        log_warning("worker %d (slot %u) silent for %" PRIu64 "s; killing it",
                                    (int)w->pid, w->slot, (now - beat) / 1000u);
                        w->timed_out = true;
                        worker_kill(w);
                        continue;
                }
                if (!w->proven && now - w->started_ms >= QUICK_DEATH_MS) {
                        w->proven = true;
                        if (w->gen == a->current) {
                                if (backing_off(a))
                                        log_notice("worker %d (slot %u) is up; starting "
                                                   "workers normally again",
                                                   (int)w->pid, w->slot);
                                a->quick_deaths = 0;
                                a->backoff_step = 0;
                                if (w->pid == a->probe)
                                        a->probe = 0;
                        }
                }
        }
        maintain(a);
        sd_event_source_set_time(s, usec + TICK_USEC);
        return 0;
}

/* ---- run-time changes ------------------------------------------------- */

int lbd_arbiter_update_generation(struct lbd_arbiter *a, struct lbd_config *config) {
        assert(a);
        assert(config);
        if (!a->current || a->stop != RUNNING)
                return -ESHUTDOWN;
        /* The generation's listener set points into its configuration:
         * a set for config (the same addresses: the same sockets, none
         * opened or closed) replaces it. */
        struct lbd_listener_set *listeners = NULL;
        int r = lbd_listeners_bind(a->listeners, config, &listeners);
        if (r < 0)
                return r;
        /* The running generation goes on with config: its workers (and
         * the ones respawned for it) read the table, not their copy. */
        lbd_listener_set_free(a->current->listeners);
        a->current->listeners = listeners;
        a->current->config = config;
        return 0;
}

/* ---- stopping, reloading, resizing ------------------------------------- */

void lbd_arbiter_stop(struct lbd_arbiter *a, bool graceful) {
        assert(a);
        if (graceful && a->stop != RUNNING) {
                log_info("already stopping");
                return;
        }
        if (!graceful && a->stop == STOPPING_NOW)
                return;
        a->stop = graceful ? STOPPING_GRACEFULLY : STOPPING_NOW;
        sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
        sd_event_source_set_enabled(a->backoff, SD_EVENT_OFF);
        unsigned grace = a->current ? a->current->config->daemon.graceful_timeout : 0;
        if (graceful)
                log_info("stopping %u worker(s) gracefully (graceful-timeout=%us)", a->n_workers,
                         grace);
        else
                log_info("stopping %u worker(s) now", a->n_workers);
        for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++) {
                struct worker *w = a->slots[i];
                if (!w)
                        continue;
                if (graceful)
                        worker_stop(w, SIGTERM, (uint64_t)grace * 1000u);
                else
                        worker_stop(w, SIGQUIT, FAST_STOP_MS);
        }
        check_stopped(a);
}

int lbd_arbiter_start_generation(struct lbd_arbiter *a, struct lbd_config *config,
                                 struct lbd_plugin_set *plugins) {
        assert(a);
        assert(config);
        assert(plugins);
        if (a->stop != RUNNING)
                return -ESHUTDOWN;
        struct generation *g = NULL;
        int r = generation_new(a, config, plugins, &g);
        if (r < 0)
                return r;
        struct generation *old = a->current;
        a->current = g;
        a->target = lbd_config_worker_count(config);
        a->quick_deaths = 0;
        a->backoff_step = 0;
        a->probe = 0;
        sd_event_source_set_enabled(a->backoff, SD_EVENT_OFF);

        /* New workers first, so that connections never wait for a
         * generation that is not there; then the old ones finish. */
        maintain(a);
        if (!old) {
                log_info("started %u %s worker(s)", g->n_workers, g->model->desc->name);
                return 0;
        }
        old->owns_config = true; /* the caller lets go of them */
        old->owns_plugins = old->plugins != plugins;
        g_ptr_array_add(a->retired, old);
        unsigned grace = config->daemon.graceful_timeout;
        unsigned n_old = 0;
        for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++) {
                struct worker *w = a->slots[i];
                if (w && w->gen == old && !w->stopping) {
                        worker_stop(w, SIGTERM, (uint64_t)grace * 1000u);
                        n_old++;
                }
        }
        log_info("configuration applied (generation %u): %u service(s), %u %s worker(s); "
                 "stopping %u old worker(s) gracefully",
                 g->id, config->services->len, a->target, g->model->desc->name, n_old);
        if (old->n_workers == 0)
                retired_remove(a, old);
        return 0;
}

int lbd_arbiter_set_workers(struct lbd_arbiter *a, unsigned n) {
        assert(a);
        if (n < 1 || n > LBD_WORKERS_MAX)
                return -EINVAL;
        if (!a->current || a->stop != RUNNING)
                return -ESHUTDOWN;
        bool changed = n != a->target;
        if (changed)
                log_info("worker count %u -> %u", a->target, n);
        a->target = n;
        maintain(a);
        return 0;
}

unsigned lbd_arbiter_get_workers(const struct lbd_arbiter *a) {
        assert(a);
        return a->target;
}

unsigned lbd_arbiter_generation(const struct lbd_arbiter *a) {
        assert(a);
        return a->current ? a->current->id : 0;
}

bool lbd_arbiter_running(const struct lbd_arbiter *a) {
        assert(a);
        return a->stop == RUNNING;
}

void lbd_arbiter_foreach_worker(const struct lbd_arbiter *a, lbd_arbiter_worker_fn fn,
                                void *userdata) {
        assert(a);
        for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++)
                if (a->slots[i])
                        fn(userdata, a->slots[i]->pid, worker_slot(a, a->slots[i]));
}

/* ---- signals ----------------------------------------------------------- */

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct lbd_arbiter *a = userdata;
        int sig = (int)si->ssi_signo;

        switch (sig) {
        case SIGCHLD:
                reap(a);
                break;
        case SIGHUP:
                log_info("received SIGHUP");
                if (a->hooks.reload)
                        a->hooks.reload(a->hooks.userdata);
                break;
        case SIGTTIN:
        case SIGTTOU: {
                unsigned n = a->target;
                if (sig == SIGTTIN && n < LBD_WORKERS_MAX)
                        n++;
                else if (sig == SIGTTOU && n > 1)
                        n--;
                log_info("received %s", signal_name(sig));
                if (n == a->target)
                        log_notice("%s: already at %u worker(s); unchanged", signal_name(sig), n);
                else if (lbd_arbiter_set_workers(a, n) >= 0 && a->hooks.workers_changed)
                        a->hooks.workers_changed(a->hooks.userdata);
                break;
        }
        case SIGTERM:
                log_info("received SIGTERM; stopping gracefully");
                lbd_arbiter_stop(a, true);
                break;
        case SIGINT:
        case SIGQUIT:
                log_info("received %s; stopping now", signal_name(sig));
                lbd_arbiter_stop(a, false);
                break;
        case SIGUSR1:
                /* nginx's scheme: the master reopens (creates, chowns) the
                 * files first, then the workers reopen them by path. */
                lbd_logs_reopen();
                log_info("received SIGUSR1; reopened the log files, and so do the workers");
                for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++)
                        if (a->slots[i] && !a->slots[i]->killed)
                                worker_signal(a->slots[i], SIGUSR1);
                break;
        }
        return 0;
}

/* ---- start and free ---------------------------------------------------- */

static int setup_event_sources(struct lbd_arbiter *a) {
        sd_event *e = a->event;
        /* signalfd only sees blocked signals. Workers unblock them again
         * (worker.c) after fork. */
        sigset_t mask;
        sigemptyset(&mask);
        for (size_t i = 0; i < N_SIGNALS; i++)
                sigaddset(&mask, handled_signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "cannot block the arbiter's signals: %m");
        int r;
        for (size_t i = 0; i < N_SIGNALS; i++) {
                r = sd_event_add_signal(e, &a->signal_sources[i], handled_signals[i], on_signal,
                                        a);
                if (r < 0)
                        return log_error_errno(r, "cannot handle %s: %m",
                                               signal_name(handled_signals[i]));
        }
        uint64_t now;
        r = sd_event_now(e, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return log_error_errno(r, "cannot read the loop's clock: %m");
        /* One-shot sources are created OFF and armed when needed. */
        r = sd_event_add_time(e, &a->tick, CLOCK_MONOTONIC, now + TICK_USEC, 0, on_tick, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->tick, SD_EVENT_ON);
        if (r < 0)
                return log_error_errno(r, "cannot start the heartbeat tick: %m");
        r = sd_event_add_time(e, &a->backoff, CLOCK_MONOTONIC, 0, 0, on_backoff, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->backoff, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "cannot create the respawn back-off timer: %m");
        return 0;
}

int lbd_arbiter_new(const struct lbd_arbiter_params *p, struct lbd_arbiter **ret) {
        assert(p);
        assert(p->event);
        assert(p->table);
        assert(p->n_close_fds <= LBD_ARBITER_CLOSE_FDS_MAX);
        assert(ret);
        struct lbd_arbiter *a = g_new0(struct lbd_arbiter, 1);
        a->event = p->event;
        a->table = p->table;
        a->logs_dir = p->logs_dir; /* the manager's options: outlive the arbiter */
        a->hooks = p->hooks;
        memcpy(a->close_fds, p->close_fds, sizeof(a->close_fds));
        a->n_close_fds = p->n_close_fds;
        a->retired = g_ptr_array_new_with_free_func((GDestroyNotify)generation_free);
        a->listeners = lbd_listeners_new();
        *ret = a;

        /* A confined worker opens no file: it uses the time zone the
         * master read (localtime_r() reads it once). */
        tzset();
        /* Probed once here, not by every worker. */
        a->landlock_abi = lbd_landlock_abi();
        if (a->landlock_abi >= 0)
                log_debug("Landlock ABI %d for confined workers", a->landlock_abi);

        int r = setup_event_sources(a);
        if (r < 0)
                return r; /* logged */
        a->scoreboard = lbd_scoreboard_new();
        if (!a->scoreboard)
                return log_error_errno(-errno, "cannot map the scoreboard: %m");
        return 0;
}

struct lbd_arbiter *lbd_arbiter_free(struct lbd_arbiter *a) {
        if (!a)
                return NULL;
        /* Normally none are left (a stop waits for them). When the master
         * leaves otherwise (lost the bus), do not leave orphans behind. */
        for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++) {
                struct worker *w = a->slots[i];
                if (!w)
                        continue;
                log_warning("killing worker %d (slot %u) on exit", (int)w->pid, w->slot);
                kill(w->pid, SIGKILL);
                while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                g_free(w);
        }
        g_ptr_array_unref(a->retired);
        generation_free(a->current); /* does not own its config */
        lbd_listeners_free(a->listeners);
        lbd_scoreboard_free(a->scoreboard);
        for (size_t i = 0; i < N_SIGNALS; i++)
                sd_event_source_disable_unref(a->signal_sources[i]);
        sd_event_source_disable_unref(a->tick);
        sd_event_source_disable_unref(a->backoff);
        g_free(a);
        return NULL;
}
