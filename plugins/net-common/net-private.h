/* SPDX-License-Identifier: MIT */
/*
 * Inside net-common: one started plugin (net-plugin.c) and its operations
 * under way (ops.c).
 */
#pragma once

#include "net-common.h"

struct net_plugin {
        const struct net_kind *kind;
        const struct lbd_host *host;
        /* From start() to stop(): */
        const struct lbd_network_host *nhost;
        NMClient *client;    /* a reference to the shared client */
        GObject *watch;      /* owns every signal handler (g_signal_connect_object) */
        GHashTable *watched; /* NetworkManager objects with a handler, weakly */
        GList *ops;          /* struct net_op *, under way */
};

/* net-log.c */
void net_plugin_log(const struct net_plugin *p, int priority, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

/* NetworkManager's objects, by what lbd calls them, found in libnm's cache
 * (nm-find.c). */
bool net_is_type(NMConnection *c, const char *type);
NMRemoteConnection *net_find_controller(NMClient *client, const char *type, const char *ifname);
/* The port profiles of controller (by interface name or UUID). */
GPtrArray *net_find_ports(NMClient *client, const char *type, NMRemoteConnection *controller);
NMActiveConnection *net_find_active(NMClient *client, NMRemoteConnection *connection);

/* End every operation at once with -ECANCELED (stop/fini). */
void net_ops_cancel_all(struct net_plugin *p);
