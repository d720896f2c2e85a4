/* SPDX-License-Identifier: MIT */
/*
 * The admin listener ([admin] listen=, off by default): the master serves
 * GET /metrics (admin-metrics.h) and the status page at / (admin-page.h)
 * on its own event loop, never on the proxy's path, and nothing it serves
 * changes state (changes go through D-Bus and polkit). One request per
 * connection (Connection: close), at most LBD_ADMIN_CLIENTS at once, each
 * with 10 s to send its head and take the answer.
 *
 * A listen address other than loopback or a unix socket is logged as a
 * warning: the pages have no authentication.
 */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

#include "arbiter.h"
#include "backend-table.h"
#include "config.h"

#define LBD_ADMIN_CLIENTS 32u

struct lbd_admin;

/* Serves nothing until lbd_admin_apply() gives it an address. Reads table
 * and arbiter (neither owned; arbiter may be NULL). */
struct lbd_admin *lbd_admin_new(sd_event *event, const struct lbd_table *table,
                                const struct lbd_arbiter *arbiter);
/* Follow config (the one in effect): listen, stop, or move. A new address
 * that cannot be bound is logged and the old one is kept, if any: 0 or the
 * -errno of what failed. */
int lbd_admin_apply(struct lbd_admin *a, const struct lbd_config *config);
/* The fds the admin listener holds (listener and clients), at most max:
 * a forked worker closes them. Returns how many. */
size_t lbd_admin_fds(const struct lbd_admin *a, int *fds, size_t max);
/* Accepts NULL; returns NULL. */
struct lbd_admin *lbd_admin_free(struct lbd_admin *a);
