/* SPDX-License-Identifier: MIT */
/*
 * round_robin: smooth weighted round robin, nginx's algorithm.
 *
 * Every backend has a "current" weight. For each pick, every usable backend
 * adds its effective weight to its current; the one with the largest
 * current wins (the first of equals, in pool order) and gives back the sum
 * of the weights added. Weights 5,1,1 give a a b a c a a: the heavy backend
 * gets its share spread out, never five in a row.
 *
 * The current weights live in the pool's shared scratch words (one per
 * backend) and change only under the pool's lock, so every worker process
 * and thread advances one sequence for the whole daemon.
 *
 * A backend that is not usable for a pick (down, draining, full, already
 * tried by this request, or of the other tier) is skipped and its current
 * weight is left as it was: the usable ones go on with their own sequence
 * (their currents still sum to minus the frozen values, so their shares
 * stay exact), and when it comes back it resumes from where it stopped,
 * which is less than the pool's total weight away from zero: it gets its
 * share at most a pick or two early or late, never a burst (a simulation
 * of random weights and outages found 0.85 of the total weight and 1.5
 * picks at worst). The backup tier has its own backends, hence its own
 * currents.
 *
 * That is a scan of the pool per pick. A pool of more than
 * LBD_POLICY_SCAN_MAX backends is served from a table instead: the master
 * builds one cycle of the weighted sequence (schedule.h), and each pick
 * takes the next entry with an atomic add on the pool word, skipping
 * entries whose backend is not usable for it (that turn goes to an entry
 * further on, a different one for each pick, so no single backend takes
 * over the turns of one that went down). The shares are exact over every cycle while the
 * pool does not change; states and weights changes reach the table within
 * a tick of the master (a quarter of a second), and until then usable()
 * still keeps a pick off a backend that went down.
 */
#include "../common/policy-table.h"
#include "schedule.h"
#include "smooth-weighted.h"

static int round_robin_pick(void *data, const struct lbd_pick *pick) {
        uint32_t len;
        const uint32_t *table = lbd_policy_table(pick, &len);
        if (table) {
                /* A large pool: the next turn of the master's cycle. The
                 * pool word holds two counters, the primaries' in its low
                 * half and the backups' in its high half, so that a pick
                 * that found no primary does not skip a backup's turn. */
                uint64_t one = pick->backup_tier ? UINT64_C(1) << 32 : 1;
                uint64_t word = __atomic_fetch_add(pick->host->pool_word(pick), one,
                                                   __ATOMIC_RELAXED);
                uint32_t k = (uint32_t)(pick->backup_tier ? word >> 32 : word);
                int r = lbd_policy_probe(pick, table, len, k % len,
                                         lbd_policy_step(lbd_policy_mix64(k), len));
                if (r >= 0)
                        return r;
        }
        return lbd_smooth_weighted_pick(pick);
}

static uint32_t round_robin_build(void *data, const struct lbd_pick *pick, uint32_t *table,
                                  uint32_t size) {
        return lbd_rr_schedule_build(pick, table, size);
}

static const struct lbd_policy_ops ops = {
        .struct_size = sizeof(struct lbd_policy_ops),
        .pick = round_robin_pick,
        .build = round_robin_build,
};

/* Name and description: plugins/policy-round-robin/meson.build. */
LBD_POLICY_PLUGIN(PLUGIN_NAME, PLUGIN_DESCRIPTION, ops, NULL,
                 NULL);
