/* SPDX-License-Identifier: MIT */
/*
 * StatsD, as Gunicorn's --statsd-host: the master sends, every
 * statsd-interval seconds, what the workers counted in the shared backend
 * table since the last send (workers never wait on it), over UDP to
 * statsd-host. Names, after statsd-prefix and a dot (lbd.conf(5)):
 *
 *   requests                    counter  requests (tcp: connections) ended
 *   request.status.CODE         counter  per status code (499: client left)
 *   request.duration            timer    total time, ms (from histograms)
 *   workers                     gauge    running workers
 *   active_connections          gauge    client connections open
 *   service.NAME.{requests,request.status.CODE,request.duration,errors,
 *                 active_connections}
 *   backend.SERVICE.ADDRESS.{requests,request.duration,errors,
 *                            active_connections}
 *
 * ADDRESS with every byte outside [A-Za-z0-9_-] as '_'. errors are
 * connection and response errors. dogstatsd-tags go with every line.
 * A send that fails is counted (lbd_statsd_send_errors(): GetStatistics'
 * StatsdSendErrors) and logged once, until a send succeeds again; it never
 * stops lbd.
 */
#pragma once

#include <systemd/sd-event.h>

#include "arbiter.h"
#include "backend-table.h"
#include "config.h"

struct lbd_statsd;

/* A sender reading table and arbiter (neither owned), on event. Sends
 * nothing until lbd_statsd_apply() gives it a statsd-host. */
struct lbd_statsd *lbd_statsd_new(sd_event *event, struct lbd_table *table,
                                  const struct lbd_arbiter *arbiter);
/* Follow config (the one in effect): start, stop, or send elsewhere. A
 * sender that starts (or changes address) sends the counts from now on. */
void lbd_statsd_apply(struct lbd_statsd *s, const struct lbd_config *config);
/* Send now (the timer's work; for tests of the daemon). */
void lbd_statsd_send(struct lbd_statsd *s);
uint64_t lbd_statsd_send_errors(const struct lbd_statsd *s);
/* Accepts NULL; returns NULL. */
struct lbd_statsd *lbd_statsd_free(struct lbd_statsd *s);
