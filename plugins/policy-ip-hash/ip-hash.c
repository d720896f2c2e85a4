/* SPDX-License-Identifier: MIT */
/*
 * ip_hash: client-address affinity on a consistent hash (rendezvous, or
 * "highest random weight", hashing).
 *
 * Every (client, backend) pair gets a pseudo-random 64-bit score from the
 * client's address hash and the backend's key (a hash of its address, the
 * same in every process and across restarts); the client goes to the usable
 * backend with the highest score. A client's choice depends only on the
 * scores of the backends present, so:
 *   - adding one backend to n moves only the clients it now wins, about
 *     1/(n+1) of them, and none from one old backend to another;
 *   - removing one (or it going down, draining or filling up) moves only
 *     its own clients, each to its second-best backend; they come back when
 *     it returns.
 * No state, no lock: the same client gets the same answer from every worker.
 *
 * Weights (weighted rendezvous): with u the score mapped into (0, 1), the
 * backend with the smallest -ln(u) / w wins, which makes backend i win with
 * probability w_i / sum(w) and keeps the properties above. With equal
 * weights that is the largest u, so while the weights seen are all equal
 * the scan compares the 64-bit scores as integers and computes logarithms
 * only once it meets a different weight. The logarithm is our own
 * (exponent + a short odd series in (m-1)/(m+1), error < 1e-10), not libm's:
 * no libm dependency and no errno, and the same bits in every process. The
 * comparison multiplies instead of dividing: L_i * w_best < L_best * w_i,
 * and a cheap bound (-ln(u) >= 1 - u) rules most backends out before any
 * logarithm is computed.
 *
 * That is a scan of the pool per pick. A pool of more than
 * LBD_POLICY_SCAN_MAX backends is served from a lookup table instead,
 * Maglev's (Eisenbud et al., NSDI 2016): the master fills a table of a
 * prime number M of entries, each backend in turn taking the next free
 * entry of its own permutation of 0..M-1 (an offset and a step derived from
 * its key), as many turns per round as its weight allows; a client goes to
 * the entry its hash names. Each backend holds M/n entries (within one,
 * scaled by weight), so the spread is even; removing or adding one moves
 * its own clients and a few percent of the others (the table is rebuilt
 * from the keys, not the positions, so pool order does not matter). An
 * entry whose backend is not usable for this pick gives way to entries
 * further on, by a step of the client's own (so the clients of a backend
 * that went down spread over the others), which the same client always
 * meets in the same order. Crossing
 * LBD_POLICY_SCAN_MAX moves clients once, between the two methods.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/policy-table.h"
#include "lbd-plugin.h"


static inline uint64_t score(uint64_t client, uint64_t key) {
        return lbd_policy_mix64(client ^ lbd_policy_mix64(key + UINT64_C(0x9e3779b97f4a7c15)));
}

/* 1 - u, exactly (u as below). */
static inline double one_minus_u(uint64_t s) { return ((double)(~s >> 11) + 0.5) * 0x1p-53; }

/* -ln(u) for u = (top 53 bits of s + 1/2) / 2^53, in (0, 1): larger s,
 * smaller result. */
static double neg_ln_of_score(uint64_t s) {
        const double ln2 = 0.69314718055994530942, sqrt2 = 1.41421356237309504880;
        double u = ((double)(s >> 11) + 0.5) * 0x1p-53;
        uint64_t bits;
        memcpy(&bits, &u, sizeof(bits));
        /* u = 2^e * m; u is a normal double (>= 2^-54). */
        int e = (int)((bits >> 52) & 0x7ff) - 1023;
        bits = (bits & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3ff0000000000000);
        double m;
        memcpy(&m, &bits, sizeof(m));
        if (m > sqrt2) { /* m in [sqrt(1/2), sqrt(2)]: |t| <= 0.172 */
                m *= 0.5;
                e++;
        }
        /* ln(m) = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...); m - 1 is exact,
         * so the result is accurate relative to itself near u = 1, where
         * the winners are. */
        double t = (m - 1.0) / (m + 1.0), t2 = t * t;
        double series = 1.0 / 9 + t2 / 11;
        series = 1.0 / 7 + t2 * series;
        series = 1.0 / 5 + t2 * series;
        series = 1.0 / 3 + t2 * series;
        double ln_m = 2.0 * t * (1.0 + t2 * series);
        return -((double)e * ln2 + ln_m);
}

/* The largest prime <= n (n >= 2): Maglev's table size. */
static uint32_t prime_at_most(uint32_t n) {
        for (;; n--) {
                bool prime = n >= 2;
                for (uint32_t d = 2; prime && d * d <= n; d++)
                        prime = n % d != 0;
                if (prime)
                        return n;
        }
}

struct keyed {
        uint64_t key;
        uint32_t pos, weight;
};

static int by_key_order(const void *a, const void *b) {
        uint64_t x = ((const struct keyed *)a)->key, y = ((const struct keyed *)b)->key;
        return x < y ? -1 : x > y;
}

struct maglev_member {
        uint32_t pos, weight;
        uint32_t offset, step, next; /* its permutation: offset + next * step (mod M) */
        uint64_t credit;
};

static uint32_t ip_hash_build(void *data, const struct lbd_pick *pick, uint32_t *table,
                              uint32_t size) {
        if (pick->count <= LBD_POLICY_SCAN_MAX || size < 2)
                return 0;
        uint32_t *pos = malloc(sizeof(uint32_t) * pick->count);
        uint32_t *weight = malloc(sizeof(uint32_t) * pick->count);
        struct maglev_member *m = malloc(sizeof(*m) * pick->count);
        uint32_t len = 0;
        if (!pos || !weight || !m)
                goto out;
        uint32_t n = lbd_policy_candidates(pick, pos, weight);
        const uint32_t M = prime_at_most(size);
        if (n <= LBD_POLICY_SCAN_MAX || n > M)
                goto out;
        uint32_t max_weight = 1;
        /* In key order, so that the table depends on who is in the pool,
         * not on the pool's order. */
        struct keyed *by_key = malloc(sizeof(*by_key) * n);
        if (!by_key)
                goto out;
        for (uint32_t i = 0; i < n; i++)
                by_key[i] = (struct keyed){ pick->host->key(pick, pos[i]), pos[i], weight[i] };
        qsort(by_key, n, sizeof(*by_key), by_key_order);
        for (uint32_t i = 0; i < n; i++) {
                pos[i] = by_key[i].pos;
                weight[i] = by_key[i].weight;
        }
        free(by_key);
        for (uint32_t i = 0; i < n; i++) {
                uint64_t k = pick->host->key(pick, pos[i]);
                m[i] = (struct maglev_member){
                        .pos = pos[i],
                        .weight = weight[i],
                        .offset = (uint32_t)(lbd_policy_mix64(k ^ UINT64_C(0x243f6a8885a308d3)) % M),
                        .step = (uint32_t)(lbd_policy_mix64(k ^ UINT64_C(0x13198a2e03707344)) % (M - 1)) + 1,
                };
                if (weight[i] > max_weight)
                        max_weight = weight[i];
        }
        for (uint32_t e = 0; e < M; e++)
                table[e] = UINT32_MAX;
        /* Rounds: each member gains its weight in credit and takes a turn
         * per max_weight of credit, so the heaviest takes one every round
         * and the others in proportion. */
        for (uint32_t filled = 0; filled < M;) {
                for (uint32_t i = 0; i < n && filled < M; i++) {
                        m[i].credit += m[i].weight;
                        if (m[i].credit < max_weight)
                                continue;
                        m[i].credit -= max_weight;
                        uint32_t e;
                        do
                                e = (uint32_t)((m[i].offset + (uint64_t)m[i].next++ * m[i].step) % M);
                        while (table[e] != UINT32_MAX);
                        table[e] = m[i].pos;
                        filled++;
                }
        }
        len = M;
out:
        free(pos);
        free(weight);
        free(m);
        return len;
}

static int ip_hash_pick(void *data, const struct lbd_pick *pick) {
        const struct lbd_pool_host *h = pick->host;
        const uint64_t client = lbd_policy_mix64(pick->client_hash ^ UINT64_C(0x6a09e667f3bcc909));
        uint32_t len;
        const uint32_t *table = lbd_policy_table(pick, &len);
        if (table) {
                int r = lbd_policy_probe(pick, table, len, (uint32_t)(client % len),
                                         lbd_policy_step(client >> 20, len));
                if (r >= 0)
                        return r;
        }
        int best = -EAGAIN;
        uint64_t best_score = 0;
        uint32_t best_weight = 0;
        double best_ln = 0; /* -ln(u) of the best, once weighted */
        bool weighted = false;

        for (uint32_t i = 0; i < pick->count; i++) {
                if (!h->usable(pick, i))
                        continue;
                uint64_t s = score(client, h->key(pick, i));
                uint32_t w = h->weight(pick, i);
                if (best < 0) {
                        best = (int)i;
                        best_score = s;
                        best_weight = w;
                        continue;
                }
                if (!weighted) {
                        if (w == best_weight) {
                                if (s > best_score) {
                                        best = (int)i;
                                        best_score = s;
                                }
                                continue;
                        }
                        /* The first different weight: the best so far won
                         * among equals, so it is also the weighted best. */
                        weighted = true;
                        best_ln = neg_ln_of_score(best_score);
                }
                /* -ln(u) >= 1 - u: most backends lose already on that
                 * bound, and the logarithm is needed only for the few
                 * that come close (a dozen of 1,000, in the benchmark). */
                if (one_minus_u(s) * best_weight >= best_ln * w)
                        continue;
                double ln = neg_ln_of_score(s);
                if (ln * best_weight < best_ln * w) {
                        best = (int)i;
                        best_ln = ln;
                        best_weight = w;
                }
        }
        return best;
}

static const struct lbd_policy_ops ops = {
        .struct_size = sizeof(struct lbd_policy_ops),
        .pick = ip_hash_pick,
        .build = ip_hash_build,
};

/* Name and description: plugins/policy-ip-hash/meson.build. */
LBD_POLICY_PLUGIN(PLUGIN_NAME, PLUGIN_DESCRIPTION, ops, NULL,
                 NULL);
