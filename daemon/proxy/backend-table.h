/* SPDX-License-Identifier: MIT */
/*
 * The shared backend table: one shared anonymous mapping, created by the
 * master before it forks the first worker, holding every service's pool of
 * backends. It is what lets a policy see the whole daemon (least_conn
 * counts every worker's connections, round_robin is one sequence) and what
 * lets backend changes reach running workers without restarting them.
 *
 * Who writes what:
 *  - the master alone changes membership, addresses, weights, parameters,
 *    administrative state and active-health results
 *    (lbd_table_sync(), lbd_table_set_health());
 *  - workers change counters (active connections, requests, failures,
 *    latency) and the passive-health state (a backend that fails max_fails
 *    times within fail_timeout is down for fail_timeout), with atomics.
 *
 * Consistency: each pool has a sequence counter (a seqlock). The master
 * makes it odd while it changes the member list and even again after;
 * a pick that saw it change starts over, so a worker never uses a slot the
 * master is reusing. A backend removed at run time drains: it stays in the
 * pool, never picked, until its last connection is released; then the
 * master frees its slot (lbd_table_tick()).
 *
 * Capacity: LBD_TABLE_BACKENDS_MAX backends and LBD_TABLE_POOLS_MAX pools in
 * all. Only touched pages cost memory.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "plugin-set.h"
#include "traffic-stats.h"

#define LBD_TABLE_BACKENDS_MAX 16384u
#define LBD_TABLE_POOLS_MAX 256u
/* A pool's members, retired ones still draining included. */
#define LBD_TABLE_POOL_MEMBERS_MAX LBD_TABLE_BACKENDS_MAX
/* Status codes counted one by one per service: 100 to 599. */
#define LBD_TABLE_STATUS_CODES 500u

struct lbd_table;

/* What D-Bus shows as a backend's State, in order of precedence. */
enum lbd_backend_state {
        LBD_BACKEND_UP = 0,
        LBD_BACKEND_DOWN = 1,     /* active or passive health */
        LBD_BACKEND_DRAINING = 2, /* drain, or removed with connections open */
        LBD_BACKEND_DISABLED = 3, /* administratively down */
};
const char *lbd_backend_state_to_string(enum lbd_backend_state state);

/* ---- master ------------------------------------------------------------ */

/* Map an empty table (MAP_SHARED | MAP_ANONYMOUS). NULL with errno on
 * failure. */
struct lbd_table *lbd_table_new(void);
/* Unmap. In the master after the last worker is gone. Accepts NULL. */
void lbd_table_free(struct lbd_table *t);

/* Make the table match config: a pool per service (by name; pools of
 * services config lacks are retired once no worker generation uses them,
 * see lbd_table_pool_release()), a member per (service, backend address)
 * with config's weight, parameters, backup, down and drain, and the
 * service's policy name. Members config lacks start draining. Counters and
 * health of backends that stay are kept. New backends start up (or, with
 * an active health check, up too: HAProxy starts servers up and lets the
 * checks take them down).
 * Returns 0, or -ENOSPC with nothing changed when the table would be full
 * (then *ret_reason, if not NULL, gets a sentence; g_free() it). */
int lbd_table_sync(struct lbd_table *t, const struct lbd_config *config, char **ret_reason);

/* A worker generation started with config holds its services' pools;
 * sync never frees a held pool. Call release when the generation's last
 * worker is gone. */
void lbd_table_pool_hold(struct lbd_table *t, const struct lbd_config *config);
void lbd_table_pool_release(struct lbd_table *t, const struct lbd_config *config);

/* Called by the master a few times a second: frees drained slots and
 * reports every change of a backend's State since the last tick (passive
 * health marks and expiries happen in workers; this is where the master
 * learns of them), with a reason ("3 failures in 10 s: connection
 * refused", "passive hold expired", "health check: HTTP 503", "drained").
 * It also starts slow start for a backend that came back up. */
typedef void (*lbd_table_state_fn)(void *userdata, const char *service, const char *address,
                                   enum lbd_backend_state old_state,
                                   enum lbd_backend_state new_state, const char *reason);
void lbd_table_tick(struct lbd_table *t, uint64_t now_ms, lbd_table_state_fn on_change,
                    void *userdata);

/* Rebuild the lookup tables of the pools changed since the last call
 * (membership, weights, states, a slow start in progress) with each pool's
 * policy in plugins (lbd-plugin.h: build()). The master calls it after
 * every lbd_table_sync() and lbd_table_tick(); a pool whose policy builds
 * none, and every pool before the first call, is picked by a scan. */
void lbd_table_build_policies(struct lbd_table *t, const struct lbd_plugin_set *plugins,
                              uint64_t now_ms);

/* Active health check results (the master's checker): up or down, with a
 * reason for the log. -ENOENT when there is no such backend. */
int lbd_table_set_health(struct lbd_table *t, const char *service, const char *address, bool up,
                         const char *reason);

/* Counters and state of one backend, for D-Bus and statistics. */
struct lbd_backend_stats {
        enum lbd_backend_state state;
        uint32_t active;       /* open connections, all workers */
        uint64_t requests;     /* requests (http) or connections (tcp) sent to it */
        uint64_t failures;     /* connect errors + response errors */
        uint32_t latency_us;   /* moving average of the response time (http:
                                * first byte; tcp: connect) */
        uint32_t weight;       /* effective weight now (slow start) */
        uint32_t active_downs; /* times the health check took it down */
        uint32_t passive_downs; /* times its failures took it down (max-fails) */
        uint64_t down_ms;      /* time spent down (now included) */
        struct lbd_traffic_counts traffic;
};
/* -ENOENT when there is no such backend (draining ones are found too). */
int lbd_table_backend_stats(const struct lbd_table *t, const char *service, const char *address,
                            struct lbd_backend_stats *ret);

/* Sum over a service's members (draining ones included) and, in
 * *ret_traffic (may be NULL; added to, so zero it first), also what the
 * service answered without a backend and what its backends since removed
 * served. -ENOENT when there is no such pool. */
int lbd_table_service_stats(const struct lbd_table *t, const char *service,
                            uint64_t *ret_active, uint64_t *ret_requests,
                            struct lbd_traffic_counts *ret_traffic);

/* A service's responses by status code: ret[code - 100]. -ENOENT when
 * there is no such pool. */
int lbd_table_service_codes(const struct lbd_table *t, const char *service,
                            uint64_t ret[LBD_TABLE_STATUS_CODES]);

/* The slot of a backend (draining ones too), or -ENOENT. For the master
 * and tests: a worker gets its slots from lbd_table_pick(). */
int lbd_table_find_slot(const struct lbd_table *t, const char *service, const char *address);

/* ---- workers ----------------------------------------------------------- */

/* The pool of service `name`, or -ENOENT. Stable for the life of the
 * generation (resolve once). */
int lbd_table_pool_find(const struct lbd_table *t, const char *name);

/* Pick a backend of pool for a client, with the policy plugin the pool
 * names (looked up in plugins; a missing or placeholder policy falls back
 * to round_robin's behaviour in the host). tried is a bitmap over slots of
 * backends this request already tried (may be NULL), of tried_words
 * 64-bit words. On success the backend's active count is raised and
 * *ret_slot set: release it with lbd_table_release(). -EAGAIN: no usable
 * backend, primaries and backups alike. */
int lbd_table_pick(struct lbd_table *t, int pool, const struct lbd_plugin_set *plugins,
                   const struct sockaddr *client, socklen_t client_len, const uint64_t *tried,
                   uint32_t tried_words, uint32_t *ret_slot);

/* The address of a slot picked (valid until lbd_table_release()). */
const struct lbd_address *lbd_table_address(const struct lbd_table *t, uint32_t slot);
/* Identifies what a slot holds now: changes when a slot is reused for
 * another backend (keys of pooled upstream connections). */
uint64_t lbd_table_slot_generation(const struct lbd_table *t, uint32_t slot);
/* Whether slot still holds the backend of that generation and may take
 * new work (not removed, disabled, draining or down by the health check):
 * a worker's pooled idle upstream connection is reused only then. */
bool lbd_table_slot_pickable(const struct lbd_table *t, uint32_t slot, uint64_t generation);
/* Per-backend connect timeout and such stay in the service config. */

/* The client hash a pick gives policies (struct lbd_pick.client_hash):
 * FNV-1a of the IP address alone (an IPv4-mapped IPv6 address hashes as
 * its IPv4 address), 0 for unix sockets and NULL. */
uint64_t lbd_table_client_hash(const struct sockaddr *client, socklen_t client_len);

/* Report how a use of the backend went: success with the response time,
 * or a failure (counts towards max_fails within fail_timeout; reaching it
 * marks the backend down for fail_timeout, passive health; a success ends
 * a run of failures; the only member of a pool is never marked, as nginx's
 * single-server upstream). reason is kept for the master's log line
 * ("connection refused"). */
void lbd_table_report_success(struct lbd_table *t, uint32_t slot, uint32_t latency_us);
/* connecting: the connect failed (a connection error), else the backend
 * failed a request on an open connection (a response error). */
void lbd_table_report_failure(struct lbd_table *t, uint32_t slot, bool connecting,
                              uint64_t now_ms, const char *reason);
/* One request (http) or connection (tcp) sent. */
void lbd_table_count_request(struct lbd_table *t, uint32_t slot);
/* Statistics (traffic-stats.h): a connect started; the upstream connection
 * ready, from the pool (reused) or connected after connect_us; the first
 * response byte us after that; a request sent again elsewhere after this
 * backend failed it; and how a request or connection ended, in the last
 * backend tried (slot), or in its service's pool when it reached none
 * (slot < 0). */
void lbd_table_count_attempt(struct lbd_table *t, uint32_t slot);
void lbd_table_count_connected(struct lbd_table *t, uint32_t slot, bool reused,
                               uint64_t connect_us);
void lbd_table_count_first_byte(struct lbd_table *t, uint32_t slot, uint64_t us);
void lbd_table_count_retry(struct lbd_table *t, uint32_t slot);
void lbd_table_count_exchange(struct lbd_table *t, int pool, long slot,
                              const struct lbd_exchange *e);
/* Take and give back the pool's lock, as a policy's lock()/unlock() do
 * (robust: a holder that dies does not block the next taker). */
void lbd_table_pool_lock(struct lbd_table *t, int pool);
void lbd_table_pool_unlock(struct lbd_table *t, int pool);
/* Lower the active count raised by lbd_table_pick(). */
void lbd_table_release(struct lbd_table *t, uint32_t slot);
