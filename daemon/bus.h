/* SPDX-License-Identifier: MIT */
/*
 * The D-Bus face of the daemon: org.example.LoadBalancer on the system bus.
 *
 * Built so far: the read-only part — the root object's properties and
 * ListPlugins, one object per service and per backend with their
 * configuration, and the ObjectManager. The mutating methods, polkit checks
 * and persistence are the control-plane issue's.
 */
#pragma once

#include "manager.h"

#define LBD_BUS_NAME "org.example.LoadBalancer"
#define LBD_BUS_PATH "/org/example/LoadBalancer"
#define LBD_BUS_INTERFACE "org.example.LoadBalancer"

/* Connect to the system bus (or m->options.bus_address), publish the
 * objects, attach to m->event and ask for the name. READY=1 is sent to
 * systemd once the name is ours; losing the name or the bus stops the loop.
 * Returns 0 or a negative errno, after logging what failed. */
int lbd_bus_start(struct lbd_manager *m);
void lbd_bus_stop(struct lbd_manager *m);
