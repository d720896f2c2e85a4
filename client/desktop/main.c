/* SPDX-License-Identifier: MIT */
/*
 * lbd-desktop: the desktop tool for lbd. One application (single instance,
 * org.example.LoadBalancer.Desktop on the session bus), one connection to
 * lbd on the system bus (desktop-bus.c), one window.
 */
#include <adwaita.h>

#include "actions.h"
#include "desktop-bus.h"
#include "window.h"

typedef struct {
        AdwApplication *app;
        LbdDesktopBus *bus;
        LbdWindow *window; /* NULL when closed */
        gboolean connected;
        GError *connect_error;
} App;

static void bus_connected(GDBusObjectManager *manager, const GError *error, gpointer data) {
        App *app = data;
        app->connected = TRUE;
        if (error)
                app->connect_error = g_error_copy(error);
        if (app->window)
                lbd_window_connected(app->window, error);
}

static void bus_presence(gboolean running, gpointer data) {
        App *app = data;
        if (app->window)
                lbd_window_presence(app->window, running);
}

static void bus_call_failed(const char *what, const char *error_name, const char *message,
                            gpointer data) {
        App *app = data;
        if (app->window)
                lbd_window_call_failed(app->window, what, error_name, message);
}

static void window_destroyed(GtkWidget *widget, gpointer data) {
        App *app = data;
        app->window = NULL;
}

static void activate(GApplication *application, gpointer data) {
        App *app = data;
        if (!app->window) {
                app->window = lbd_window_new(GTK_APPLICATION(application), app->bus);
                g_signal_connect(lbd_window_gtk(app->window), "destroy",
                                 G_CALLBACK(window_destroyed), app);
                if (app->connected && app->connect_error)
                        lbd_window_connected(app->window, app->connect_error);
        }
        gtk_window_present(lbd_window_gtk(app->window));
}

static void quit(GSimpleAction *action, GVariant *parameter, gpointer data) {
        g_application_quit(G_APPLICATION(data));
}

static void startup(GApplication *application, gpointer data) {
        App *app = data;
        static const GActionEntry entries[] = {{"quit", quit, NULL, NULL, NULL, {0}}};
        g_action_map_add_action_entries(G_ACTION_MAP(application), entries, G_N_ELEMENTS(entries),
                                        application);
        gtk_application_set_accels_for_action(GTK_APPLICATION(application), "app.quit",
                                              (const char *[]){"<Control>q", NULL});
        gtk_application_set_accels_for_action(GTK_APPLICATION(application), "window.close",
                                              (const char *[]){"<Control>w", NULL});
        gtk_application_set_accels_for_action(GTK_APPLICATION(application), "win.edit-add-service",
                                              (const char *[]){"<Control>n", NULL});
        app->bus = lbd_desktop_bus_new(&(LbdDesktopBusHooks){.connected = bus_connected,
                                                             .presence = bus_presence,
                                                             .call_failed = bus_call_failed,
                                                             .data = app});
        lbd_actions_add(G_ACTION_MAP(application), app->bus);
}

int main(int argc, char **argv) {
        App app = {0};
        app.app = adw_application_new("org.example.LoadBalancer.Desktop",
                                      G_APPLICATION_DEFAULT_FLAGS);
        g_signal_connect(app.app, "startup", G_CALLBACK(startup), &app);
        g_signal_connect(app.app, "activate", G_CALLBACK(activate), &app);
        int status = g_application_run(G_APPLICATION(app.app), argc, argv);
        g_object_unref(app.app);
        lbd_desktop_bus_free(app.bus);
        g_clear_error(&app.connect_error);
        return status;
}
