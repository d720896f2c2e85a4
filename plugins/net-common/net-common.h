/* SPDX-License-Identifier: MIT */
/*
 * What the bond and team plugins share: everything but their own settings.
 * Each plugin describes its kind with a struct net_kind and defines its
 * descriptor with NET_PLUGIN_DEFINE(); net-plugin.c implements the
 * network operations of lbd-plugin.h on top of it, with libnm's
 * asynchronous calls on the one NMClient the daemon's plugins share
 * (nm-shared.c). Compiled into each plugin (a static library): plugins
 * share no code at run time, only the NMClient object.
 */
#pragma once

#include <NetworkManager.h>
#include <stdbool.h>

#include "lbd-plugin.h"

/* What makes a bond a bond (or a team a team). */
struct net_kind {
        const char *name;    /* plugin and NetworkManager connection type */
        /* The kind's own checks of a request: pure, no NetworkManager.
         * -EINVAL and a g_malloc()ed sentence in *why. */
        int (*check)(const struct lbd_link_request *request, char **why);
        /* Put the kind's settings of request into connection (the
         * controller's profile; on ModifyLink the current one, to change
         * only what was given). */
        int (*apply)(NMConnection *connection, const struct lbd_link_request *request,
                     char **why);
        /* The mode or runner of a controller profile ("" unknown; g_free). */
        char *(*mode)(NMConnection *connection);
        /* Whether the running NetworkManager can make this kind at all;
         * NULL: always. Otherwise -EOPNOTSUPP and why (g_free). */
        int (*supported)(NMClient *client, char **why);
};

/* The network operations, for NET_PLUGIN_DEFINE (net-plugin.c, ops.c). */
int net_plugin_init(const struct net_kind *kind, const struct lbd_host *host, void **data);
void net_plugin_fini(void *data);
int net_plugin_validate(void *data, const struct lbd_link_request *request, char **error_message);
int net_plugin_start(void *data, const struct lbd_network_host *host);
void net_plugin_stop(void *data);
void net_plugin_list(void *data, void (*each)(const struct lbd_link_info *info, void *userdata),
                     void *userdata);
void net_op_create(void *data, const struct lbd_link_request *request, bool activate,
                   lbd_link_done_fn done, void *userdata);
void net_op_modify(void *data, const struct lbd_link_request *request, lbd_link_done_fn done,
                   void *userdata);
void net_op_activate(void *data, const char *ifname, lbd_link_done_fn done, void *userdata);
void net_op_deactivate(void *data, const char *ifname, lbd_link_done_fn done, void *userdata);
void net_op_remove(void *data, const char *ifname, lbd_link_done_fn done, void *userdata);

/* The plugin's descriptor: kind_ is a struct net_kind whose name is the
 * plugin's name. Use once, at file scope. */
#define NET_PLUGIN_DEFINE(kind_, description_)                                         \
        static int net_init_(const struct lbd_host *host, void **data) {               \
                return net_plugin_init(&(kind_), host, data);                          \
        }                                                                              \
        static const struct lbd_network_ops net_ops_ = {                               \
                .struct_size = sizeof(struct lbd_network_ops),                         \
                .connection_type = PLUGIN_NAME,                                        \
                .validate = net_plugin_validate,                                       \
                .start = net_plugin_start,                                             \
                .stop = net_plugin_stop,                                               \
                .list = net_plugin_list,                                               \
                .create = net_op_create,                                               \
                .modify = net_op_modify,                                               \
                .activate = net_op_activate,                                           \
                .deactivate = net_op_deactivate,                                       \
                .remove = net_op_remove,                                               \
        };                                                                             \
        LBD_NETWORK_PLUGIN(PLUGIN_NAME, description_, net_ops_, net_init_, net_plugin_fini)

/* Cleanups for libnm's boxed types (nm-autoptr.h covers the GObjects). */
static inline void net_rule_unrefp(NMIPRoutingRule **p) {
        if (*p)
                nm_ip_routing_rule_unref(*p);
}
static inline void net_route_unrefp(NMIPRoute **p) {
        if (*p)
                nm_ip_route_unref(*p);
}
static inline void net_address_unrefp(NMIPAddress **p) {
        if (*p)
                nm_ip_address_unref(*p);
}
#define _cleanup_rule_ __attribute__((cleanup(net_rule_unrefp)))
#define _cleanup_route_ __attribute__((cleanup(net_route_unrefp)))
#define _cleanup_address_ __attribute__((cleanup(net_address_unrefp)))

/* ---- the one NMClient (nm-shared.c) ------------------------------------- */

/* The daemon's NMClient, created (and its asynchronous start begun) by the
 * first plugin that asks; a new reference. NULL with *why if the host
 * cannot share objects. */
NMClient *net_shared_client(const struct lbd_host *host, char **why);
/* Whether the client has read NetworkManager's state (its start finished). */
bool net_client_ready(NMClient *client);
/* Why the client cannot be used now (NULL when it can): NetworkManager not
 * running, or its state not read yet. */
const char *net_client_unavailable(NMClient *client);

/* ---- profiles (settings.c) ---------------------------------------------- */

/* The key in NetworkManager's user data that marks what lbd made. */
#define NET_MANAGED_KEY "org.example.lbd.managed"

/* The names libnm gives the controller link of a port: "controller",
 * "port-type", "autoconnect-ports" since 1.46; "master", "slave-type",
 * "autoconnect-slaves" before. Decided at run time from the libnm loaded,
 * so one build works with both. */
const char *net_prop_controller(void);
const char *net_prop_port_type(void);
const char *net_prop_autoconnect_ports(void);

/* A port's controller (interface name or UUID) and port type; g_free. */
char *net_port_controller(NMConnection *c);
char *net_port_type(NMConnection *c);
bool net_is_managed(NMConnection *c);

/* A new controller profile for request (kind's settings and IPv4 too). */
NMConnection *net_controller_new(const struct net_kind *kind,
                                 const struct lbd_link_request *request, bool autoconnect,
                                 char **why);
/* A new port profile: ethernet port on controller ifname. */
NMConnection *net_port_new(const struct net_kind *kind, const char *ifname, const char *port,
                           bool autoconnect, char **why);
/* Apply the IPv4 options of request to connection. -EINVAL and why. */
int net_apply_ipv4(NMConnection *connection, const struct lbd_link_request *request,
                   char **why);

/* ---- pure checks (ipv4.c; cmocka-tested) ------------------------------ */

/* The IPv4 options of request: method, addresses, gateway, routes, metric,
 * rules. 0, or -EINVAL and a sentence in *why (g_free). */
int net_check_ipv4(const struct lbd_link_request *request, char **why);
/* "a.b.c.d[/prefix]" (prefix 0..32, default 32). */
int net_parse_ipv4_prefix(const char *text, char *address, size_t size, unsigned *prefix);
/* "dest[/prefix] [next-hop] [metric]": next_hop "" when none, metric -1. */
int net_parse_ipv4_route(const char *text, char *dest, size_t dsize, unsigned *prefix,
                         char *next_hop, size_t nsize, int64_t *metric, char **why);
