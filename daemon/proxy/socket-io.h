/* SPDX-License-Identifier: MIT */
/*
 * The engine's way to the bytes of its sockets: the system calls
 * themselves, or, when the worker model carries the bytes (a
 * completion-based model: struct lbd_worker_io), the model's hooks. Set
 * once per worker process, before its first session; the lowest piece of
 * the engine, calling nothing of it.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lbd-plugin.h"

struct iovec;

/* The model's hooks, or NULL for the system calls. */
void socket_io_set(const struct lbd_worker_io *io, void *io_data);
/* Whether a model carries the bytes (no splice(): the bytes of a socket
 * may sit in the model's buffers, not in the socket). */
bool socket_io_owned(void);

ssize_t socket_io_recv(int fd, void *buf, size_t len);
ssize_t socket_io_send(int fd, const struct iovec *iov, int iovcnt);
void socket_io_shutdown(int fd);
void socket_io_close(int fd);
