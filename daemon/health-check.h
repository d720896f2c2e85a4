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

#include "manager.h"

/* Start checking what m->config asks for. Call after lbd_arbiter_start()
 * (the table must exist). 0 or a negative errno (logged). */
int lbd_health_start(struct lbd_manager *m);

/* Reconcile with m->config after it changed: new backends and services
 * start being checked, removed ones stop (a backend whose check stops but
 * which stays is marked healthy in the table), changed settings apply
 * (with the up/down state kept). No-op before lbd_health_start(). */
void lbd_health_apply(struct lbd_manager *m);

/* Stop every check and free m->health. Before the table goes (the
 * arbiter). Accepts m->health NULL. */
void lbd_health_stop(struct lbd_manager *m);
