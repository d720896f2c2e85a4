/* SPDX-License-Identifier: MIT */
/*
 * The sync itself: etcd's members under the prefix (etcd.h) applied to lbd
 * (lbd-link.h), level-triggered: after any change on either side, one
 * round reads lbd, computes what differs (membership.h) and makes those
 * calls one after another; rounds repeat until a round finds nothing to
 * do. It persists nothing: lbd keeps what it is given in its own state
 * file, and a restarted sync starts from a full read of etcd and of lbd.
 */
#pragma once

#include <gio/gio.h>

typedef struct LbdSync LbdSync;

/* endpoints and prefix as in the configuration; bus: the system bus. */
LbdSync *lbd_sync_new(GDBusConnection *bus, const char *const *endpoints, const char *prefix,
                      GError **error);
void lbd_sync_start(LbdSync *sync);
void lbd_sync_free(LbdSync *sync);
