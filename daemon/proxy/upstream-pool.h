/* SPDX-License-Identifier: MIT */
/*
 * Idle upstream connections of the http mode, kept per thread (the event
 * and sync models run all sessions of a worker on one thread; the thread
 * model runs each session start to end on one thread), so no lock.
 *
 * Keyed by the backend's slot in the shared table and the slot's
 * generation: a slot reused for another backend has another generation,
 * and its old connections are closed instead of handed out.
 *
 * Capacity: up to UPSTREAM_POOL_MAX connections per thread, and all the
 * threads' pools together at most a quarter of RLIMIT_NOFILE (see
 * upstream_pool_set_threads()); the oldest is evicted first; a connection
 * idle for UPSTREAM_POOL_MAX_IDLE_MS is closed. Taking and putting are
 * O(1) on average (a hash by slot and an age list), so a pool of 1,000
 * backends, where each backend's connection waits a full rotation before
 * it is used again, costs what a pool of 2 does. The cap is the backend
 * table's size, so that round robin over the largest pool still finds each
 * backend's connection waiting (HAProxy keeps idle connections per server,
 * unbounded; nginx's `keepalive N` would reconnect past N backends).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define UPSTREAM_POOL_MAX 16384u /* LBD_TABLE_BACKENDS_MAX */
#define UPSTREAM_POOL_MAX_IDLE_MS 60000u

/* How many threads of this process keep a pool (the thread model's
 * threads; 1 otherwise). Call once, before any thread uses a pool. */
void upstream_pool_set_threads(unsigned threads);

/* An idle connection to (slot, generation); -1 if none. Unless watched (the
 * worker model reports the idle connections' events: upstream_pool_event()),
 * it is checked for EOF or stray bytes first (a backend that closed it
 * while it sat here), with a system call. */
int upstream_pool_take(uint32_t slot, uint64_t generation, uint64_t now_ms, bool watched);
enum upstream_pool_news {
        UPSTREAM_POOL_NOTHING,  /* (only writable): nothing to do */
        UPSTREAM_POOL_READABLE, /* may be the backend's close or bytes, or a stale edge */
        UPSTREAM_POOL_CLOSED,   /* the backend closed it, or it failed */
};
/* What the worker model saw of fd while it is idle here: closed when the
 * backend closed it or sent something out of turn; an fd not in the pool
 * is ignored (an event that came after the fd left it). */
void upstream_pool_event(int fd, enum upstream_pool_news news);
/* Keep fd (idle, at a message boundary) for (slot, generation); closes it
 * when it cannot be kept. */
void upstream_pool_put(uint32_t slot, uint64_t generation, int fd, uint64_t now_ms);
