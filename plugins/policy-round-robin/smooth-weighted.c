/* SPDX-License-Identifier: MIT */
#include "smooth-weighted.h"

#include <errno.h>

int lbd_smooth_weighted_pick(const struct lbd_pick *pick) {
        const struct lbd_pool_host *h = pick->host;
        int64_t total = 0;
        int64_t *best_current = NULL;
        int best = -EAGAIN;

        h->lock(pick);
        for (uint32_t i = 0; i < pick->count; i++) {
                if (!h->usable(pick, i))
                        continue;
                int64_t weight = h->weight(pick, i);
                int64_t *current = h->scratch(pick, i);
                *current += weight;
                total += weight;
                if (!best_current || *current > *best_current) {
                        best_current = current;
                        best = (int)i;
                }
        }
        if (best_current)
                *best_current -= total;
        h->unlock(pick);
        return best;
}
