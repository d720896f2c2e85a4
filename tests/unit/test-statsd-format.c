/* SPDX-License-Identifier: MIT */
/* StatsD lines: counters, gauges, tags, timers from histogram deltas that
 * a statsd server counts as the right number of samples, and packets that
 * never pass LBD_STATSD_PACKET_MAX. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statsd-format.h"

static const char *packet(const struct lbd_statsd_batch *b, guint i) {
        assert_true(i < b->packets->len);
        return ((GString *)g_ptr_array_index(b->packets, i))->str;
}

static void counters_and_gauges(void **state) {
        (void)state;
        struct lbd_statsd_batch b;
        lbd_statsd_batch_init(&b, NULL);
        lbd_statsd_counter(&b, "lbd.requests", 12);
        lbd_statsd_counter(&b, "lbd.errors", 0); /* nothing for 0 */
        lbd_statsd_gauge(&b, "lbd.workers", 0);  /* a gauge of 0 is news */
        lbd_statsd_gauge(&b, "lbd.active_connections", 7);
        assert_int_equal(b.packets->len, 1);
        assert_string_equal(packet(&b, 0),
                            "lbd.requests:12|c\nlbd.workers:0|g\nlbd.active_connections:7|g");
        lbd_statsd_batch_clear(&b);
}

static void tags_go_with_every_line(void **state) {
        (void)state;
        struct lbd_statsd_batch b;
        lbd_statsd_batch_init(&b, "#env:prod,canary");
        lbd_statsd_counter(&b, "lbd.requests", 1);
        lbd_statsd_gauge(&b, "lbd.workers", 3);
        assert_string_equal(packet(&b, 0),
                            "lbd.requests:1|c|#env:prod,canary\nlbd.workers:3|g|#env:prod,canary");
        lbd_statsd_batch_clear(&b);
}

/* What a statsd server makes of a timer line: value and 1/rate samples. */
static void parse_timer(const char *line, double *ms, double *samples) {
        const char *colon = strchr(line, ':');
        assert_non_null(colon);
        *ms = strtod(colon + 1, NULL);
        const char *rate = strstr(line, "|@");
        *samples = rate ? 1.0 / strtod(rate + 2, NULL) : 1.0;
        /* digits and a dot only: etsy's statsd reads the rate so */
        if (rate)
                for (const char *c = rate + 2; *c && *c != '|' && *c != '\n'; c++)
                        assert_true((*c >= '0' && *c <= '9') || *c == '.');
}

static void timers_count_the_new_samples(void **state) {
        (void)state;
        struct lbd_hist_counts before = { 0 }, now = { 0 };
        before.count[lbd_hist_bucket(1000)] = 5;
        now.count[lbd_hist_bucket(1000)] = 5 + 3;     /* 3 new in (768, 1024] µs */
        now.count[lbd_hist_bucket(20000)] = 1;        /* 1 new in (16384, 24576] */
        now.count[lbd_hist_bucket(300)] = 12345;      /* many new in (256, 384] */
        struct lbd_statsd_batch b;
        lbd_statsd_batch_init(&b, NULL);
        lbd_statsd_timer(&b, "lbd.request.duration", &now, &before);
        assert_int_equal(b.packets->len, 1);
        char *text = g_strdup(packet(&b, 0));
        double total = 0;
        int lines = 0;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save), lines++) {
                assert_true(g_str_has_prefix(l, "lbd.request.duration:"));
                assert_non_null(strstr(l, "|ms"));
                double ms, n;
                parse_timer(l, &ms, &n);
                total += n;
                if (ms > 0.25 && ms < 0.4)
                        assert_true(n > 12344.99 && n < 12345.01);
                else if (ms > 0.7 && ms < 1.1)
                        assert_true(n > 2.99 && n < 3.01);
                else
                        assert_true(ms > 16 && ms < 25 && n == 1.0);
        }
        assert_int_equal(lines, 3);
        assert_true(total > 12348.9 && total < 12349.1);
        g_free(text);
        lbd_statsd_batch_clear(&b);
}

static void packets_stay_under_the_limit(void **state) {
        (void)state;
        struct lbd_statsd_batch b;
        lbd_statsd_batch_init(&b, "#env:prod");
        char name[64];
        for (int i = 0; i < 500; i++) {
                snprintf(name, sizeof name, "lbd.backend.web.10_0_0_%d_8000.requests", i);
                lbd_statsd_counter(&b, name, (uint64_t)i + 1);
        }
        assert_true(b.packets->len > 1);
        int seen = 0;
        for (guint i = 0; i < b.packets->len; i++) {
                const char *p = packet(&b, i);
                assert_true(strlen(p) <= LBD_STATSD_PACKET_MAX);
                assert_true(p[strlen(p) - 1] != '\n');
                for (const char *c = p; (c = strstr(c, "|c|#env:prod")); c++)
                        seen++;
        }
        assert_int_equal(seen, 500); /* no line lost or cut */
        lbd_statsd_batch_clear(&b);
}

static void names_are_sanitized(void **state) {
        (void)state;
        char out[64];
        lbd_statsd_sanitize(out, sizeof out, "127.0.0.1:8001");
        assert_string_equal(out, "127_0_0_1_8001");
        lbd_statsd_sanitize(out, sizeof out, "unix:/run/app.sock");
        assert_string_equal(out, "unix__run_app_sock");
        lbd_statsd_sanitize(out, sizeof out, "[::1]:80");
        assert_string_equal(out, "___1__80");
        lbd_statsd_sanitize(out, 5, "web-front");
        assert_string_equal(out, "web-");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(counters_and_gauges),
                cmocka_unit_test(tags_go_with_every_line),
                cmocka_unit_test(timers_count_the_new_samples),
                cmocka_unit_test(packets_stay_under_the_limit),
                cmocka_unit_test(names_are_sanitized),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
