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
 */
#include <errno.h>
#include <string.h>

#include "lbd-plugin.h"

/* splitmix64's finaliser: every input bit flips about half the output bits,
 * so even a weak client hash or small backend keys give independent
 * scores. */
static inline uint64_t mix64(uint64_t x) {
        x ^= x >> 30;
        x *= UINT64_C(0xbf58476d1ce4e5b9);
        x ^= x >> 27;
        x *= UINT64_C(0x94d049bb133111eb);
        x ^= x >> 31;
        return x;
}

static inline uint64_t score(uint64_t client, uint64_t key) {
        return mix64(client ^ mix64(key + UINT64_C(0x9e3779b97f4a7c15)));
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

static int ip_hash_pick(void *data, const struct lbd_pick *pick) {
        const struct lbd_pool_host *h = pick->host;
        const uint64_t client = mix64(pick->client_hash ^ UINT64_C(0x6a09e667f3bcc909));
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
};

/* Name and description: plugins/policy-ip-hash/meson.build. */
LBD_POLICY_PLUGIN(PLUGIN_NAME, PLUGIN_DESCRIPTION, ops, NULL,
                 NULL);
