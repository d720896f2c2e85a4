/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous polkit authorization of D-Bus method calls, the way systemd's
 * bus-polkit.c does it (the idea, not the code):
 *
 *   static int method_frob(sd_bus_message *m, void *userdata, sd_bus_error *error) {
 *           ... read and validate the arguments, return early if nothing changes ...
 *           int r = lbd_polkit_check_async(manager->polkit, m, "org.example.LoadBalancer.x",
 *                                          error);
 *           if (r < 0)
 *                   return r;       // denied: error is set
 *           if (r == 0)
 *                   return 1;       // asked; the call comes back here later
 *           ... change, emit PropertiesChanged, reply ...
 *   }
 *
 * The first time a call reaches the check, the registry starts a query and
 * the handler returns without a reply. The query first asks the bus driver
 * which uid the caller has (GetConnectionUnixUser, asynchronously: sd-bus's
 * sd_bus_query_sender_creds() would make that a blocking call on a
 * dbus-daemon bus); uid 0 is authorized without asking polkit. Otherwise it
 * calls org.freedesktop.PolicyKit1.Authority.CheckAuthorization for the
 * caller's bus name, with AllowUserInteraction when the caller set the
 * allow-interactive-authorization flag. When the verdict is in, the original
 * message is rewound and queued for reading again (sd_bus_enqueue_for_read):
 * sd-bus dispatches it to the same handler, which calls the check again and
 * now gets the verdict. The query is freed from an idle event source once
 * that second dispatch is over. Nothing waits.
 *
 * The handler must call the check before it changes anything, and with the
 * same action both times (a different action is refused: -ESTALE).
 *
 * Verdicts: authorized → 1; polkit answers "challenge" → the error
 * org.freedesktop.DBus.Error.InteractiveAuthorizationRequired; not
 * authorized, polkit not running or failing, or the caller's uid unknown →
 * org.freedesktop.DBus.Error.AccessDenied with a message naming the action.
 */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

struct lbd_polkit;

/* A registry for the queries of bus, which must be attached to an event
 * loop. Returns 0 or -ENOMEM. */
int lbd_polkit_new(sd_bus *bus, struct lbd_polkit **ret);

/* Drop every query (pending callers get no reply). Call before the bus
 * and its event loop go away. Accepts NULL; returns NULL. */
struct lbd_polkit *lbd_polkit_free(struct lbd_polkit *p);

/* 1: call is authorized for action; 0: a query is under way, the handler
 * must return 1 (no reply) and will be called again with call; negative
 * errno: refused or failed, with error set when the caller should see a
 * specific D-Bus error (sd-bus maps a bare errno otherwise). */
int lbd_polkit_check_async(struct lbd_polkit *p, sd_bus_message *call, const char *action,
                           sd_bus_error *error);

/* How many queries are under way (for tests and debugging). */
unsigned lbd_polkit_n_pending(const struct lbd_polkit *p);
