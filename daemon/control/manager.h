/* SPDX-License-Identifier: MIT */
/*
 * The master process's one context: it owns the options, the configuration,
 * the loaded plugins, the event loops, the shared backend table, the
 * arbiter (the workers), the health checks and the links; the bus layer
 * keeps its connection and objects here too. run() in main.c declares it
 * with a cleanup attribute. (The globals besides it: the log settings,
 * log.h, and the health checker's atfork handle, health-check.c.)
 *
 * The manager owns "apply a configuration" (manager.c): the table, the
 * generation of workers, the health checks, the links and the state file
 * follow one change in one place, however it was asked for (startup, HUP,
 * Reload(), a D-Bus method), and whoever shows the state (the bus) hears of
 * it through struct lbd_manager_hooks: nothing below calls the bus.
 *
 * config and plugins are the ones in effect. A reload replaces both; the
 * arbiter keeps the replaced ones until the workers started with them are
 * gone (arbiter.h).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "options.h"
#include "plugin-loader.h"

struct lbd_arbiter;
struct lbd_links;
struct lbd_health;
struct lbd_polkit;
struct lbd_table;
struct lbd_manager;
struct lbd_worker_slot;

/* What the manager reports upward (the bus sets them while it is
 * connected); any may be NULL. */
struct lbd_manager_hooks {
        void (*workers_changed)(struct lbd_manager *m);       /* the running count */
        void (*configuration_changed)(struct lbd_manager *m); /* a new m->config */
        /* The shared table's tick saw a backend change State. */
        void (*backend_state_changed)(struct lbd_manager *m, const char *service,
                                      const char *address, const char *state,
                                      const char *reason);
        /* The network plugins' list of links, before and after. */
        void (*links_changed)(struct lbd_manager *m, const GPtrArray *before,
                              const GPtrArray *after);
};

struct lbd_failover;

struct lbd_manager {
        struct lbd_options options;
        struct lbd_config *config;
        struct lbd_plugin_set *plugins;

        sd_event *event;
        GMainLoop *loop;
        GSource *event_source; /* runs `event` inside `loop` */

        sd_bus *bus;
        sd_bus_slot *root_slot;
        sd_bus_slot *service_slot;
        sd_bus_slot *backend_slot;
        sd_bus_slot *enumerator_slot;
        sd_bus_slot *object_manager_slot;
        struct lbd_polkit *polkit; /* pending authorizations (polkit.h) */
        /* Links (links.h, bus-links.c): bond and team devices through the
         * network plugins. */
        struct lbd_links *links;
        sd_bus_slot *link_slot;
        sd_bus_slot *link_enumerator_slot;
        sd_bus_slot *link_methods_slot;
        /* What plugins share across reloads (shared.h): freed after the
         * links stop and before the plugins' fini(). */
        struct lbd_shared *shared;

        const struct lbd_manager_hooks *hooks;

        struct lbd_table *table;     /* the shared backend table (backend-table.h) */
        sd_event_source *table_tick; /* 4 times a second: lbd_table_tick() */
        struct lbd_arbiter *arbiter;
        struct lbd_health *health; /* active health checks (health-check.h) */
        struct lbd_statsd *statsd; /* StatsD sender (statsd.h) */
        struct lbd_admin *admin;   /* /metrics and the status page (admin.h) */
        /* keepalived's reports (failover.h, bus-failover.c); NULL before
         * the first. */
        struct lbd_failover *failover;

        int exit_code;
};

/* After the bus is connected (its fd is one the workers close): map the
 * shared backend table, start the arbiter with the first generation, the
 * health checks and the table's tick; the network plugins start on the
 * first turn of the loop. Logs what fails; a negative errno then. */
int lbd_manager_start(struct lbd_manager *m);
/* Stop and free what lbd_manager_start() made (workers still running are
 * killed). Before the bus goes: link calls under way reply on it. */
void lbd_manager_stop_parts(struct lbd_manager *m);

/* Make config and plugins (taken over, also on failure) the ones in
 * effect: the table first (the running workers see the new backends at
 * once), then a new generation of workers, the previous one stopping
 * gracefully; then the health checks and the links follow and the hooks
 * hear of it. plugins may be m->plugins (a run-time change of the
 * configuration alone). On failure (logged) nothing changes: -ENOSPC if the
 * backends do not fit the table, -ESHUTDOWN while stopping. */
int lbd_manager_apply(struct lbd_manager *m, struct lbd_config *config,
                      struct lbd_plugin_set *plugins);

/* Make config the configuration in effect WITHOUT new workers, when it
 * differs from m->config only in what the running workers read from the
 * shared backend table: a service's backends (added, removed, any
 * parameter) and its policy; the [daemon] workers count is not compared
 * (the running count is kept).
 *  - 0: done; config is m->config now; a removed backend drains.
 *  - -EINVAL: the change needs new workers; config is NOT taken: pass it to
 *    lbd_manager_apply(m, config, m->plugins).
 *  - -ENOSPC (the table would be full), -ESHUTDOWN: nothing changed,
 *    config not taken.
 * On failure *ret_reason (if not NULL) gets a sentence (g_free() it). */
int lbd_manager_update(struct lbd_manager *m, struct lbd_config *config, char **ret_reason);

/* How a D-Bus change takes effect. */
enum lbd_manager_change {
        /* Backends and policies: the running workers see the change. */
        LBD_MANAGER_CHANGE_UPDATE,
        /* Services and the worker model: a new generation of workers. */
        LBD_MANAGER_CHANGE_GENERATION,
};

/* A change asked for at run time (next: the whole configuration to be in
 * effect; taken over): saved to the state file first, so that what the
 * caller is told survives a crash, then made effective (update, or a new
 * generation when it needs one) with the running worker count kept. On
 * failure the state file is restored, nothing changed, and *ret_reason gets
 * what failed, in words. */
int lbd_manager_commit(struct lbd_manager *m, struct lbd_config *next,
                       enum lbd_manager_change how, char **ret_reason);

/* Re-read the configuration and the plugins exactly as startup does and
 * apply them; if they are invalid, keep everything as it is. Tells systemd
 * RELOADING=1, then READY=1. 0, or a negative errno (logged) and
 * *ret_reason (if not NULL) in words. */
int lbd_manager_reload(struct lbd_manager *m, char **ret_reason);

/* Run n workers, saved to the state file first (SetWorkers); the hooks
 * hear of it. -EINVAL for a count out of 1..LBD_WORKERS_MAX (not logged);
 * else as lbd_manager_commit(). */
int lbd_manager_set_workers(struct lbd_manager *m, unsigned n, char **ret_reason);
/* The running worker count (the configuration's before the start). */
unsigned lbd_manager_get_workers(const struct lbd_manager *m);
/* Every running worker with its scoreboard slot (none before the start). */
void lbd_manager_foreach_worker(const struct lbd_manager *m,
                                void (*fn)(void *userdata, pid_t pid,
                                           const struct lbd_worker_slot *slot),
                                void *userdata);

/* Stop the workers, gracefully or at once, then quit m->loop. */
void lbd_manager_stop(struct lbd_manager *m, bool graceful);

/* Load the configuration and the plugins as the options say, and check that
 * the configuration names loaded plugins: what startup and every reload do.
 * Logs what is wrong and returns a negative errno; then, if ret_reason is
 * not NULL, it gets the first problem's text (g_free() it), for a D-Bus
 * error. On success the caller owns config and plugins. The plugins
 * share objects through shared (the manager's). */
int lbd_manager_load_configuration(const struct lbd_options *options, struct lbd_shared *shared,
                                   struct lbd_config **ret_config,
                                   struct lbd_plugin_set **ret_plugins, char **ret_reason);
