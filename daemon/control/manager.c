/* SPDX-License-Identifier: MIT */
/*
 * Applying a configuration, in one place (manager.h): the shared table,
 * the arbiter's generation, the health checks, the links, the state file
 * and the hooks, in that order, for startup, reloads and D-Bus changes.
 */
#include "manager.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "admin.h"
#include "arbiter.h"
#include "backend-table.h"
#include "config-files.h"
#include "health-check.h"
#include "statsd.h"
#include "links.h"
#include "log.h"
#include "reason.h"
#include "scoreboard.h"
#include "state.h"

/* How often the shared backend table is looked at (state changes, drained
 * slots): passive-health marks made by workers reach the log and the bus
 * within this. */
#define TABLE_TICK_USEC (250u * 1000u)

#define HOOK(m, name, ...)                                   \
        do {                                                 \
                if ((m)->hooks && (m)->hooks->name)          \
                        (m)->hooks->name((m), ##__VA_ARGS__); \
        } while (0)

/* ---- what follows every new configuration ----------------------------- */

static void configuration_applied(struct lbd_manager *m) {
        lbd_health_apply(m->health, m->config); /* checks follow the backends */
        if (m->statsd)
                lbd_statsd_apply(m->statsd, m->config);
        if (m->admin)
                (void)lbd_admin_apply(m->admin, m->config); /* logged; the old address stays */
        if (m->links)
                lbd_links_sync_plugins(m->links, m->plugins); /* a reload may bring new ones */
        HOOK(m, configuration_changed);
}

/* The backend table to config, and the policies' tables to it. */
static int table_sync(struct lbd_manager *m, const struct lbd_config *config,
                      const struct lbd_plugin_set *plugins, char **ret_reason) {
        int r = lbd_table_sync(m->table, config, ret_reason);
        if (r >= 0)
                lbd_table_build_policies(m->table, plugins, lbd_now_ms());
        return r;
}

static bool running(const struct lbd_manager *m) {
        return m->arbiter && lbd_arbiter_running(m->arbiter);
}

int lbd_manager_apply(struct lbd_manager *m, struct lbd_config *config,
                      struct lbd_plugin_set *plugins) {
        assert(m);
        assert(config);
        assert(plugins);
        bool same_plugins = plugins == m->plugins;
        int r = -ESHUTDOWN;
        if (running(m)) {
                /* The table first: the new workers find their pools there,
                 * and the running ones see the new backends at once. */
                g_autofree char *reason = NULL;
                r = table_sync(m, config, plugins, &reason);
                if (r < 0)
                        log_error("cannot apply the configuration: %s", reason);
                else
                        r = lbd_arbiter_start_generation(m->arbiter, config, plugins);
                /* Back to the configuration in effect (it fitted before). */
                if (r < 0 && table_sync(m, m->config, m->plugins, NULL) < 0)
                        log_error("cannot restore the backend table");
        }
        if (r < 0) {
                if (!same_plugins)
                        lbd_plugin_set_free(plugins);
                lbd_config_free(config);
                return r;
        }
        /* The arbiter's retired generation owns the previous ones now. */
        m->config = config;
        m->plugins = plugins;
        configuration_applied(m);
        return 0;
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

static int fail(int r, char **ret_reason, const char *reason) {
        if (ret_reason)
                *ret_reason = g_strdup(reason);
        return r;
}

int lbd_manager_update(struct lbd_manager *m, struct lbd_config *config, char **ret_reason) {
        assert(m);
        assert(config);
        if (!running(m))
                return fail(-ESHUTDOWN, ret_reason, "lbd is stopping");
        g_autofree char *now = text_without_table_keys(m->config);
        g_autofree char *next = text_without_table_keys(config);
        if (strcmp(now, next) != 0)
                return fail(-EINVAL, ret_reason, "the change needs new workers");
        int r = table_sync(m, config, m->plugins, ret_reason);
        if (r < 0)
                return r;
        r = lbd_arbiter_update_generation(m->arbiter, config);
        if (r < 0) {
                if (table_sync(m, m->config, m->plugins, NULL) < 0)
                        log_error("cannot restore the backend table");
                if (ret_reason)
                        *ret_reason = g_strdup_printf("cannot listen: %s", g_strerror(-r));
                return r;
        }
        lbd_config_free(m->config);
        m->config = config;
        log_info("configuration updated in the running workers (generation %u)",
                 lbd_arbiter_generation(m->arbiter));
        configuration_applied(m);
        return 0;
}

/* ---- changes asked for at run time ------------------------------------- */

/* The change was saved but could not be applied: save what is in effect
 * again, so that a restart does not bring back what the caller was told
 * failed. */
static void restore_state(struct lbd_manager *m) {
        g_autofree char *why = NULL;
        if (lbd_state_save(m->options.state_dir, m->config, &why) < 0)
                log_error("cannot restore the state file after a failed change: %s", why);
}

/* Persist next (what is about to be made effective) under the state
 * directory, atomically (docs/state.md). */
static int save_state(struct lbd_manager *m, const struct lbd_config *next, char **ret_reason) {
        g_autofree char *why = NULL;
        int r = lbd_state_save(m->options.state_dir, next, &why);
        if (r < 0)
                return lbd_reason(ret_reason, r, "cannot save the change, so it was not made: %s",
                                  why);
        return 0;
}

static const char *errno_reason(int r) {
        return r == -ESHUTDOWN ? "lbd is stopping" : g_strerror(-r);
}

int lbd_manager_commit(struct lbd_manager *m, struct lbd_config *next,
                       enum lbd_manager_change how, char **ret_reason) {
        assert(m);
        assert(next);
        g_autoptr(lbd_config) config = next;
        int r = save_state(m, config, ret_reason);
        if (r < 0)
                return r;
        /* A new generation starts with the configuration's worker count:
         * keep the one running (TTIN/TTOU), which is not saved, and put the
         * configured one back afterwards so that later saves do not pick
         * up the running one. */
        unsigned configured = config->daemon.workers;
        config->daemon.workers = lbd_manager_get_workers(m);
        g_autofree char *reason = NULL;
        r = -EINVAL;
        if (how == LBD_MANAGER_CHANGE_UPDATE) {
                r = lbd_manager_update(m, config, &reason);
                if (r >= 0)
                        config = NULL; /* m->config now */
        }
        if (r == -EINVAL) { /* it needs new workers after all */
                g_clear_pointer(&reason, g_free);
                r = lbd_manager_apply(m, g_steal_pointer(&config), m->plugins);
        }
        if (r < 0) {
                restore_state(m);
                if (ret_reason)
                        *ret_reason = reason ? g_steal_pointer(&reason)
                                             : g_strdup(errno_reason(r));
                return r;
        }
        m->config->daemon.workers = configured;
        return 0;
}

int lbd_manager_reload(struct lbd_manager *m, char **ret_reason) {
        assert(m);
        if (!running(m)) {
                log_notice("not reloading: stopping");
                return fail(-ESHUTDOWN, ret_reason, "lbd is stopping");
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
                r = lbd_manager_apply(m, config, plugins);
                if (r < 0)
                        reason = g_strdup_printf("cannot apply the configuration: %s",
                                                 g_strerror(-r));
        }
        if (r < 0) {
                log_error("reload failed; still running the previous configuration");
                if (ret_reason)
                        *ret_reason = g_steal_pointer(&reason);
        }
        sd_notifyf(0, "READY=1\nSTATUS=Serving with %u worker(s)", lbd_manager_get_workers(m));
        return r;
}

int lbd_manager_set_workers(struct lbd_manager *m, unsigned n, char **ret_reason) {
        assert(m);
        if (n < 1 || n > LBD_WORKERS_MAX)
                return -EINVAL;
        if (!running(m))
                return fail(-ESHUTDOWN, ret_reason, "lbd is stopping");
        g_autoptr(lbd_config) next = lbd_config_copy(m->config);
        next->daemon.workers = n;
        int r = save_state(m, next, ret_reason);
        if (r < 0)
                return r;
        r = lbd_arbiter_set_workers(m->arbiter, n);
        if (r < 0) {
                restore_state(m);
                return fail(r, ret_reason, errno_reason(r));
        }
        /* A reload without changes keeps this count. */
        m->config->daemon.workers = n;
        HOOK(m, workers_changed);
        return 0;
}

unsigned lbd_manager_get_workers(const struct lbd_manager *m) {
        assert(m);
        return m->arbiter ? lbd_arbiter_get_workers(m->arbiter)
                          : lbd_config_worker_count(m->config);
}

void lbd_manager_foreach_worker(const struct lbd_manager *m,
                                void (*fn)(void *userdata, pid_t pid,
                                           const struct lbd_worker_slot *slot),
                                void *userdata) {
        assert(m);
        if (m->arbiter)
                lbd_arbiter_foreach_worker(m->arbiter, fn, userdata);
}

void lbd_manager_stop(struct lbd_manager *m, bool graceful) {
        assert(m);
        if (m->arbiter)
                lbd_arbiter_stop(m->arbiter, graceful);
        else
                g_main_loop_quit(m->loop);
}

/* ---- the arbiter's and the table's reports ------------------------------ */

static void on_reload(void *userdata) {
        lbd_manager_reload(userdata, NULL);
}

static void on_workers_changed(void *userdata) {
        struct lbd_manager *m = userdata;
        HOOK(m, workers_changed);
}

/* The master's fds no worker may keep: the admin listener's, and those in
 * the plugins' shared objects (libnm's own connection to the system bus). */
static size_t on_private_fds(void *userdata, int *fds, size_t max) {
        struct lbd_manager *m = userdata;
        size_t n = lbd_admin_fds(m->admin, fds, max);
        return n + lbd_shared_private_fds(m->shared, fds + n, max - n);
}

static void on_stopped(void *userdata) {
        struct lbd_manager *m = userdata;
        g_main_loop_quit(m->loop);
}

static void on_backend_state(void *userdata, const char *service, const char *address,
                             enum lbd_backend_state old_state, enum lbd_backend_state new_state,
                             const char *reason) {
        struct lbd_manager *m = userdata;
        const char *state = lbd_backend_state_to_string(new_state);
        log_full(new_state == LBD_BACKEND_DOWN ? LOG_WARNING : LOG_NOTICE, service,
                 "backend %s is %s: %s", address, state, reason);
        HOOK(m, backend_state_changed, service, address, state, reason);
}

static int on_table_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct lbd_manager *m = userdata;
        uint64_t now = lbd_now_ms();
        lbd_table_tick(m->table, now, on_backend_state, m);
        lbd_table_build_policies(m->table, m->plugins, now);
        sd_event_source_set_time(s, usec + TABLE_TICK_USEC);
        return 0;
}

static void on_links_changed(void *userdata, const GPtrArray *before, const GPtrArray *after) {
        struct lbd_manager *m = userdata;
        HOOK(m, links_changed, before, after);
}

/* The network plugins start on the first turn of the main loop, not before:
 * by then the arbiter has blocked the signals it handles, so the threads
 * libnm's D-Bus connection brings inherit that mask (a thread with SIGTERM
 * unblocked would take the default action: death), and the first workers
 * are forked before those threads exist. */
static int on_start_links(sd_event_source *s, void *userdata) {
        struct lbd_manager *m = userdata;
        sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (!m->links)
                m->links = lbd_links_new(m->plugins, on_links_changed, m);
        lbd_links_refresh(m->links);
        return 0;
}

/* ---- start and stop ----------------------------------------------------- */

static int start_timers(struct lbd_manager *m) {
        uint64_t now;
        int r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return log_error_errno(r, "cannot read the loop's clock: %m");
        r = sd_event_add_time(m->event, &m->table_tick, CLOCK_MONOTONIC, now + TABLE_TICK_USEC,
                              0, on_table_tick, m);
        if (r < 0)
                return log_error_errno(r, "cannot add the backend table's tick: %m");
        r = sd_event_source_set_enabled(m->table_tick, SD_EVENT_ON);
        if (r < 0)
                return log_error_errno(r, "cannot enable the backend table's tick: %m");
        /* Floating: the loop owns it; it runs once. */
        r = sd_event_add_defer(m->event, NULL, on_start_links, m);
        if (r < 0)
                return log_error_errno(r, "cannot schedule the network plugins' start: %m");
        return 0;
}

int lbd_manager_start(struct lbd_manager *m) {
        assert(m);
        assert(m->event);
        /* Before the first fork: every worker shares this mapping. */
        m->table = lbd_table_new();
        if (!m->table)
                return log_error_errno(-errno, "cannot map the backend table: %m");
        g_autofree char *reason = NULL;
        int r = table_sync(m, m->config, m->plugins, &reason);
        if (r < 0) {
                log_error("%s", reason);
                return r;
        }

        struct lbd_arbiter_params p = {
                .event = m->event,
                .table = m->table,
                .logs_dir = m->options.logs_dir,
                .hooks = {
                        .userdata = m,
                        .reload = on_reload,
                        .workers_changed = on_workers_changed,
                        .stopped = on_stopped,
                        .private_fds = on_private_fds,
                },
        };
        if (m->bus && sd_bus_get_fd(m->bus) >= 0)
                p.close_fds[p.n_close_fds++] = sd_bus_get_fd(m->bus);
        if (sd_event_get_fd(m->event) >= 0)
                p.close_fds[p.n_close_fds++] = sd_event_get_fd(m->event);
        r = lbd_arbiter_new(&p, &m->arbiter);
        if (r < 0)
                return r;
        r = lbd_arbiter_start_generation(m->arbiter, m->config, m->plugins);
        if (r < 0)
                return r;
        m->health = lbd_health_new(m->event, m->table);
        lbd_health_apply(m->health, m->config);
        m->statsd = lbd_statsd_new(m->event, m->table, m->arbiter);
        lbd_statsd_apply(m->statsd, m->config);
        m->admin = lbd_admin_new(m->event, m->table, m->arbiter);
        r = lbd_admin_apply(m->admin, m->config);
        if (r < 0)
                return r; /* at start, an admin address that cannot be bound stops lbd */
        return start_timers(m);
}

void lbd_manager_stop_parts(struct lbd_manager *m) {
        m->health = lbd_health_free(m->health); /* its sockets, before the table */
        m->statsd = lbd_statsd_free(m->statsd); /* reads the table and the arbiter */
        m->admin = lbd_admin_free(m->admin);    /* so does this */
        /* The arbiter frees the retired generations' plugins (their fini()
         * stops their network plugins) before the links stop the rest. */
        m->arbiter = lbd_arbiter_free(m->arbiter);
        m->links = lbd_links_free(m->links);
        m->table_tick = sd_event_source_disable_unref(m->table_tick);
        /* After the generations: they release their pools. */
        g_clear_pointer(&m->table, lbd_table_free);
}
