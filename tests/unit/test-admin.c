/* SPDX-License-Identifier: MIT */
/*
 * The admin listener's pure parts: Prometheus text (prometheus-format.h)
 * and the request line (admin-request.h). /metrics as a whole is checked
 * against real traffic, with Prometheus's own parser, in
 * tests/integration/test-admin.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin-request.h"
#include "prometheus-format.h"

static void test_family_and_samples(void **state) {
        g_autoptr(GString) out = g_string_new(NULL);
        lbd_prom_family(out, "lbd_backend_sessions_total", LBD_PROM_COUNTER, "Requests ended.");
        struct lbd_prom_labels l = { { "proxy" }, { "web" } };
        lbd_prom_sample(out, "lbd_backend_sessions_total", &l, 42);
        lbd_prom_sample(out, "lbd_process_workers", NULL, 3);
        struct lbd_prom_labels two = { { "proxy", "server" }, { "web", "127.0.0.1:8001" } };
        lbd_prom_sample_seconds(out, "lbd_server_downtime_seconds_total", &two, 1500000);
        lbd_prom_sample_seconds(out, "x", NULL, 7);
        assert_string_equal(out->str,
                            "# HELP lbd_backend_sessions_total Requests ended.\n"
                            "# TYPE lbd_backend_sessions_total counter\n"
                            "lbd_backend_sessions_total{proxy=\"web\"} 42\n"
                            "lbd_process_workers 3\n"
                            "lbd_server_downtime_seconds_total{proxy=\"web\",server=\"127.0.0.1:"
                            "8001\"} 1.500000\n"
                            "x 0.000007\n");
}

static void test_label_escapes(void **state) {
        g_autoptr(GString) out = g_string_new(NULL);
        lbd_prom_escape(out, "unix:/run/a\"b\\c\nd");
        assert_string_equal(out->str, "unix:/run/a\\\"b\\\\c\\nd");
        g_string_truncate(out, 0);
        struct lbd_prom_labels l = { { "server" }, { "a\"b" } };
        lbd_prom_sample(out, "m", &l, 1);
        assert_string_equal(out->str, "m{server=\"a\\\"b\"} 1\n");
}

static unsigned count_lines(const char *s, const char *needle) {
        unsigned n = 0;
        for (const char *p = s; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

/* Cumulative, in seconds, +Inf equal to _count; stride 2 keeps every other
 * bound and the last one. */
static void test_histogram(void **state) {
        struct lbd_hist_counts c = { 0 };
        c.count[lbd_hist_bucket(10)] = 2;      /* <= 16 µs */
        c.count[lbd_hist_bucket(20)] = 3;      /* <= 24 µs */
        c.count[lbd_hist_bucket(1000)] = 5;
        c.count[LBD_HIST_BUCKETS - 1] = 1;     /* longer than 67 s */
        c.sum_us = 2500000;
        g_autoptr(GString) out = g_string_new(NULL);
        struct lbd_prom_labels l = { { "proxy" }, { "web" } };
        lbd_prom_histogram(out, "t", &l, &c, 1);
        assert_non_null(strstr(out->str, "t_bucket{proxy=\"web\",le=\"0.000016\"} 2\n"));
        assert_non_null(strstr(out->str, "t_bucket{proxy=\"web\",le=\"0.000024\"} 5\n"));
        assert_non_null(strstr(out->str, "t_bucket{proxy=\"web\",le=\"+Inf\"} 11\n"));
        assert_non_null(strstr(out->str, "t_sum{proxy=\"web\"} 2.500000\n"));
        assert_non_null(strstr(out->str, "t_count{proxy=\"web\"} 11\n"));
        assert_int_equal(count_lines(out->str, "t_bucket"), LBD_HIST_BUCKETS);
        /* The last bounded bucket holds all but the one past it. */
        char last[96];
        uint64_t us = lbd_hist_bound_us(LBD_HIST_BUCKETS - 2);
        snprintf(last, sizeof last, "le=\"%llu.%06llu\"} 10\n",
                 (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
        assert_non_null(strstr(out->str, last));

        g_string_truncate(out, 0);
        lbd_prom_histogram(out, "t", NULL, &c, 2);
        assert_null(strstr(out->str, "le=\"0.000016\""));
        assert_non_null(strstr(out->str, "t_bucket{le=\"0.000024\"} 5\n"));
        assert_non_null(strstr(out->str, last));
        assert_int_equal(count_lines(out->str, "t_bucket"), (LBD_HIST_BUCKETS - 1) / 2 + 2);
        /* Never decreasing. */
        uint64_t prev = 0;
        for (const char *p = out->str; (p = strstr(p, "t_bucket")); p++) {
                const char *v = strchr(p, '}') + 2;
                uint64_t n = strtoull(v, NULL, 10);
                assert_true(n >= prev);
                prev = n;
        }
}

static struct lbd_admin_request parse(const char *text, int want) {
        struct lbd_admin_request r;
        assert_int_equal(lbd_admin_request_parse(text, strlen(text), &r), want);
        return r;
}

static void test_requests(void **state) {
        struct lbd_admin_request r = parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 1);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.page, LBD_ADMIN_METRICS);
        assert_false(r.head);
        r = parse("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n", 1);
        assert_int_equal((int)r.status, 0);
        assert_int_equal(r.page, LBD_ADMIN_METRICS);
        assert_true(r.head);
        r = parse("GET / HTTP/1.1\n\n", 1); /* bare LFs */
        assert_int_equal(r.page, LBD_ADMIN_STATUS_PAGE);
        r = parse("GET /index.html HTTP/1.1\r\n\r\n", 1);
        assert_int_equal(r.page, LBD_ADMIN_STATUS_PAGE);
        parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", 0); /* not yet */
        parse("", 0);

        static const struct {
                const char *text;
                unsigned status;
                const char *says;
        } bad[] = {
                { "POST /metrics HTTP/1.1\r\n\r\n", 405, "read-only" },
                { "DELETE / HTTP/1.1\r\n\r\n", 405, "GET and HEAD" },
                { "GET /metricsx HTTP/1.1\r\n\r\n", 404, "/metrics" },
                { "GET /metrics HTTP/2.0\r\n\r\n", 505, "HTTP/1.0" },
                { "GET /metrics\r\n\r\n", 400, "METHOD TARGET" },
                { "GARBAGE\r\n\r\n", 400, "METHOD TARGET" },
                { "G(T / HTTP/1.1\r\n\r\n", 400, "token" },
                { " / HTTP/1.1\r\n\r\n", 400, "METHOD TARGET" },
                { "GET  HTTP/1.1\r\n\r\n", 400, "METHOD TARGET" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                r = parse(bad[i].text, 1);
                assert_int_equal(r.status, bad[i].status);
                assert_non_null(strstr(r.reason, bad[i].says));
        }
        char big[LBD_ADMIN_HEAD_MAX];
        memset(big, 'a', sizeof big);
        memcpy(big, "GET /", 5);
        struct lbd_admin_request b;
        assert_int_equal(lbd_admin_request_parse(big, sizeof big, &b), 1);
        assert_int_equal(b.status, 431);
        assert_int_equal(lbd_admin_request_parse(big, sizeof big - 1, &b), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_family_and_samples),
                cmocka_unit_test(test_label_escapes),
                cmocka_unit_test(test_histogram),
                cmocka_unit_test(test_requests),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
