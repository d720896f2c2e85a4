/* SPDX-License-Identifier: MIT */
/*
 * A worker process: what runs after the arbiter forks. It resets the
 * master's signal setup, closes the master's control-plane fds, drops
 * privileges, and hands the listeners to the configured worker plugin, which
 * drives the proxy engine (session.h) until it is told to stop.
 *
 * Signals, as Gunicorn's workers: TERM = stop accepting and finish open
 * connections (graceful), INT/QUIT = stop at once, USR1 = reopen log files.
 * HUP, TTIN and TTOU are the master's business and ignored here. The worker
 * exits if the master dies (PR_SET_PDEATHSIG → graceful stop).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "backend-table.h"
#include "config.h"
#include "listener.h"
#include "plugin-set.h"
#include "scoreboard.h"
#include "worker-identity.h"

struct lbd_worker_params {
        const struct lbd_config *config;
        const struct lbd_plugin *model;       /* the worker plugin to run */
        const struct lbd_plugin_set *plugins; /* for policies */
        struct lbd_table *table;              /* the shared backend table */
        struct lbd_worker_slot *slot;         /* this worker's scoreboard slot */
        struct lbd_scoreboard *scoreboard; /* everybody's, for the fair share */
        unsigned slot_index;
        const struct lbd_listener *listeners;
        size_t n_listeners;
        /* Who to become before serving (when running as root). */
        const struct lbd_worker_identity *identity;
        /* The master's fds the worker must not keep (bus, event loop). */
        const int *close_fds;
        size_t n_close_fds;
        /* lbd_landlock_abi() as the master found it (worker-landlock.h). */
        int landlock_abi;
        /* The generation's system call filter (worker-seccomp.h); NULL with
         * confine-workers=no. The worker's copy is patched. */
        struct lbd_seccomp_program *seccomp;
};

/* Run a worker in the current (freshly forked) process. Never returns:
 * exits 0 after a clean stop, 1 if it could not start or the model failed. */
_Noreturn void lbd_worker_main(const struct lbd_worker_params *p);
