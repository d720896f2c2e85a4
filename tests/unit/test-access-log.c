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

#include <json-glib/json-glib.h>

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

/* A tcp connection of service "db": 8 MiB to the client, 17 bytes from it. */
static struct lbd_access_entry tcp_entry(void) {
        return (struct lbd_access_entry){
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
}

static void test_tcp_line(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = tcp_entry();
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

/* ---- access-log-format=json ------------------------------------------- */

#define ISO "2000-10-10T13:55:36-07:00"

static void test_json_http_line(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = http_entry();
        e.upstream_status = 200;
        e.connect_ms = 0;
        e.header_ms = 2;
        e.retries = 1;
        size_t n = lbd_access_log_format_json(buf, sizeof buf, &e, ISO);
        const char *want =
                "{\"time\":\"" ISO "\",\"protocol\":\"http\",\"service\":\"web\","
                "\"remote_addr\":\"192.0.2.7\",\"request\":\"GET /a?b=1 HTTP/1.1\","
                "\"status\":200,\"body_bytes_sent\":612,"
                "\"http_referer\":\"http://example.com/\",\"http_user_agent\":\"curl/8.0\","
                "\"upstream_addr\":\"127.0.0.1:8001\",\"upstream_status\":200,"
                "\"upstream_connect_time\":0.000,\"upstream_header_time\":0.002,"
                "\"upstream_response_time\":0.003,\"request_time\":1.234,\"retries\":1}\n";
        assert_string_equal(buf, want);
        assert_int_equal(n, strlen(want));
        /* lbd's own answer: no upstream, no headers: nulls. */
        e.upstream = NULL;
        e.referer = e.user_agent = NULL;
        e.status = 400;
        e.retries = 0;
        lbd_access_log_format_json(buf, sizeof buf, &e, ISO);
        assert_non_null(strstr(buf, "\"http_referer\":null,\"http_user_agent\":null,"
                                    "\"upstream_addr\":null,\"upstream_status\":null,"
                                    "\"upstream_connect_time\":null,"
                                    "\"upstream_header_time\":null,"
                                    "\"upstream_response_time\":null,"));
}

static void test_json_tcp_line(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = tcp_entry();
        e.connect_ms = 1;
        e.header_ms = -1;
        lbd_access_log_format_json(buf, sizeof buf, &e, ISO);
        assert_string_equal(buf, "{\"time\":\"" ISO "\",\"protocol\":\"tcp\","
                                 "\"service\":\"db\",\"remote_addr\":\"192.0.2.7\","
                                 "\"status\":200,\"bytes_sent\":8388608,\"bytes_received\":17,"
                                 "\"upstream_addr\":\"unix:/run/db.sock\","
                                 "\"upstream_connect_time\":0.001,\"request_time\":2.500,"
                                 "\"retries\":0}\n");
}

/* Whatever the client sent, the line parses as JSON, and a field says what
 * came, escaped byte by byte and cut to its limit. */
static void test_json_escapes_and_cuts(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        struct lbd_access_entry e = http_entry();
        static const char req[] = "GET /\"q\\\x01\xff HTTP/1.1";
        e.request = req;
        e.request_len = sizeof req - 1;
        size_t big = 10000;
        char *ua = malloc(big);
        assert_non_null(ua);
        for (size_t i = 0; i < big; i++)
                ua[i] = (char)(i % 3 ? 'a' : '"');
        e.user_agent = ua;
        e.user_agent_len = big;
        size_t n = lbd_access_log_format_json(buf, sizeof buf, &e, ISO);
        assert_true(n < LBD_ACCESS_LOG_LINE_MAX);
        assert_int_equal(buf[n - 1], '\n');
        assert_non_null(strstr(buf, "\"request\":\"GET /\\u0022q\\u005c\\u0001\\u00ff HTTP/1.1\""));
        JsonParser *p = json_parser_new();
        GError *error = NULL;
        assert_true(json_parser_load_from_data(p, buf, (gssize)n, &error));
        JsonObject *o = json_node_get_object(json_parser_get_root(p));
        const char *got_ua = json_object_get_string_member(o, "http_user_agent");
        assert_true(strlen(got_ua) <= LBD_ACCESS_LOG_HEADER_MAX);
        assert_true(g_str_has_suffix(got_ua, "..."));
        assert_int_equal(json_object_get_int_member(o, "status"), 200);
        assert_string_equal(json_object_get_string_member(o, "service"), "web");
        g_object_unref(p);
        free(ua);
}

/* Random bytes in every text field, 2,000 times (a fixed seed): each line is
 * one JSON object, and each field that was not cut decodes to exactly the
 * bytes sent, one code point U+00HH per byte that needed escaping. */
static bool decodes_to(const char *utf8, const char *bytes, size_t len) {
        const char *p = utf8;
        for (size_t i = 0; i < len; i++) {
                gunichar c = g_utf8_get_char(p);
                if (c != (unsigned char)bytes[i])
                        return false;
                p = g_utf8_next_char(p);
        }
        return *p == '\0';
}

static void test_json_random_bytes_parse(void **state) {
        char buf[LBD_ACCESS_LOG_LINE_MAX];
        char req[600], ua[600], ref[600];
        uint32_t seed = 12345;
        for (int round = 0; round < 2000; round++) {
                char *fields[3] = { req, ua, ref };
                size_t lens[3];
                for (int f = 0; f < 3; f++) {
                        seed = seed * 1103515245u + 12345u;
                        lens[f] = (seed >> 8) % sizeof req;
                        for (size_t i = 0; i < lens[f]; i++) {
                                seed = seed * 1103515245u + 12345u;
                                /* json-glib's strings end at a NUL: no \u0000 */
                                fields[f][i] = (char)((seed >> 16) % 255 + 1);
                        }
                }
                struct lbd_access_entry e = http_entry();
                e.request = req;
                e.request_len = lens[0];
                e.user_agent = ua;
                e.user_agent_len = lens[1];
                e.referer = ref;
                e.referer_len = lens[2];
                size_t n = lbd_access_log_format_json(buf, sizeof buf, &e, ISO);
                assert_int_equal(buf[n - 1], '\n');
                assert_null(memchr(buf, '\n', n - 1));
                JsonParser *p = json_parser_new();
                GError *error = NULL;
                if (!json_parser_load_from_data(p, buf, (gssize)n, &error))
                        fail_msg("round %d: %s in %s", round, error->message, buf);
                JsonObject *o = json_node_get_object(json_parser_get_root(p));
                static const char *const names[3] = { "request", "http_user_agent",
                                                      "http_referer" };
                for (int f = 0; f < 3; f++) {
                        JsonNode *v = json_object_get_member(o, names[f]);
                        assert_non_null(v);
                        if (lens[f] == 0 && f > 0) {
                                assert_true(JSON_NODE_HOLDS_NULL(v));
                                continue;
                        }
                        const char *got = json_node_get_string(v);
                        assert_non_null(got);
                        if (!g_str_has_suffix(got, "..."))
                                assert_true(decodes_to(got, fields[f], lens[f]));
                }
                g_object_unref(p);
        }
}

static void test_time_iso(void **state) {
        char out[LBD_ACCESS_LOG_TIME_SIZE];
        setenv("TZ", "UTC", 1);
        tzset();
        lbd_access_log_time_iso(971182536, out);
        assert_string_equal(out, "2000-10-10T12:55:36+00:00");
        setenv("TZ", "America/Los_Angeles", 1);
        tzset();
        lbd_access_log_time_iso(971182536, out);
        if (strcmp(out, "2000-10-10T12:55:36+00:00") != 0) /* tzdata present */
                assert_string_equal(out, "2000-10-10T05:55:36-07:00");
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
                cmocka_unit_test(test_json_http_line),
                cmocka_unit_test(test_json_tcp_line),
                cmocka_unit_test(test_json_escapes_and_cuts),
                cmocka_unit_test(test_json_random_bytes_parse),
                cmocka_unit_test(test_time_iso),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
