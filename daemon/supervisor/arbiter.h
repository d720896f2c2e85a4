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
 * - Signals (as Gunicorn): HUP asks for a reload (the reload hook: the
 *   manager owns configurations); TTIN/TTOU add or remove one worker (and
 *   say so through the workers_changed hook); TERM stops gracefully
 *   (workers get SIGTERM and `graceful-timeout` seconds, then SIGKILL) and
 *   the stopped hook runs once they are gone; INT and QUIT stop at once
 *   (SIGQUIT, SIGKILL after a second); USR1 is forwarded to the workers,
 *   which reopen their log files.
 *
 * It knows nothing above it: what it has to say goes through the hooks it
 * was given, and the backend table is the manager's.
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
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "backend-table.h"
#include "config.h"
#include "plugin-set.h"

struct lbd_arbiter;
struct lbd_worker_slot;

/* What the arbiter reports upward; any hook may be NULL. */
struct lbd_arbiter_hooks {
        void *userdata;
        void (*reload)(void *userdata);          /* SIGHUP */
        void (*workers_changed)(void *userdata); /* TTIN, TTOU changed the count */
        void (*stopped)(void *userdata);         /* stopping, and the last worker is gone */
        /* Asked at every fork: more of the master's fds that no worker
         * keeps (the admin listener and its clients), at most max; returns
         * how many. May be NULL. */
        size_t (*private_fds)(void *userdata, int *fds, size_t max);
};

#define LBD_ARBITER_PRIVATE_FDS_MAX 64u

#define LBD_ARBITER_CLOSE_FDS_MAX 4u

struct lbd_arbiter_params {
        sd_event *event;         /* the master's loop */
        struct lbd_table *table; /* the shared backend table, mapped before any fork */
        const char *logs_dir;    /* where log files named without a directory go */
        /* The master's own fds (bus, event loop) that no worker keeps. */
        int close_fds[LBD_ARBITER_CLOSE_FDS_MAX];
        size_t n_close_fds;
        struct lbd_arbiter_hooks hooks;
};

/* Take over the signals, create the scoreboard. Logs what fails and
 * returns a negative errno (*ret is set either way, for the caller's free). */
int lbd_arbiter_new(const struct lbd_arbiter_params *p, struct lbd_arbiter **ret);

/* Kill (SIGKILL) and reap workers still running, then release everything.
 * The normal way out is a stop (signals, lbd_arbiter_stop), after which no
 * worker is left. Accepts NULL; returns NULL. */
struct lbd_arbiter *lbd_arbiter_free(struct lbd_arbiter *a);

/* Start a generation of workers for config and plugins (synced to the table
 * already): resolve its user, bind its listeners, fork its workers (their
 * count: the configuration's). The first call starts the first generation;
 * every later one replaces the current generation, which then stops
 * gracefully and takes over its config, and its plugins unless they are
 * the same set. config and plugins stay the caller's while current.
 * Returns 0, or a negative errno (logged) with nothing changed;
 * -ESHUTDOWN while stopping. */
int lbd_arbiter_start_generation(struct lbd_arbiter *a, struct lbd_config *config,
                                 struct lbd_plugin_set *plugins);

/* The current generation goes on with config, which differs from its own
 * only in what the workers read from the table (the caller checked; its
 * listener set is rebound to config's: the same sockets). The caller frees
 * the configuration it replaces. 0, or a negative errno with nothing
 * changed (-ESHUTDOWN while stopping). */
int lbd_arbiter_update_generation(struct lbd_arbiter *a, struct lbd_config *config);

/* Run n workers (1..LBD_WORKERS_MAX; -EINVAL otherwise, not logged): start
 * more, or stop the highest slots gracefully. -ESHUTDOWN while stopping.
 * No hook runs: the caller knows. */
int lbd_arbiter_set_workers(struct lbd_arbiter *a, unsigned n);

/* How many workers the arbiter keeps running (the configuration's count,
 * changed by TTIN/TTOU and lbd_arbiter_set_workers until the next
 * generation). */
unsigned lbd_arbiter_get_workers(const struct lbd_arbiter *a);

/* The id of the current generation (1, 2, …), 0 before the first. */
unsigned lbd_arbiter_generation(const struct lbd_arbiter *a);

/* Not stopping. */
bool lbd_arbiter_running(const struct lbd_arbiter *a);

/* Call fn for every running worker, of every generation, with its
 * scoreboard slot (counters for GetStatistics). */
typedef void (*lbd_arbiter_worker_fn)(void *userdata, pid_t pid,
                                      const struct lbd_worker_slot *slot);
void lbd_arbiter_foreach_worker(const struct lbd_arbiter *a, lbd_arbiter_worker_fn fn,
                                void *userdata);

/* Stop every worker, gracefully (SIGTERM, SIGKILL after graceful-timeout)
 * or at once (SIGQUIT); the stopped hook runs when they are gone. What TERM
 * and INT/QUIT do. */
void lbd_arbiter_stop(struct lbd_arbiter *a, bool graceful);
