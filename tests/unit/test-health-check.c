/* SPDX-License-Identifier: MIT */
/* The pure logic of the active health checks (health-state.h): HAProxy's
 * rise/fall state machine, the status line, the request, the reasons and
 * the schedule (spread of first checks, one check per interval). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "health-state.h"

/* ---- rise / fall ---------------------------------------------------------- */

/* Feed results ("+" passed, "-" failed); return the up/down trace after
 * each one ('U' or 'D') and count the transitions. */
static void run_trace(const char *results, unsigned rise, unsigned fall, char *trace,
                      unsigned *ret_changes) {
        struct lbd_health_state s;
        lbd_health_state_init(&s);
        unsigned changes = 0;
        size_t i = 0;
        for (; results[i]; i++) {
                enum lbd_health_transition t =
                        lbd_health_state_record(&s, results[i] == '+', rise, fall);
                if (t != LBD_HEALTH_UNCHANGED) {
                        changes++;
                        assert_true(t == (s.up ? LBD_HEALTH_WENT_UP : LBD_HEALTH_WENT_DOWN));
                }
                trace[i] = s.up ? 'U' : 'D';
        }
        trace[i] = 0;
        *ret_changes = changes;
}

static void test_starts_up(void **state) {
        (void)state;
        struct lbd_health_state s;
        lbd_health_state_init(&s);
        assert_true(s.up);
        assert_int_equal(s.count, 0);
}

static void test_fall_needs_consecutive_failures(void **state) {
        (void)state;
        char trace[64];
        unsigned changes;
        /* fall=3: two failures, a success, two failures: still up. */
        run_trace("--+--+", 2, 3, trace, &changes);
        assert_string_equal(trace, "UUUUUU");
        assert_int_equal(changes, 0);
        /* The third in a row takes it down, exactly then. */
        run_trace("+---", 2, 3, trace, &changes);
        assert_string_equal(trace, "UUUD");
        assert_int_equal(changes, 1);
}

static void test_rise_needs_consecutive_successes(void **state) {
        (void)state;
        char trace[64];
        unsigned changes;
        /* Down after 3, then rise=2: +-+ is not enough, ++ is. */
        run_trace("---+-+-++", 2, 3, trace, &changes);
        assert_string_equal(trace, "UUDDDDDDU");
        assert_int_equal(changes, 2);
        /* Further failures once down change nothing and log nothing. */
        run_trace("------", 2, 3, trace, &changes);
        assert_string_equal(trace, "UUDDDD");
        assert_int_equal(changes, 1);
}

static void test_rise_fall_one(void **state) {
        (void)state;
        char trace[64];
        unsigned changes;
        run_trace("-+-+", 1, 1, trace, &changes);
        assert_string_equal(trace, "DUDU");
        assert_int_equal(changes, 4);
        /* 0 counts as 1, not as "never". */
        run_trace("-+", 0, 0, trace, &changes);
        assert_string_equal(trace, "DU");
}

static void test_flapping_backend(void **state) {
        (void)state;
        /* Alternating results never reach fall=2 or rise=2: no change at
         * all, however long it goes on. */
        char results[201], trace[201];
        for (int i = 0; i < 200; i++)
                results[i] = i % 2 ? '+' : '-';
        results[200] = 0;
        unsigned changes;
        run_trace(results, 2, 2, trace, &changes);
        assert_int_equal(changes, 0);
}

/* ---- the status line -------------------------------------------------------- */

static int parse(const char *s, unsigned *status) {
        return lbd_health_parse_status_line(s, strlen(s), status);
}

static void test_status_line_valid(void **state) {
        (void)state;
        unsigned st = 0;
        assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &st), 0);
        assert_int_equal(st, 200);
        assert_int_equal(parse("HTTP/1.0 503 Service Unavailable\r\n", &st), 0);
        assert_int_equal(st, 503);
        /* No reason phrase, and a bare LF. */
        assert_int_equal(parse("HTTP/1.1 204\r\n", &st), 0);
        assert_int_equal(st, 204);
        assert_int_equal(parse("HTTP/1.1 404 \n", &st), 0);
        assert_int_equal(st, 404);
        assert_int_equal(parse("HTTP/1.1 301\n", &st), 0);
        assert_int_equal(st, 301);
}

static void test_status_line_incomplete(void **state) {
        (void)state;
        unsigned st = 12345;
        assert_int_equal(parse("", &st), -EAGAIN);
        assert_int_equal(parse("HTTP/1.1 20", &st), -EAGAIN);
        assert_int_equal(parse("HTTP/1.1 200 OK\r", &st), -EAGAIN);
        assert_int_equal(st, 12345); /* untouched */
        /* A line longer than the limit without an end is refused, not
         * waited on forever. */
        char long_line[LBD_HEALTH_STATUS_LINE_MAX + 10];
        memset(long_line, 'x', sizeof long_line);
        memcpy(long_line, "HTTP/1.1 200 ", 13);
        assert_int_equal(lbd_health_parse_status_line(long_line, sizeof long_line, &st),
                         -EBADMSG);
}

static void test_status_line_invalid(void **state) {
        (void)state;
        static const char *const bad[] = {
                "SSH-2.0-OpenSSH_9.2\r\n", "HTTP/2 200\r\n",  "HTTP/1.1 20x OK\r\n",
                "HTTP/1.1  200 OK\r\n",    "HTTP/1.1 2000\r\n", "HTTP/1.1 099 X\r\n",
                "HTTP/1.1 600 X\r\n",      "http/1.1 200 OK\r\n", "\r\n",
                "HTTP/1.1200 OK\r\n",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                unsigned st = 0;
                int r = parse(bad[i], &st);
                if (r != -EBADMSG)
                        print_error("accepted: %s", bad[i]);
                assert_int_equal(r, -EBADMSG);
        }
}

/* ---- request and reasons ------------------------------------------------------ */

static void test_request(void **state) {
        (void)state;
        g_autofree char *r = lbd_health_build_request("/healthz?full=1", "127.0.0.1:8001");
        assert_string_equal(r, "GET /healthz?full=1 HTTP/1.1\r\n"
                               "Host: 127.0.0.1:8001\r\n"
                               "Connection: close\r\n"
                               "User-Agent: lbd-health-check\r\n"
                               "\r\n");
        g_autofree char *u = lbd_health_build_request("/", NULL);
        assert_non_null(strstr(u, "\r\nHost: localhost\r\n"));
}

static void test_reasons(void **state) {
        (void)state;
        g_autofree char *a = lbd_health_reason_status(503, 200, 399);
        assert_string_equal(a, "health check: HTTP 503, expected 200-399");
        g_autofree char *b = lbd_health_reason_status(204, 200, 399);
        assert_string_equal(b, "health check: HTTP 204");
        g_autofree char *c = lbd_health_reason_errno(ECONNREFUSED);
        assert_string_equal(c, "health check: connection refused");
        g_autofree char *d = lbd_health_reason_errno(-ENOENT);
        assert_string_equal(d, "health check: no such file or directory");
        g_autofree char *e = lbd_health_reason_timeout(1);
        assert_string_equal(e, "health check: timed out after 1 s");
}

/* ---- the schedule ------------------------------------------------------------------ */

static void test_first_delay_in_range_and_stable(void **state) {
        (void)state;
        for (unsigned port = 8000; port < 8100; port++) {
                char addr[64];
                snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
                uint64_t d = lbd_health_first_delay_ms("web", addr, 2000);
                assert_true(d < 2000);
                /* The same backend keeps its phase (across reloads). */
                assert_int_equal(d, lbd_health_first_delay_ms("web", addr, 2000));
        }
        assert_int_equal(lbd_health_first_delay_ms("web", "127.0.0.1:1", 0), 0);
}

static void test_first_checks_spread(void **state) {
        (void)state;
        /* 1,000 backends on consecutive ports (the worst case for a weak
         * hash), interval 2 s in 20 buckets of 100 ms: each bucket should
         * get about 50; none gets a burst. */
        enum { N = 1000, BUCKETS = 20 };
        unsigned count[BUCKETS] = { 0 };
        for (unsigned i = 0; i < N; i++) {
                char addr[64];
                snprintf(addr, sizeof addr, "10.0.%u.%u:8000", i / 250, i % 250);
                count[lbd_health_first_delay_ms("web", addr, 2000) / 100]++;
        }
        for (unsigned b = 0; b < BUCKETS; b++) {
                if (count[b] < 20 || count[b] > 90)
                        print_error("bucket %u: %u of %u\n", b, count[b], N);
                assert_in_range(count[b], 20, 90);
        }
        /* Same ports under another service land elsewhere. */
        unsigned same = 0;
        for (unsigned port = 8000; port < 8100; port++) {
                char addr[64];
                snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
                same += lbd_health_first_delay_ms("web", addr, 2000) ==
                        lbd_health_first_delay_ms("api", addr, 2000);
        }
        assert_in_range(same, 0, 3);
}

static void test_next_start(void **state) {
        (void)state;
        /* A quick check: the next one interval after this one started. */
        assert_int_equal(lbd_health_next_start_ms(10000, 10005, 2000), 12000);
        /* A check that took longer than the interval (timeout 5 s,
         * interval 2 s): the missed turns are skipped, the phase kept, and
         * the next one is in the future. */
        assert_int_equal(lbd_health_next_start_ms(10000, 15000, 2000), 16000);
        assert_int_equal(lbd_health_next_start_ms(10000, 14000, 2000), 16000);
        assert_int_equal(lbd_health_next_start_ms(10000, 12000, 2000), 14000);
        /* Over a long run of slow checks, never more than one start per
         * interval. */
        uint64_t start = 0, prev = 0;
        for (int i = 0; i < 1000; i++) {
                uint64_t finished = start + (uint64_t)(i % 7) * 900u;
                uint64_t next = lbd_health_next_start_ms(start, finished, 2000);
                assert_true(next > finished);
                assert_true(next - start >= 2000);
                assert_int_equal(next % 2000, 0);
                prev = start;
                start = next;
        }
        assert_true(start > prev);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_starts_up),
                cmocka_unit_test(test_fall_needs_consecutive_failures),
                cmocka_unit_test(test_rise_needs_consecutive_successes),
                cmocka_unit_test(test_rise_fall_one),
                cmocka_unit_test(test_flapping_backend),
                cmocka_unit_test(test_status_line_valid),
                cmocka_unit_test(test_status_line_incomplete),
                cmocka_unit_test(test_status_line_invalid),
                cmocka_unit_test(test_request),
                cmocka_unit_test(test_reasons),
                cmocka_unit_test(test_first_delay_in_range_and_stable),
                cmocka_unit_test(test_first_checks_spread),
                cmocka_unit_test(test_next_start),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
