/* SPDX-License-Identifier: MIT */
#include "plugins-page.h"

#include <adwaita.h>

#include "lbd-bus-api.h"
#include "page.h"
#include "widgets.h"

struct LbdPluginsPage {
        LbdDesktopBus *bus;
        LbdPageFrame frame;
        GVariant *plugins;  /* a(ssss), or NULL */
        char *listed_owner; /* whose list it is */
};

static const struct {
        const char *kind, *title, *description;
} kinds[] = {
        {"worker", "Worker Models", "How workers serve connections."},
        {"policy", "Policies", "How a service picks its backends."},
        {"network", "Network", "How links are aggregated."},
};

static void show(LbdPluginsPage *page) {
        lbd_page_frame_reset(&page->frame);
        guint shown = 0;
        for (size_t k = 0; k < G_N_ELEMENTS(kinds) && page->plugins; k++) {
                GtkWidget *group = adw_preferences_group_new();
                adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(group), kinds[k].title);
                adw_preferences_group_set_description(ADW_PREFERENCES_GROUP(group),
                                                      kinds[k].description);
                GVariantIter it;
                const char *kind, *name, *description, *path;
                guint in_group = 0;
                g_variant_iter_init(&it, page->plugins);
                while (g_variant_iter_next(&it, "(&s&s&s&s)", &kind, &name, &description, &path)) {
                        if (g_strcmp0(kind, kinds[k].kind) != 0)
                                continue;
                        GtkWidget *row = adw_action_row_new();
                        g_autofree char *title = lbd_markup(name);
                        g_autofree char *text = g_strdup_printf("%s\n%s", description, path);
                        g_autofree char *subtitle = lbd_markup(text);
                        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
                        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), subtitle);
                        adw_preferences_group_add(ADW_PREFERENCES_GROUP(group), row);
                        in_group++;
                }
                if (in_group) {
                        gtk_box_append(GTK_BOX(page->frame.box), group);
                        shown++;
                } else {
                        g_object_ref_sink(group);
                        g_object_unref(group);
                }
        }
        lbd_page_frame_show(&page->frame, shown > 0);
}

static void listed(GVariant *reply, gpointer data) {
        LbdPluginsPage *page = data;
        g_clear_pointer(&page->plugins, g_variant_unref);
        page->plugins = g_variant_get_child_value(reply, 0);
        show(page);
}

static void list(LbdPluginsPage *page) {
        lbd_desktop_bus_call(page->bus, LBD_BUS_PATH, LBD_BUS_INTERFACE, "ListPlugins", NULL, NULL,
                             listed, page);
}

static void structure(gpointer data) {
        LbdPluginsPage *page = data;
        g_autofree char *owner = lbd_desktop_bus_owner(page->bus);

        if (g_strcmp0(owner, page->listed_owner) == 0)
                return;
        g_free(page->listed_owner);
        page->listed_owner = g_steal_pointer(&owner);
        if (page->listed_owner) {
                list(page);
        } else {
                g_clear_pointer(&page->plugins, g_variant_unref);
                show(page);
        }
}

static void properties_changed(GDBusProxy *proxy, GVariant *changed, gpointer data) {
        if (g_strcmp0(g_dbus_proxy_get_interface_name(proxy), LBD_BUS_INTERFACE) == 0)
                list(data);
}

LbdPluginsPage *lbd_plugins_page_new(LbdDesktopBus *bus) {
        LbdPluginsPage *page = g_new0(LbdPluginsPage, 1);
        page->bus = bus;
        lbd_page_frame_init(&page->frame, "application-x-addon-symbolic", "No Plugins",
                            "lbd is not running.", NULL, NULL);
        lbd_desktop_bus_watch(bus, &(LbdDesktopBusWatch){.structure = structure,
                                                         .properties = properties_changed,
                                                         .data = page});
        return page;
}

void lbd_plugins_page_free(LbdPluginsPage *page) {
        if (!page)
                return;
        lbd_desktop_bus_unwatch(page->bus, page);
        g_clear_pointer(&page->plugins, g_variant_unref);
        g_free(page->listed_owner);
        lbd_page_frame_clear(&page->frame);
        g_free(page);
}

GtkWidget *lbd_plugins_page_widget(LbdPluginsPage *page) {
        return page->frame.root;
}

char **lbd_plugins_page_names(LbdPluginsPage *page, const char *kind) {
        g_autoptr(GStrvBuilder) names = g_strv_builder_new();
        GVariantIter it;
        const char *k, *name, *description, *path;

        if (page->plugins) {
                g_variant_iter_init(&it, page->plugins);
                while (g_variant_iter_next(&it, "(&s&s&s&s)", &k, &name, &description, &path))
                        if (g_strcmp0(k, kind) == 0)
                                g_strv_builder_add(names, name);
        }
        return g_strv_builder_end(names);
}
