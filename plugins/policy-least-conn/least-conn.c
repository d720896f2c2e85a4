/* SPDX-License-Identifier: MIT */
/*
 * least_conn: the usable backend with the fewest open connections per unit
 * of weight, counting every worker's connections (the shared table's
 * active()). Backend i beats j when active_i / w_i < active_j / w_j,
 * compared as active_i * w_j < active_j * w_i: no division, no rounding
 * (both products fit in 64 bits).
 *
 * Ties go round robin: the scan starts at a position that moves on by one
 * for every pick (the pool word, a shared atomic counter) and the first of
 * equals wins. A burst to an idle pool therefore spreads over all the
 * backends instead of piling onto the first one before its count rises.
 * (Among tied backends separated by busier ones the rotation is not
 * perfectly even, but every pick raises the winner's count, which breaks
 * the tie for the next one.)
 *
 * No lock: the counts may move during the scan, which only makes the
 * choice as old as the counts it read.
 *
 * That scan is the whole pool per pick. In a pool of more than
 * LBD_POLICY_SCAN_MAX backends the pick compares two usable backends
 * chosen at random instead (the power of two choices, as Envoy's
 * least_request and nginx's `random two least_conn`): the load then stays
 * within a few connections of the least loaded (the maximum exceeds the
 * mean by O(log log n), where one random choice gives O(log n / log log
 * n)), at a cost that does not grow with the pool.
 */
#include <errno.h>

#include "../common/policy-table.h"
#include "lbd-plugin.h"

/* Whether i beats j (both usable): fewer connections per unit of weight. */
static bool lighter(const struct lbd_pick *pick, uint32_t i, uint32_t j) {
        const struct lbd_pool_host *h = pick->host;
        return (uint64_t)h->active(pick, i) * h->weight(pick, j) <
               (uint64_t)h->active(pick, j) * h->weight(pick, i);
}

/* Two usable positions drawn at random (the pool word is the shared
 * counter, mixed), the lighter one; -1 when LBD_POLICY_PROBES draws find
 * none usable. */
static int two_choices(const struct lbd_pick *pick) {
        const struct lbd_pool_host *h = pick->host;
        uint64_t r = lbd_policy_mix64(
                __atomic_fetch_add(h->pool_word(pick), 1, __ATOMIC_RELAXED) ^ pick->client_hash);
        int first = -1;
        for (uint32_t k = 0; k < LBD_POLICY_PROBES; k++) {
                uint32_t i = (uint32_t)((r & 0xffffffffu) * pick->count >> 32);
                r = lbd_policy_mix64(r + UINT64_C(0x9e3779b97f4a7c15));
                if ((int)i == first || !h->usable(pick, i))
                        continue;
                if (first < 0) {
                        first = (int)i;
                        continue;
                }
                return lighter(pick, i, (uint32_t)first) ? (int)i : first;
        }
        return first;
}

static int least_conn_pick(void *data, const struct lbd_pick *pick) {
        const struct lbd_pool_host *h = pick->host;
        const uint32_t n = pick->count;
        if (n == 0)
                return -EAGAIN;
        if (n > LBD_POLICY_SCAN_MAX) {
                int r = two_choices(pick);
                if (r >= 0)
                        return r;
                /* Most of the pool unusable: the scan finds what is left. */
        }

        uint32_t i = (uint32_t)(__atomic_fetch_add(h->pool_word(pick), 1, __ATOMIC_RELAXED) % n);
        int best = -EAGAIN;
        uint64_t best_active = 0, best_weight = 1;
        for (uint32_t k = 0; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
                if (!h->usable(pick, i))
                        continue;
                uint64_t active = h->active(pick, i);
                uint64_t weight = h->weight(pick, i);
                if (best < 0 || active * best_weight < best_active * weight) {
                        best = (int)i;
                        best_active = active;
                        best_weight = weight;
                }
        }
        return best;
}

static const struct lbd_policy_ops ops = {
        .struct_size = sizeof(struct lbd_policy_ops),
        .pick = least_conn_pick,
};

/* Name and description: plugins/policy-least-conn/meson.build. */
LBD_POLICY_PLUGIN(PLUGIN_NAME, PLUGIN_DESCRIPTION, ops, NULL,
                 NULL);
