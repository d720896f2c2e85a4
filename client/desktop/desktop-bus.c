/* SPDX-License-Identifier: MIT */
#include "desktop-bus.h"

#include "lbd-bus-api.h"

/* An interactive check waits for the person at the polkit agent: polkit
 * itself gives up after 5 minutes, so the call may take that long. */
#define CALL_TIMEOUT_MS (330 * 1000)

struct LbdDesktopBus {
        LbdDesktopBusHooks hooks;
        GCancellable *cancellable;
        GDBusObjectManager *manager;
        /* The root object is the manager's own, which GetManagedObjects does
         * not list: a proxy of its own, on the manager's connection. */
        LbdLoadBalancer *root;
        gboolean running;
        GArray *watches; /* LbdDesktopBusWatch */
};

static const LbdDesktopBusWatch *watch_at(LbdDesktopBus *bus, guint i) {
        return &g_array_index(bus->watches, LbdDesktopBusWatch, i);
}

static void tell_structure(LbdDesktopBus *bus) {
        for (guint i = 0; i < bus->watches->len; i++)
                if (watch_at(bus, i)->structure)
                        watch_at(bus, i)->structure(watch_at(bus, i)->data);
}

static void tell_properties(LbdDesktopBus *bus, GDBusProxy *proxy, GVariant *changed) {
        for (guint i = 0; i < bus->watches->len; i++)
                if (watch_at(bus, i)->properties)
                        watch_at(bus, i)->properties(proxy, changed, watch_at(bus, i)->data);
}

static void tell_signal(LbdDesktopBus *bus, GDBusProxy *proxy, const char *signal,
                        GVariant *parameters) {
        for (guint i = 0; i < bus->watches->len; i++)
                if (watch_at(bus, i)->signal)
                        watch_at(bus, i)->signal(proxy, signal, parameters,
                                                 watch_at(bus, i)->data);
}

static void object_changed(GDBusObjectManager *manager, gpointer object, gpointer data) {
        tell_structure(data);
}

static void interface_changed(GDBusObjectManager *manager, gpointer object, gpointer iface,
                              gpointer data) {
        tell_structure(data);
}

/* The managed objects' changes and signals, and the root proxy's: the
 * same to a view. */
static void properties_changed(GDBusObjectManagerClient *manager, GDBusObjectProxy *object,
                               GDBusProxy *proxy, GVariant *changed, const char *const *invalidated,
                               gpointer data) {
        tell_properties(data, proxy, changed);
}

static void proxy_signal(GDBusObjectManagerClient *manager, GDBusObjectProxy *object,
                         GDBusProxy *proxy, const char *sender, const char *signal,
                         GVariant *parameters, gpointer data) {
        tell_signal(data, proxy, signal, parameters);
}

static void root_properties_changed(GDBusProxy *proxy, GVariant *changed,
                                    const char *const *invalidated, gpointer data) {
        tell_properties(data, proxy, changed);
}

static void root_signal(GDBusProxy *proxy, const char *sender, const char *signal,
                        GVariant *parameters, gpointer data) {
        tell_signal(data, proxy, signal, parameters);
}

void lbd_desktop_bus_watch(LbdDesktopBus *bus, const LbdDesktopBusWatch *watch) {
        g_array_append_val(bus->watches, *watch);
        if (bus->root && watch->structure)
                watch->structure(watch->data);
}

void lbd_desktop_bus_unwatch(LbdDesktopBus *bus, gpointer data) {
        for (guint i = bus->watches->len; i-- > 0;)
                if (g_array_index(bus->watches, LbdDesktopBusWatch, i).data == data)
                        g_array_remove_index(bus->watches, i);
}

/* The root proxy's owner, which it has after it has read the root's
 * properties again (a new lbd): then lbd is there for the views. */
static void name_owner_changed(GObject *object, GParamSpec *pspec, gpointer data) {
        LbdDesktopBus *bus = data;
        g_autofree char *owner = g_dbus_proxy_get_name_owner(G_DBUS_PROXY(bus->root));
        gboolean running = owner != NULL;

        if (running == bus->running)
                return;
        bus->running = running;
        bus->hooks.presence(running, bus->hooks.data);
        tell_structure(bus);
}

static void root_ready(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(GError) error = NULL;
        LbdLoadBalancer *root = lbd_load_balancer_proxy_new_finish(result, &error);

        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return;
        LbdDesktopBus *bus = data;
        bus->root = root;
        bus->hooks.connected(root ? bus->manager : NULL, error, bus->hooks.data);
        if (!root)
                return;
        GDBusObjectManager *manager = bus->manager;
        g_signal_connect(root, "notify::g-name-owner", G_CALLBACK(name_owner_changed), bus);
        g_signal_connect(root, "g-properties-changed", G_CALLBACK(root_properties_changed), bus);
        g_signal_connect(root, "g-signal", G_CALLBACK(root_signal), bus);
        g_signal_connect(manager, "object-added", G_CALLBACK(object_changed), bus);
        g_signal_connect(manager, "object-removed", G_CALLBACK(object_changed), bus);
        g_signal_connect(manager, "interface-added", G_CALLBACK(interface_changed), bus);
        g_signal_connect(manager, "interface-removed", G_CALLBACK(interface_changed), bus);
        g_signal_connect(manager, "interface-proxy-properties-changed",
                         G_CALLBACK(properties_changed), bus);
        g_signal_connect(manager, "interface-proxy-signal", G_CALLBACK(proxy_signal), bus);
        tell_structure(bus);
        name_owner_changed(G_OBJECT(manager), NULL, bus);
}

static void manager_ready(GObject *source, GAsyncResult *result, gpointer data) {
        g_autoptr(GError) error = NULL;
        GDBusObjectManager *manager = lbd_object_manager_client_new_for_bus_finish(result, &error);

        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return;
        LbdDesktopBus *bus = data;
        if (!manager) {
                bus->hooks.connected(NULL, error, bus->hooks.data);
                return;
        }
        bus->manager = manager;
        GDBusConnection *connection =
                g_dbus_object_manager_client_get_connection(G_DBUS_OBJECT_MANAGER_CLIENT(manager));
        lbd_load_balancer_proxy_new(connection, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, LBD_BUS_NAME,
                                    LBD_BUS_PATH, bus->cancellable, root_ready, bus);
}

LbdDesktopBus *lbd_desktop_bus_new(const LbdDesktopBusHooks *hooks) {
        LbdDesktopBus *bus = g_new0(LbdDesktopBus, 1);

        bus->hooks = *hooks;
        bus->cancellable = g_cancellable_new();
        bus->watches = g_array_new(FALSE, FALSE, sizeof(LbdDesktopBusWatch));
        /* Not auto-started: opening the window must not start lbd. */
        lbd_object_manager_client_new_for_bus(
                G_BUS_TYPE_SYSTEM, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                LBD_BUS_NAME, LBD_BUS_PATH, bus->cancellable, manager_ready, bus);
        return bus;
}

void lbd_desktop_bus_free(LbdDesktopBus *bus) {
        if (!bus)
                return;
        g_cancellable_cancel(bus->cancellable);
        g_object_unref(bus->cancellable);
        if (bus->root) {
                g_signal_handlers_disconnect_by_data(bus->root, bus);
                g_object_unref(bus->root);
        }
        if (bus->manager) {
                g_signal_handlers_disconnect_by_data(bus->manager, bus);
                g_object_unref(bus->manager);
        }
        g_array_unref(bus->watches);
        g_free(bus);
}

GDBusObjectManager *lbd_desktop_bus_manager(LbdDesktopBus *bus) {
        return bus->root ? bus->manager : NULL;
}

gboolean lbd_desktop_bus_running(LbdDesktopBus *bus) {
        return bus->running;
}

char *lbd_desktop_bus_owner(LbdDesktopBus *bus) {
        return bus->root ? g_dbus_proxy_get_name_owner(G_DBUS_PROXY(bus->root)) : NULL;
}

GDBusProxy *lbd_desktop_bus_proxy(LbdDesktopBus *bus, const char *path, const char *interface) {
        if (!bus->manager || !path)
                return NULL;
        GDBusInterface *iface = g_dbus_object_manager_get_interface(bus->manager, path, interface);
        return iface ? G_DBUS_PROXY(iface) : NULL;
}

LbdLoadBalancer *lbd_desktop_bus_root(LbdDesktopBus *bus) {
        return bus->running ? bus->root : NULL;
}

typedef struct {
        LbdDesktopBus *bus;
        char *what;
        LbdDesktopBusDone done;
        gpointer data;
} Call;

static void call_done(GObject *source, GAsyncResult *result, gpointer data) {
        Call *call = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply =
                g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);

        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
                /* The bus object is gone with the window. */
        } else if (error) {
                g_autofree char *name = g_dbus_error_get_remote_error(error);
                g_dbus_error_strip_remote_error(error);
                if (call->what)
                        call->bus->hooks.call_failed(call->what, name, error->message,
                                                     call->bus->hooks.data);
        } else if (call->done) {
                call->done(reply, call->data);
        }
        g_free(call->what);
        g_free(call);
}

void lbd_desktop_bus_call(LbdDesktopBus *bus, const char *path, const char *interface,
                          const char *method, GVariant *params, const char *what,
                          LbdDesktopBusDone done, gpointer data) {
        if (!bus->root) {
                if (params)
                        g_variant_unref(g_variant_ref_sink(params));
                bus->hooks.call_failed(what, NULL, "Not connected to the system bus.",
                                       bus->hooks.data);
                return;
        }
        Call *call = g_new0(Call, 1);
        call->bus = bus;
        call->what = g_strdup(what);
        call->done = done;
        call->data = data;
        GDBusConnection *connection = g_dbus_object_manager_client_get_connection(
                G_DBUS_OBJECT_MANAGER_CLIENT(bus->manager));
        g_dbus_connection_call(connection, LBD_BUS_NAME, path, interface, method, params, NULL,
                               G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION |
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START,
                               CALL_TIMEOUT_MS, bus->cancellable, call_done, call);
}
