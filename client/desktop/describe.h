/* SPDX-License-Identifier: MIT */
/*
 * The words the window shows for lbd's objects: one place, so that the rows,
 * their accessible descriptions and the tests agree. Each returns a newly
 * allocated string (g_free).
 */
#pragma once

#include <glib.h>

/* "http · round_robin · 127.0.0.1:8080, [::1]:8080" */
char *lbd_describe_service(const char *mode, const char *policy, const char *const *listen);

/* "weight 2 · 3 active · 12.5 req/s · 0 errors/s", after the reason lbd
 * gave for the backend's last state change when there is one ("health
 * check: HTTP 503 · weight 2 · ..."); the state itself is the row's pill.
 * Backup backends say so, a connection limit is shown when set, and who
 * added it when it was not the configuration ("from etcd:/lbd/"). */
char *lbd_describe_backend(const char *reason, const char *origin, guint weight, gboolean backup,
                           guint max_conns, guint active, double requests_per_s,
                           double failures_per_s);

/* keepalived's reports (FailoverStates, a{ss}): "VI_1 MASTER, VI_2 BACKUP",
 * or "not reported" when there is none. */
char *lbd_describe_failover(GVariant *states);

/* "bond · 802.3ad · eth1, eth2 · activated · made outside lbd" */
char *lbd_describe_link(const char *kind, const char *mode, const char *const *ports,
                        const char *state, gboolean managed);

/* "12.5": one decimal below 100, none above, "0" for nothing. */
char *lbd_describe_rate(double per_second);
