/* SPDX-License-Identifier: MIT */
/*
 * Unix socket files that the master binds (service listeners and the admin
 * listener): one rule for both. A socket file in the way is removed only
 * when nobody accepts on it (an lbd that did not stop cleanly left it); the
 * file bind() made is removed at close only if the path still names it
 * (someone may have put another there since).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "address.h"

struct lbd_socket_file {
        bool owned; /* bind() made the file at the path, with this identity */
        dev_t dev;
        ino_t ino;
};

/* Before bind(): clear a's path. 0 (nothing there, or a stale socket file,
 * removed and logged); -EADDRINUSE when a process accepts on it, -EEXIST
 * when the path is not a socket, with *why a static explanation for those
 * two; another -errno when it could not be looked at. */
int lbd_socket_file_clear(const struct lbd_address *a, const char **why);

/* After bind(): remember the file it made. */
void lbd_socket_file_note(struct lbd_socket_file *f, const struct lbd_address *a);

/* At close: remove the file if the path still names it (a failure is
 * logged: nothing is left to do about it). */
void lbd_socket_file_remove(const struct lbd_socket_file *f, const struct lbd_address *a);
