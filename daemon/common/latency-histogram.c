/* SPDX-License-Identifier: MIT */
#include "latency-histogram.h"

#include <stdatomic.h>

#define FIRST_BOUND_LOG2 4u  /* the first bucket: up to 16 µs */
#define LAST_BOUND_LOG2 26u  /* the last bounded one: up to 2^26 µs */

unsigned lbd_hist_bucket(uint64_t us) {
        if (us <= (1u << FIRST_BOUND_LOG2))
                return 0;
        uint64_t w = us - 1; /* bounds are inclusive */
        unsigned e = 63u - (unsigned)__builtin_clzll(w);
        unsigned half = (unsigned)(w >> (e - 1)) & 1u;
        unsigned i = 1u + 2u * (e - FIRST_BOUND_LOG2) + half;
        return i < LBD_HIST_BUCKETS ? i : LBD_HIST_BUCKETS - 1;
}

uint64_t lbd_hist_bound_us(unsigned i) {
        if (i == 0)
                return 1u << FIRST_BOUND_LOG2;
        if (i >= LBD_HIST_BUCKETS - 1)
                return UINT64_MAX;
        unsigned e = FIRST_BOUND_LOG2 + (i - 1) / 2;
        return (i - 1) % 2 ? UINT64_C(1) << (e + 1) : UINT64_C(3) << (e - 1);
}

_Static_assert(LBD_HIST_BUCKETS == 2u * (LAST_BOUND_LOG2 - FIRST_BOUND_LOG2) + 2u,
               "two buckets per octave up to 2^26 us, and one unbounded");

void lbd_hist_add(struct lbd_hist *h, uint64_t us) {
        atomic_fetch_add_explicit(&h->count[lbd_hist_bucket(us)], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void lbd_hist_reset(struct lbd_hist *h) {
        for (unsigned i = 0; i < LBD_HIST_BUCKETS; i++)
                atomic_store_explicit(&h->count[i], 0, memory_order_relaxed);
        atomic_store_explicit(&h->sum_us, 0, memory_order_relaxed);
}

void lbd_hist_add_counts(struct lbd_hist *h, const struct lbd_hist_counts *c) {
        for (unsigned i = 0; i < LBD_HIST_BUCKETS; i++)
                if (c->count[i])
                        atomic_fetch_add_explicit(&h->count[i], c->count[i],
                                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&h->sum_us, c->sum_us, memory_order_relaxed);
}

void lbd_hist_read_into(const struct lbd_hist *h, struct lbd_hist_counts *into) {
        for (unsigned i = 0; i < LBD_HIST_BUCKETS; i++)
                into->count[i] += atomic_load_explicit(&h->count[i], memory_order_relaxed);
        into->sum_us += atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

void lbd_hist_counts_add(struct lbd_hist_counts *into, const struct lbd_hist_counts *c) {
        for (unsigned i = 0; i < LBD_HIST_BUCKETS; i++)
                into->count[i] += c->count[i];
        into->sum_us += c->sum_us;
}

uint64_t lbd_hist_total(const struct lbd_hist_counts *c) {
        uint64_t n = 0;
        for (unsigned i = 0; i < LBD_HIST_BUCKETS; i++)
                n += c->count[i];
        return n;
}

uint64_t lbd_hist_quantile_us(const struct lbd_hist_counts *c, double q) {
        uint64_t n = lbd_hist_total(c);
        if (n == 0)
                return 0;
        if (q > 1)
                q = 1;
        double want = q * (double)n; /* the rank sought, 1-based */
        if (want < 1)
                want = 1;
        uint64_t below = 0;
        for (unsigned i = 0; i < LBD_HIST_BUCKETS; i++) {
                uint64_t k = c->count[i];
                if (k == 0 || (double)(below + k) < want) {
                        below += k;
                        continue;
                }
                uint64_t lo = i ? lbd_hist_bound_us(i - 1) : 0;
                if (i == LBD_HIST_BUCKETS - 1)
                        return lo;
                uint64_t hi = lbd_hist_bound_us(i);
                double frac = (want - (double)below) / (double)k;
                return lo + (uint64_t)(frac * (double)(hi - lo) + 0.5);
        }
        return lbd_hist_bound_us(LBD_HIST_BUCKETS - 2);
}
