/* SPDX-License-Identifier: MIT */
/*
 * A network plugin's life and its view of NetworkManager: start() takes
 * the shared NMClient and watches it (profiles, devices and activations
 * coming, going and changing state, NetworkManager itself coming and
 * going), telling the daemon to list the links again; list() reads the
 * client's cache. Nothing here waits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "net-private.h"

int net_plugin_init(const struct net_kind *kind, const struct lbd_host *host, void **data) {
        /* No side effects before start(): a plugin may be loaded only to
         * be listed. */
        struct net_plugin *p = g_new0(struct net_plugin, 1);
        p->kind = kind;
        p->host = host;
        *data = p;
        return 0;
}

/* ---- listing ------------------------------------------------------------- */

static const char *active_state(NMActiveConnectionState s) {
        switch (s) {
        case NM_ACTIVE_CONNECTION_STATE_ACTIVATING:
                return "activating";
        case NM_ACTIVE_CONNECTION_STATE_ACTIVATED:
                return "activated";
        case NM_ACTIVE_CONNECTION_STATE_DEACTIVATING:
                return "deactivating";
        case NM_ACTIVE_CONNECTION_STATE_DEACTIVATED:
                return "deactivated";
        default:
                return "unknown";
        }
}

static const char *device_state(NMDeviceState s) {
        switch (s) {
        case NM_DEVICE_STATE_UNMANAGED:
                return "unmanaged";
        case NM_DEVICE_STATE_UNAVAILABLE:
                return "unavailable";
        case NM_DEVICE_STATE_DISCONNECTED:
                return "disconnected";
        case NM_DEVICE_STATE_PREPARE:
        case NM_DEVICE_STATE_CONFIG:
        case NM_DEVICE_STATE_NEED_AUTH:
        case NM_DEVICE_STATE_IP_CONFIG:
        case NM_DEVICE_STATE_IP_CHECK:
        case NM_DEVICE_STATE_SECONDARIES:
                return "activating";
        case NM_DEVICE_STATE_ACTIVATED:
                return "activated";
        case NM_DEVICE_STATE_DEACTIVATING:
                return "deactivating";
        case NM_DEVICE_STATE_FAILED:
                return "failed";
        default:
                return "unknown";
        }
}

/* An activation of the profile says most; else the device, if the kernel
 * has one; else the profile is simply not in use. */
static const char *link_state(NMClient *client, NMRemoteConnection *c, const char *ifname) {
        NMActiveConnection *ac = net_find_active(client, c);
        if (ac)
                return active_state(nm_active_connection_get_state(ac));
        NMDevice *d = nm_client_get_device_by_iface(client, ifname);
        if (d && nm_device_is_real(d))
                return device_state(nm_device_get_state(d));
        return "disconnected";
}

static int compare_strings(gconstpointer a, gconstpointer b) {
        return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

void net_plugin_list(void *data, void (*each)(const struct lbd_link_info *, void *),
                        void *userdata) {
        struct net_plugin *p = data;
        if (!p->client || net_client_unavailable(p->client))
                return;
        const GPtrArray *all = nm_client_get_connections(p->client);
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; all && i < all->len; i++) {
                NMRemoteConnection *rc = all->pdata[i];
                NMConnection *c = NM_CONNECTION(rc);
                const char *ifname = nm_connection_get_interface_name(c);
                if (!net_is_type(c, p->kind->name) || !ifname ||
                    g_hash_table_contains(seen, ifname))
                        continue;
                g_hash_table_add(seen, (char *)ifname);
                g_autoptr(GPtrArray) ports = net_find_ports(p->client, p->kind->name, rc);
                g_autoptr(GPtrArray) names = g_ptr_array_new();
                for (guint j = 0; j < ports->len; j++) {
                        const char *port = nm_connection_get_interface_name(ports->pdata[j]);
                        if (port)
                                g_ptr_array_add(names, (char *)port);
                }
                g_ptr_array_sort(names, compare_strings);
                g_ptr_array_add(names, NULL);
                g_autofree char *mode = p->kind->mode(c);
                struct lbd_link_info info = {
                        .struct_size = sizeof(info),
                        .name = ifname,
                        .kind = p->kind->name,
                        .mode = mode ? mode : "",
                        .ports = (const char *const *)names->pdata,
                        .state = link_state(p->client, rc, ifname),
                        .managed = net_is_managed(c),
                };
                each(&info, userdata);
        }
}

/* ---- watching NetworkManager --------------------------------------------- */

static void watch_all(struct net_plugin *p);

static void on_changed(GObject *watch) {
        struct net_plugin *p = g_object_get_data(watch, "net-plugin");
        watch_all(p);
        p->nhost->links_changed(p->nhost);
}

static void on_object_gone(gpointer data, GObject *where_the_object_was) {
        struct net_plugin *p = data;
        g_hash_table_remove(p->watched, where_the_object_was);
}

static void watch_object(struct net_plugin *p, gpointer object, const char *signal) {
        if (g_hash_table_contains(p->watched, object))
                return;
        g_hash_table_add(p->watched, object);
        g_object_weak_ref(object, on_object_gone, p);
        g_signal_connect_object(object, signal, G_CALLBACK(on_changed), p->watch,
                                G_CONNECT_SWAPPED);
}

/* Handlers on every profile (settings changed), device and activation
 * (state changed) not yet watched. */
static void watch_all(struct net_plugin *p) {
        const GPtrArray *a = nm_client_get_connections(p->client);
        for (guint i = 0; a && i < a->len; i++)
                watch_object(p, a->pdata[i], NM_CONNECTION_CHANGED);
        a = nm_client_get_devices(p->client);
        for (guint i = 0; a && i < a->len; i++)
                watch_object(p, a->pdata[i], "notify::" NM_DEVICE_STATE);
        a = nm_client_get_active_connections(p->client);
        for (guint i = 0; a && i < a->len; i++)
                watch_object(p, a->pdata[i], "notify::" NM_ACTIVE_CONNECTION_STATE);
}

static void on_nm_running(GObject *watch) {
        struct net_plugin *p = g_object_get_data(watch, "net-plugin");
        const char *why = net_client_unavailable(p->client);
        if (why)
                net_plugin_log(p, LOG_WARNING, "%s", why);
        else
                net_plugin_log(p, LOG_INFO, "NetworkManager %s is running",
                               nm_client_get_version(p->client));
        on_changed(watch);
}

int net_plugin_start(void *data, const struct lbd_network_host *nhost) {
        struct net_plugin *p = data;
        g_autofree char *why = NULL;
        if (p->client)
                return -EALREADY;
        p->client = net_shared_client(p->host, &why);
        if (!p->client) {
                net_plugin_log(p, LOG_ERR, "%s", why);
                return -ENOTSUP;
        }
        p->nhost = nhost;
        p->watch = g_object_new(G_TYPE_OBJECT, NULL);
        g_object_set_data(p->watch, "net-plugin", p);
        p->watched = g_hash_table_new(NULL, NULL);
        g_signal_connect_object(p->client, "notify::" NM_CLIENT_NM_RUNNING,
                                G_CALLBACK(on_nm_running), p->watch, G_CONNECT_SWAPPED);
        static const char *const signals[] = {
                NM_CLIENT_CONNECTION_ADDED,        NM_CLIENT_CONNECTION_REMOVED,
                NM_CLIENT_DEVICE_ADDED,            NM_CLIENT_DEVICE_REMOVED,
                NM_CLIENT_ACTIVE_CONNECTION_ADDED, NM_CLIENT_ACTIVE_CONNECTION_REMOVED,
        };
        for (size_t i = 0; i < G_N_ELEMENTS(signals); i++)
                g_signal_connect_object(p->client, signals[i], G_CALLBACK(on_changed), p->watch,
                                        G_CONNECT_SWAPPED);
        if (net_client_ready(p->client))
                watch_all(p);
        return 0;
}

static void unwatch(gpointer key, gpointer value, gpointer data) {
        g_object_weak_unref(key, on_object_gone, data);
}

void net_plugin_stop(void *data) {
        struct net_plugin *p = data;
        if (!p->client)
                return;
        net_ops_cancel_all(p);
        /* Every handler goes with the object that owns them. */
        g_clear_object(&p->watch);
        g_hash_table_foreach(p->watched, unwatch, p);
        g_clear_pointer(&p->watched, g_hash_table_unref);
        g_clear_object(&p->client);
        p->nhost = NULL;
}

void net_plugin_fini(void *data) {
        net_plugin_stop(data);
        g_free(data);
}

int net_plugin_validate(void *data, const struct lbd_link_request *req, char **error_message) {
        struct net_plugin *p = data;
        g_autofree char *why = NULL;
        int r = p->kind->check(req, &why);
        if (r >= 0)
                r = net_check_ipv4(req, &why);
        if (r < 0)
                /* The ABI says malloc(): the daemon free()s it. */
                *error_message = strdup(why ? why : "invalid link settings");
        return r < 0 ? r : 0;
}
