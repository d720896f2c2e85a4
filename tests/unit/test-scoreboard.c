/* SPDX-License-Identifier: MIT */
/* The scoreboard's fair share: which worker keeps accepting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "scoreboard.h"

#define NOW 1000000u

static struct lbd_scoreboard *board(const uint32_t *conns, const uint32_t *stopping, unsigned n) {
        struct lbd_scoreboard *sb = lbd_scoreboard_new();
        assert_non_null(sb);
        for (unsigned i = 0; i < n; i++) {
                atomic_store(&sb->slots[i].heartbeat_ms, NOW);
                atomic_store(&sb->slots[i].connections, conns[i]);
                atomic_store(&sb->slots[i].stopping, stopping ? stopping[i] : 0);
        }
        atomic_store(&sb->high, n);
        return sb;
}

static void test_even_load_is_fair(void **state) {
        uint32_t conns[] = { 50, 50, 50 };
        struct lbd_scoreboard *sb = board(conns, NULL, 3);
        for (unsigned i = 0; i < 3; i++)
                assert_true(lbd_scoreboard_fair_share(sb, i, NOW));
        lbd_scoreboard_free(sb);
}

static void test_worker_over_its_share_stops_accepting(void **state) {
        uint32_t conns[] = { 100, 10, 10 };
        struct lbd_scoreboard *sb = board(conns, NULL, 3);
        assert_false(lbd_scoreboard_fair_share(sb, 0, NOW));
        assert_true(lbd_scoreboard_fair_share(sb, 1, NOW));
        lbd_scoreboard_free(sb);
}

/* In a storm two workers can be over their shares at once; the one with
 * fewer connections than the other stays in the queue, and one that is
 * out of the queue does not count as somebody taking it. */
static void test_queue_never_left_alone(void **state) {
        uint32_t conns[] = { 300, 100, 0 };
        struct lbd_scoreboard *sb = board(conns, NULL, 3);
        /* Worker 2 is new and has not looked yet: it counts as in. */
        assert_false(lbd_scoreboard_fair_share(sb, 0, NOW));
        assert_int_equal(atomic_load(&sb->slots[0].out_of_queue), 1);
        /* Worker 1 is over the average too (133), but worker 2, with fewer,
         * is in the queue. */
        atomic_store(&sb->slots[1].connections, 200);
        assert_false(lbd_scoreboard_fair_share(sb, 1, NOW));
        /* Worker 2 is under: in. */
        assert_true(lbd_scoreboard_fair_share(sb, 2, NOW));
        assert_int_equal(atomic_load(&sb->slots[2].out_of_queue), 0);
        /* Now worker 2 takes the storm and goes over: the two with fewer
         * connections are both out of the queue, so it stays. */
        atomic_store(&sb->slots[2].connections, 900);
        assert_true(lbd_scoreboard_fair_share(sb, 2, NOW));
        /* Worker 1 looks again (its 100 ms): under the average, back in;
         * then worker 2 may step out. */
        assert_true(lbd_scoreboard_fair_share(sb, 1, NOW));
        assert_false(lbd_scoreboard_fair_share(sb, 2, NOW));
        lbd_scoreboard_free(sb);
}

static void test_quiet_daemon_has_slack(void **state) {
        uint32_t conns[] = { 2, 0, 0 };
        struct lbd_scoreboard *sb = board(conns, NULL, 3);
        assert_true(lbd_scoreboard_fair_share(sb, 0, NOW));
        lbd_scoreboard_free(sb);
}

/* After a reload the previous generation's workers finish their last
 * connections: counted, they would pull the average down until every
 * accepting worker is "over its share" and nobody accepts. */
static void test_stopping_workers_are_left_out(void **state) {
        uint32_t conns[] = { 0, 0, 50, 50 };
        uint32_t stopping[] = { 1, 1, 0, 0 };
        struct lbd_scoreboard *sb = board(conns, stopping, 4);
        assert_true(lbd_scoreboard_fair_share(sb, 2, NOW));
        assert_true(lbd_scoreboard_fair_share(sb, 3, NOW));
        lbd_scoreboard_free(sb);
}

static void test_silent_slots_are_left_out(void **state) {
        uint32_t conns[] = { 0, 0, 50 };
        struct lbd_scoreboard *sb = board(conns, NULL, 3);
        atomic_store(&sb->slots[0].heartbeat_ms, NOW - 5000);
        atomic_store(&sb->slots[1].heartbeat_ms, 0);
        assert_true(lbd_scoreboard_fair_share(sb, 2, NOW));
        lbd_scoreboard_free(sb);
}

/* How many times the queue fd was written since the last look (an
 * eventfd: one read gives the count and clears it). */
static uint64_t kicks(const struct lbd_scoreboard *sb) {
        uint64_t n = 0;
        if (read(sb->queue_fd, &n, sizeof n) != (ssize_t)sizeof n)
                return 0; /* EAGAIN: none */
        return n;
}

/* A worker over its share tells the others (the queue fd) when it leaves
 * the queue, and, at most every few milliseconds, while it stays in it over
 * its share; a worker within its share never does. */
static void test_over_share_wakes_the_others(void **state) {
        uint32_t conns[] = { 100, 10, 10 };
        struct lbd_scoreboard *sb = board(conns, NULL, 3);
        assert_true(sb->queue_fd >= 0);
        assert_int_equal(kicks(sb), 0);
        assert_true(lbd_scoreboard_fair_share(sb, 1, NOW));
        assert_int_equal(kicks(sb), 0);
        assert_false(lbd_scoreboard_fair_share(sb, 0, NOW)); /* leaves */
        assert_int_equal(kicks(sb), 1);
        assert_false(lbd_scoreboard_fair_share(sb, 0, NOW)); /* still out: quiet */
        assert_int_equal(kicks(sb), 0);
        /* The others out of the queue too: worker 0 stays in over its share,
         * and says so again once the interval has passed, not before. */
        atomic_store(&sb->slots[1].out_of_queue, 1);
        atomic_store(&sb->slots[2].out_of_queue, 1);
        assert_true(lbd_scoreboard_fair_share(sb, 0, NOW + 1000));
        assert_int_equal(kicks(sb), 1);
        assert_true(lbd_scoreboard_fair_share(sb, 0, NOW + 1000));
        assert_int_equal(kicks(sb), 0);
        assert_true(lbd_scoreboard_fair_share(sb, 0, NOW + 1100));
        assert_int_equal(kicks(sb), 1);
        lbd_scoreboard_free(sb);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_even_load_is_fair),
                cmocka_unit_test(test_worker_over_its_share_stops_accepting),
                cmocka_unit_test(test_quiet_daemon_has_slack),
                cmocka_unit_test(test_queue_never_left_alone),
                cmocka_unit_test(test_stopping_workers_are_left_out),
                cmocka_unit_test(test_silent_slots_are_left_out),
                cmocka_unit_test(test_over_share_wakes_the_others),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
