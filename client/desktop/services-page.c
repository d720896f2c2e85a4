/* SPDX-License-Identifier: MIT */
#include "services-page.h"

#include <adwaita.h>

#include "describe.h"
#include "lbd-bus-api.h"
#include "page.h"
#include "rate.h"
#include "widgets.h"

/* What the page remembers of a backend across rebuilds. */
typedef struct {
        LbdRate requests;
        LbdRate failures;
        char *reason_state; /* the State the reason was given for */
        char *reason;
        /* The row while shown (owned by the page's widgets). */
        GtkWidget *row;
        GtkWidget *state; /* the state as a coloured pill */
        GtkWidget *drain, *enable, *disable;
} BackendView;

struct LbdServicesPage {
        LbdDesktopBus *bus;
        LbdPageFrame frame;
        GHashTable *backends; /* path -> BackendView */
        guint rebuild_id;
        guint tick_id;
};

/* The states lbd names, each a CSS class of the pill (style.css). */
static const char *const STATES[] = {"up", "down", "draining", "disabled"};

static void backend_view_free(gpointer p) {
        BackendView *v = p;
        g_free(v->reason_state);
        g_free(v->reason);
        g_free(v);
}

static LbdLoadBalancerBackend *backend_proxy(LbdServicesPage *page, const char *path) {
        GDBusProxy *proxy = lbd_desktop_bus_proxy(page->bus, path, LBD_BUS_BACKEND_INTERFACE);
        return proxy ? LBD_LOAD_BALANCER_BACKEND(proxy) : NULL;
}

static void sample_counters(BackendView *v, LbdLoadBalancerBackend *b) {
        gint64 now = g_get_monotonic_time();
        lbd_rate_add(&v->requests, now, lbd_load_balancer_backend_get_requests(b));
        lbd_rate_add(&v->failures, now, lbd_load_balancer_backend_get_failures(b));
}

static void update_row(LbdServicesPage *page, const char *path, BackendView *v) {
        g_autoptr(LbdLoadBalancerBackend) b = backend_proxy(page, path);
        if (!b || !v->row)
                return;
        const char *state = lbd_load_balancer_backend_get_state(b);
        gint64 now = g_get_monotonic_time();
        const char *reason = g_strcmp0(v->reason_state, state) == 0 ? v->reason : NULL;
        g_autofree char *text = lbd_describe_backend(
                reason, lbd_load_balancer_backend_get_origin(b),
                lbd_load_balancer_backend_get_weight(b),
                lbd_load_balancer_backend_get_backup(b), lbd_load_balancer_backend_get_max_conns(b),
                lbd_load_balancer_backend_get_active_connections(b),
                lbd_rate_per_second(&v->requests, now), lbd_rate_per_second(&v->failures, now));
        g_autofree char *markup = lbd_markup(text);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(v->row), markup);
        gtk_label_set_text(GTK_LABEL(v->state), state);
        for (guint i = 0; i < G_N_ELEMENTS(STATES); i++)
                gtk_widget_remove_css_class(v->state, STATES[i]);
        gtk_widget_add_css_class(v->state, state);

        gboolean serving = g_strcmp0(state, "up") == 0 || g_strcmp0(state, "down") == 0;
        gtk_widget_set_visible(v->drain, serving);
        gtk_widget_set_visible(v->enable, !serving);
        gtk_widget_set_visible(v->disable, g_strcmp0(state, "disabled") != 0);
}

static GtkWidget *backend_row(LbdServicesPage *page, const char *service, const char *path,
                              LbdLoadBalancerBackend *b) {
        BackendView *v = g_hash_table_lookup(page->backends, path);
        if (!v) {
                v = g_new0(BackendView, 1);
                g_hash_table_insert(page->backends, g_strdup(path), v);
                sample_counters(v, b);
        }
        const char *address = lbd_load_balancer_backend_get_address(b);
        GtkWidget *row = adw_action_row_new();
        g_autofree char *title = lbd_markup(address);
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);

        g_autofree char *weight = g_strdup_printf("Set the weight of %s", address);
        g_autofree char *drain = g_strdup_printf("Drain %s", address);
        g_autofree char *enable = g_strdup_printf("Enable %s", address);
        g_autofree char *disable = g_strdup_printf("Disable %s", address);
        g_autofree char *remove = g_strdup_printf("Remove %s", address);
        GVariant *target = g_variant_new_object_path(path);
        g_variant_ref_sink(target);
        v->state = gtk_label_new(NULL);
        gtk_widget_add_css_class(v->state, "lbd-state");
        gtk_widget_set_valign(v->state, GTK_ALIGN_CENTER);
        adw_action_row_add_suffix(ADW_ACTION_ROW(row), v->state);
        v->drain = lbd_action_button("media-playback-pause-symbolic", drain, "app.drain", target);
        v->enable =
                lbd_action_button("media-playback-start-symbolic", enable, "app.enable", target);
        v->disable =
                lbd_action_button("action-unavailable-symbolic", disable, "app.disable", target);
        adw_action_row_add_suffix(
                ADW_ACTION_ROW(row),
                lbd_action_button("document-edit-symbolic", weight, "win.edit-weight", target));
        adw_action_row_add_suffix(ADW_ACTION_ROW(row), v->drain);
        adw_action_row_add_suffix(ADW_ACTION_ROW(row), v->enable);
        adw_action_row_add_suffix(ADW_ACTION_ROW(row), v->disable);
        adw_action_row_add_suffix(ADW_ACTION_ROW(row),
                                  lbd_action_button("user-trash-symbolic", remove,
                                                    "win.confirm-remove-backend",
                                                    g_variant_new("(ss)", service, address)));
        g_variant_unref(target);
        v->row = row;
        update_row(page, path, v);
        return row;
}

static GtkWidget *service_group(LbdServicesPage *page, LbdLoadBalancerService *s,
                                GHashTable *seen) {
        const char *name = lbd_load_balancer_service_get_name(s);
        GtkWidget *group = adw_preferences_group_new();
        g_autofree char *title = lbd_markup(name);
        g_autofree char *description = lbd_describe_service(
                lbd_load_balancer_service_get_mode(s), lbd_load_balancer_service_get_policy(s),
                lbd_load_balancer_service_get_listen(s));
        g_autofree char *markup = lbd_markup(description);
        adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(group), title);
        adw_preferences_group_set_description(ADW_PREFERENCES_GROUP(group), markup);

        g_autofree char *add = g_strdup_printf("Add a backend to %s", name);
        g_autofree char *policy = g_strdup_printf("Change the policy of %s", name);
        g_autofree char *remove = g_strdup_printf("Remove the service %s", name);
        GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 0);
        gtk_box_append(GTK_BOX(buttons),
                       lbd_action_button("list-add-symbolic", add, "win.edit-add-backend",
                                         g_variant_new_string(name)));
        gtk_box_append(GTK_BOX(buttons),
                       lbd_action_button("emblem-system-symbolic", policy, "win.edit-policy",
                                         g_variant_new_string(name)));
        gtk_box_append(GTK_BOX(buttons),
                       lbd_action_button("user-trash-symbolic", remove,
                                         "win.confirm-remove-service", g_variant_new_string(name)));
        adw_preferences_group_set_header_suffix(ADW_PREFERENCES_GROUP(group), buttons);

        const char *const *backends = lbd_load_balancer_service_get_backends(s);
        guint shown = 0;
        for (guint i = 0; backends && backends[i]; i++) {
                g_autoptr(LbdLoadBalancerBackend) b = backend_proxy(page, backends[i]);
                if (!b)
                        continue; /* not announced yet: its InterfacesAdded rebuilds */
                adw_preferences_group_add(ADW_PREFERENCES_GROUP(group),
                                          backend_row(page, name, backends[i], b));
                g_hash_table_add(seen, (gpointer)backends[i]);
                shown++;
        }
        if (!shown) {
                GtkWidget *row = adw_action_row_new();
                adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), "No backends");
                adw_action_row_set_subtitle(
                        ADW_ACTION_ROW(row),
                        "Requests to this service are answered 502 until one is added.");
                adw_preferences_group_add(ADW_PREFERENCES_GROUP(group), row);
        }
        return group;
}

static void rebuild(LbdServicesPage *page) {
        LbdLoadBalancer *root = lbd_desktop_bus_root(page->bus);
        const char *const *services = root ? lbd_load_balancer_get_services(root) : NULL;
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

        lbd_page_frame_reset(&page->frame);
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, page->backends);
        while (g_hash_table_iter_next(&it, NULL, &value))
                ((BackendView *)value)->row = NULL;

        guint shown = 0;
        for (guint i = 0; services && services[i]; i++) {
                GDBusProxy *proxy =
                        lbd_desktop_bus_proxy(page->bus, services[i], LBD_BUS_SERVICE_INTERFACE);
                if (!proxy)
                        continue;
                GtkWidget *group = service_group(page, LBD_LOAD_BALANCER_SERVICE(proxy), seen);
                gtk_box_append(GTK_BOX(page->frame.box), group);
                g_object_unref(proxy);
                shown++;
        }
        /* Forget backends that are gone (their rates would be stale). */
        gpointer key;
        g_hash_table_iter_init(&it, page->backends);
        while (g_hash_table_iter_next(&it, &key, NULL))
                if (!g_hash_table_contains(seen, key))
                        g_hash_table_iter_remove(&it);
        lbd_page_frame_show(&page->frame, shown > 0);
}

static gboolean rebuild_now(gpointer data) {
        LbdServicesPage *page = data;
        page->rebuild_id = 0;
        rebuild(page);
        return G_SOURCE_REMOVE;
}

/* Several objects arrive together (a new service with its backends): one
 * rebuild for all of them. */
static void queue_rebuild(LbdServicesPage *page) {
        if (!page->rebuild_id)
                page->rebuild_id = g_idle_add(rebuild_now, page);
}

static void structure_changed(gpointer data) {
        queue_rebuild(data);
}

static gboolean changed_has(GVariant *changed, const char *name) {
        g_autoptr(GVariant) v = g_variant_lookup_value(changed, name, NULL);
        return v != NULL;
}

static void properties_changed(GDBusProxy *proxy, GVariant *changed, gpointer data) {
        LbdServicesPage *page = data;
        const char *interface = g_dbus_proxy_get_interface_name(proxy);
        const char *path = g_dbus_proxy_get_object_path(proxy);

        if (g_strcmp0(interface, LBD_BUS_BACKEND_INTERFACE) == 0) {
                BackendView *v = g_hash_table_lookup(page->backends, path);
                if (!v)
                        return;
                if (changed_has(changed, "Requests") || changed_has(changed, "Failures"))
                        sample_counters(v, LBD_LOAD_BALANCER_BACKEND(proxy));
                update_row(page, path, v);
        } else if (g_strcmp0(interface, LBD_BUS_SERVICE_INTERFACE) == 0) {
                /* Listen, Mode, Policy or Backends: the group is rebuilt; the
                 * throttled counters alone change nothing shown. */
                if (changed_has(changed, "Backends") || changed_has(changed, "Policy") ||
                    changed_has(changed, "Listen") || changed_has(changed, "Mode"))
                        queue_rebuild(page);
        } else if (g_strcmp0(interface, LBD_BUS_INTERFACE) == 0) {
                if (changed_has(changed, "Services"))
                        queue_rebuild(page);
        }
}

static void proxy_signal(GDBusProxy *proxy, const char *signal, GVariant *parameters,
                         gpointer data) {
        LbdServicesPage *page = data;
        const char *path, *state, *reason;

        if (g_strcmp0(signal, "BackendStateChanged") != 0 ||
            !g_variant_is_of_type(parameters, G_VARIANT_TYPE("(oss)")))
                return;
        g_variant_get(parameters, "(&o&s&s)", &path, &state, &reason);
        BackendView *v = g_hash_table_lookup(page->backends, path);
        if (!v)
                return;
        g_free(v->reason_state);
        g_free(v->reason);
        v->reason_state = g_strdup(state);
        v->reason = g_strdup(reason);
        update_row(page, path, v);
}

static gboolean tick(gpointer data) {
        LbdServicesPage *page = data;
        GHashTableIter it;
        gpointer key, value;

        g_hash_table_iter_init(&it, page->backends);
        while (g_hash_table_iter_next(&it, &key, &value))
                update_row(page, key, value);
        return G_SOURCE_CONTINUE;
}

LbdServicesPage *lbd_services_page_new(LbdDesktopBus *bus) {
        LbdServicesPage *page = g_new0(LbdServicesPage, 1);
        page->bus = bus;
        page->backends = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, backend_view_free);

        lbd_page_frame_init(&page->frame, "network-server-symbolic", "No Services",
                            "lbd serves nothing yet. Add a service to start.", "Add Service\u2026",
                            "win.edit-add-service");
        page->tick_id = g_timeout_add_seconds(1, tick, page);
        lbd_desktop_bus_watch(bus, &(LbdDesktopBusWatch){.structure = structure_changed,
                                                         .properties = properties_changed,
                                                         .signal = proxy_signal,
                                                         .data = page});
        return page;
}

void lbd_services_page_free(LbdServicesPage *page) {
        if (!page)
                return;
        lbd_desktop_bus_unwatch(page->bus, page);
        g_clear_handle_id(&page->rebuild_id, g_source_remove);
        g_clear_handle_id(&page->tick_id, g_source_remove);
        g_hash_table_unref(page->backends);
        lbd_page_frame_clear(&page->frame);
        g_free(page);
}

GtkWidget *lbd_services_page_widget(LbdServicesPage *page) {
        return page->frame.root;
}
