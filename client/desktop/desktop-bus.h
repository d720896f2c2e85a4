/* SPDX-License-Identifier: MIT */
/*
 * The window's one connection to lbd: a GDBusObjectManagerClient for
 * org.example.LoadBalancer on the system bus (every object, every property,
 * kept current by InterfacesAdded/Removed and PropertiesChanged; nothing is
 * polled), the name's presence, and method calls.
 *
 * Every call allows interactive authorization, so that the session's polkit
 * agent asks for a password where the action's policy says so, and nothing
 * is changed locally: the window shows what lbd signals afterwards. A failed
 * call is handed to the error hook with lbd's own message.
 */
#pragma once

#include <gio/gio.h>

#include "lbd-bus-generated.h"

typedef struct LbdDesktopBus LbdDesktopBus;

typedef struct {
        /* The manager exists (ready) or could not be made (error set: no
         * system bus). Called once. */
        void (*connected)(GDBusObjectManager *manager, const GError *error, gpointer data);
        /* lbd appeared on the bus or went away (its name's owner). */
        void (*presence)(gboolean running, gpointer data);
        /* A call failed: what was asked ("Drain 127.0.0.1:8001"), the D-Bus
         * error's name and lbd's message. */
        void (*call_failed)(const char *what, const char *error_name, const char *message,
                            gpointer data);
        gpointer data;
} LbdDesktopBusHooks;

LbdDesktopBus *lbd_desktop_bus_new(const LbdDesktopBusHooks *hooks);

/* What a view follows. Each hook may be NULL. */
typedef struct {
        /* Objects or interfaces came or went, or lbd itself did: read again. */
        void (*structure)(gpointer data);
        /* PropertiesChanged of one proxy (changed: a{sv}). */
        void (*properties)(GDBusProxy *proxy, GVariant *changed, gpointer data);
        /* A signal of one proxy (BackendStateChanged, ...). */
        void (*signal)(GDBusProxy *proxy, const char *name, GVariant *parameters, gpointer data);
        gpointer data;
} LbdDesktopBusWatch;

/* Follow the bus until lbd_desktop_bus_unwatch(bus, data); structure is
 * called at once when connected. */
void lbd_desktop_bus_watch(LbdDesktopBus *bus, const LbdDesktopBusWatch *watch);
void lbd_desktop_bus_unwatch(LbdDesktopBus *bus, gpointer data);
void lbd_desktop_bus_free(LbdDesktopBus *bus);

/* NULL until connected. */
GDBusObjectManager *lbd_desktop_bus_manager(LbdDesktopBus *bus);
gboolean lbd_desktop_bus_running(LbdDesktopBus *bus);
/* lbd's unique name while it runs, else NULL (g_free). */
char *lbd_desktop_bus_owner(LbdDesktopBus *bus);
/* The root object's proxy while lbd runs, else NULL (not a new reference). */
LbdLoadBalancer *lbd_desktop_bus_root(LbdDesktopBus *bus);
/* The proxy of interface on path, or NULL (a new reference). */
GDBusProxy *lbd_desktop_bus_proxy(LbdDesktopBus *bus, const char *path, const char *interface);

typedef void (*LbdDesktopBusDone)(GVariant *reply, gpointer data);

/* Call method of interface on path with params (floating, consumed);
 * what names the action for the error hook (NULL: a failure is not
 * reported, for reads that lbd's going away may fail). done (may be NULL)
 * gets the reply on success only. */
void lbd_desktop_bus_call(LbdDesktopBus *bus, const char *path, const char *interface,
                          const char *method, GVariant *params, const char *what,
                          LbdDesktopBusDone done, gpointer data);
