/* SPDX-License-Identifier: MIT */
/* lbd_access_log_format() and lbd_access_log_time_local(): the exact lines
 * of access-log.h, escaping, cuts, and the bounds of the buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access-log.h"

#define T "10/Oct/2000:13:55:36 -0700"

static const uint8_t v4[4] = { 192, 0, 2, 7 };

static struct lbd_access_entry http_entry(void) {
        static const char req[] = "GET /a?b=1 HTTP/1.1";
        static const char ref[] = "http://example.com/";
        static const char ua[] = "curl/8.0";
        return (struct lbd_access_entry){
                .client_family = AF_INET,
                .client_addr = v4,
                .service = "web",
                .request = req,
                .request_len = sizeof req - 1,
                .referer = ref,
                .referer_len = sizeof ref - 1,
                .user_agent = ua,
                .user_agent_len = sizeof ua - 1,
                .status = 200,
                .bytes_sent = 612,
                .upstream = "127.0.0.1:8001",
                .upstream_ms = 3,
                .request_ms = 1234,
        };
}

static void test_http_line(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = http_entry();
        size_t n = lbd_access_log_format(buf, sizeof buf, &e, T);
        const char *want = "192.0.2.7 - - [" T "] \"GET /a?b=1 HTTP/1.1\" 200 612 "
                           "\"http://example.com/\" \"curl/8.0\" upstream=127.0.0.1:8001 "
                           "upstream_time=0.003 request_time=1.234\n";
        assert_string_equal(buf, want);
        assert_int_equal(n, strlen(want));
}

static void test_no_upstream_no_headers(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = http_entry();
        e.referer = e.user_agent = NULL;
        e.upstream = NULL;
        e.upstream_ms = 5; /* ignored without an upstream */
        e.status = 400;
        e.bytes_sent = 0;
        e.request_ms = 0;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_string_equal(buf, "192.0.2.7 - - [" T "] \"GET /a?b=1 HTTP/1.1\" 400 0 \"-\" "
                                 "\"-\" upstream=- upstream_time=- request_time=0.000\n");
        e.request = NULL;
        e.request_len = 0;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_string_equal(buf, "192.0.2.7 - - [" T "] \"-\" 400 0 \"-\" \"-\" upstream=- "
                                 "upstream_time=- request_time=0.000\n");
}

static void test_times(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = http_entry();
        e.upstream_ms = 0;
        e.request_ms = 61001;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_non_null(strstr(buf, " upstream_time=0.000 request_time=61.001\n"));
        e.upstream_ms = -1;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_non_null(strstr(buf, " upstream_time=- request_time=61.001\n"));
}

static void test_escaping(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = http_entry();
        static const char req[] = "GET /\"q\\\x01\x7f\xc3\xa9 HTTP/1.1";
        e.request = req;
        e.request_len = sizeof req - 1;
        static const char ua[] = "a\" b";
        e.user_agent = ua;
        e.user_agent_len = 4;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_non_null(strstr(buf, "\"GET /\\x22q\\x5C\\x01\\x7F\\xC3\\xA9 HTTP/1.1\" 200 "));
        assert_non_null(strstr(buf, "\"a\\x22 b\" upstream="));
}

static void test_clients(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = http_entry();
        struct in6_addr a6;
        assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &a6), 1);
        e.client_family = AF_INET6;
        e.client_addr = a6.s6_addr;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_true(strncmp(buf, "2001:db8::1 - - [", 17) == 0);
        e.client_family = AF_UNIX;
        e.client_addr = NULL;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_true(strncmp(buf, "unix: - - [", 11) == 0);
}

static void test_tcp_line(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = {
                .tcp = true,
                .client_family = AF_INET,
                .client_addr = v4,
                .service = "db",
                .status = 200,
                .bytes_sent = 8388608,
                .bytes_received = 17,
                .upstream = "unix:/run/db.sock",
                .upstream_ms = 1,
                .request_ms = 2500,
        };
        lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_string_equal(buf, "192.0.2.7 - - [" T "] \"TCP db\" 200 8388608 17 "
                                 "upstream=unix:/run/db.sock upstream_time=0.001 "
                                 "request_time=2.500\n");
        e.status = 502;
        e.upstream = NULL;
        e.bytes_sent = e.bytes_received = 0;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_string_equal(buf, "192.0.2.7 - - [" T "] \"TCP db\" 502 0 0 upstream=- "
                                 "upstream_time=- request_time=2.500\n");
}

/* Huge fields are cut to their limits, with "...", and the line fits. */
static void test_cuts(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        size_t big = 10000;
        char *plain = malloc(big), *binary = malloc(big);
        assert_non_null(plain);
        assert_non_null(binary);
        memset(plain, 'a', big);
        memset(binary, '\x01', big);
        struct lbd_access_entry e = http_entry();
        e.request = plain;
        e.request_len = big;
        e.referer = binary;
        e.referer_len = big;
        e.user_agent = binary;
        e.user_agent_len = big;
        size_t n = lbd_access_log_format(buf, sizeof buf, &e, T);
        assert_true(n < LBD_ACCESS_LOG_LINE_MAX);
        assert_int_equal(buf[n - 1], '\n');
        assert_int_equal(strlen(buf), n);
        const char *r = strchr(buf, '"') + 1;
        const char *r_end = strchr(r, '"');
        assert_int_equal(r_end - r, LBD_ACCESS_LOG_REQUEST_MAX);
        assert_memory_equal(r_end - 3, "...", 3);
        const char *ref = strchr(r_end + 1, '"') + 1;
        const char *ref_end = strchr(ref, '"');
        assert_true(ref_end - ref <= (long)LBD_ACCESS_LOG_HEADER_MAX);
        assert_true(ref_end - ref > (long)LBD_ACCESS_LOG_HEADER_MAX - 8);
        assert_memory_equal(ref_end - 3, "...", 3);
        assert_non_null(strstr(buf, " upstream=127.0.0.1:8001 upstream_time=0.003 "
                                    "request_time=1.234\n"));
        /* exactly at the limit: not cut */
        e.request_len = LBD_ACCESS_LOG_REQUEST_MAX;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        r = strchr(buf, '"') + 1;
        r_end = strchr(r, '"');
        assert_int_equal(r_end - r, LBD_ACCESS_LOG_REQUEST_MAX);
        assert_int_equal(r_end[-1], 'a');
        /* one byte over: cut, with "..." (all plain, so no escape to see it) */
        e.request_len = LBD_ACCESS_LOG_REQUEST_MAX + 1;
        lbd_access_log_format(buf, sizeof buf, &e, T);
        r = strchr(buf, '"') + 1;
        r_end = strchr(r, '"');
        assert_int_equal(r_end - r, LBD_ACCESS_LOG_REQUEST_MAX);
        assert_memory_equal(r_end - 3, "...", 3);
        free(plain);
        free(binary);
}

/* A buffer too small for the line: cut, still ending in '\n', NUL-terminated,
 * nothing written past cap. */
static void test_small_buffer(void **state) {
        char buf[40];
        memset(buf, 'X', sizeof buf);
        struct lbd_access_entry e = http_entry();
        size_t n = lbd_access_log_format(buf, 20, &e, T);
        assert_int_equal(n, 19);
        assert_int_equal(buf[18], '\n');
        assert_int_equal(buf[19], '\0');
        assert_int_equal(buf[20], 'X');
        n = lbd_access_log_format(buf, 1, &e, T);
        assert_int_equal(n, 0);
        assert_int_equal(buf[0], '\0');
}

static void test_time_local(void **state) {
        char out[LBD_ACCESS_LOG_TIME_SIZE];
        setenv("TZ", "UTC0", 1);
        tzset();
        lbd_access_log_time_local(0, out);
        assert_string_equal(out, "01/Jan/1970:00:00:00 +0000");
        lbd_access_log_time_local(971185536, out);
        assert_string_equal(out, "10/Oct/2000:13:45:36 +0000");
        setenv("TZ", "XST7", 1);
        tzset();
        lbd_access_log_time_local(971185536, out);
        assert_string_equal(out, "10/Oct/2000:06:45:36 -0700");
        setenv("TZ", "YST-5:30", 1);
        tzset();
        lbd_access_log_time_local(971185536, out);
        assert_string_equal(out, "10/Oct/2000:19:15:36 +0530");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_http_line),
                cmocka_unit_test(test_no_upstream_no_headers),
                cmocka_unit_test(test_times),
                cmocka_unit_test(test_escaping),
                cmocka_unit_test(test_clients),
                cmocka_unit_test(test_tcp_line),
                cmocka_unit_test(test_cuts),
                cmocka_unit_test(test_small_buffer),
                cmocka_unit_test(test_time_local),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
