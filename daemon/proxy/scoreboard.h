/* SPDX-License-Identifier: MIT */
/*
 * The scoreboard: one shared anonymous mapping, created by the master before
 * it forks, with one slot per worker. A worker writes only its own slot
 * (heartbeat, counters) with relaxed atomics; the master reads all of them
 * (heartbeat timeouts, statistics) and owns the slot assignment.
 *
 * Apache's name for the same thing. The shared backend table (balancing
 * issue) is a separate mapping: this one is about processes, that one about
 * backends.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h" /* heartbeats are lbd_now_ms() */

#define LBD_SCOREBOARD_SLOTS 1024u

struct lbd_worker_slot {
        _Atomic uint64_t heartbeat_ms; /* CLOCK_MONOTONIC ms of the last heartbeat */
        _Atomic uint64_t requests;     /* requests (http) or connections (tcp) served */
        _Atomic uint32_t connections;  /* client connections open now */
        _Atomic uint32_t accepted;     /* client connections accepted, in all */
        /* Set by the worker once it stops accepting (graceful stop,
         * max-requests), cleared when a new worker takes the slot: a
         * stopping worker is left out of the fair share, else its few
         * remaining connections would pull the average down and hold every
         * accepting worker over its share. */
        _Atomic uint32_t stopping;
        /* Set by the worker while the fair share keeps it out of the
         * accept queue: another worker steps out only while one with fewer
         * connections is still in it, so the queue is never left alone. */
        _Atomic uint32_t out_of_queue;
        char pad[32];                  /* one slot per cache line: no false sharing */
};

struct lbd_scoreboard {
        /* One more than the highest slot ever given to a worker (the master
         * raises it before the fork): workers scan slots below it only. */
        _Atomic uint32_t high;
        /* An eventfd, made before the first fork: written when a worker
         * leaves the accept queue for its fair share. With EPOLLEXCLUSIVE
         * the kernel woke that worker alone for the connections still
         * queued; the others sleep on until a new one comes, so they watch
         * this to look at the listeners again. -1 if it could not be made. */
        int32_t queue_fd;
        char pad[56];
        struct lbd_worker_slot slots[LBD_SCOREBOARD_SLOTS];
};

/* Whether the worker in slot `mine` may accept now: it holds no more than
 * its fair share of the client connections of all live accepting workers
 * (a heartbeat in the last 3 s, not stopping), with some slack, or no
 * worker with fewer connections than it is in the accept queue (someone
 * must be: in a storm two workers over their shares at once would
 * otherwise both step out and leave the queue to overflow). Records the
 * answer in its slot (out_of_queue). Reads a few cache lines. */
bool lbd_scoreboard_fair_share(struct lbd_scoreboard *sb, unsigned mine, uint64_t now_ms);

/* Map a zeroed scoreboard shared with future children. NULL on failure (errno). */
struct lbd_scoreboard *lbd_scoreboard_new(void);
void lbd_scoreboard_free(struct lbd_scoreboard *sb);

_Static_assert(sizeof(struct lbd_worker_slot) == 64, "a scoreboard slot is one cache line");
