/* SPDX-License-Identifier: MIT */
#include "arbiter.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "access-log.h"
#include "backend-table.h"
#include "bus.h"
#include "health-check.h"
#include "listeners.h"
#include "log.h"
#include "scoreboard.h"
#include "worker.h"

/* A worker that dies sooner than this after its start died "at start". */
#define QUICK_DEATH_MS 1000u
/* This many deaths at start in a row, and respawning backs off. */
#define QUICK_DEATHS_BEFORE_BACKOFF 3u
#define BACKOFF_MAX_S 30u
/* How long a fast stop (INT/QUIT) waits before SIGKILL. */
#define FAST_STOP_MS 1000u
#define TICK_USEC (1000u * 1000u)
/* How often the shared backend table is looked at (state changes, drained
 * slots): passive-health marks made by workers reach the log and the bus
 * within this. */
#define TABLE_TICK_USEC (250u * 1000u)

enum stop_mode {
        RUNNING,
        STOPPING_GRACEFULLY, /* TERM */
        STOPPING_NOW,        /* INT, QUIT */
};

/* One configuration and the workers started with it. */
struct generation {
        unsigned id;
        /* While the generation is current these are m->config and
         * m->plugins, owned by the manager; once retired, owned here. */
        struct lbd_config *config;
        struct lbd_plugin_set *plugins;
        bool owns_config;  /* config: retired generations own theirs */
        bool owns_plugins; /* plugins: the same, unless the next generation shares them */
        const struct lbd_plugin *model;
        struct lbd_listener_set *listeners;
        struct lbd_table *table; /* holds its services' pools while set */
        struct lbd_worker_identity identity; /* who its workers run as */
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
        struct lbd_manager *m;
        struct lbd_scoreboard *scoreboard;
        struct lbd_table *table; /* the shared backend table */
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
        sd_event_source *table_tick; /* 4 times a second: lbd_table_tick() */
        sd_event_source *backoff; /* one-shot: start the next worker after a crash loop */

        unsigned quick_deaths; /* in a row */
        unsigned backoff_step; /* 0: 1 s, 1: 2 s, … */
        pid_t probe;           /* the one worker started by the back-off timer */
};

static const char *signal_name(int sig) {
        const char *n = sigabbrev_np(sig);
        return n ? n : "unknown";
}

static struct lbd_worker_slot *worker_slot(struct lbd_arbiter *a, const struct worker *w) {
        return &a->scoreboard->slots[w->slot];
}

/* ---- generations ------------------------------------------------------- */

static void generation_free(struct generation *g) {
        if (!g)
                return;
        if (g->table)
                lbd_table_pool_release(g->table, g->config);
        lbd_listener_set_free(g->listeners);
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

/* A generation for config: user, worker model and listeners. */
static int generation_new(struct lbd_arbiter *a, struct lbd_config *config,
                          struct lbd_plugin_set *plugins, struct generation **ret) {
        struct generation *g = g_new0(struct generation, 1);
        g->config = config;
        g->plugins = plugins;
        g->model = lbd_plugin_set_find(plugins, LBD_PLUGIN_KIND_WORKER,
                                       config->daemon.worker_model);
        int r = g->model ? 0 : -ENOENT; /* checked when loading: cannot happen */
        if (r >= 0)
                r = lbd_worker_identity_resolve(config, &g->identity);
        if (r >= 0)
                r = lbd_listeners_bind(a->listeners, config, &g->listeners);
        /* Last: the log files the workers of g inherit (see access-log.h). */
        if (r >= 0)
                r = lbd_logs_open(&config->daemon, g->identity.drop, g->identity.uid,
                                  g->identity.gid);
        if (r < 0) {
                generation_free(g);
                return r;
        }
        g->id = ++a->next_generation;
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
        g_autofree int *close_fds = g_new(int, n_all + 2);
        size_t n_close = 0;
        if (a->m->bus && sd_bus_get_fd(a->m->bus) >= 0)
                close_fds[n_close++] = sd_bus_get_fd(a->m->bus);
        if (a->m->event && sd_event_get_fd(a->m->event) >= 0)
                close_fds[n_close++] = sd_event_get_fd(a->m->event);
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
                log_warning("cannot send %s to worker %d: %s", signal_name(sig), (int)w->pid,
                            strerror(errno));
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
        sd_event_now(a->m->event, CLOCK_MONOTONIC, &now_usec);
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
                        log_error("cannot start a worker: %s", strerror(-r));
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
                g_main_loop_quit(a->m->loop);
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
                log_error("cannot start a worker: %s", strerror(-r));
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
                                log_error("waitpid: %s", strerror(errno));
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

/* ---- the shared backend table ------------------------------------------ */

static void on_backend_state(void *userdata, const char *service, const char *address,
                             enum lbd_backend_state old_state, enum lbd_backend_state new_state,
                             const char *reason) {
        struct lbd_arbiter *a = userdata;
        const char *state = lbd_backend_state_to_string(new_state);
        log_full(new_state == LBD_BACKEND_DOWN ? LOG_WARNING : LOG_NOTICE, service,
                 "backend %s is %s: %s", address, state, reason);
        lbd_bus_backend_state_changed(a->m, service, address, state, reason);
}

static int on_table_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct lbd_arbiter *a = userdata;
        lbd_table_tick(a->table, lbd_now_ms(), on_backend_state, a);
        sd_event_source_set_time(s, usec + TABLE_TICK_USEC);
        return 0;
}

struct lbd_table *lbd_arbiter_table(struct lbd_manager *m) {
        return m->arbiter ? m->arbiter->table : NULL;
}

/* config as the text the file would have, without what the running
 * workers read from the shared table (a service's backends and policy)
 * and without the worker count (not a generation matter either). */
static char *text_without_table_keys(const struct lbd_config *config) {
        g_autoptr(GKeyFile) kf = lbd_config_to_keyfile(config, NULL);
        g_key_file_remove_key(kf, "daemon", "workers", NULL);
        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *svc = config->services->pdata[i];
                g_autofree char *group = g_strconcat("service ", svc->name, NULL);
                g_key_file_remove_key(kf, group, "backends", NULL);
                g_key_file_remove_key(kf, group, "policy", NULL);
        }
        return g_key_file_to_data(kf, NULL, NULL);
}

int lbd_arbiter_update(struct lbd_manager *m, struct lbd_config *config, char **ret_reason) {
        struct lbd_arbiter *a = m->arbiter;
        if (!a || !a->current || a->stop != RUNNING) {
                if (ret_reason)
                        *ret_reason = g_strdup("lbd is stopping");
                return -ESHUTDOWN;
        }
        g_autofree char *now = text_without_table_keys(m->config);
        g_autofree char *next = text_without_table_keys(config);
        if (strcmp(now, next) != 0) {
                if (ret_reason)
                        *ret_reason = g_strdup("the change needs new workers");
                return -EINVAL;
        }
        /* The generation's listener set points into its configuration:
         * a set for config (the same addresses: the same sockets, none
         * opened or closed) replaces it. */
        struct lbd_listener_set *listeners = NULL;
        int r = lbd_listeners_bind(a->listeners, config, &listeners);
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = g_strdup_printf("cannot listen: %s", g_strerror(-r));
                return r;
        }
        r = lbd_table_sync(a->table, config, ret_reason);
        if (r < 0) {
                lbd_listener_set_free(listeners);
                return r;
        }
        /* The running generation goes on with config: its workers (and
         * the ones respawned for it) read the table, not their copy. */
        unsigned running = a->target;
        struct lbd_config *old = m->config;
        lbd_listener_set_free(a->current->listeners);
        a->current->listeners = listeners;
        m->config = config;
        a->current->config = config;
        lbd_config_free(old);
        a->target = running;
        log_info("configuration updated in the running workers (generation %u)",
                 a->current->id);
        lbd_health_apply(m); /* checks follow the backends */
        lbd_bus_configuration_changed(m);
        return 0;
}

/* ---- stopping, reloading, resizing ------------------------------------- */

void lbd_arbiter_stop(struct lbd_manager *m, bool graceful) {
        struct lbd_arbiter *a = m->arbiter;
        if (!a)
                return;
        if (graceful && a->stop != RUNNING) {
                log_info("already stopping");
                return;
        }
        if (!graceful && a->stop == STOPPING_NOW)
                return;
        a->stop = graceful ? STOPPING_GRACEFULLY : STOPPING_NOW;
        sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
        sd_event_source_set_enabled(a->backoff, SD_EVENT_OFF);
        unsigned grace = m->config->daemon.graceful_timeout;
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

int lbd_arbiter_apply(struct lbd_manager *m, struct lbd_config *config,
                      struct lbd_plugin_set *plugins) {
        struct lbd_arbiter *a = m->arbiter;
        bool same_plugins = plugins == m->plugins;
        if (!a || !a->current || a->stop != RUNNING) {
                if (!same_plugins)
                        lbd_plugin_set_free(plugins);
                lbd_config_free(config);
                return -ESHUTDOWN;
        }
        /* The table first: the new workers find their pools there, and
         * the running ones see the new backends at once. */
        g_autofree char *reason = NULL;
        int r = lbd_table_sync(a->table, config, &reason);
        if (r < 0)
                log_error("cannot apply the configuration: %s", reason);
        struct generation *g = NULL;
        if (r >= 0)
                r = generation_new(a, config, plugins, &g);
        if (r < 0) {
                /* Back to the configuration in effect (it fitted before). */
                if (lbd_table_sync(a->table, m->config, NULL) < 0)
                        log_error("cannot restore the backend table");
                if (!same_plugins)
                        lbd_plugin_set_free(plugins);
                lbd_config_free(config);
                return r;
        }

        struct generation *old = a->current;
        old->owns_config = true; /* m lets go of them below */
        old->owns_plugins = !same_plugins;
        g_ptr_array_add(a->retired, old);
        m->config = config;
        m->plugins = plugins;
        a->current = g;
        a->target = lbd_config_worker_count(config);
        a->quick_deaths = 0;
        a->backoff_step = 0;
        a->probe = 0;
        sd_event_source_set_enabled(a->backoff, SD_EVENT_OFF);

        /* New workers first, so that connections never wait for a
         * generation that is not there; then the old ones finish. */
        maintain(a);
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
        lbd_health_apply(m); /* checks follow the backends */
        lbd_bus_configuration_changed(m);
        return 0;
}

int lbd_arbiter_reload(struct lbd_manager *m, char **ret_reason) {
        struct lbd_arbiter *a = m->arbiter;
        if (!a || a->stop != RUNNING) {
                log_notice("not reloading: stopping");
                if (ret_reason)
                        *ret_reason = g_strdup("lbd is stopping");
                return -ESHUTDOWN;
        }
        uint64_t usec;
        sd_event_now(m->event, CLOCK_MONOTONIC, &usec);
        sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading the configuration\nMONOTONIC_USEC=%" PRIu64,
                   usec);
        log_info("reloading the configuration");

        struct lbd_config *config = NULL;
        struct lbd_plugin_set *plugins = NULL;
        g_autofree char *reason = NULL;
        int r = lbd_manager_load_configuration(&m->options, m->shared, &config, &plugins,
                                               &reason);
        if (r >= 0) {
                r = lbd_arbiter_apply(m, config, plugins);
                if (r < 0)
                        reason = g_strdup_printf("cannot apply the configuration: %s",
                                                 g_strerror(-r));
        }
        if (r < 0) {
                log_error("reload failed; still running the previous configuration");
                if (ret_reason)
                        *ret_reason = g_steal_pointer(&reason);
        }
        sd_notifyf(0, "READY=1\nSTATUS=Serving with %u worker(s)", a->target);
        return r;
}

int lbd_arbiter_set_workers(struct lbd_manager *m, unsigned n) {
        struct lbd_arbiter *a = m->arbiter;
        if (n < 1 || n > LBD_WORKERS_MAX)
                return -EINVAL;
        if (!a || a->stop != RUNNING)
                return -ESHUTDOWN;
        bool changed = n != a->target;
        if (changed)
                log_info("worker count %u -> %u", a->target, n);
        a->target = n;
        maintain(a);
        if (changed)
                lbd_bus_workers_changed(m);
        return 0;
}

unsigned lbd_arbiter_get_workers(const struct lbd_manager *m) {
        return m->arbiter ? m->arbiter->target : lbd_config_worker_count(m->config);
}

void lbd_arbiter_foreach_worker(const struct lbd_manager *m, lbd_arbiter_worker_fn fn,
                                void *userdata) {
        struct lbd_arbiter *a = m->arbiter;
        if (!a)
                return;
        for (unsigned i = 0; i < LBD_SCOREBOARD_SLOTS; i++)
                if (a->slots[i])
                        fn(userdata, a->slots[i]->pid, worker_slot(a, a->slots[i]));
}

/* ---- signals ----------------------------------------------------------- */

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct lbd_arbiter *a = userdata;
        struct lbd_manager *m = a->m;
        int sig = (int)si->ssi_signo;

        switch (sig) {
        case SIGCHLD:
                reap(a);
                break;
        case SIGHUP:
                log_info("received SIGHUP");
                lbd_arbiter_reload(m, NULL);
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
                lbd_arbiter_set_workers(m, n);
                break;
        }
        case SIGTERM:
                log_info("received SIGTERM; stopping gracefully");
                lbd_arbiter_stop(m, true);
                break;
        case SIGINT:
        case SIGQUIT:
                log_info("received %s; stopping now", signal_name(sig));
                lbd_arbiter_stop(m, false);
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
        sd_event *e = a->m->event;
        /* signalfd only sees blocked signals. Workers unblock them again
         * (worker.c) after fork. */
        sigset_t mask;
        sigemptyset(&mask);
        for (size_t i = 0; i < N_SIGNALS; i++)
                sigaddset(&mask, handled_signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        int r;
        for (size_t i = 0; i < N_SIGNALS; i++) {
                r = sd_event_add_signal(e, &a->signal_sources[i], handled_signals[i], on_signal,
                                        a);
                if (r < 0)
                        return r;
        }
        uint64_t now;
        r = sd_event_now(e, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(e, &a->tick, CLOCK_MONOTONIC, now + TICK_USEC, 0, on_tick,
                                      a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->tick, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_add_time(e, &a->table_tick, CLOCK_MONOTONIC, now + TABLE_TICK_USEC,
                                      0, on_table_tick, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->table_tick, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_add_time(e, &a->backoff, CLOCK_MONOTONIC, 0, 0, on_backoff, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->backoff, SD_EVENT_OFF);
        return r;
}

int lbd_arbiter_start(struct lbd_manager *m) {
        struct lbd_arbiter *a = g_new0(struct lbd_arbiter, 1);
        a->m = m;
        a->retired = g_ptr_array_new_with_free_func((GDestroyNotify)generation_free);
        a->listeners = lbd_listeners_new();
        m->arbiter = a;

        int r = setup_event_sources(a);
        if (r < 0) {
                log_error("cannot set up the arbiter's signals and timers: %s", strerror(-r));
                return r;
        }
        a->scoreboard = lbd_scoreboard_new();
        if (!a->scoreboard) {
                r = -errno;
                log_error("cannot map the scoreboard: %s", strerror(-r));
                return r;
        }
        /* Before the first fork: every worker shares this mapping. */
        a->table = lbd_table_new();
        if (!a->table) {
                r = -errno;
                log_error("cannot map the backend table: %s", strerror(-r));
                return r;
        }
        g_autofree char *reason = NULL;
        r = lbd_table_sync(a->table, m->config, &reason);
        if (r < 0) {
                log_error("%s", reason);
                return r;
        }
        r = generation_new(a, m->config, m->plugins, &a->current);
        if (r < 0)
                return r;
        a->target = lbd_config_worker_count(m->config);
        maintain(a);
        log_info("started %u %s worker(s)", a->current->n_workers,
                 a->current->model->desc->name);
        return 0;
}

void lbd_arbiter_free(struct lbd_arbiter *a) {
        if (!a)
                return;
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
        generation_free(a->current); /* does not own m->config */
        lbd_listeners_free(a->listeners);
        lbd_scoreboard_free(a->scoreboard);
        lbd_table_free(a->table); /* after the generations: they release their pools */
        for (size_t i = 0; i < N_SIGNALS; i++)
                sd_event_source_disable_unref(a->signal_sources[i]);
        sd_event_source_disable_unref(a->tick);
        sd_event_source_disable_unref(a->table_tick);
        sd_event_source_disable_unref(a->backoff);
        g_free(a);
}
