/* SPDX-License-Identifier: MIT */
/*
 * The D-Bus face of the daemon: org.example.LoadBalancer on the system bus.
 *
 * The contract is dbus/org.example.LoadBalancer.xml. The root object
 * (bus.c), one object per service and per backend (bus-objects.c), the
 * ObjectManager; every mutating method is authorized by polkit (polkit.h),
 * and applied through the manager (lbd_manager_commit: saved to the state
 * file before it replies). The files: bus.c (connection, root, workers,
 * reload, the manager's hooks), bus-services.c, bus-backends.c,
 * bus-stats.c, bus-args.c (a{sv} arguments), bus-objects.c (objects and
 * change signals), bus-links.c (links), polkit.c (authorization).
 */
#pragma once

#include "manager.h"

#include "lbd-bus-api.h" /* the names: LBD_BUS_*, LBD_POLKIT_ACTION_* */

/* Connect to the system bus (or m->options.bus_address), publish the
 * objects, attach to m->event, ask for the name and set m->hooks, so that
 * what the manager changes is signalled (PropertiesChanged follows every
 * change however it was made: D-Bus, TTIN/TTOU, HUP). READY=1 is sent to
 * systemd once the name is ours; losing the name or the bus stops the loop.
 * Returns 0 or a negative errno, after logging what failed. */
int lbd_bus_start(struct lbd_manager *m);
void lbd_bus_stop(struct lbd_manager *m);
