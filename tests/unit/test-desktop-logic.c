/* SPDX-License-Identifier: MIT */
/* lbd-desktop's pure logic: rates from the counters lbd signals (rate.c)
 * and the words the rows show (describe.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "describe.h"
#include "rate.h"
#include "typed.h"

#define S G_USEC_PER_SEC

static void assert_rate(const LbdRate *r, gint64 now, double want) {
        double got = lbd_rate_per_second(r, now);
        if (fabs(got - want) > 1e-9)
                fail_msg("rate at %.1f s: %f, wanted %f", (double)now / S, got, want);
}

static void test_no_rate_before_two_samples(void **state) {
        LbdRate r = {0};
        assert_rate(&r, 10 * S, 0.0);
        /* The first sample is the counter since lbd started, not traffic
         * seen: no rate from it alone. */
        lbd_rate_add(&r, 10 * S, 5000);
        assert_rate(&r, 10 * S, 0.0);
        assert_rate(&r, 12 * S, 0.0);
}

static void test_steady_traffic(void **state) {
        LbdRate r = {0};
        /* 100 requests/s, signalled twice a second as lbd throttles. */
        for (int i = 0; i <= 40; i++)
                lbd_rate_add(&r, 10 * S + i * S / 2, 1000 + (guint64)i * 50);
        assert_rate(&r, 30 * S, 100.0);
        /* Shorter history than the window: since the first sample. */
        LbdRate young = {0};
        lbd_rate_add(&young, 10 * S, 0);
        lbd_rate_add(&young, 11 * S, 30);
        assert_rate(&young, 12 * S, 15.0); /* 30 over the 2 s since */
}

static void test_stopped_traffic_decays_to_zero(void **state) {
        LbdRate r = {0};
        lbd_rate_add(&r, 10 * S, 0);
        lbd_rate_add(&r, 11 * S, 100);
        /* No signal after 11 s: the counter stays at 100. */
        assert_rate(&r, 13 * S, 100.0 / 3);          /* 100 over 10..13 */
        assert_rate(&r, 15 * S, 100.0 / 5);          /* the window is 10..15 */
        assert_rate(&r, 16 * S - S / 10, 100.0 / 5); /* 10.9..15.9: the step at 11 s in */
        assert_rate(&r, 16 * S, 0.0);                /* 11..16: at 11 s it was 100 already */
        assert_rate(&r, 60 * S, 0.0);
}

static void test_a_counter_going_back_starts_afresh(void **state) {
        LbdRate r = {0};
        lbd_rate_add(&r, 10 * S, 1000);
        lbd_rate_add(&r, 11 * S, 1100);
        /* lbd restarted: counters from 0. */
        lbd_rate_add(&r, 12 * S, 10);
        assert_rate(&r, 12 * S, 0.0);
        lbd_rate_add(&r, 13 * S, 30);
        assert_rate(&r, 13 * S, 20.0);
}

static void test_more_samples_than_kept(void **state) {
        LbdRate r = {0};
        /* 1,000 changes within one window (more than lbd sends): the
         * oldest sample, which anchors the window, is kept. */
        for (int i = 0; i < 1000; i++)
                lbd_rate_add(&r, 10 * S + i * 1000, (guint64)i * 2);
        assert_true(r.count <= LBD_RATE_SAMPLES);
        /* 1998 over 10 s .. 11.999 s, read at 12 s */
        assert_rate(&r, 12 * S, 1998.0 / 2.0);
}

static void test_rates_in_words(void **state) {
        g_autofree char *zero = lbd_describe_rate(0.0);
        g_autofree char *small = lbd_describe_rate(12.345);
        g_autofree char *big = lbd_describe_rate(1234.6);
        g_autofree char *tiny = lbd_describe_rate(0.01);
        assert_string_equal(zero, "0");
        assert_string_equal(small, "12.3");
        assert_string_equal(big, "1235");
        assert_string_equal(tiny, "0");
}

static void test_rows_in_words(void **state) {
        const char *listen[] = {"127.0.0.1:8080", "[::1]:8080", NULL};
        g_autofree char *service = lbd_describe_service("http", "least_conn", listen);
        assert_string_equal(service, "http \u00b7 least_conn \u00b7 127.0.0.1:8080, [::1]:8080");
        g_autofree char *none = lbd_describe_service(NULL, "", NULL);
        assert_string_equal(none, "\u2014 \u00b7 \u2014 \u00b7 \u2014");

        g_autofree char *up = lbd_describe_backend(NULL, "", 2, FALSE, 0, 3, 12.5, 0.0);
        assert_string_equal(up, "weight 2 \u00b7 3 active \u00b7 12.5 req/s \u00b7 0 errors/s");
        g_autofree char *down =
                lbd_describe_backend("health check: HTTP 503", NULL, 1, TRUE, 10, 4, 0.0, 1.5);
        assert_string_equal(down, "health check: HTTP 503 \u00b7 backup \u00b7 weight 1 \u00b7 "
                                  "4 of 10 active \u00b7 0 req/s \u00b7 1.5 errors/s");

        g_autofree char *etcd = lbd_describe_backend(NULL, "etcd:/lbd/", 1, FALSE, 0, 0, 0, 0);
        assert_string_equal(etcd, "from etcd:/lbd/ \u00b7 weight 1 \u00b7 0 active \u00b7 0 req/s "
                                  "\u00b7 0 errors/s");
        g_autoptr(GVariant) no_states = g_variant_ref_sink(g_variant_new_parsed("@a{ss} {}"));
        g_autoptr(GVariant) two =
                g_variant_ref_sink(g_variant_new_parsed("{'VI_1': 'MASTER', 'VI_2': 'BACKUP'}"));
        g_autofree char *no_report = lbd_describe_failover(no_states);
        g_autofree char *reports = lbd_describe_failover(two);
        assert_string_equal(no_report, "not reported");
        assert_string_equal(reports, "VI_1 MASTER, VI_2 BACKUP");
        g_autofree char *nothing = lbd_describe_failover(NULL);
        assert_string_equal(nothing, "not reported");

        const char *ports[] = {"eth1", "eth2", NULL};
        g_autofree char *bond = lbd_describe_link("bond", "802.3ad", ports, "activated", TRUE);
        assert_string_equal(bond, "bond \u00b7 802.3ad \u00b7 eth1, eth2 \u00b7 activated");
        g_autofree char *outside = lbd_describe_link("team", "lacp", NULL, "disconnected", FALSE);
        assert_string_equal(
                outside,
                "team \u00b7 lacp \u00b7 \u2014 \u00b7 disconnected \u00b7 made outside lbd");
}

static void test_typed_values(void **state) {
        g_autoptr(GVariant) list = g_variant_ref_sink(lbd_typed_list(" eth0, eth1\teth2,,"));
        g_autofree char *text = g_variant_print(list, FALSE);
        assert_string_equal(text, "['eth0', 'eth1', 'eth2']");
        g_autoptr(GVariant) empty = g_variant_ref_sink(lbd_typed_list(""));
        assert_int_equal(g_variant_n_children(empty), 0);

        guint32 n = 7;
        assert_true(lbd_typed_uint(" 42 ", &n));
        assert_int_equal(n, 42);
        assert_true(lbd_typed_uint("4294967295", &n));
        assert_int_equal(n, 4294967295u);
        n = 7;
        assert_false(lbd_typed_uint("4294967296", &n));
        assert_false(lbd_typed_uint("-1", &n));
        assert_false(lbd_typed_uint("3x", &n));
        assert_false(lbd_typed_uint("", &n));
        assert_int_equal(n, 7); /* untouched on failure */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_no_rate_before_two_samples),
                cmocka_unit_test(test_steady_traffic),
                cmocka_unit_test(test_stopped_traffic_decays_to_zero),
                cmocka_unit_test(test_a_counter_going_back_starts_afresh),
                cmocka_unit_test(test_more_samples_than_kept),
                cmocka_unit_test(test_rates_in_words),
                cmocka_unit_test(test_rows_in_words),
                cmocka_unit_test(test_typed_values),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
