/* SPDX-License-Identifier: MIT */
/*
 * The sync's own object on the system bus, for administrators and
 * monitoring: org.example.LoadBalancer.EtcdSync on
 * /org/example/LoadBalancer/EtcdSync, read-only properties
 *   Connected b   following etcd now
 *   Endpoint s    the endpoint followed (or last tried)
 *   Revision x    etcd's revision of the newest change seen
 *   Members u     valid backend keys under the prefix
 *   Applied u     lbd's backends of the sync's origin after the last round
 *   LastError s   why etcd or lbd last failed ("" after success)
 * with PropertiesChanged. While Connected is false lbd keeps the backends
 * it had: nothing is removed because etcd cannot be reached.
 */
#pragma once

#include <gio/gio.h>

#include "lbd-bus-api.h" /* LBD_SYNC_BUS_NAME, _PATH, _INTERFACE */

typedef struct {
        gboolean connected;
        char *endpoint;
        gint64 revision;
        guint members, applied;
        char *last_error;
} LbdSyncStatus;

typedef struct LbdStatusObject LbdStatusObject;

/* Exported on bus at once; status is read at every Get. */
LbdStatusObject *lbd_status_object_new(GDBusConnection *bus, const LbdSyncStatus *status,
                                       GError **error);
/* Signal what changed since the last call. */
void lbd_status_object_changed(LbdStatusObject *o);
void lbd_status_object_free(LbdStatusObject *o);
