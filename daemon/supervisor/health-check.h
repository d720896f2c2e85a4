/* SPDX-License-Identifier: MIT */
/*
 * Active health checks, in the master, on its sd-event loop (nothing
 * blocks): for every service with a health-check= and every backend of it
 * that is not administratively `down`, one check per `interval` seconds —
 * a non-blocking connect (tcp), or a connect, "GET PATH HTTP/1.1" and the
 * status line checked against expect=MIN-MAX (http) — within `timeout`
 * seconds. HAProxy's semantics (health-state.h): a backend starts up,
 * `fall` failures in a row take it down, `rise` successes bring it back.
 *
 * Results go to the shared backend table (lbd_table_set_health()), whose
 * tick logs the backend's State change with the check's reason ("backend
 * 127.0.0.1:8001 is down: health check: connection refused") and signals
 * it on the bus. When the State does not change (the backend is draining,
 * or already down by the passive check), the checker logs the health
 * change itself, so each change is logged once.
 *
 * The master is one process, so this is one check per backend per
 * interval for the whole daemon, whatever the worker count. First checks
 * are spread over the interval by a hash of service and address.
 */
#pragma once

#include <systemd/sd-event.h>

#include "backend-table.h"
#include "config.h"

struct lbd_health;

/* A checker on event whose results go to table (neither owned). Checks
 * nothing until lbd_health_apply(). Never fails. */
struct lbd_health *lbd_health_new(sd_event *event, struct lbd_table *table);

/* Reconcile with config (the one in effect, after it changed): new
 * backends and services start being checked, removed ones stop (a backend
 * whose check stops but which stays is marked healthy in the table),
 * changed settings apply (with the up/down state kept). */
void lbd_health_apply(struct lbd_health *h, const struct lbd_config *config);

/* Stop every check and free h, before the table goes. Accepts NULL;
 * returns NULL. */
struct lbd_health *lbd_health_free(struct lbd_health *h);
