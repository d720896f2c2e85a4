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
 */
#include <errno.h>

#include "lbd-plugin.h"

static int least_conn_pick(void *data, const struct lbd_pick *pick) {
        const struct lbd_pool_host *h = pick->host;
        const uint32_t n = pick->count;
        if (n == 0)
                return -EAGAIN;

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
