/* SPDX-License-Identifier: MIT */
/*
 * The sync's side of lbd: lbd's name watched on the system bus, its
 * services and backends read in one GetManagedObjects, and the changes
 * made through the same methods (and polkit checks) any client uses:
 * AddBackend (with the sync's Origin), RemoveBackend, SetWeight, Drain,
 * Enable.
 */
#pragma once

#include <gio/gio.h>

#include "membership.h"

typedef struct LbdLink LbdLink;

typedef struct {
        /* lbd appeared on the bus (or came back: a new unique name). */
        void (*appeared)(gpointer data);
        void (*vanished)(gpointer data);
        gpointer data;
} LbdLinkHooks;

LbdLink *lbd_link_new(GDBusConnection *bus, const LbdLinkHooks *hooks);
void lbd_link_free(LbdLink *link);
gboolean lbd_link_present(LbdLink *link);

/* lbd's service names (services, g_strfreev) and every backend of every
 * service (current: LbdCurrent), or an error. */
typedef void (*LbdLinkRead)(char **services, GPtrArray *current, const GError *error,
                            gpointer data);
void lbd_link_read(LbdLink *link, LbdLinkRead done, gpointer data);

/* One operation (membership.h) for origin; done(error or NULL, data). */
typedef void (*LbdLinkDone)(const GError *error, gpointer data);
void lbd_link_apply(LbdLink *link, const LbdOp *op, const char *origin, LbdLinkDone done,
                    gpointer data);
