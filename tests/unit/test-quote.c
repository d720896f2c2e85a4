/* SPDX-License-Identifier: MIT */
/* common/quote.c: what an error message echoes of its input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quote.h"

static void test_short_printable_is_quoted_as_is(void **state) {
        assert_string_equal(LBD_QUOTE("web"), "'web'");
        assert_string_equal(LBD_QUOTE(""), "''");
        assert_string_equal(LBD_QUOTE(NULL), "(null)");
}

static void test_unprintable_bytes_are_escaped(void **state) {
        assert_string_equal(LBD_QUOTE("a\nb"), "'a\\x0ab'");
        assert_string_equal(LBD_QUOTE("\x1b[31mred"), "'\\x1b[31mred'");
        assert_string_equal(LBD_QUOTE("it's"), "'it\\x27s'");
        assert_string_equal(LBD_QUOTE("back\\slash"), "'back\\x5cslash'");
        assert_string_equal(LBD_QUOTE("caf\xc3\xa9"), "'caf\\xc3\\xa9'");
        assert_string_equal(LBD_QUOTE_N("a\0b", 3), "'a\\x00b'");
}

static void test_long_values_are_cut_with_their_length(void **state) {
        char exact[LBD_QUOTE_PREFIX + 1];
        memset(exact, 'x', LBD_QUOTE_PREFIX);
        exact[LBD_QUOTE_PREFIX] = '\0';
        char want[LBD_QUOTE_PREFIX + 3];
        snprintf(want, sizeof want, "'%s'", exact);
        assert_string_equal(LBD_QUOTE(exact), want); /* 64 bytes: whole */

        size_t len = 1 << 20;
        char *big = malloc(len + 1);
        assert_non_null(big);
        memset(big, 'a', len);
        big[len] = '\0';
        const char *q = LBD_QUOTE(big);
        char expected[LBD_QUOTE_SIZE];
        snprintf(expected, sizeof expected, "'%.*s...' (1048576 bytes)", LBD_QUOTE_PREFIX, big);
        assert_string_equal(q, expected);
        free(big);
}

static void test_the_buffer_holds_the_worst_case(void **state) {
        /* Every shown byte escaped, and a length of 20 digits. */
        size_t len = LBD_QUOTE_PREFIX + 10;
        char worst[LBD_QUOTE_PREFIX + 10];
        memset(worst, '\x01', len);
        char buf[LBD_QUOTE_SIZE];
        lbd_quote_n(buf, worst, len);
        assert_true(strlen(buf) < sizeof buf);
        assert_int_equal(strncmp(buf, "'\\x01\\x01", 9), 0);
        assert_non_null(strstr(buf, "...' (74 bytes)"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_short_printable_is_quoted_as_is),
                cmocka_unit_test(test_unprintable_bytes_are_escaped),
                cmocka_unit_test(test_long_values_are_cut_with_their_length),
                cmocka_unit_test(test_the_buffer_holds_the_worst_case),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
