/* SPDX-License-Identifier: MIT */
#include "lbd-link.h"

#include <string.h>

#include "lbd-bus-api.h"

/* polkit may take a while (a rule that asks another service); lbd's own
 * wait for it is 5 s. */
#define CALL_TIMEOUT_MS 30000

struct LbdLink {
        GDBusConnection *bus;
        LbdLinkHooks hooks;
        guint watch_id;
        char *owner;
        GCancellable *cancellable;
};

static void appeared(GDBusConnection *bus, const char *name, const char *owner, gpointer data) {
        LbdLink *link = data;
        g_free(link->owner);
        link->owner = g_strdup(owner);
        link->hooks.appeared(link->hooks.data);
}

static void vanished(GDBusConnection *bus, const char *name, gpointer data) {
        LbdLink *link = data;
        gboolean was = link->owner != NULL;
        g_clear_pointer(&link->owner, g_free);
        if (was)
                link->hooks.vanished(link->hooks.data);
}

LbdLink *lbd_link_new(GDBusConnection *bus, const LbdLinkHooks *hooks) {
        LbdLink *link = g_new0(LbdLink, 1);
        link->bus = g_object_ref(bus);
        link->hooks = *hooks;
        link->cancellable = g_cancellable_new();
        link->watch_id = g_bus_watch_name_on_connection(
                bus, LBD_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE, appeared, vanished, link, NULL);
        return link;
}

void lbd_link_free(LbdLink *link) {
        if (!link)
                return;
        g_bus_unwatch_name(link->watch_id);
        g_cancellable_cancel(link->cancellable);
        g_object_unref(link->cancellable);
        g_object_unref(link->bus);
        g_free(link->owner);
        g_free(link);
}

gboolean lbd_link_present(LbdLink *link) {
        return link->owner != NULL;
}

typedef struct {
        LbdLinkRead read;
        LbdLinkDone done;
        gpointer data;
} Pending;

static guint uint_prop(GVariant *props, const char *name) {
        guint32 v = 0;
        g_variant_lookup(props, name, "u", &v);
        return v;
}

static char *str_prop(GVariant *props, const char *name) {
        const char *v = "";
        g_variant_lookup(props, name, "&s", &v);
        return g_strdup(v);
}

static void objects_read(GObject *source, GAsyncResult *result, gpointer data) {
        g_autofree Pending *p = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply =
                g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return;
        if (!reply) {
                p->read(NULL, NULL, error, p->data);
                return;
        }
        g_autoptr(GStrvBuilder) services = g_strv_builder_new();
        g_autoptr(GPtrArray) current =
                g_ptr_array_new_with_free_func((GDestroyNotify)lbd_current_free);
        g_autoptr(GHashTable) names =
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_autoptr(GVariant) objects = g_variant_get_child_value(reply, 0);
        GVariantIter it;
        const char *path;
        GVariant *ifaces;
        /* Services first (their names by path), then their backends. */
        for (int pass = 0; pass < 2; pass++) {
                g_variant_iter_init(&it, objects);
                while (g_variant_iter_next(&it, "{&o@a{sa{sv}}}", &path, &ifaces)) {
                        g_autoptr(GVariant) own = ifaces;
                        g_autoptr(GVariant) svc =
                                g_variant_lookup_value(ifaces, LBD_BUS_SERVICE_INTERFACE, NULL);
                        g_autoptr(GVariant) be =
                                g_variant_lookup_value(ifaces, LBD_BUS_BACKEND_INTERFACE, NULL);
                        if (pass == 0 && svc) {
                                char *name = str_prop(svc, "Name");
                                g_strv_builder_add(services, name);
                                g_hash_table_insert(names, g_strdup(path), name);
                        } else if (pass == 1 && be) {
                                /* .../service/NAME/backend/ADDRESS */
                                const char *cut = strstr(path, "/backend/");
                                g_autofree char *svc_path =
                                        cut ? g_strndup(path, cut - path) : NULL;
                                const char *service =
                                        svc_path ? g_hash_table_lookup(names, svc_path) : NULL;
                                if (!service)
                                        continue;
                                LbdCurrent *c = g_new0(LbdCurrent, 1);
                                c->path = g_strdup(path);
                                c->service = g_strdup(service);
                                c->address = str_prop(be, "Address");
                                c->origin = str_prop(be, "Origin");
                                c->state = str_prop(be, "State");
                                c->weight = uint_prop(be, "Weight");
                                c->max_fails = uint_prop(be, "MaxFails");
                                c->fail_timeout = uint_prop(be, "FailTimeout");
                                c->max_conns = uint_prop(be, "MaxConns");
                                c->slow_start = uint_prop(be, "SlowStart");
                                gboolean backup = FALSE;
                                g_variant_lookup(be, "Backup", "b", &backup);
                                c->backup = backup;
                                g_ptr_array_add(current, c);
                        }
                }
        }
        g_auto(GStrv) list = g_strv_builder_end(services);
        p->read(list, current, NULL, p->data);
}

void lbd_link_read(LbdLink *link, LbdLinkRead done, gpointer data) {
        Pending *p = g_new0(Pending, 1);
        p->read = done;
        p->data = data;
        g_dbus_connection_call(link->bus, LBD_BUS_NAME, LBD_BUS_PATH,
                               "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL,
                               G_VARIANT_TYPE("(a{oa{sa{sv}}})"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                               CALL_TIMEOUT_MS, link->cancellable, objects_read, p);
}

static void applied(GObject *source, GAsyncResult *result, gpointer data) {
        g_autofree Pending *p = data;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply =
                g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return;
        if (error)
                g_dbus_error_strip_remote_error(error);
        p->done(error, p->data);
}

void lbd_link_apply(LbdLink *link, const LbdOp *op, const char *origin, LbdLinkDone done,
                    gpointer data) {
        Pending *p = g_new0(Pending, 1);
        p->done = done;
        p->data = data;
        const char *service = op->member ? op->member->service : op->current->service;
        const char *address = op->member ? op->member->address : op->current->address;
        const char *path = LBD_BUS_PATH, *iface = LBD_BUS_INTERFACE, *method = NULL;
        GVariant *params = NULL;
        switch (op->kind) {
        case LBD_OP_ADD: {
                const LbdMember *m = op->member;
                GVariantBuilder o;
                g_variant_builder_init(&o, G_VARIANT_TYPE("a{sv}"));
                g_variant_builder_add(&o, "{sv}", "Weight", g_variant_new_uint32(m->weight));
                g_variant_builder_add(&o, "{sv}", "MaxFails", g_variant_new_uint32(m->max_fails));
                g_variant_builder_add(&o, "{sv}", "FailTimeout",
                                      g_variant_new_uint32(m->fail_timeout));
                g_variant_builder_add(&o, "{sv}", "MaxConns", g_variant_new_uint32(m->max_conns));
                g_variant_builder_add(&o, "{sv}", "SlowStart", g_variant_new_uint32(m->slow_start));
                g_variant_builder_add(&o, "{sv}", "Backup", g_variant_new_boolean(m->backup));
                g_variant_builder_add(&o, "{sv}", "Origin", g_variant_new_string(origin));
                method = "AddBackend";
                params = g_variant_new("(ssa{sv})", service, address, &o);
                break;
        }
        case LBD_OP_REMOVE:
                method = "RemoveBackend";
                params = g_variant_new("(ss)", service, address);
                break;
        case LBD_OP_SET_WEIGHT:
        case LBD_OP_DRAIN:
        case LBD_OP_ENABLE:
                path = op->current->path;
                iface = LBD_BUS_BACKEND_INTERFACE;
                method = op->kind == LBD_OP_SET_WEIGHT ? "SetWeight"
                         : op->kind == LBD_OP_DRAIN    ? "Drain"
                                                       : "Enable";
                if (op->kind == LBD_OP_SET_WEIGHT)
                        params = g_variant_new("(u)", op->member->weight);
                break;
        }
        g_dbus_connection_call(link->bus, LBD_BUS_NAME, path, iface, method, params, NULL,
                               G_DBUS_CALL_FLAGS_NO_AUTO_START, CALL_TIMEOUT_MS, link->cancellable,
                               applied, p);
}
