/* SPDX-License-Identifier: MIT */
#include "window.h"

#include "forms.h"
#include "lbd-bus-api.h"
#include "links-page.h"
#include "plugins-page.h"
#include "services-page.h"
#include "typed.h"
#include "widgets.h"
#include "workers-page.h"

struct LbdWindow {
        GtkWidget *window;
        LbdDesktopBus *bus;
        GtkWidget *content; /* GtkStack: connecting, absent, no-bus, views */
        GtkWidget *no_bus;  /* AdwStatusPage */
        GtkWidget *switcher; /* AdwViewSwitcherTitle, while lbd runs */
        GtkWidget *title;    /* AdwWindowTitle, while it does not */
        GtkWidget *add;      /* the header bar's Add Service */
        LbdServicesPage *services;
        LbdWorkersPage *workers;
        LbdLinksPage *links;
        LbdPluginsPage *plugins;
};

static const char *const MODES[] = {"http", "tcp", NULL};
static const char *const LINK_KINDS[] = {"bond", "team", NULL};
static const char *const IPV4_METHODS[] = {"disabled", "auto", "manual", NULL};
static const char *const BOND_MODES[] = {"active-backup", "balance-rr",  "balance-xor", "broadcast",
                                         "802.3ad",       "balance-tlb", "balance-alb", NULL};

static void activate_app(LbdWindow *w, const char *action, GVariant *parameter) {
        GApplication *app = G_APPLICATION(gtk_window_get_application(GTK_WINDOW(w->window)));
        g_action_group_activate_action(G_ACTION_GROUP(app), action, parameter);
}

/* A number typed into a form; a message when it is not one. */
static gboolean form_number(LbdWindow *w, const char *label, const char *text, guint32 *out) {
        if (lbd_typed_uint(text, out))
                return TRUE;
        g_autofree char *body = g_strdup_printf("%s: \u201c%s\u201d is not a number.", label, text);
        lbd_form_message(GTK_WINDOW(w->window), "Not a Number", body);
        return FALSE;
}

/* A form's context: the window and a copy of the action's target. */
typedef struct {
        LbdWindow *window;
        char *target;
} FormContext;

static FormContext *form_context(LbdWindow *w, const char *target) {
        FormContext *c = g_new0(FormContext, 1);
        c->window = w;
        c->target = g_strdup(target);
        return c;
}

static void form_context_free(gpointer p) {
        FormContext *c = p;
        g_free(c->target);
        g_free(c);
}

static void show_form(LbdWindow *w, const LbdForm *form, LbdFormDone done, const char *target) {
        lbd_form_show(GTK_WINDOW(w->window), form, done, form_context(w, target),
                      form_context_free);
}

/* Choices from the loaded plugins, or the fallback when none are listed. */
static char **plugin_choices(LbdWindow *w, const char *kind, const char *fallback) {
        char **names = lbd_plugins_page_names(w->plugins, kind);
        if (names[0])
                return names;
        g_strfreev(names);
        char **one = g_new0(char *, 2);
        one[0] = g_strdup(fallback);
        return one;
}

/* --- services ------------------------------------------------------------ */

static void add_service_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        activate_app(c->window, "add-service", g_variant_new("(ssss)", v[0], v[1], v[2], v[3]));
}

static void edit_add_service(GSimpleAction *a, GVariant *p, gpointer data) {
        LbdWindow *w = data;
        g_auto(GStrv) policies = plugin_choices(w, "policy", "round_robin");
        const LbdField fields[] = {
                {LBD_FIELD_TEXT, "Name", NULL, NULL},
                {LBD_FIELD_TEXT, "Listen addresses", NULL, NULL},
                {LBD_FIELD_CHOICE, "Mode", "http", MODES},
                {LBD_FIELD_CHOICE, "Policy", "round_robin", (const char *const *)policies},
        };
        show_form(w,
                  &(LbdForm){"Add Service",
                             "A name ([A-Za-z0-9_-]) and one or more addresses to listen on: "
                             "HOST:PORT, [V6]:PORT or unix:/path.",
                             "_Add", FALSE, fields, G_N_ELEMENTS(fields)},
                  add_service_done, NULL);
}

static void remove_service_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        activate_app(c->window, "remove-service", g_variant_new_string(c->target));
}

static void confirm_remove_service(GSimpleAction *a, GVariant *p, gpointer data) {
        const char *name = g_variant_get_string(p, NULL);
        g_autofree char *heading = g_strdup_printf("Remove the Service %s?", name);
        show_form(
                data,
                &(LbdForm){heading,
                           "Its listeners close; open connections finish. Its backends go with it.",
                           "_Remove", TRUE, NULL, 0},
                remove_service_done, name);
}

static void policy_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        activate_app(c->window, "set-policy", g_variant_new("(ss)", c->target, v[0]));
}

static void edit_policy(GSimpleAction *a, GVariant *p, gpointer data) {
        LbdWindow *w = data;
        const char *name = g_variant_get_string(p, NULL);
        g_autofree char *path = NULL;
        g_autofree char *current = NULL;
        LbdLoadBalancer *root = lbd_desktop_bus_root(w->bus);
        const char *const *services = root ? lbd_load_balancer_get_services(root) : NULL;
        for (guint i = 0; services && services[i]; i++) {
                g_autoptr(GDBusProxy) s =
                        lbd_desktop_bus_proxy(w->bus, services[i], LBD_BUS_SERVICE_INTERFACE);
                if (s && g_strcmp0(lbd_load_balancer_service_get_name(LBD_LOAD_BALANCER_SERVICE(s)),
                                   name) == 0)
                        current = g_strdup(
                                lbd_load_balancer_service_get_policy(LBD_LOAD_BALANCER_SERVICE(s)));
        }
        g_auto(GStrv) policies = plugin_choices(w, "policy", "round_robin");
        const LbdField fields[] = {
                {LBD_FIELD_CHOICE, "Policy", current, (const char *const *)policies},
        };
        g_autofree char *heading = g_strdup_printf("Policy of %s", name);
        show_form(w,
                  &(LbdForm){heading, "How the service picks a backend for each request.", "_Apply",
                             FALSE, fields, 1},
                  policy_done, name);
}

/* --- backends ------------------------------------------------------------ */

static void add_backend_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        guint32 weight;
        if (form_number(c->window, "Weight", v[1], &weight))
                activate_app(c->window, "add-backend",
                             g_variant_new("(ssu)", c->target, v[0], weight));
}

static void edit_add_backend(GSimpleAction *a, GVariant *p, gpointer data) {
        const char *service = g_variant_get_string(p, NULL);
        const LbdField fields[] = {
                {LBD_FIELD_TEXT, "Address", NULL, NULL},
                {LBD_FIELD_TEXT, "Weight", "1", NULL},
        };
        g_autofree char *heading = g_strdup_printf("Add a Backend to %s", service);
        show_form(data,
                  &(LbdForm){heading,
                             "HOST:PORT, [V6]:PORT or unix:/path; a weight from 1 to 1000.", "_Add",
                             FALSE, fields, G_N_ELEMENTS(fields)},
                  add_backend_done, service);
}

static void weight_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        guint32 weight;
        if (form_number(c->window, "Weight", v[0], &weight))
                activate_app(c->window, "set-weight", g_variant_new("(ou)", c->target, weight));
}

static void edit_weight(GSimpleAction *a, GVariant *p, gpointer data) {
        LbdWindow *w = data;
        const char *path = g_variant_get_string(p, NULL);
        g_autoptr(GDBusProxy) proxy =
                lbd_desktop_bus_proxy(w->bus, path, LBD_BUS_BACKEND_INTERFACE);
        if (!proxy)
                return; /* gone meanwhile: its row goes too */
        LbdLoadBalancerBackend *b = LBD_LOAD_BALANCER_BACKEND(proxy);
        g_autofree char *weight = g_strdup_printf("%u", lbd_load_balancer_backend_get_weight(b));
        const LbdField fields[] = {{LBD_FIELD_TEXT, "Weight", weight, NULL}};
        g_autofree char *heading =
                g_strdup_printf("Weight of %s", lbd_load_balancer_backend_get_address(b));
        show_form(w,
                  &(LbdForm){heading, "Its share relative to the other backends, 1 to 1000.",
                             "_Apply", FALSE, fields, 1},
                  weight_done, path);
}

static void remove_backend_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        g_auto(GStrv) parts = g_strsplit(c->target, "\n", 2);
        activate_app(c->window, "remove-backend", g_variant_new("(ss)", parts[0], parts[1]));
}

static void confirm_remove_backend(GSimpleAction *a, GVariant *p, gpointer data) {
        const char *service, *address;
        g_variant_get(p, "(&s&s)", &service, &address);
        g_autofree char *heading = g_strdup_printf("Remove %s from %s?", address, service);
        g_autofree char *target = g_strdup_printf("%s\n%s", service, address);
        show_form(data,
                  &(LbdForm){heading, "It takes no new connections; open ones finish.", "_Remove",
                             TRUE, NULL, 0},
                  remove_backend_done, target);
}

/* --- workers ------------------------------------------------------------- */

static void workers_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        guint32 count;
        if (form_number(c->window, "Worker processes", v[0], &count))
                activate_app(c->window, "set-workers", g_variant_new_uint32(count));
}

static void edit_workers(GSimpleAction *a, GVariant *p, gpointer data) {
        LbdWindow *w = data;
        LbdLoadBalancer *root = lbd_desktop_bus_root(w->bus);
        g_autofree char *count =
                g_strdup_printf("%u", root ? lbd_load_balancer_get_workers(root) : 1);
        const LbdField fields[] = {{LBD_FIELD_TEXT, "Worker processes", count, NULL}};
        show_form(w, &(LbdForm){"Worker Processes", "From 1 to 1024.", "_Apply", FALSE, fields, 1},
                  workers_done, NULL);
}

static void worker_model_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        guint32 threads, connections;
        if (form_number(c->window, "Threads per worker", v[1], &threads) &&
            form_number(c->window, "Connections per worker", v[2], &connections))
                activate_app(c->window, "set-worker-model",
                             g_variant_new("(suu)", v[0], threads, connections));
}

static void edit_worker_model(GSimpleAction *a, GVariant *p, gpointer data) {
        LbdWindow *w = data;
        LbdLoadBalancer *root = lbd_desktop_bus_root(w->bus);
        if (!root)
                return;
        g_auto(GStrv) models =
                plugin_choices(w, "worker", lbd_load_balancer_get_worker_model(root));
        g_autofree char *threads = g_strdup_printf("%u", lbd_load_balancer_get_threads(root));
        g_autofree char *connections =
                g_strdup_printf("%u", lbd_load_balancer_get_worker_connections(root));
        const LbdField fields[] = {
                {LBD_FIELD_CHOICE, "Worker model", lbd_load_balancer_get_worker_model(root),
                 (const char *const *)models},
                {LBD_FIELD_TEXT, "Threads per worker", threads, NULL},
                {LBD_FIELD_TEXT, "Connections per worker", connections, NULL},
        };
        show_form(w,
                  &(LbdForm){"Worker Model",
                             "New workers start with it; the old ones finish their connections.",
                             "_Apply", FALSE, fields, G_N_ELEMENTS(fields)},
                  worker_model_done, NULL);
}

/* --- links --------------------------------------------------------------- */

/* A bond's mode is "Mode", a team's runner "Runner"; IPv4 as the
 * method's keys. Empty fields are left out (lbd's defaults). */
static GVariant *link_options(const char *kind, const char *mode, const char *ipv4,
                              const char *addresses) {
        GVariantBuilder options;
        g_variant_builder_init(&options, G_VARIANT_TYPE("a{sv}"));
        if (mode && *mode)
                g_variant_builder_add(&options, "{sv}",
                                      g_strcmp0(kind, "team") == 0 ? "Runner" : "Mode",
                                      g_variant_new_string(mode));
        if (ipv4 && *ipv4)
                g_variant_builder_add(&options, "{sv}", "IPv4Method", g_variant_new_string(ipv4));
        if (addresses && *addresses)
                g_variant_builder_add(&options, "{sv}", "IPv4Addresses", lbd_typed_list(addresses));
        return g_variant_builder_end(&options);
}

static void create_link_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        activate_app(c->window, "create-link",
                     g_variant_new("(ss@as@a{sv}b)", v[0], v[1], lbd_typed_list(v[2]),
                                   link_options(v[0], v[3], v[4], v[5]),
                                   g_strcmp0(v[6], "true") == 0));
}

static void edit_create_link(GSimpleAction *a, GVariant *p, gpointer data) {
        const LbdField fields[] = {
                {LBD_FIELD_CHOICE, "Kind", "bond", LINK_KINDS},
                {LBD_FIELD_TEXT, "Interface name", "bond0", NULL},
                {LBD_FIELD_TEXT, "Ports", NULL, NULL},
                {LBD_FIELD_TEXT, "Mode or runner", "active-backup", NULL},
                {LBD_FIELD_CHOICE, "IPv4", "disabled", IPV4_METHODS},
                {LBD_FIELD_TEXT, "IPv4 addresses", NULL, NULL},
                {LBD_FIELD_SWITCH, "Activate now", "true", NULL},
        };
        show_form(data,
                  &(LbdForm){"Create Link",
                             "Ports are ethernet interfaces, separated by commas. A bond's mode: "
                             "active-backup, balance-rr, 802.3ad, ...; a team's runner: "
                             "activebackup, roundrobin, lacp, ... Manual IPv4 takes addresses "
                             "as a.b.c.d/prefix.",
                             "_Create", FALSE, fields, G_N_ELEMENTS(fields)},
                  create_link_done, NULL);
}

/* The link proxy named ifname, or NULL (a new reference). */
static LbdLoadBalancerLink *find_link(LbdWindow *w, const char *ifname) {
        LbdLoadBalancer *root = lbd_desktop_bus_root(w->bus);
        const char *const *links = root ? lbd_load_balancer_get_links(root) : NULL;
        for (guint i = 0; links && links[i]; i++) {
                GDBusProxy *proxy = lbd_desktop_bus_proxy(w->bus, links[i], LBD_BUS_LINK_INTERFACE);
                if (proxy &&
                    g_strcmp0(lbd_load_balancer_link_get_name(LBD_LOAD_BALANCER_LINK(proxy)),
                              ifname) == 0)
                        return LBD_LOAD_BALANCER_LINK(proxy);
                g_clear_object(&proxy);
        }
        return NULL;
}

static void modify_link_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        g_autoptr(LbdLoadBalancerLink) link = find_link(c->window, c->target);
        const char *kind = link ? lbd_load_balancer_link_get_kind(link) : "bond";
        activate_app(c->window, "modify-link",
                     g_variant_new("(s@a{sv})", c->target, link_options(kind, v[0], NULL, NULL)));
}

static void edit_link(GSimpleAction *a, GVariant *p, gpointer data) {
        LbdWindow *w = data;
        const char *name = g_variant_get_string(p, NULL);
        g_autoptr(LbdLoadBalancerLink) link = find_link(w, name);
        if (!link)
                return; /* gone meanwhile: its row goes too */
        gboolean team = g_strcmp0(lbd_load_balancer_link_get_kind(link), "team") == 0;
        const LbdField fields[] = {{LBD_FIELD_TEXT, team ? "Runner" : "Mode",
                                    lbd_load_balancer_link_get_mode(link), NULL}};
        g_autofree char *heading = g_strdup_printf("Modify %s", name);
        g_autofree char *modes = g_strjoinv(", ", (char **)BOND_MODES);
        g_autofree char *text =
                team ? g_strdup("The team's runner: broadcast, roundrobin, random, activebackup, "
                                "loadbalance or lacp.")
                     : g_strdup_printf("The bond's mode: %s.", modes);
        show_form(w, &(LbdForm){heading, text, "_Apply", FALSE, fields, 1}, modify_link_done, name);
}

static void delete_link_done(const char *const *v, gpointer data) {
        FormContext *c = data;
        activate_app(c->window, "delete-link", g_variant_new_string(c->target));
}

static void confirm_delete_link(GSimpleAction *a, GVariant *p, gpointer data) {
        const char *name = g_variant_get_string(p, NULL);
        g_autofree char *heading = g_strdup_printf("Delete %s?", name);
        show_form(data,
                  &(LbdForm){heading,
                             "Its NetworkManager profile and its ports' profiles are deleted.",
                             "_Delete", TRUE, NULL, 0},
                  delete_link_done, name);
}

static void about(GSimpleAction *a, GVariant *p, gpointer data) {
        LbdWindow *w = data;
        LbdLoadBalancer *root = lbd_desktop_bus_root(w->bus);
        g_autofree char *comments = g_strdup_printf(
                "A desktop tool for lbd, the load balancer driven over D-Bus.\nlbd %s",
                root ? lbd_load_balancer_get_version(root) : "is not running");
        adw_show_about_window(GTK_WINDOW(w->window), "application-name", "Load Balancer",
                              "application-icon", "org.example.LoadBalancer.Desktop", "version",
                              LBD_DESKTOP_VERSION, "comments", comments, "license-type",
                              GTK_LICENSE_MIT_X11, NULL);
}

static const GActionEntry window_actions[] = {
        {"edit-add-service", edit_add_service, NULL, NULL, NULL, {0}},
        {"confirm-remove-service", confirm_remove_service, "s", NULL, NULL, {0}},
        {"edit-policy", edit_policy, "s", NULL, NULL, {0}},
        {"edit-add-backend", edit_add_backend, "s", NULL, NULL, {0}},
        {"edit-weight", edit_weight, "o", NULL, NULL, {0}},
        {"confirm-remove-backend", confirm_remove_backend, "(ss)", NULL, NULL, {0}},
        {"edit-workers", edit_workers, NULL, NULL, NULL, {0}},
        {"edit-worker-model", edit_worker_model, NULL, NULL, NULL, {0}},
        {"edit-create-link", edit_create_link, NULL, NULL, NULL, {0}},
        {"edit-link", edit_link, "s", NULL, NULL, {0}},
        {"confirm-delete-link", confirm_delete_link, "s", NULL, NULL, {0}},
        {"about", about, NULL, NULL, NULL, {0}},
};

/* --- the window ---------------------------------------------------------- */

static GtkWidget *status_page(const char *icon, const char *title, const char *description) {
        GtkWidget *page = adw_status_page_new();
        adw_status_page_set_icon_name(ADW_STATUS_PAGE(page), icon);
        adw_status_page_set_title(ADW_STATUS_PAGE(page), title);
        adw_status_page_set_description(ADW_STATUS_PAGE(page), description);
        return page;
}

static void add_view(AdwViewStack *stack, GtkWidget *child, const char *name, const char *title,
                     const char *icon) {
        AdwViewStackPage *page = adw_view_stack_add_titled(stack, child, name, title);
        adw_view_stack_page_set_icon_name(page, icon);
}

static void window_free(gpointer p) {
        LbdWindow *w = p;
        lbd_services_page_free(w->services);
        lbd_workers_page_free(w->workers);
        lbd_links_page_free(w->links);
        lbd_plugins_page_free(w->plugins);
        g_free(w);
}

static GMenuModel *primary_menu(void) {
        GMenu *menu = g_menu_new();
        g_menu_append(menu, "_Add Service\u2026", "win.edit-add-service");
        g_menu_append(menu, "_Create Link\u2026", "win.edit-create-link");
        g_menu_append(menu, "_Reload Configuration", "app.reload");
        GMenu *section = g_menu_new();
        g_menu_append(section, "_About Load Balancer", "win.about");
        g_menu_append_section(menu, NULL, G_MENU_MODEL(section));
        g_object_unref(section);
        return G_MENU_MODEL(menu);
}

/* The views' switcher and the header bar's button mean nothing without lbd. */
static void presence_controls(LbdWindow *w, gboolean running) {
        gtk_widget_set_visible(w->switcher, running);
        gtk_widget_set_visible(w->title, !running);
        gtk_widget_set_sensitive(w->add, running);
}

LbdWindow *lbd_window_new(GtkApplication *app, LbdDesktopBus *bus) {
        LbdWindow *w = g_new0(LbdWindow, 1);
        w->bus = bus;
        w->window = adw_application_window_new(app);
        gtk_window_set_title(GTK_WINDOW(w->window), "Load Balancer");
        gtk_window_set_default_size(GTK_WINDOW(w->window), 1100, 720);
        g_object_set_data_full(G_OBJECT(w->window), "lbd-window", w, window_free);
        g_action_map_add_action_entries(G_ACTION_MAP(w->window), window_actions,
                                        G_N_ELEMENTS(window_actions), w);

        w->services = lbd_services_page_new(bus);
        w->workers = lbd_workers_page_new(bus);
        w->links = lbd_links_page_new(bus);
        w->plugins = lbd_plugins_page_new(bus);

        GtkWidget *views = adw_view_stack_new();
        add_view(ADW_VIEW_STACK(views), lbd_services_page_widget(w->services), "services",
                 "Services", "network-server-symbolic");
        add_view(ADW_VIEW_STACK(views), lbd_workers_page_widget(w->workers), "workers", "Workers",
                 "system-run-symbolic");
        add_view(ADW_VIEW_STACK(views), lbd_links_page_widget(w->links), "links", "Links",
                 "network-wired-symbolic");
        add_view(ADW_VIEW_STACK(views), lbd_plugins_page_widget(w->plugins), "plugins", "Plugins",
                 "application-x-addon-symbolic");

        GtkWidget *header = adw_header_bar_new();
        GtkWidget *title = w->switcher = adw_view_switcher_title_new();
        adw_view_switcher_title_set_stack(ADW_VIEW_SWITCHER_TITLE(title), ADW_VIEW_STACK(views));
        adw_view_switcher_title_set_title(ADW_VIEW_SWITCHER_TITLE(title), "Load Balancer");
        w->title = adw_window_title_new("Load Balancer", NULL);
        GtkWidget *titles = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 0);
        gtk_box_append(GTK_BOX(titles), title);
        gtk_box_append(GTK_BOX(titles), w->title);
        adw_header_bar_set_title_widget(ADW_HEADER_BAR(header), titles);
        w->add = lbd_action_button("list-add-symbolic", "Add Service", "win.edit-add-service",
                                   NULL);
        adw_header_bar_pack_start(ADW_HEADER_BAR(header), w->add);
        GtkWidget *menu = gtk_menu_button_new();
        gtk_menu_button_set_icon_name(GTK_MENU_BUTTON(menu), "open-menu-symbolic");
        g_autoptr(GMenuModel) model = primary_menu();
        gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(menu), model);
        gtk_menu_button_set_primary(GTK_MENU_BUTTON(menu), TRUE);
        gtk_widget_set_tooltip_text(menu, "Main Menu");
        gtk_accessible_update_property(GTK_ACCESSIBLE(menu), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Main Menu", -1);
        adw_header_bar_pack_end(ADW_HEADER_BAR(header), menu);

        GtkWidget *switcher_bar = adw_view_switcher_bar_new();
        adw_view_switcher_bar_set_stack(ADW_VIEW_SWITCHER_BAR(switcher_bar), ADW_VIEW_STACK(views));
        g_object_bind_property(title, "title-visible", switcher_bar, "reveal",
                               G_BINDING_SYNC_CREATE);
        GtkWidget *views_box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
        gtk_widget_set_vexpand(views, TRUE);
        gtk_box_append(GTK_BOX(views_box), views);
        gtk_box_append(GTK_BOX(views_box), switcher_bar);

        GtkWidget *connecting = status_page("content-loading-symbolic", "Connecting",
                                            "Connecting to lbd on the system bus\u2026");
        GtkWidget *absent = status_page("network-offline-symbolic", "lbd Is Not Running",
                                        "org.example.LoadBalancer is not on the system bus. This "
                                        "window shows lbd as soon as "
                                        "it starts (systemctl start lbd).");
        w->no_bus = status_page("dialog-error-symbolic", "No System Bus", NULL);
        w->content = gtk_stack_new();
        gtk_stack_set_transition_type(GTK_STACK(w->content), GTK_STACK_TRANSITION_TYPE_CROSSFADE);
        gtk_stack_add_named(GTK_STACK(w->content), connecting, "connecting");
        gtk_stack_add_named(GTK_STACK(w->content), absent, "absent");
        gtk_stack_add_named(GTK_STACK(w->content), w->no_bus, "no-bus");
        gtk_stack_add_named(GTK_STACK(w->content), views_box, "views");
        lbd_stack_show(GTK_STACK(w->content), "connecting");
        presence_controls(w, FALSE);

        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
        gtk_box_append(GTK_BOX(box), header);
        gtk_widget_set_vexpand(w->content, TRUE);
        gtk_box_append(GTK_BOX(box), w->content);
        adw_application_window_set_content(ADW_APPLICATION_WINDOW(w->window), box);

        if (lbd_desktop_bus_manager(bus))
                lbd_window_presence(w, lbd_desktop_bus_running(bus));
        return w;
}

GtkWindow *lbd_window_gtk(LbdWindow *w) {
        return GTK_WINDOW(w->window);
}

void lbd_window_connected(LbdWindow *w, const GError *error) {
        if (!error)
                return;
        adw_status_page_set_description(ADW_STATUS_PAGE(w->no_bus), error->message);
        lbd_stack_show(GTK_STACK(w->content), "no-bus");
        presence_controls(w, FALSE);
}

void lbd_window_presence(LbdWindow *w, gboolean running) {
        lbd_stack_show(GTK_STACK(w->content), running ? "views" : "absent");
        presence_controls(w, running);
}

void lbd_window_call_failed(LbdWindow *w, const char *what, const char *error_name,
                            const char *message) {
        gboolean refused =
                g_strcmp0(error_name, "org.freedesktop.DBus.Error.AccessDenied") == 0 ||
                g_strcmp0(error_name,
                          "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired") == 0;
        g_autofree char *heading = g_strdup_printf(refused ? "Not Authorized" : "%s Failed", what);
        g_autofree char *body = refused ? g_strdup_printf("%s: %s", what, message)
                                        : g_strdup_printf("lbd said: %s", message);
        lbd_form_message(GTK_WINDOW(w->window), heading, body);
}
