/* SPDX-License-Identifier: MIT */
/* lbd_clock_hold(): a held clock does not move, per thread, and moves
 * again once released. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "clock.h"

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };
        while (nanosleep(&ts, &ts) != 0) {
        }
}

static void held_clock_does_not_move(void **state) {
        (void)state;
        uint64_t held = lbd_clock_hold(true);
        assert_true(held > 0);
        sleep_ms(3);
        assert_int_equal(lbd_now_us(), held);
        assert_int_equal(lbd_now_ms(), held / LBD_USEC_PER_MSEC);
        assert_int_equal(lbd_clock_hold(false), 0);
        assert_true(lbd_now_us() >= held + 3 * LBD_USEC_PER_MSEC);
}

static void holding_again_reads_afresh(void **state) {
        (void)state;
        uint64_t first = lbd_clock_hold(true);
        sleep_ms(2);
        uint64_t second = lbd_clock_hold(true);
        assert_true(second >= first + 2 * LBD_USEC_PER_MSEC);
        assert_int_equal(lbd_now_us(), second);
        (void)lbd_clock_hold(false);
}

static void *read_twice(void *arg) {
        uint64_t *moved = arg;
        uint64_t a = lbd_now_us();
        sleep_ms(2);
        *moved = lbd_now_us() - a;
        return NULL;
}

static void hold_is_per_thread(void **state) {
        (void)state;
        (void)lbd_clock_hold(true);
        uint64_t moved = 0;
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, read_twice, &moved), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
        (void)lbd_clock_hold(false);
        assert_true(moved >= 2 * LBD_USEC_PER_MSEC);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(held_clock_does_not_move),
                cmocka_unit_test(holding_again_reads_afresh),
                cmocka_unit_test(hold_is_per_thread),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
