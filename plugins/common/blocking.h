/* SPDX-License-Identifier: MIT */
/*
 * Serving with blocking waits, shared by the sync and thread worker models
 * (compiled into each: plugins share no code at run time).
 */
#pragma once

#include "lbd-plugin.h"

/* Whether the host takes readiness reports (ABI 1's reserved slots). */
bool blocking_reports(const struct lbd_worker_host *host);
/* Before the first accept: report what poll() sees to the sessions, so
 * that they make no read or write that readiness says would fail. */
void blocking_set_features(const struct lbd_worker_host *host, struct lbd_worker *w);

/* Wait up to a second for a connection on any listener and accept it.
 * Returns a session, or NULL (nothing came, another thread or worker took
 * it, or the worker is stopping). Heartbeats while it waits. */
struct lbd_session *blocking_accept(const struct lbd_worker_host *host, struct lbd_worker *w);

/* Run one session to its end with poll(), honouring its deadlines and a
 * STOP_NOW request, then free it. */
void blocking_serve(const struct lbd_worker_host *host, struct lbd_worker *w,
                    struct lbd_session *s);
