/* SPDX-License-Identifier: MIT */
/*
 * The master process's one context: it owns the options, the configuration,
 * the loaded plugins, the event loops and the bus connection. run() in
 * main.c declares it with a cleanup attribute; nothing else is global.
 */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "options.h"
#include "plugin-loader.h"

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

        int exit_code;
};
