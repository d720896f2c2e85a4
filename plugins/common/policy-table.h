/* SPDX-License-Identifier: MIT */
/*
 * What the policy plugins share about large pools (compiled into each:
 * plugins share no code at run time).
 *
 * A pool of up to LBD_POLICY_SCAN_MAX positions is scanned on every pick:
 * that is exact (nginx's smooth weighted round robin, the least loaded of
 * all, rendezvous hashing) and costs well under a microsecond. A larger
 * pool would cost a scan of all of it per request, so there each policy
 * answers from a structure whose cost does not grow with the pool: a
 * table the master builds (lbd-plugin.h: build()) or a sample. A pick
 * tries at most LBD_POLICY_PROBES entries of a table before it falls back
 * to the scan, which is always right, only slower.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lbd-plugin.h"

#define LBD_POLICY_SCAN_MAX 64u
#define LBD_POLICY_PROBES 16u

/* splitmix64's finaliser: a good 64-bit mix of a weak hash or a counter. */
static inline uint64_t lbd_policy_mix64(uint64_t x) {
        x ^= x >> 30;
        x *= UINT64_C(0xbf58476d1ce4e5b9);
        x ^= x >> 27;
        x *= UINT64_C(0x94d049bb133111eb);
        x ^= x >> 31;
        return x;
}

/* The pool's table for this pick's tier, or NULL (none built, a host
 * without tables, a pool the master has not built one for yet). */
static inline const uint32_t *lbd_policy_table(const struct lbd_pick *pick, uint32_t *ret_len) {
        const struct lbd_pool_host *h = pick->host;
        *ret_len = 0;
        if (h->struct_size < offsetof(struct lbd_pool_host, table) + sizeof(h->table) ||
            !h->table)
                return NULL;
        const uint32_t *table = h->table(pick, ret_len);
        return *ret_len ? table : NULL;
}

/* The first usable position of table[start], table[start + step], ...
 * (modulo len; 0 < step < len), within LBD_POLICY_PROBES entries, or -1.
 * A step other than 1, different from pick to pick, spreads the turns of
 * an unusable backend over many others instead of giving them all to the
 * entry after it. */
static inline int lbd_policy_probe(const struct lbd_pick *pick, const uint32_t *table,
                                   uint32_t len, uint32_t start, uint32_t step) {
        for (uint32_t k = 0; k < LBD_POLICY_PROBES; k++) {
                uint32_t pos = table[start];
                if (pos < pick->count && pick->host->usable(pick, pos))
                        return (int)pos;
                start = start >= len - step ? start - (len - step) : start + step;
        }
        return -1;
}

/* A step for lbd_policy_probe() from a hash: 1 .. len - 1. */
static inline uint32_t lbd_policy_step(uint64_t hash, uint32_t len) {
        return len > 1 ? (uint32_t)(hash % (len - 1)) + 1 : 1;
}

/* The candidates build() sees: positions usable for the pick's tier, with
 * their weights, into pos[] and weight[] (count entries each); returns how
 * many. */
static inline uint32_t lbd_policy_candidates(const struct lbd_pick *pick, uint32_t *pos,
                                             uint32_t *weight) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < pick->count; i++) {
                if (!pick->host->usable(pick, i))
                        continue;
                pos[n] = i;
                weight[n] = pick->host->weight(pick, i);
                n++;
        }
        return n;
}
