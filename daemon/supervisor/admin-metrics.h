/* SPDX-License-Identifier: MIT */
/*
 * /metrics: what the shared backend table and the scoreboard hold, in
 * Prometheus's text format with HAProxy's exporter names, lbd_ for
 * haproxy_ (a service is HAProxy's backend, label proxy=; a backend is its
 * server, label server=):
 *
 *   lbd_process_*   workers, generation, current connections
 *   lbd_worker_*    per worker slot: requests, connections, accepted, state
 *   lbd_backend_*   per service: status, sessions, HTTP responses by class
 *                   and by code, bytes, connection/response errors, retries,
 *                   reuses, aborts, servers up, weight, average times and
 *                   connect / response (first byte) / total time histograms
 *   lbd_server_*    per backend: the same counters, status by state, weight,
 *                   health transitions, downtime, a total-time histogram
 *                   (one bucket per octave: 1,000 backends stay a few MB)
 *
 * lbd.conf(5) lists every name. Read-only: nothing here changes state.
 */
#pragma once

#include <glib.h>

#include "arbiter.h"
#include "backend-table.h"
#include "config.h"

/* The whole page. arbiter may be NULL (no worker families). */
GString *lbd_admin_metrics(const struct lbd_table *table, const struct lbd_config *config,
                           const struct lbd_arbiter *arbiter);
