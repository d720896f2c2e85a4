/* SPDX-License-Identifier: MIT */
/*
 * Who the workers run as: [daemon] user=, group= and extra-groups=,
 * resolved by the master before it forks (the name lookups happen there,
 * never in a worker), applied by each worker before it serves anything.
 *
 * The supplementary groups are how a worker reaches a backend socket that
 * another user made for its own group only: the seed's Gunicorn runs as
 * www-data with -m 007, and lbd's workers reach it with
 * extra-groups=www-data (nginx: user www-data www-data).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct lbd_worker_identity {
        /* Switch to it: the master runs as root and user= is not root. */
        bool drop;
        uid_t uid;
        gid_t gid;
        gid_t groups[LBD_EXTRA_GROUPS_MAX];     /* supplementary */
        size_t n_groups;
        /* For messages: "user lbd (uid 995), group lbd (gid 995), extra
         * groups www-data (gid 33)"; what a worker is, also when it keeps
         * the master's own identity. */
        char text[512];
};

/* Resolve config's user=, group= and extra-groups= into *ret. Not root:
 * the workers keep the master's identity (said at info level). Errors
 * (an unknown user or group) are logged with the file and key that named
 * them; returns 0 or a negative errno. */
int lbd_worker_identity_resolve(const struct lbd_config *config, struct lbd_worker_identity *ret);

/* In the worker: become it (setgroups, setresgid, setresuid) and make sure
 * there is no way back to root. 0 or a negative errno; logs nothing. */
int lbd_worker_identity_apply(const struct lbd_worker_identity *id);
