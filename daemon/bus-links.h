/* SPDX-License-Identifier: MIT */
/*
 * The links on the bus (bus-links.c): the root object's CreateLink,
 * ModifyLink, ActivateLink, DeactivateLink and DeleteLink, its Links
 * property, and one object per link,
 *   /org/example/LoadBalancer/link/IFNAME   (org.example.LoadBalancer.Link)
 * whose properties follow NetworkManager's state (links.h).
 */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

#define LBD_BUS_LINK_PREFIX LBD_BUS_PATH "/link"
#define LBD_BUS_LINK_INTERFACE LBD_BUS_INTERFACE ".Link"

/* Start the links (network plugins) and publish their objects and the
 * methods. 0 or a negative errno, logged. */
int lbd_bus_links_publish(struct lbd_manager *m);
/* Stop the links (calls under way get an error reply) and unpublish. */
void lbd_bus_links_unpublish(struct lbd_manager *m);

/* The root object's Links property. */
int lbd_bus_links_property(struct lbd_manager *m, sd_bus_message *reply);
/* m->plugins was replaced (a reload). */
void lbd_bus_links_plugins_changed(struct lbd_manager *m);

int lbd_bus_link_path(const char *ifname, char **ret);
