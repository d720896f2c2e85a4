/* SPDX-License-Identifier: MIT */
/*
 * The uring model's sockets: what it keeps per fd (who owns it, the bytes
 * received and not yet read by the session, the bytes the session sent
 * and the kernel has not yet taken), the completions of their receives,
 * sends and connects, and the engine's I/O hooks (struct lbd_worker_io)
 * over them. What happens to a socket it reports to the loop through the
 * hooks it is given (struct sockets_hooks), never by calling the loop.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lbd-plugin.h"
#include "ring.h"

struct sockets;

struct sockets_hooks {
        /* Something came for fd, owned by owner (a connection of the loop)
         * as side `which`: enum lbd_ready_events. */
        void (*ready)(void *loop, void *owner, unsigned which, uint32_t events);
        /* An fd nobody owns (an idle upstream connection) got bytes or its
         * end: the engine should close it. */
        void (*idle_closed)(void *loop, int fd);
};

struct sockets *sockets_new(struct ring *ring, const struct sockets_hooks *hooks, void *loop);
void sockets_free(struct sockets *s);
/* The engine's hooks over these sockets, for set_io(). */
extern const struct lbd_worker_io sockets_io;

/* What the loop learns from a session's wait. */
void sockets_watch_new(struct sockets *s, int fd, void *owner, unsigned which);
void sockets_watch_from_idle(struct sockets *s, int fd, void *owner, unsigned which);
void sockets_detach(struct sockets *s, int fd);

/* A completion of OP_RX, OP_TX or OP_CONNECT. */
void sockets_complete(struct sockets *s, const struct io_uring_cqe *cqe);
/* After a batch of completions: re-arm what ran out of buffers. */
void sockets_after_batch(struct sockets *s);
/* Sends the kernel has not finished (a stopping worker waits for them). */
unsigned sockets_sending(const struct sockets *s);
