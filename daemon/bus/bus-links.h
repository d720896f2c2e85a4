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

/* Publish the links' objects (m->links, which the manager starts) and the
 * methods. 0 or a negative errno, logged. */
int lbd_bus_links_publish(struct lbd_manager *m);
void lbd_bus_links_unpublish(struct lbd_manager *m);

/* The root object's Links property. */
int lbd_bus_links_property(struct lbd_manager *m, sd_bus_message *reply);
/* The manager's links_changed hook: InterfacesAdded/Removed and
 * PropertiesChanged for what changed. */
void lbd_bus_links_changed(struct lbd_manager *m, const GPtrArray *before,
                           const GPtrArray *after);

int lbd_bus_link_path(const char *ifname, char **ret);
