/* SPDX-License-Identifier: MIT */
/*
 * Finding profiles and activations in libnm's cache: a controller by its
 * interface name, its ports, a profile's active connection. Reads only;
 * used by the listing (net-plugin.c) and the operations (ops.c).
 */
#include "net-private.h"

bool net_is_type(NMConnection *c, const char *type) {
        const char *t = nm_connection_get_connection_type(c);
        return t && g_str_equal(t, type);
}

NMRemoteConnection *net_find_controller(NMClient *client, const char *type, const char *ifname) {
        const GPtrArray *all = nm_client_get_connections(client);
        for (guint i = 0; all && i < all->len; i++) {
                NMConnection *c = all->pdata[i];
                const char *name = nm_connection_get_interface_name(c);
                if (net_is_type(c, type) && name && g_str_equal(name, ifname))
                        return all->pdata[i];
        }
        return NULL;
}

GPtrArray *net_find_ports(NMClient *client, const char *type, NMRemoteConnection *controller) {
        GPtrArray *ports = g_ptr_array_new();
        const char *ifname = nm_connection_get_interface_name(NM_CONNECTION(controller));
        const char *uuid = nm_connection_get_uuid(NM_CONNECTION(controller));
        const GPtrArray *all = nm_client_get_connections(client);
        for (guint i = 0; all && i < all->len; i++) {
                NMConnection *c = all->pdata[i];
                g_autofree char *of = net_port_controller(c);
                g_autofree char *port_type = net_port_type(c);
                if (of && port_type && g_str_equal(port_type, type) &&
                    ((ifname && g_str_equal(of, ifname)) || (uuid && g_str_equal(of, uuid))))
                        g_ptr_array_add(ports, all->pdata[i]);
        }
        return ports;
}

NMActiveConnection *net_find_active(NMClient *client, NMRemoteConnection *connection) {
        const GPtrArray *all = nm_client_get_active_connections(client);
        for (guint i = 0; all && i < all->len; i++)
                if (nm_active_connection_get_connection(all->pdata[i]) == connection)
                        return all->pdata[i];
        return NULL;
}
