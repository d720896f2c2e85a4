/* SPDX-License-Identifier: MIT */
/* lbd_address_parse() and lbd_address_equal(): the forms administrators
 * write, their canonical text, and the sentence for every way to get one
 * wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "address.h"
#include "cleanup.h"

struct valid_case {
        const char *input;
        const char *text;  /* canonical form */
        int family;
        unsigned port;     /* 0 for unix */
};

static const struct valid_case valid_cases[] = {
        { "127.0.0.1:8001", "127.0.0.1:8001", AF_INET, 8001 },
        { "0.0.0.0:80", "0.0.0.0:80", AF_INET, 80 },
        { "10.0.0.11:1", "10.0.0.11:1", AF_INET, 1 },
        { "255.255.255.255:65535", "255.255.255.255:65535", AF_INET, 65535 },
        { "localhost:8080", "127.0.0.1:8080", AF_INET, 8080 },
        { "LocalHost:8080", "127.0.0.1:8080", AF_INET, 8080 },
        /* Leading zeros in the port are decimal, and dropped. */
        { "127.0.0.1:0080", "127.0.0.1:80", AF_INET, 80 },
        { "[::]:80", "[::]:80", AF_INET6, 80 },
        { "[::1]:443", "[::1]:443", AF_INET6, 443 },
        /* Canonical IPv6 is inet_ntop()'s compressed lowercase form. */
        { "[2001:DB8:0:0:0:0:0:1]:8000", "[2001:db8::1]:8000", AF_INET6, 8000 },
        { "[0:0:0:0:0:0:0:1]:1", "[::1]:1", AF_INET6, 1 },
        { "[::ffff:10.0.0.1]:80", "[::ffff:10.0.0.1]:80", AF_INET6, 80 },
        { "unix:/run/app.sock", "unix:/run/app.sock", AF_UNIX, 0 },
        { "unix:/var/www/myapp/myapp.sock", "unix:/var/www/myapp/myapp.sock", AF_UNIX, 0 },
        { "unix:/run//lbd///a.sock", "unix:/run/lbd/a.sock", AF_UNIX, 0 },
};

static void test_valid_forms(void **state) {
        for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
                const struct valid_case *c = &valid_cases[i];
                struct lbd_address a;
                _cleanup_free_ char *error = NULL;

                int r = lbd_address_parse(c->input, &a, &error);
                if (r != 0)
                        print_error("'%s': %s\n", c->input, error ? error : "(no message)");
                assert_int_equal(r, 0);
                assert_null(error);
                assert_string_equal(a.text, c->text);
                assert_int_equal(a.sa.ss_family, c->family);

                switch (c->family) {
                case AF_INET: {
                        const struct sockaddr_in *in = (const struct sockaddr_in *)&a.sa;
                        assert_int_equal(a.len, sizeof(struct sockaddr_in));
                        assert_int_equal(ntohs(in->sin_port), c->port);
                        break;
                }
                case AF_INET6: {
                        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.sa;
                        assert_int_equal(a.len, sizeof(struct sockaddr_in6));
                        assert_int_equal(ntohs(in6->sin6_port), c->port);
                        break;
                }
                case AF_UNIX: {
                        const struct sockaddr_un *un = (const struct sockaddr_un *)&a.sa;
                        /* The path is what the text says, and len covers it
                         * and its NUL. */
                        assert_string_equal(un->sun_path, c->text + strlen("unix:"));
                        assert_int_equal(a.len, offsetof(struct sockaddr_un, sun_path) +
                                                        strlen(un->sun_path) + 1);
                        break;
                }
                }
        }
}

static void test_ipv4_bytes(void **state) {
        struct lbd_address a;
        assert_int_equal(lbd_address_parse("10.1.2.3:8000", &a, NULL), 0);
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a.sa;
        assert_int_equal(ntohl(in->sin_addr.s_addr), 0x0a010203);

        assert_int_equal(lbd_address_parse("localhost:1", &a, NULL), 0);
        assert_int_equal(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
}

static void test_ipv6_bytes(void **state) {
        struct lbd_address a;
        assert_int_equal(lbd_address_parse("[::1]:80", &a, NULL), 0);
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.sa;
        assert_memory_equal(&in6->sin6_addr, &in6addr_loopback, sizeof(struct in6_addr));
}

struct invalid_case {
        const char *input;
        const char *message; /* a part of the sentence */
};

static const struct invalid_case invalid_cases[] = {
        { "", "address is empty" },
        { "127.0.0.1", "has no port" },
        { "not an address", "contains whitespace" },
        { "127.0.0.1: 80", "contains whitespace" },
        { "127.0.0.1:", "port is empty" },
        { "127.0.0.1:0", "port '0' is out of range 1-65535" },
        { "127.0.0.1:70000", "port '70000' is out of range 1-65535" },
        { "127.0.0.1:65536", "port '65536' is out of range 1-65535" },
        { "127.0.0.1:99999999999999999999999", "is out of range 1-65535" },
        { "127.0.0.1:-1", "port '-1' is not a decimal number" },
        { "127.0.0.1:+80", "port '+80' is not a decimal number" },
        { "127.0.0.1:0x50", "port '0x50' is not a decimal number" },
        { "127.0.0.1:http", "port 'http' is not a decimal number" },
        { "127.0.0.1:80abc", "port '80abc' is not a decimal number" },
        { "foo.example:80", "'foo.example' is not a numeric IPv4/IPv6 address (names are not resolved)" },
        { "example:80", "names are not resolved" },
        { "1.2.3:80", "'1.2.3' is not a numeric IPv4/IPv6 address" },
        { "256.1.1.1:80", "'256.1.1.1' is not a numeric" },
        { "010.0.0.1:80", "'010.0.0.1' is not a numeric" },
        { ":80", "host is empty" },
        { "::1:80", "must be written in brackets" },
        { "[::1]", "has no port after ']'" },
        { "[::1]80", "has no port after ']'" },
        { "[::1:80", "lacks the closing ']'" },
        { "[1.2.3.4]:80", "'1.2.3.4' is not a numeric IPv6 address" },
        { "[fe80::1%eth0]:80", "zone indices" },
        { "[]:80", "host is empty" },
        { "[::1]:0", "port '0' is out of range 1-65535" },
        { "unix:", "unix socket path is empty" },
        { "unix:run/a.sock", "unix socket path must be absolute" },
        { "unix:@abstract", "unix socket path must be absolute" },
        { "unix:/run/", "ends in '/'" },
        { "unix:/a\x01b", "control character" },
};

static void test_invalid_forms(void **state) {
        for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
                const struct invalid_case *c = &invalid_cases[i];
                struct lbd_address a;
                _cleanup_free_ char *error = NULL;

                int r = lbd_address_parse(c->input, &a, &error);
                if (r != -EINVAL || !error || !strstr(error, c->message))
                        print_error("'%s': r=%d, message '%s', wanted '%s'\n", c->input, r,
                                    error ? error : "(none)", c->message);
                assert_int_equal(r, -EINVAL);
                assert_non_null(error);
                assert_non_null(strstr(error, c->message));
        }
}

static void test_unix_path_length(void **state) {
        struct sockaddr_un un;
        size_t max = sizeof(un.sun_path) - 1; /* 107 on Linux */
        char path[256];
        char input[300];
        struct lbd_address a;

        assert_int_equal(max, 107);

        /* Exactly 107 bytes fits, with its NUL. */
        memset(path, 'a', sizeof(path));
        path[0] = '/';
        path[max] = '\0';
        snprintf(input, sizeof(input), "unix:%s", path);
        assert_int_equal(lbd_address_parse(input, &a, NULL), 0);
        assert_string_equal(a.text, input);

        /* 108 does not. */
        path[max] = 'a';
        path[max + 1] = '\0';
        snprintf(input, sizeof(input), "unix:%s", path);
        _cleanup_free_ char *error = NULL;
        assert_int_equal(lbd_address_parse(input, &a, &error), -EINVAL);
        assert_non_null(error);
        assert_non_null(strstr(error, "unix socket path is longer than 107 bytes"));
}

static void test_long_host(void **state) {
        char input[512];
        memset(input, '1', sizeof(input));
        memcpy(input + 400, ":80", 4);
        _cleanup_free_ char *error = NULL;
        struct lbd_address a;
        assert_int_equal(lbd_address_parse(input, &a, &error), -EINVAL);
        assert_non_null(strstr(error, "is not a numeric IPv4/IPv6 address"));

        input[0] = '[';
        memcpy(input + 400, "]:80", 5);
        _cleanup_free_ char *error6 = NULL;
        assert_int_equal(lbd_address_parse(input, &a, &error6), -EINVAL);
        assert_non_null(strstr(error6, "is not a numeric IPv6 address"));
}

static void test_untouched_on_failure(void **state) {
        struct lbd_address a, before;
        memset(&a, 0x5a, sizeof(a));
        before = a;
        assert_int_equal(lbd_address_parse("127.0.0.1:0", &a, NULL), -EINVAL);
        assert_memory_equal(&a, &before, sizeof(a));
        assert_int_equal(lbd_address_parse(NULL, &a, NULL), -EINVAL);
        assert_memory_equal(&a, &before, sizeof(a));
}

static void test_equal(void **state) {
        struct lbd_address a, b;

        assert_int_equal(lbd_address_parse("localhost:80", &a, NULL), 0);
        assert_int_equal(lbd_address_parse("127.0.0.1:80", &b, NULL), 0);
        assert_true(lbd_address_equal(&a, &b));

        assert_int_equal(lbd_address_parse("127.0.0.1:81", &b, NULL), 0);
        assert_false(lbd_address_equal(&a, &b));
        assert_int_equal(lbd_address_parse("127.0.0.2:80", &b, NULL), 0);
        assert_false(lbd_address_equal(&a, &b));
        /* Same port, other family. */
        assert_int_equal(lbd_address_parse("[::1]:80", &b, NULL), 0);
        assert_false(lbd_address_equal(&a, &b));

        assert_int_equal(lbd_address_parse("[2001:db8::1]:80", &a, NULL), 0);
        assert_int_equal(lbd_address_parse("[2001:DB8:0::1]:80", &b, NULL), 0);
        assert_true(lbd_address_equal(&a, &b));
        assert_int_equal(lbd_address_parse("[2001:db8::2]:80", &b, NULL), 0);
        assert_false(lbd_address_equal(&a, &b));

        assert_int_equal(lbd_address_parse("unix:/run/a.sock", &a, NULL), 0);
        assert_int_equal(lbd_address_parse("unix:/run//a.sock", &b, NULL), 0);
        assert_true(lbd_address_equal(&a, &b));
        assert_int_equal(lbd_address_parse("unix:/run/b.sock", &b, NULL), 0);
        assert_false(lbd_address_equal(&a, &b));
        assert_int_equal(lbd_address_parse("unix:/run/a.sockx", &b, NULL), 0);
        assert_false(lbd_address_equal(&a, &b));

        assert_true(lbd_address_equal(NULL, NULL));
        assert_false(lbd_address_equal(&a, NULL));
        assert_false(lbd_address_equal(NULL, &a));
}

/* An address filled in by the kernel (accept(), getsockname()) carries no
 * text and may have junk after the path; equality looks at the address. */
static void test_equal_kernel_form(void **state) {
        struct lbd_address parsed, kernel;
        assert_int_equal(lbd_address_parse("unix:/run/a.sock", &parsed, NULL), 0);

        memset(&kernel, 0x7f, sizeof(kernel));
        struct sockaddr_un *un = (struct sockaddr_un *)&kernel.sa;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, "/run/a.sock", strlen("/run/a.sock")); /* no NUL */
        kernel.len = offsetof(struct sockaddr_un, sun_path) + strlen("/run/a.sock");
        assert_true(lbd_address_equal(&parsed, &kernel));

        kernel.len -= 1; /* "/run/a.soc" */
        assert_false(lbd_address_equal(&parsed, &kernel));
}

/* The client address text of X-Forwarded-For and the access log: the same
 * as inet_ntop() for every IPv4 byte value in every position, and for IPv6;
 * "unix:" for anything else. */
static void test_ip_text(void **state) {
        char ours[LBD_ADDRESS_IP_TEXT_MAX], theirs[INET6_ADDRSTRLEN];
        for (unsigned v = 0; v < 256; v++) {
                for (unsigned pos = 0; pos < 4; pos++) {
                        uint8_t a[4] = { 1, 22, 133, 4 };
                        a[pos] = (uint8_t)v;
                        size_t n = lbd_address_ip_text(AF_INET, a, ours);
                        assert_non_null(inet_ntop(AF_INET, a, theirs, sizeof theirs));
                        assert_string_equal(ours, theirs);
                        assert_int_equal(n, strlen(theirs));
                }
        }
        uint8_t a255[4] = { 255, 255, 255, 255 };
        lbd_address_ip_text(AF_INET, a255, ours);
        assert_string_equal(ours, "255.255.255.255");
        uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
        assert_int_equal(lbd_address_ip_text(AF_INET6, v6, ours), strlen("2001:db8::1"));
        assert_string_equal(ours, "2001:db8::1");
        assert_int_equal(lbd_address_ip_text(AF_UNIX, NULL, ours), 5);
        assert_string_equal(ours, "unix:");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_forms),
                cmocka_unit_test(test_ipv4_bytes),
                cmocka_unit_test(test_ip_text),
                cmocka_unit_test(test_ipv6_bytes),
                cmocka_unit_test(test_invalid_forms),
                cmocka_unit_test(test_unix_path_length),
                cmocka_unit_test(test_long_host),
                cmocka_unit_test(test_untouched_on_failure),
                cmocka_unit_test(test_equal),
                cmocka_unit_test(test_equal_kernel_form),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
