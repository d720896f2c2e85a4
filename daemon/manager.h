/* SPDX-License-Identifier: MIT */
/*
 * The master process's one context: it owns the options, the configuration,
 * the loaded plugins, the event loops, the bus connection and the arbiter
 * (the workers). run() in main.c declares it with a cleanup attribute;
 * nothing else is global.
 *
 * config and plugins are the ones in effect. A reload replaces both; the
 * arbiter keeps the replaced ones until the workers started with them are
 * gone (arbiter.h).
 */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "options.h"
#include "plugin-loader.h"

struct lbd_arbiter;
struct lbd_links;
struct lbd_health;
struct lbd_polkit;

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

        struct lbd_arbiter *arbiter;
        struct lbd_health *health; /* active health checks (health-check.h) */

        int exit_code;
};

/* Load the configuration and the plugins as the options say, and check that
 * the configuration names loaded plugins: what startup and every reload do.
 * Logs what is wrong and returns a negative errno; then, if ret_reason is
 * not NULL, it gets the first problem's text (g_free() it), for a D-Bus
 * error. On success the caller owns config and plugins. The plugins
 * share objects through shared (the manager's). */
int lbd_manager_load_configuration(const struct lbd_options *options, struct lbd_shared *shared,
                                   struct lbd_config **ret_config,
                                   struct lbd_plugin_set **ret_plugins, char **ret_reason);
