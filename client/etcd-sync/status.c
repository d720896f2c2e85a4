/* SPDX-License-Identifier: MIT */
#include "status.h"

static const char INTROSPECTION[] = "<node>"
                                    " <interface name='" LBD_SYNC_BUS_INTERFACE "'>"
                                    "  <property name='Connected' type='b' access='read'/>"
                                    "  <property name='Endpoint' type='s' access='read'/>"
                                    "  <property name='Revision' type='x' access='read'/>"
                                    "  <property name='Members' type='u' access='read'/>"
                                    "  <property name='Applied' type='u' access='read'/>"
                                    "  <property name='LastError' type='s' access='read'/>"
                                    " </interface>"
                                    "</node>";

struct LbdStatusObject {
        GDBusConnection *bus;
        GDBusNodeInfo *info;
        guint id;
        const LbdSyncStatus *status;
        GVariant *last; /* a{sv} last signalled */
};

static GVariant *value_of(const LbdSyncStatus *s, const char *name) {
        if (g_str_equal(name, "Connected"))
                return g_variant_new_boolean(s->connected);
        if (g_str_equal(name, "Endpoint"))
                return g_variant_new_string(s->endpoint ? s->endpoint : "");
        if (g_str_equal(name, "Revision"))
                return g_variant_new_int64(s->revision);
        if (g_str_equal(name, "Members"))
                return g_variant_new_uint32(s->members);
        if (g_str_equal(name, "Applied"))
                return g_variant_new_uint32(s->applied);
        if (g_str_equal(name, "LastError"))
                return g_variant_new_string(s->last_error ? s->last_error : "");
        return NULL;
}

static GVariant *get_property(GDBusConnection *bus, const char *sender, const char *path,
                              const char *interface, const char *name, GError **error,
                              gpointer data) {
        LbdStatusObject *o = data;
        return value_of(o->status, name);
}

static const GDBusInterfaceVTable VTABLE = {NULL, get_property, NULL, {0}};

static const char *const NAMES[] = {"Connected", "Endpoint", "Revision",
                                    "Members",   "Applied",  "LastError"};

static GVariant *all(const LbdSyncStatus *s) {
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        for (gsize i = 0; i < G_N_ELEMENTS(NAMES); i++)
                g_variant_builder_add(&b, "{sv}", NAMES[i], value_of(s, NAMES[i]));
        return g_variant_ref_sink(g_variant_builder_end(&b));
}

LbdStatusObject *lbd_status_object_new(GDBusConnection *bus, const LbdSyncStatus *status,
                                       GError **error) {
        LbdStatusObject *o = g_new0(LbdStatusObject, 1);
        o->bus = g_object_ref(bus);
        o->status = status;
        o->info = g_dbus_node_info_new_for_xml(INTROSPECTION, error);
        if (o->info)
                o->id = g_dbus_connection_register_object(
                        bus, LBD_SYNC_BUS_PATH, o->info->interfaces[0], &VTABLE, o, NULL, error);
        if (!o->id) {
                lbd_status_object_free(o);
                return NULL;
        }
        o->last = all(status);
        return o;
}

void lbd_status_object_changed(LbdStatusObject *o) {
        g_autoptr(GVariant) now = all(o->status);
        GVariantBuilder changed;
        g_variant_builder_init(&changed, G_VARIANT_TYPE("a{sv}"));
        gboolean any = FALSE;
        for (gsize i = 0; i < G_N_ELEMENTS(NAMES); i++) {
                g_autoptr(GVariant) a = g_variant_lookup_value(now, NAMES[i], NULL);
                g_autoptr(GVariant) b = g_variant_lookup_value(o->last, NAMES[i], NULL);
                if (!g_variant_equal(a, b)) {
                        g_variant_builder_add(&changed, "{sv}", NAMES[i], a);
                        any = TRUE;
                }
        }
        if (any)
                g_dbus_connection_emit_signal(
                        o->bus, NULL, LBD_SYNC_BUS_PATH, "org.freedesktop.DBus.Properties",
                        "PropertiesChanged",
                        g_variant_new("(sa{sv}as)", LBD_SYNC_BUS_INTERFACE, &changed, NULL), NULL);
        else
                g_variant_builder_clear(&changed);
        g_variant_unref(o->last);
        o->last = g_steal_pointer(&now);
}

void lbd_status_object_free(LbdStatusObject *o) {
        if (!o)
                return;
        if (o->id)
                g_dbus_connection_unregister_object(o->bus, o->id);
        g_clear_pointer(&o->info, g_dbus_node_info_unref);
        g_clear_pointer(&o->last, g_variant_unref);
        g_object_unref(o->bus);
        g_free(o);
}
