/* SPDX-License-Identifier: MIT */
/*
 * The application's actions: one per lbd method, each a D-Bus call through
 * desktop-bus (interactive authorization allowed). Buttons and dialogs
 * activate them; GApplication exports them on the session bus (org.gtk.Actions
 * on /org/example/LoadBalancer/Desktop), so they can be driven from outside
 * too. What each takes:
 *
 *   reload                    ()
 *   set-workers               u       count
 *   set-worker-model          (suu)   model, threads, connections (0: unchanged)
 *   add-service               (ssss)  name, listen addresses (comma or space
 *                                     separated), mode, policy
 *   remove-service            s       name
 *   set-policy                (ss)    service, policy
 *   add-backend               (ssu)   service, address, weight
 *   remove-backend            (ss)    service, address
 *   set-weight                (ou)    backend object, weight
 *   drain, enable, disable    o       backend object
 *   create-link               (ssasa{sv}b) as CreateLink: kind, ifname, ports,
 *                                     options, activate
 *   modify-link               (sa{sv}) as ModifyLink: ifname, options
 *   activate-link, deactivate-link, delete-link   s   ifname
 */
#pragma once

#include <gio/gio.h>

#include "desktop-bus.h"

void lbd_actions_add(GActionMap *map, LbdDesktopBus *bus);
