/* SPDX-License-Identifier: MIT */
#include "links-page.h"

#include <adwaita.h>

#include "describe.h"
#include "lbd-bus-api.h"
#include "page.h"
#include "widgets.h"

struct LbdLinksPage {
        LbdDesktopBus *bus;
        LbdPageFrame frame;
        guint rebuild_id;
};

static GtkWidget *link_row(LbdLoadBalancerLink *link) {
        const char *name = lbd_load_balancer_link_get_name(link);
        const char *state = lbd_load_balancer_link_get_state(link);
        gboolean managed = lbd_load_balancer_link_get_managed(link);
        GtkWidget *row = adw_action_row_new();
        g_autofree char *title = lbd_markup(name);
        g_autofree char *text = lbd_describe_link(
                lbd_load_balancer_link_get_kind(link), lbd_load_balancer_link_get_mode(link),
                lbd_load_balancer_link_get_ports(link), state, managed);
        g_autofree char *subtitle = lbd_markup(text);
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), subtitle);
        if (!managed)
                return row;

        gboolean active = g_strcmp0(state, "activated") == 0;
        g_autofree char *toggle = g_strdup_printf(active ? "Deactivate %s" : "Activate %s", name);
        g_autofree char *modify = g_strdup_printf("Modify %s", name);
        g_autofree char *remove = g_strdup_printf("Delete %s", name);
        adw_action_row_add_suffix(
                ADW_ACTION_ROW(row),
                lbd_action_button(active ? "media-playback-stop-symbolic"
                                         : "media-playback-start-symbolic",
                                  toggle, active ? "app.deactivate-link" : "app.activate-link",
                                  g_variant_new_string(name)));
        adw_action_row_add_suffix(ADW_ACTION_ROW(row),
                                  lbd_action_button("document-edit-symbolic", modify,
                                                    "win.edit-link", g_variant_new_string(name)));
        adw_action_row_add_suffix(ADW_ACTION_ROW(row),
                                  lbd_action_button("user-trash-symbolic", remove,
                                                    "win.confirm-delete-link",
                                                    g_variant_new_string(name)));
        return row;
}

static gboolean rebuild(gpointer data) {
        LbdLinksPage *page = data;
        LbdLoadBalancer *root = lbd_desktop_bus_root(page->bus);
        const char *const *links = root ? lbd_load_balancer_get_links(root) : NULL;

        page->rebuild_id = 0;
        lbd_page_frame_reset(&page->frame);
        GtkWidget *group = adw_preferences_group_new();
        adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(group), "Links");
        adw_preferences_group_set_description(ADW_PREFERENCES_GROUP(group),
                                              "Bond and team devices, through NetworkManager. "
                                              "Links made outside lbd are shown, not changed.");
        adw_preferences_group_set_header_suffix(ADW_PREFERENCES_GROUP(group),
                                                lbd_action_button("list-add-symbolic",
                                                                  "Create a link",
                                                                  "win.edit-create-link", NULL));
        guint shown = 0;
        for (guint i = 0; links && links[i]; i++) {
                g_autoptr(GDBusProxy) proxy =
                        lbd_desktop_bus_proxy(page->bus, links[i], LBD_BUS_LINK_INTERFACE);
                if (!proxy)
                        continue;
                adw_preferences_group_add(ADW_PREFERENCES_GROUP(group),
                                          link_row(LBD_LOAD_BALANCER_LINK(proxy)));
                shown++;
        }
        gtk_box_append(GTK_BOX(page->frame.box), group);
        lbd_page_frame_show(&page->frame, shown > 0);
        return G_SOURCE_REMOVE;
}

static void queue_rebuild(gpointer data) {
        LbdLinksPage *page = data;
        if (!page->rebuild_id)
                page->rebuild_id = g_idle_add(rebuild, page);
}

static void properties_changed(GDBusProxy *proxy, GVariant *changed, gpointer data) {
        const char *interface = g_dbus_proxy_get_interface_name(proxy);
        if (g_strcmp0(interface, LBD_BUS_LINK_INTERFACE) == 0)
                queue_rebuild(data);
        else if (g_strcmp0(interface, LBD_BUS_INTERFACE) == 0) {
                g_autoptr(GVariant) links = g_variant_lookup_value(changed, "Links", NULL);
                if (links)
                        queue_rebuild(data);
        }
}

LbdLinksPage *lbd_links_page_new(LbdDesktopBus *bus) {
        LbdLinksPage *page = g_new0(LbdLinksPage, 1);
        page->bus = bus;
        lbd_page_frame_init(&page->frame, "network-wired-symbolic", "No Links",
                            "No bond or team device is known to NetworkManager.",
                            "Create Link\u2026", "win.edit-create-link");
        lbd_desktop_bus_watch(bus, &(LbdDesktopBusWatch){.structure = queue_rebuild,
                                                         .properties = properties_changed,
                                                         .data = page});
        return page;
}

void lbd_links_page_free(LbdLinksPage *page) {
        if (!page)
                return;
        lbd_desktop_bus_unwatch(page->bus, page);
        g_clear_handle_id(&page->rebuild_id, g_source_remove);
        lbd_page_frame_clear(&page->frame);
        g_free(page);
}

GtkWidget *lbd_links_page_widget(LbdLinksPage *page) {
        return page->frame.root;
}
