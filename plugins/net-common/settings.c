/* SPDX-License-Identifier: MIT */
/*
 * The profiles lbd makes: a controller (bond0: its kind's settings, IPv4,
 * IPv6 off) and one ethernet port per interface (bond0-port-eth0), each
 * marked in NetworkManager's user data as made by lbd, which is how a
 * link made outside lbd (plain nmcli) is told apart, across restarts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "net-common.h"

/* NetworkManager 1.46 renamed master/slave-type to controller/port-type
 * (the old names stay as deprecated aliases). Ask the libnm in the process
 * which it has, so a plugin built against one runs with the other. */
static const char *connection_prop(const char *new_name, const char *old_name) {
        g_autoptr(GTypeClass) klass = g_type_class_ref(NM_TYPE_SETTING_CONNECTION);
        return g_object_class_find_property(G_OBJECT_CLASS(klass), new_name) ? new_name
                                                                             : old_name;
}

const char *net_prop_controller(void) { return connection_prop("controller", "master"); }
const char *net_prop_port_type(void) { return connection_prop("port-type", "slave-type"); }
const char *net_prop_autoconnect_ports(void) {
        return connection_prop("autoconnect-ports", "autoconnect-slaves");
}

static char *connection_string(NMConnection *c, const char *prop) {
        NMSettingConnection *s = nm_connection_get_setting_connection(c);
        char *value = NULL;
        if (s)
                g_object_get(s, prop, &value, NULL);
        return value;
}

char *net_port_controller(NMConnection *c) {
        return connection_string(c, net_prop_controller());
}

char *net_port_type(NMConnection *c) { return connection_string(c, net_prop_port_type()); }

bool net_is_managed(NMConnection *c) {
        NMSettingUser *u = NM_SETTING_USER(nm_connection_get_setting(c, NM_TYPE_SETTING_USER));
        const char *v = u ? nm_setting_user_get_data(u, NET_MANAGED_KEY) : NULL;
        return v && g_str_equal(v, "yes");
}

static NMConnection *profile_new(const char *id, const char *type, const char *ifname,
                                 bool autoconnect) {
        NMConnection *c = nm_simple_connection_new();
        NMSetting *s = nm_setting_connection_new();
        g_autofree char *uuid = nm_utils_uuid_generate();
        g_object_set(s, NM_SETTING_CONNECTION_ID, id, NM_SETTING_CONNECTION_UUID, uuid,
                     NM_SETTING_CONNECTION_TYPE, type, NM_SETTING_CONNECTION_INTERFACE_NAME,
                     ifname, NM_SETTING_CONNECTION_AUTOCONNECT, (gboolean)autoconnect, NULL);
        nm_connection_add_setting(c, s);
        NMSetting *user = nm_setting_user_new();
        nm_setting_user_set_data(NM_SETTING_USER(user), NET_MANAGED_KEY, "yes", NULL);
        nm_connection_add_setting(c, user);
        return c;
}

/* libnm's own verification, for what the checks before could not see
 * (e.g. a gateway outside every address's subnet is fine, a gateway with
 * method auto is not). */
static int verify(NMConnection *c, char **why) {
        g_autoptr(GError) e = NULL;
        /* Fills in what NetworkManager would default, like nmcli. */
        if (!nm_connection_normalize(c, NULL, NULL, &e)) {
                *why = g_strdup_printf("NetworkManager would refuse these settings: %s",
                                       e ? e->message : "invalid");
                return -EINVAL;
        }
        return 0;
}

int net_apply_ipv4(NMConnection *c, const struct lbd_link_request *req, char **why) {
        NMSettingIPConfig *ip = nm_connection_get_setting_ip4_config(c);
        if (!ip) {
                ip = NM_SETTING_IP_CONFIG(nm_setting_ip4_config_new());
                nm_connection_add_setting(c, NM_SETTING(ip));
        }
        const char *method = req->ipv4_method;
        /* Addresses without a method: manual, as nmcli does; nothing at
         * all: DHCP, NetworkManager's default. */
        if (!method && req->ipv4_addresses && *req->ipv4_addresses)
                method = "manual";
        if (!method && !nm_setting_ip_config_get_method(ip))
                method = "auto";
        if (method)
                g_object_set(ip, NM_SETTING_IP_CONFIG_METHOD, method, NULL);
        if (req->ipv4_addresses) {
                nm_setting_ip_config_clear_addresses(ip);
                for (const char *const *a = req->ipv4_addresses; *a; a++) {
                        char addr[INET_ADDRSTRLEN];
                        unsigned prefix;
                        g_autoptr(GError) e = NULL;
                        if (net_parse_ipv4_prefix(*a, addr, sizeof(addr), &prefix) < 0) {
                                *why = g_strdup_printf("Invalid IPv4 address '%.80s'", *a);
                                return -EINVAL;
                        }
                        _cleanup_address_ NMIPAddress *address =
                                nm_ip_address_new(AF_INET, addr, prefix, &e);
                        if (!address) {
                                *why = g_strdup_printf("Invalid IPv4 address '%.80s': %s", *a,
                                                       e->message);
                                return -EINVAL;
                        }
                        nm_setting_ip_config_add_address(ip, address);
                }
        }
        if (req->ipv4_gateway)
                g_object_set(ip, NM_SETTING_IP_CONFIG_GATEWAY,
                             *req->ipv4_gateway ? req->ipv4_gateway : NULL, NULL);
        if (req->ipv4_routes) {
                nm_setting_ip_config_clear_routes(ip);
                for (const char *const *r = req->ipv4_routes; *r; r++) {
                        char dest[INET_ADDRSTRLEN], hop[INET_ADDRSTRLEN];
                        unsigned prefix;
                        int64_t metric;
                        g_autoptr(GError) e = NULL;
                        if (net_parse_ipv4_route(*r, dest, sizeof(dest), &prefix, hop,
                                                 sizeof(hop), &metric, why) < 0)
                                return -EINVAL;
                        _cleanup_route_ NMIPRoute *route = nm_ip_route_new(
                                AF_INET, dest, prefix, *hop ? hop : NULL, metric, &e);
                        if (!route) {
                                *why = g_strdup_printf("Invalid IPv4 route '%.80s': %s", *r,
                                                       e->message);
                                return -EINVAL;
                        }
                        nm_setting_ip_config_add_route(ip, route);
                }
        }
        if (req->has_ipv4_route_metric)
                g_object_set(ip, NM_SETTING_IP_CONFIG_ROUTE_METRIC,
                             (gint64)req->ipv4_route_metric, NULL);
        if (req->ipv4_routing_rules) {
                nm_setting_ip_config_clear_routing_rules(ip);
                for (const char *const *r = req->ipv4_routing_rules; *r; r++) {
                        g_autoptr(GError) e = NULL;
                        _cleanup_rule_ NMIPRoutingRule *rule = nm_ip_routing_rule_from_string(
                                *r, NM_IP_ROUTING_RULE_AS_STRING_FLAGS_AF_INET |
                                            NM_IP_ROUTING_RULE_AS_STRING_FLAGS_VALIDATE,
                                NULL, &e);
                        if (!rule) {
                                *why = g_strdup_printf("Invalid IPv4 routing rule '%.80s': %s",
                                                       *r, e->message);
                                return -EINVAL;
                        }
                        nm_setting_ip_config_add_routing_rule(ip, rule);
                }
        }
        return 0;
}

NMConnection *net_controller_new(const struct net_kind *kind,
                                 const struct lbd_link_request *req, bool autoconnect,
                                 char **why) {
        g_autoptr(NMConnection) c = profile_new(req->ifname, kind->name, req->ifname,
                                                autoconnect);
        /* Activating the controller brings its ports up too. */
        g_object_set(nm_connection_get_setting_connection(c), net_prop_autoconnect_ports(),
                     NM_TERNARY_TRUE, NULL);
        if (kind->apply(c, req, why) < 0 || net_apply_ipv4(c, req, why) < 0)
                return NULL;
        /* An aggregated link for a load balancer carries IPv4 as asked;
         * IPv6 stays as NetworkManager's default would have it. */
        NMSetting *ip6 = nm_setting_ip6_config_new();
        g_object_set(ip6, NM_SETTING_IP_CONFIG_METHOD, NM_SETTING_IP6_CONFIG_METHOD_AUTO, NULL);
        nm_connection_add_setting(c, ip6);
        if (verify(c, why) < 0)
                return NULL;
        return g_steal_pointer(&c);
}

NMConnection *net_port_new(const struct net_kind *kind, const char *ifname, const char *port,
                           bool autoconnect, char **why) {
        g_autofree char *id = g_strdup_printf("%s-port-%s", ifname, port);
        g_autoptr(NMConnection) c =
                profile_new(id, NM_SETTING_WIRED_SETTING_NAME, port, autoconnect);
        g_object_set(nm_connection_get_setting_connection(c), net_prop_controller(), ifname,
                     net_prop_port_type(), kind->name, NULL);
        nm_connection_add_setting(c, nm_setting_wired_new());
        if (verify(c, why) < 0)
                return NULL;
        return g_steal_pointer(&c);
}
