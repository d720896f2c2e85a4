/* SPDX-License-Identifier: MIT */
#include "workers-page.h"

#include <adwaita.h>

#include "describe.h"
#include "lbd-bus-api.h"
#include "page.h"
#include "widgets.h"

struct LbdWorkersPage {
        LbdDesktopBus *bus;
        LbdPageFrame frame;
        GtkWidget *model, *workers, *threads, *connections, *version, *failover;
};

static GtkWidget *value_row(GtkWidget *group, const char *title, GtkWidget *button) {
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
        gtk_widget_add_css_class(row, "property");
        if (button)
                adw_action_row_add_suffix(ADW_ACTION_ROW(row), button);
        adw_preferences_group_add(ADW_PREFERENCES_GROUP(group), row);
        return row;
}

static void set_subtitle(GtkWidget *row, const char *text) {
        g_autofree char *markup = lbd_markup(text);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), markup);
}

static void set_number(GtkWidget *row, guint n) {
        g_autofree char *text = g_strdup_printf("%u", n);
        set_subtitle(row, text);
}

static void update(gpointer data) {
        LbdWorkersPage *page = data;
        LbdLoadBalancer *root = lbd_desktop_bus_root(page->bus);

        lbd_page_frame_show(&page->frame, root != NULL);
        if (!root)
                return;
        set_subtitle(page->model, lbd_load_balancer_get_worker_model(root));
        set_number(page->workers, lbd_load_balancer_get_workers(root));
        set_number(page->threads, lbd_load_balancer_get_threads(root));
        set_number(page->connections, lbd_load_balancer_get_worker_connections(root));
        set_subtitle(page->version, lbd_load_balancer_get_version(root));
        g_autofree char *failover =
                lbd_describe_failover(lbd_load_balancer_get_failover_states(root));
        set_subtitle(page->failover, failover);
}

static void properties_changed(GDBusProxy *proxy, GVariant *changed, gpointer data) {
        if (g_strcmp0(g_dbus_proxy_get_interface_name(proxy), LBD_BUS_INTERFACE) == 0)
                update(data);
}

LbdWorkersPage *lbd_workers_page_new(LbdDesktopBus *bus) {
        LbdWorkersPage *page = g_new0(LbdWorkersPage, 1);
        page->bus = bus;
        lbd_page_frame_init(&page->frame, "system-run-symbolic", "No Workers",
                            "lbd is not running.", NULL, NULL);

        GtkWidget *group = adw_preferences_group_new();
        adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(group), "Workers");
        adw_preferences_group_set_description(ADW_PREFERENCES_GROUP(group),
                                              "A change starts new workers and stops the old ones "
                                              "gracefully: open connections finish.");
        page->model = value_row(
                group, "Worker model",
                lbd_action_button(NULL, "Change Model\u2026", "win.edit-worker-model", NULL));
        page->workers =
                value_row(group, "Worker processes",
                          lbd_action_button(NULL, "Change Count\u2026", "win.edit-workers", NULL));
        page->threads = value_row(group, "Threads per worker (thread model)", NULL);
        page->connections = value_row(group, "Connections per worker at most", NULL);
        gtk_box_append(GTK_BOX(page->frame.box), group);

        GtkWidget *daemon = adw_preferences_group_new();
        adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(daemon), "Daemon");
        page->version = value_row(daemon, "Version", NULL);
        page->failover = value_row(daemon, "Failover (keepalived)", NULL);
        GtkWidget *reload = value_row(daemon, "Configuration files",
                                      lbd_action_button(NULL, "Reload", "app.reload", NULL));
        adw_action_row_set_subtitle(
                ADW_ACTION_ROW(reload),
                "Read the files and plugins again; what was changed here stays.");
        gtk_widget_remove_css_class(reload, "property");
        gtk_box_append(GTK_BOX(page->frame.box), daemon);

        lbd_desktop_bus_watch(bus, &(LbdDesktopBusWatch){.structure = update,
                                                         .properties = properties_changed,
                                                         .data = page});
        return page;
}

void lbd_workers_page_free(LbdWorkersPage *page) {
        if (!page)
                return;
        lbd_desktop_bus_unwatch(page->bus, page);
        lbd_page_frame_clear(&page->frame);
        g_free(page);
}

GtkWidget *lbd_workers_page_widget(LbdWorkersPage *page) {
        return page->frame.root;
}
