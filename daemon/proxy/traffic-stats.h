/* SPDX-License-Identifier: MIT */
/*
 * What went through a backend, or through a service without reaching a
 * backend: one struct lbd_traffic per backend slot and per pool of the
 * shared backend table (backend-table.h), written by the workers with
 * relaxed atomics on the request path (no lock), read by the master for
 * GetStatistics, StatsD and /metrics into struct lbd_traffic_counts.
 *
 * A request (http) or a connection (tcp) counts once, when it ends, in the
 * last backend tried: its response class (the sum of the classes is the
 * number of requests that ended; the table counts those sent, per try), the bytes it took from the
 * client and gave it, its total time, and whether the client or the
 * backend left first (an abort). Connect times are counted per fresh
 * connection, first-byte times per response, from the moment the
 * upstream connection was ready (connected or taken from the pool) to the
 * first response byte; lbd's own answers to a request that reached no
 * backend (a 400, a 502 with no backend usable) count in the pool's.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "latency-histogram.h"

enum lbd_status_class {
        LBD_STATUS_1XX,
        LBD_STATUS_2XX,
        LBD_STATUS_3XX,
        LBD_STATUS_4XX,
        LBD_STATUS_5XX,
        LBD_STATUS_OTHER,
        LBD_STATUS_CLASSES,
};
enum lbd_status_class lbd_status_class(unsigned status);
/* "1xx" ... "5xx", "other" */
const char *lbd_status_class_name(enum lbd_status_class c);

/* The counters, as one list, so that the shared struct, the copy and
 * every reader name them once. X(name, what) */
#define LBD_TRAFFIC_COUNTERS(X)                                                             \
        X(bytes_in, "bytes from the client")                                                 \
        X(bytes_out, "bytes to the client")                                                  \
        X(connect_attempts, "connections started to the backend")                            \
        X(connect_errors, "connects refused, reset or timed out")                            \
        X(response_errors, "backends that closed, reset or timed out before a response")     \
        X(retries, "requests sent again to another backend after this one failed")           \
        X(reuses, "requests sent on a pooled connection")                                    \
        X(client_aborts, "clients that left before the response was complete")               \
        X(server_aborts, "backends that closed in the middle of a response")

struct lbd_traffic {
        _Atomic uint64_t responses[LBD_STATUS_CLASSES];
#define LBD_TRAFFIC_ATOMIC(name, what) _Atomic uint64_t name;
        LBD_TRAFFIC_COUNTERS(LBD_TRAFFIC_ATOMIC)
#undef LBD_TRAFFIC_ATOMIC
        _Atomic uint32_t active_max; /* the most connections open at once */
        struct lbd_hist connect, first_byte, total;
};

struct lbd_traffic_counts {
        uint64_t responses[LBD_STATUS_CLASSES];
#define LBD_TRAFFIC_PLAIN(name, what) uint64_t name;
        LBD_TRAFFIC_COUNTERS(LBD_TRAFFIC_PLAIN)
#undef LBD_TRAFFIC_PLAIN
        uint32_t active_max;
        struct lbd_hist_counts connect, first_byte, total;
};

/* How one request or connection ended. */
struct lbd_exchange {
        unsigned status;      /* as logged: 499 when the client left first */
        uint64_t bytes_in, bytes_out;
        uint64_t total_us;
        bool client_abort, server_abort;
};

void lbd_traffic_reset(struct lbd_traffic *x);
void lbd_traffic_count_exchange(struct lbd_traffic *x, const struct lbd_exchange *e);
/* active: the count just reached (raises active_max). */
void lbd_traffic_note_active(struct lbd_traffic *x, uint32_t active);
/* Add from to into, with atomics (workers may be adding to into). */
void lbd_traffic_add(struct lbd_traffic *into, const struct lbd_traffic *from);
/* Add x to *into (active_max: the larger). */
void lbd_traffic_read_into(const struct lbd_traffic *x, struct lbd_traffic_counts *into);
