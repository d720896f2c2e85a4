/* SPDX-License-Identifier: MIT */
/*
 * The arbiter: the master's supervision of its worker processes, after
 * Gunicorn's arbiter. Everything runs on the master's one thread, from
 * sd-event sources (signals, timers); nothing waits.
 *
 * - It binds the listeners (listeners.h), creates the scoreboard and forks
 *   `workers` workers (worker.h), each with a scoreboard slot; a slot is
 *   reused after its worker is gone.
 * - A worker that exits is respawned, whatever the reason (a crash, a
 *   timeout kill, a clean exit after max-requests), unless it was asked to
 *   stop. Workers that die within a second of starting several times in a
 *   row put the arbiter into a back-off: one worker at a time, 1, 2, 4, …
 *   30 s apart, until one lives longer than a second.
 * - Heartbeat: a worker whose scoreboard heartbeat is older than `timeout`
 *   seconds is killed (SIGKILL) and so replaced.
 * - Signals (as Gunicorn): HUP reloads (lbd_arbiter_reload); TTIN/TTOU add
 *   or remove one worker; TERM stops gracefully (workers get SIGTERM and
 *   `graceful-timeout` seconds, then SIGKILL) and the master exits 0 once
 *   they are gone; INT and QUIT stop at once (SIGQUIT, SIGKILL after a
 *   second); USR1 is forwarded to the workers, which reopen their log files.
 *
 * A generation is one configuration with its plugins, listener set, worker
 * user and the workers started with it. A reload starts a new generation
 * and then stops the previous one gracefully; the previous configuration
 * and plugins stay loaded until its last worker is gone, and listening
 * sockets only it used are closed then.
 *
 * The arbiter reaps with waitpid(-1): every child of the master is a
 * worker. Anything else that would fork in the master must tell the arbiter
 * about its children first.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "manager.h"

struct lbd_table;

/* Take over the signals, bind the listeners of m->config, resolve its
 * user, create the scoreboard and fork the workers. Call after the bus is
 * connected: workers close the bus and event loop fds, which must exist.
 * Logs what fails and returns a negative errno; the daemon must not start
 * then (m->arbiter is set either way, for manager cleanup). */
int lbd_arbiter_start(struct lbd_manager *m);

/* Kill (SIGKILL) and reap workers still running, then release everything.
 * The normal way out is a stop (signals, lbd_arbiter_stop), after which no
 * worker is left. Accepts NULL. */
void lbd_arbiter_free(struct lbd_arbiter *a);

/* Re-read the configuration and the plugins exactly as startup does. If they
 * are invalid, log why and keep everything as it is; otherwise apply them as
 * lbd_arbiter_apply() does. Tells systemd RELOADING=1, then READY=1.
 * Returns 0 or the negative errno of what failed (already logged); then
 * *ret_reason (if not NULL) gets what failed, in words (g_free() it). */
int lbd_arbiter_reload(struct lbd_manager *m, char **ret_reason);

/* Make config and plugins (owned by the arbiter from now on, also on
 * failure) the ones in effect: resolve the user, bind the listeners, start a
 * new generation of workers, then stop the previous generation gracefully.
 * plugins may be m->plugins, to keep the plugins in effect (a run-time
 * change of the configuration alone, such as SetPolicy()).
 * The worker count goes back to the configuration's. On failure (logged)
 * nothing changes (a configuration whose backends do not fit the shared
 * backend table fails with -ENOSPC). The table is synced with config before
 * the new workers start, so the old ones see the new backends too. For
 * reloads and for run-time changes that need new workers (a new worker
 * model). Tells bus clients what changed
 * (lbd_bus_configuration_changed). */
int lbd_arbiter_apply(struct lbd_manager *m, struct lbd_config *config,
                      struct lbd_plugin_set *plugins);

/* Make config the configuration in effect WITHOUT new workers, when it
 * differs from m->config only in what the running workers read from the
 * shared backend table (backend-table.h): the backends of a service (added,
 * removed, any parameter: weight, max_fails, fail_timeout, max_conns,
 * slow_start, backup, down, drain) and a service's policy. The [daemon]
 * workers count is not compared either (the running count is kept, as
 * lbd_arbiter_apply() does not).
 *
 *  - 0: done. config is owned by the manager (m->config) from now on; the
 *    table was synced, so the next pick of every running worker sees the
 *    change; a removed backend drains (open connections finish). Bus
 *    clients were told (lbd_bus_configuration_changed).
 *  - -EINVAL: the change needs new workers (a service added or removed, its
 *    listen, mode, timeouts or health check, any [daemon] key but workers,
 *    a different order of services). Nothing changed and config is NOT
 *    taken: pass it on to lbd_arbiter_apply(m, config, m->plugins).
 *  - -ENOSPC: the backend table would be full; nothing changed, config
 *    not taken.
 *  - -ESHUTDOWN: lbd is stopping; config not taken.
 * On failure *ret_reason (if not NULL) gets a sentence (g_free() it).
 * For the D-Bus methods AddBackend, RemoveBackend, SetWeight, Drain,
 * Enable, Disable and SetPolicy: try this first, and lbd_arbiter_apply()
 * on -EINVAL. */
int lbd_arbiter_update(struct lbd_manager *m, struct lbd_config *config, char **ret_reason);

/* The shared backend table (counters and state for statistics), or NULL
 * before the arbiter started. Read it with lbd_table_backend_stats() and
 * lbd_table_service_stats(). */
struct lbd_table *lbd_arbiter_table(struct lbd_manager *m);

/* Run n workers (1..LBD_WORKERS_MAX; -EINVAL otherwise, not logged): start
 * more, or stop the highest slots gracefully. -ESHUTDOWN while stopping.
 * A change of the count is signalled on the bus (Workers). */
int lbd_arbiter_set_workers(struct lbd_manager *m, unsigned n);

/* How many workers the arbiter keeps running (the configuration's count,
 * changed by TTIN/TTOU and lbd_arbiter_set_workers until the next reload). */
unsigned lbd_arbiter_get_workers(const struct lbd_manager *m);

/* Call fn for every running worker, of every generation, with its
 * scoreboard slot (counters for GetStatistics). */
struct lbd_worker_slot;
typedef void (*lbd_arbiter_worker_fn)(void *userdata, pid_t pid,
                                      const struct lbd_worker_slot *slot);
void lbd_arbiter_foreach_worker(const struct lbd_manager *m, lbd_arbiter_worker_fn fn,
                                void *userdata);

/* Stop every worker, gracefully (SIGTERM, SIGKILL after graceful-timeout)
 * or at once (SIGQUIT), then quit m->loop. What TERM and INT/QUIT do. */
void lbd_arbiter_stop(struct lbd_manager *m, bool graceful);
