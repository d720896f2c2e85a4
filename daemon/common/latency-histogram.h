/* SPDX-License-Identifier: MIT */
/*
 * Latency histograms with fixed, log-scaled buckets: two per octave from
 * 16 µs to 2^26 µs (67 s), then one for everything longer. Percentiles are
 * read from the counts, no sample is stored, and the bounds are the same
 * for every histogram in every process, so histograms add up (a service's
 * is the sum of its backends') and their buckets are Prometheus's `le`.
 *
 * Bucket i counts the samples v with bound(i - 1) < v <= bound(i) (the
 * first from 0): bounds 16, 24, 32, 48, 64, 96, ... µs. A percentile is
 * interpolated linearly inside its bucket, so it is off by at most the
 * bucket's width (a third of its value).
 *
 * Writers (workers) add with relaxed atomics, readers (the master) copy the
 * counts with relaxed loads: a copy taken while samples come may be one
 * sample apart between a bucket and the sum, never wrong by more.
 */
#pragma once

#include <stdint.h>

#define LBD_HIST_BUCKETS 46u /* 45 bounded, the last unbounded (+Inf) */

struct lbd_hist {
        _Atomic uint64_t count[LBD_HIST_BUCKETS];
        _Atomic uint64_t sum_us;
};

/* A copy, for reading. */
struct lbd_hist_counts {
        uint64_t count[LBD_HIST_BUCKETS];
        uint64_t sum_us;
};

/* The bucket of a sample of us microseconds. */
unsigned lbd_hist_bucket(uint64_t us);
/* Bucket i's upper bound in µs; UINT64_MAX for the last. */
uint64_t lbd_hist_bound_us(unsigned i);

void lbd_hist_add(struct lbd_hist *h, uint64_t us);
void lbd_hist_reset(struct lbd_hist *h);
/* Add a copy's counts to h (atomics). */
void lbd_hist_add_counts(struct lbd_hist *h, const struct lbd_hist_counts *c);
/* Add h's counts to *into (a copy that may already hold others). */
void lbd_hist_read_into(const struct lbd_hist *h, struct lbd_hist_counts *into);
void lbd_hist_counts_add(struct lbd_hist_counts *into, const struct lbd_hist_counts *c);
uint64_t lbd_hist_total(const struct lbd_hist_counts *c);
/* The q-quantile (0 < q <= 1) in µs, interpolated in its bucket; 0 when
 * there is no sample. A quantile in the last bucket is its lower bound
 * (2^26 µs): "longer than that". */
uint64_t lbd_hist_quantile_us(const struct lbd_hist_counts *c, double q);
