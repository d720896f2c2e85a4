/* SPDX-License-Identifier: MIT */
/* The latency histogram: every sample in the bucket its bounds say, the
 * bounds as Prometheus shows them, percentiles within a bucket's width of
 * the exact ones, histograms that add up. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "latency-histogram.h"

static void bounds_are_two_per_octave(void **state) {
        (void)state;
        static const uint64_t first[] = { 16, 24, 32, 48, 64, 96, 128, 192, 256 };
        for (unsigned i = 0; i < sizeof first / sizeof first[0]; i++)
                assert_int_equal(lbd_hist_bound_us(i), first[i]);
        assert_int_equal(lbd_hist_bound_us(LBD_HIST_BUCKETS - 2), UINT64_C(1) << 26);
        assert_int_equal(lbd_hist_bound_us(LBD_HIST_BUCKETS - 1), UINT64_MAX);
        for (unsigned i = 1; i < LBD_HIST_BUCKETS; i++)
                assert_true(lbd_hist_bound_us(i) > lbd_hist_bound_us(i - 1));
}

static void every_sample_is_in_its_bucket(void **state) {
        (void)state;
        /* Each bound and its neighbours, over the whole range. */
        for (unsigned i = 0; i + 1 < LBD_HIST_BUCKETS; i++) {
                uint64_t b = lbd_hist_bound_us(i);
                assert_int_equal(lbd_hist_bucket(b), i);
                assert_int_equal(lbd_hist_bucket(b + 1), i + 1);
                if (i > 0)
                        assert_int_equal(lbd_hist_bucket(b - 1), b - 1 > lbd_hist_bound_us(i - 1)
                                                                         ? i
                                                                         : i - 1);
        }
        assert_int_equal(lbd_hist_bucket(0), 0);
        assert_int_equal(lbd_hist_bucket(UINT64_MAX), LBD_HIST_BUCKETS - 1);
        assert_int_equal(lbd_hist_bucket(UINT64_C(1) << 40), LBD_HIST_BUCKETS - 1);
        /* Every value between: bound(i-1) < v <= bound(i). */
        for (uint64_t v = 1; v < 200000; v += 7) {
                unsigned i = lbd_hist_bucket(v);
                assert_true(v <= lbd_hist_bound_us(i));
                if (i > 0)
                        assert_true(v > lbd_hist_bound_us(i - 1));
        }
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static void percentiles_are_within_a_bucket(void **state) {
        (void)state;
        static struct lbd_hist h;
        lbd_hist_reset(&h);
        enum { N = 20000 };
        uint64_t *v = malloc(N * sizeof *v);
        assert_non_null(v);
        srand(7);
        uint64_t sum = 0;
        for (int i = 0; i < N; i++) {
                /* Log-uniform from 50 µs to 500 ms, as latencies spread. */
                double e = 4 + 3.3 * ((double)rand() / RAND_MAX) * 3.0;
                v[i] = (uint64_t)(1u << 5) << (unsigned)(e - 4);
                v[i] += (uint64_t)rand() % v[i];
                lbd_hist_add(&h, v[i]);
                sum += v[i];
        }
        qsort(v, N, sizeof *v, cmp_u64);
        struct lbd_hist_counts c = { 0 };
        lbd_hist_read_into(&h, &c);
        assert_int_equal(lbd_hist_total(&c), N);
        assert_int_equal(c.sum_us, sum);
        static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
        for (unsigned k = 0; k < 4; k++) {
                uint64_t exact = v[(size_t)(qs[k] * N) - 1];
                uint64_t got = lbd_hist_quantile_us(&c, qs[k]);
                unsigned b = lbd_hist_bucket(exact);
                uint64_t lo = b ? lbd_hist_bound_us(b - 1) : 0, hi = lbd_hist_bound_us(b);
                assert_true(got >= lo && got <= hi);
        }
        free(v);
}

static void quantiles_of_few_samples(void **state) {
        (void)state;
        struct lbd_hist_counts c = { 0 };
        assert_int_equal(lbd_hist_quantile_us(&c, 0.5), 0);
        c.count[lbd_hist_bucket(1000)] = 1; /* (768, 1024] */
        uint64_t p = lbd_hist_quantile_us(&c, 0.5);
        assert_true(p > 768 && p <= 1024);
        assert_int_equal(lbd_hist_quantile_us(&c, 1.0), 1024);
        /* Longer than the last bound: "at least 2^26 µs". */
        memset(&c, 0, sizeof c);
        c.count[LBD_HIST_BUCKETS - 1] = 3;
        assert_int_equal(lbd_hist_quantile_us(&c, 0.99), UINT64_C(1) << 26);
}

static void histograms_add_up(void **state) {
        (void)state;
        static struct lbd_hist a, b;
        lbd_hist_reset(&a);
        lbd_hist_reset(&b);
        for (uint64_t v = 10; v < 100000; v *= 3) {
                lbd_hist_add(&a, v);
                lbd_hist_add(&b, v + 5);
        }
        struct lbd_hist_counts both = { 0 }, ca = { 0 }, cb = { 0 };
        lbd_hist_read_into(&a, &both);
        lbd_hist_read_into(&b, &both);
        lbd_hist_read_into(&a, &ca);
        lbd_hist_read_into(&b, &cb);
        lbd_hist_counts_add(&ca, &cb);
        assert_memory_equal(&ca, &both, sizeof both);
        assert_int_equal(lbd_hist_total(&both), 2 * 9);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(bounds_are_two_per_octave),
                cmocka_unit_test(every_sample_is_in_its_bucket),
                cmocka_unit_test(percentiles_are_within_a_bucket),
                cmocka_unit_test(quantiles_of_few_samples),
                cmocka_unit_test(histograms_add_up),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
