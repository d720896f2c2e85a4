/* SPDX-License-Identifier: MIT */
/* The shared backend table (daemon/proxy/backend-table.h): sync (add, update,
 * remove = drain, slot reuse with a new generation), what a pick may use
 * (disabled, drain, health, max_conns, backup tier, tried), passive health
 * (max_fails in fail_timeout, expiry, max_fails=0), slow start, the
 * capacity (10,000 backends; over capacity nothing changes), concurrent
 * picks from several processes, and a lock holder killed mid-pick.
 * Picks here use the host's built-in round robin (no plugin set). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend-table.h"
#include "config-files.h"

/* ---- helpers -------------------------------------------------------------- */

static uint64_t mono_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct lbd_config *parse_ok(const char *backends) {
        g_autofree char *text = g_strdup_printf("[service web]\nlisten=127.0.0.1:18080\n"
                                                "backends=%s\n",
                                                backends);
        g_autofree char *error = NULL;
        struct lbd_config *c = lbd_config_load_from_data(text, "test.conf", &error);
        if (!c)
                print_error("unexpected error: %s\nfor:\n%s\n", error, text);
        assert_non_null(c);
        return c;
}

static void sync_ok(struct lbd_table *t, const char *backends) {
        g_autoptr(lbd_config) c = parse_ok(backends);
        g_autofree char *reason = NULL;
        int r = lbd_table_sync(t, c, &reason);
        if (r < 0)
                print_error("sync: %s\n", reason);
        assert_int_equal(r, 0);
}

static enum lbd_backend_state state_of(struct lbd_table *t, const char *address) {
        struct lbd_backend_stats st;
        assert_int_equal(lbd_table_backend_stats(t, "web", address, &st), 0);
        return st.state;
}

static const char *pick_text(struct lbd_table *t, const uint64_t *tried, uint32_t words,
                             uint32_t *ret_slot) {
        int pool = lbd_table_pool_find(t, "web");
        assert_true(pool >= 0);
        uint32_t slot;
        int r = lbd_table_pick(t, pool, NULL, NULL, 0, tried, words, &slot);
        if (r < 0)
                return NULL;
        if (ret_slot)
                *ret_slot = slot;
        else
                lbd_table_release(t, slot);
        return lbd_table_address(t, slot)->text;
}

/* Picks n times (releasing each) and counts who got how many. */
static void count_picks(struct lbd_table *t, unsigned n, const char **names, unsigned *counts,
                        unsigned n_names) {
        memset(counts, 0, n_names * sizeof *counts);
        for (unsigned k = 0; k < n; k++) {
                const char *a = pick_text(t, NULL, 0, NULL);
                assert_non_null(a);
                unsigned i;
                for (i = 0; i < n_names && strcmp(names[i], a) != 0; i++)
                        ;
                if (i == n_names)
                        fail_msg("picked %s, which should not be picked", a);
                counts[i]++;
        }
}

struct change {
        char address[64];
        enum lbd_backend_state old_state, new_state;
        char reason[160];
};
struct changes {
        unsigned n;
        struct change c[8];
};

static void on_change(void *userdata, const char *service, const char *address,
                      enum lbd_backend_state old_state, enum lbd_backend_state new_state,
                      const char *reason) {
        struct changes *cs = userdata;
        assert_string_equal(service, "web");
        assert_true(cs->n < 8);
        struct change *c = &cs->c[cs->n++];
        g_strlcpy(c->address, address, sizeof c->address);
        c->old_state = old_state;
        c->new_state = new_state;
        g_strlcpy(c->reason, reason, sizeof c->reason);
}

/* ---- sync ------------------------------------------------------------------ */

static void test_sync_add_update_remove(void **state) {
        struct lbd_table *t = lbd_table_new();
        assert_non_null(t);
        assert_int_equal(lbd_table_pool_find(t, "web"), -ENOENT);
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002;127.0.0.1:8003");
        assert_true(lbd_table_pool_find(t, "web") >= 0);
        assert_int_equal(state_of(t, "127.0.0.1:8003"), LBD_BACKEND_UP);

        /* Equal weights: one sequence, 1/3 each. */
        const char *names[] = { "127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003" };
        unsigned counts[3];
        count_picks(t, 30, names, counts, 3);
        assert_int_equal(counts[0], 10);
        assert_int_equal(counts[1], 10);
        assert_int_equal(counts[2], 10);

        /* Counters survive an update of the parameters. */
        uint32_t s2 = 0;
        assert_non_null(pick_text(t, NULL, 0, &s2));
        lbd_table_count_request(t, s2);
        int slot_b = lbd_table_find_slot(t, "web", "127.0.0.1:8002");
        uint64_t gen_b = lbd_table_slot_generation(t, (uint32_t)slot_b);
        sync_ok(t, "127.0.0.1:8001 weight=3;127.0.0.1:8002 weight=2;127.0.0.1:8003");
        assert_int_equal(lbd_table_find_slot(t, "web", "127.0.0.1:8002"), slot_b);
        assert_int_equal(lbd_table_slot_generation(t, (uint32_t)slot_b), gen_b);
        struct lbd_backend_stats st;
        assert_int_equal(lbd_table_backend_stats(t, "web", names[0], &st), 0);
        assert_int_equal(st.weight, 3);
        assert_int_equal(lbd_table_backend_stats(t, "web", lbd_table_address(t, s2)->text, &st), 0);
        assert_int_equal(st.active, 1);
        assert_int_equal(st.requests, 1);
        lbd_table_release(t, s2);
        count_picks(t, 60, names, counts, 3);
        assert_int_equal(counts[0], 30);
        assert_int_equal(counts[1], 20);
        assert_int_equal(counts[2], 10);

        /* Removing 8003 while a connection to it is open: it drains. */
        int slot_c = lbd_table_find_slot(t, "web", "127.0.0.1:8003");
        uint32_t held = 0;
        do {
                assert_non_null(pick_text(t, NULL, 0, &held));
                if ((int)held != slot_c)
                        lbd_table_release(t, held);
        } while ((int)held != slot_c);
        uint64_t gen_c = lbd_table_slot_generation(t, (uint32_t)slot_c);
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002");
        assert_int_equal(state_of(t, "127.0.0.1:8003"), LBD_BACKEND_DRAINING);
        assert_false(lbd_table_slot_pickable(t, (uint32_t)slot_c, gen_c));
        count_picks(t, 20, names, counts, 2); /* never 8003 */
        struct changes cs = { 0 };
        lbd_table_tick(t, mono_ms(), on_change, &cs);
        assert_int_equal(cs.n, 1);
        assert_string_equal(cs.c[0].address, "127.0.0.1:8003");
        assert_int_equal(cs.c[0].new_state, LBD_BACKEND_DRAINING);
        assert_string_equal(cs.c[0].reason, "removed; draining");
        assert_int_equal(lbd_table_find_slot(t, "web", "127.0.0.1:8003"), slot_c); /* open */

        /* Its last connection closes: the next tick frees the slot, and a
         * new backend reuses it with a new generation. */
        lbd_table_release(t, held);
        cs.n = 0;
        lbd_table_tick(t, mono_ms(), on_change, &cs);
        assert_int_equal(cs.n, 0);
        assert_int_equal(lbd_table_find_slot(t, "web", "127.0.0.1:8003"), -ENOENT);
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002;127.0.0.1:8004");
        assert_int_equal(lbd_table_find_slot(t, "web", "127.0.0.1:8004"), slot_c);
        assert_true(lbd_table_slot_generation(t, (uint32_t)slot_c) != gen_c);
        assert_false(lbd_table_slot_pickable(t, (uint32_t)slot_c, gen_c));
        assert_true(lbd_table_slot_pickable(t, (uint32_t)slot_c,
                                            lbd_table_slot_generation(t, (uint32_t)slot_c)));
        assert_int_equal(lbd_table_backend_stats(t, "web", "127.0.0.1:8004", &st), 0);
        assert_int_equal(st.requests, 0);
        assert_int_equal(st.active, 0);

        /* Drain (administrative) and back. */
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002 drain;127.0.0.1:8004");
        assert_int_equal(state_of(t, "127.0.0.1:8002"), LBD_BACKEND_DRAINING);
        const char *names2[] = { "127.0.0.1:8001", "127.0.0.1:8004" };
        count_picks(t, 10, names2, counts, 2);
        assert_int_equal(counts[0], 5);
        cs.n = 0;
        lbd_table_tick(t, mono_ms(), on_change, &cs);
        assert_int_equal(cs.n, 1);
        assert_string_equal(cs.c[0].reason, "drain");
        assert_int_not_equal(lbd_table_find_slot(t, "web", "127.0.0.1:8002"), -ENOENT);
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002;127.0.0.1:8004");
        cs.n = 0;
        lbd_table_tick(t, mono_ms(), on_change, &cs);
        assert_int_equal(cs.n, 1);
        assert_int_equal(cs.c[0].new_state, LBD_BACKEND_UP);
        assert_string_equal(cs.c[0].reason, "drain ended");

        /* A service removed: its pool goes once nobody holds it. */
        g_autoptr(lbd_config) c = parse_ok("127.0.0.1:8001");
        lbd_table_pool_hold(t, c);
        g_autofree char *error = NULL;
        g_autoptr(lbd_config) other = lbd_config_load_from_data(
                "[service api]\nlisten=127.0.0.1:18081\nbackends=127.0.0.1:9001\n", "o.conf",
                &error);
        assert_non_null(other);
        assert_int_equal(lbd_table_sync(t, other, NULL), 0);
        lbd_table_tick(t, mono_ms(), NULL, NULL);
        /* Held by a generation: still served. */
        assert_non_null(pick_text(t, NULL, 0, NULL));
        lbd_table_pool_release(t, c);
        lbd_table_tick(t, mono_ms(), NULL, NULL);
        assert_int_equal(lbd_table_pool_find(t, "web"), -ENOENT);
        assert_true(lbd_table_pool_find(t, "api") >= 0);
        lbd_table_free(t);
}

/* ---- usable() --------------------------------------------------------------- */

static void test_usable_rules(void **state) {
        struct lbd_table *t = lbd_table_new();
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002 down;127.0.0.1:8003 max-conns=1;"
                   "127.0.0.1:8004 backup;127.0.0.1:8005 backup");
        /* down never; backups not while a primary is usable */
        const char *names[] = { "127.0.0.1:8001", "127.0.0.1:8003" };
        unsigned counts[2];
        count_picks(t, 10, names, counts, 2);
        assert_int_equal(counts[0], 5);
        assert_int_equal(state_of(t, "127.0.0.1:8002"), LBD_BACKEND_DISABLED);

        /* max_conns: while 8003 holds one, only 8001 */
        int s3 = lbd_table_find_slot(t, "web", "127.0.0.1:8003");
        uint32_t held = 0;
        while (pick_text(t, NULL, 0, &held) && (int)held != s3)
                lbd_table_release(t, held);
        count_picks(t, 5, names, counts, 1);
        lbd_table_release(t, held);

        /* tried: a retry skips what this request tried */
        int s1 = lbd_table_find_slot(t, "web", "127.0.0.1:8001");
        uint64_t tried[LBD_TABLE_BACKENDS_MAX / 64] = { 0 };
        tried[s1 / 64] |= UINT64_C(1) << (s1 % 64);
        for (int k = 0; k < 4; k++)
                assert_string_equal(pick_text(t, tried, LBD_TABLE_BACKENDS_MAX / 64, NULL),
                                    "127.0.0.1:8003");
        /* both primaries tried: the backups take it */
        tried[s3 / 64] |= UINT64_C(1) << (s3 % 64);
        const char *a = pick_text(t, tried, LBD_TABLE_BACKENDS_MAX / 64, NULL);
        assert_true(strcmp(a, "127.0.0.1:8004") == 0 || strcmp(a, "127.0.0.1:8005") == 0);

        /* health: both primaries down by the checker -> backups, evenly */
        assert_int_equal(lbd_table_set_health(t, "web", "127.0.0.1:8001", false, "HTTP 503"), 0);
        assert_int_equal(lbd_table_set_health(t, "web", "127.0.0.1:8003", false, "HTTP 503"), 0);
        assert_int_equal(lbd_table_set_health(t, "web", "127.0.0.1:9999", false, "x"), -ENOENT);
        assert_int_equal(state_of(t, "127.0.0.1:8001"), LBD_BACKEND_DOWN);
        const char *backups[] = { "127.0.0.1:8004", "127.0.0.1:8005" };
        count_picks(t, 10, backups, counts, 2);
        assert_int_equal(counts[0], 5);
        struct changes cs = { 0 };
        lbd_table_tick(t, mono_ms(), on_change, &cs);
        assert_int_equal(cs.n, 2);
        assert_int_equal(cs.c[0].new_state, LBD_BACKEND_DOWN);
        assert_string_equal(cs.c[0].reason, "HTTP 503");
        /* a backup disabled too: the other backup alone */
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002 down;127.0.0.1:8003 max-conns=1;"
                   "127.0.0.1:8004 backup down;127.0.0.1:8005 backup");
        count_picks(t, 3, backups + 1, counts, 1);
        /* nothing usable at all */
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002 down;127.0.0.1:8003 max-conns=1;"
                   "127.0.0.1:8004 backup down;127.0.0.1:8005 backup drain");
        assert_null(pick_text(t, NULL, 0, NULL));
        /* health back: a primary again */
        assert_int_equal(lbd_table_set_health(t, "web", "127.0.0.1:8001", true, "HTTP 200"), 0);
        assert_string_equal(pick_text(t, NULL, 0, NULL), "127.0.0.1:8001");
        cs.n = 0;
        lbd_table_tick(t, mono_ms(), on_change, &cs);
        bool seen = false;
        for (unsigned i = 0; i < cs.n; i++)
                if (strcmp(cs.c[i].address, "127.0.0.1:8001") == 0) {
                        assert_int_equal(cs.c[i].new_state, LBD_BACKEND_UP);
                        assert_string_equal(cs.c[i].reason, "HTTP 200");
                        seen = true;
                }
        assert_true(seen);
        lbd_table_free(t);
}

/* ---- passive health ---------------------------------------------------------- */

static void test_passive_health(void **state) {
        struct lbd_table *t = lbd_table_new();
        sync_ok(t, "127.0.0.1:8001 max-fails=2 fail-timeout=10;127.0.0.1:8002 max-fails=0");
        int s1 = lbd_table_find_slot(t, "web", "127.0.0.1:8001");
        int s2 = lbd_table_find_slot(t, "web", "127.0.0.1:8002");
        uint64_t now = mono_ms();

        /* One failure in the window: still up. Failures in an old window
         * do not add up with new ones. */
        lbd_table_report_failure(t, (uint32_t)s1, true, now - 20000, "connection refused");
        lbd_table_report_failure(t, (uint32_t)s1, true, now, "connection refused");
        assert_int_equal(state_of(t, "127.0.0.1:8001"), LBD_BACKEND_UP);
        /* A success in between ends the run. */
        lbd_table_report_success(t, (uint32_t)s1, 500);
        lbd_table_report_failure(t, (uint32_t)s1, true, now, "connection refused");
        assert_int_equal(state_of(t, "127.0.0.1:8001"), LBD_BACKEND_UP);
        lbd_table_report_failure(t, (uint32_t)s1, true, now, "connection refused");
        assert_int_equal(state_of(t, "127.0.0.1:8001"), LBD_BACKEND_DOWN);
        for (int k = 0; k < 5; k++)
                assert_string_equal(pick_text(t, NULL, 0, NULL), "127.0.0.1:8002");
        struct changes cs = { 0 };
        lbd_table_tick(t, now, on_change, &cs);
        assert_int_equal(cs.n, 1);
        assert_int_equal(cs.c[0].old_state, LBD_BACKEND_UP);
        assert_int_equal(cs.c[0].new_state, LBD_BACKEND_DOWN);
        assert_string_equal(cs.c[0].reason, "2 failures in 10 s: connection refused");
        struct lbd_backend_stats st;
        assert_int_equal(lbd_table_backend_stats(t, "web", "127.0.0.1:8001", &st), 0);
        assert_int_equal(st.failures, 4);
        assert_int_equal(st.latency_us, 500);

        /* The hold expires after fail_timeout. */
        cs.n = 0;
        lbd_table_tick(t, now + 9999, on_change, &cs);
        assert_int_equal(cs.n, 0);
        lbd_table_tick(t, now + 10000, on_change, &cs);
        assert_int_equal(cs.n, 1);
        assert_int_equal(cs.c[0].new_state, LBD_BACKEND_UP);
        assert_string_equal(cs.c[0].reason, "passive hold expired");

        /* max_fails=0: failures are counted, never marked down. */
        for (int k = 0; k < 100; k++)
                lbd_table_report_failure(t, (uint32_t)s2, true, now, "timed out");
        assert_int_equal(state_of(t, "127.0.0.1:8002"), LBD_BACKEND_UP);
        assert_int_equal(lbd_table_backend_stats(t, "web", "127.0.0.1:8002", &st), 0);
        assert_int_equal(st.failures, 100);
        lbd_table_free(t);
}

static void test_passive_single_backend(void **state) {
        struct lbd_table *t = lbd_table_new();
        sync_ok(t, "127.0.0.1:8001");
        int s1 = lbd_table_find_slot(t, "web", "127.0.0.1:8001");
        /* Nowhere else to go: failures count, the backend stays up. */
        for (int k = 0; k < 3; k++)
                lbd_table_report_failure(t, (uint32_t)s1, true, mono_ms(), "timed out");
        assert_int_equal(state_of(t, "127.0.0.1:8001"), LBD_BACKEND_UP);
        assert_non_null(pick_text(t, NULL, 0, NULL));
        /* With a second one, the first failure marks it down. */
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002");
        lbd_table_report_failure(t, (uint32_t)s1, true, mono_ms(), "timed out");
        assert_int_equal(state_of(t, "127.0.0.1:8001"), LBD_BACKEND_DOWN);
        lbd_table_free(t);
}

/* ---- slow start -------------------------------------------------------------- */

static void test_slow_start(void **state) {
        struct lbd_table *t = lbd_table_new();
        sync_ok(t, "127.0.0.1:8001 weight=10 slow-start=100;127.0.0.1:8002 weight=10");
        struct lbd_backend_stats st;
        /* A backend there from the start has its full weight. */
        assert_int_equal(lbd_table_backend_stats(t, "web", "127.0.0.1:8001", &st), 0);
        assert_int_equal(st.weight, 10);
        uint64_t now = mono_ms();
        lbd_table_set_health(t, "web", "127.0.0.1:8001", false, "timeout");
        lbd_table_tick(t, now, NULL, NULL);
        lbd_table_set_health(t, "web", "127.0.0.1:8001", true, "HTTP 200");
        /* Came back 50 s ago (as far as the ramp knows): half weight. */
        lbd_table_tick(t, now - 50000, NULL, NULL);
        assert_int_equal(lbd_table_backend_stats(t, "web", "127.0.0.1:8001", &st), 0);
        assert_int_equal(st.weight, 5);
        /* The picks follow the ramped weight: 5:10. */
        const char *names[] = { "127.0.0.1:8001", "127.0.0.1:8002" };
        unsigned counts[2];
        count_picks(t, 150, names, counts, 2);
        assert_in_range(counts[0], 49, 51);
        /* Just came back: weight 1, never 0. */
        lbd_table_set_health(t, "web", "127.0.0.1:8001", false, "timeout");
        lbd_table_tick(t, now, NULL, NULL);
        lbd_table_set_health(t, "web", "127.0.0.1:8001", true, "HTTP 200");
        lbd_table_tick(t, mono_ms(), NULL, NULL);
        assert_int_equal(lbd_table_backend_stats(t, "web", "127.0.0.1:8001", &st), 0);
        assert_int_equal(st.weight, 1);
        /* Ramp over: full weight. */
        lbd_table_set_health(t, "web", "127.0.0.1:8001", false, "timeout");
        lbd_table_tick(t, now, NULL, NULL);
        lbd_table_set_health(t, "web", "127.0.0.1:8001", true, "HTTP 200");
        lbd_table_tick(t, now - 100000, NULL, NULL);
        assert_int_equal(lbd_table_backend_stats(t, "web", "127.0.0.1:8001", &st), 0);
        assert_int_equal(st.weight, 10);
        lbd_table_free(t);
}

/* ---- capacity ------------------------------------------------------------------ */

static struct lbd_config *config_with(unsigned n, unsigned first_port) {
        g_autoptr(lbd_config) c = parse_ok("127.0.0.1:1");
        struct lbd_service_config *svc = c->services->pdata[0];
        struct lbd_backend_config b = g_array_index(svc->backends, struct lbd_backend_config, 0);
        g_array_set_size(svc->backends, 0);
        for (unsigned i = 0; i < n; i++) {
                g_autofree char *a = g_strdup_printf("127.%u.%u.%u:%u", (i >> 16) & 255,
                                                     (i >> 8) & 255, i & 255, first_port);
                assert_int_equal(lbd_address_parse(a, &b.address, NULL), 0);
                g_array_append_val(svc->backends, b);
        }
        return g_steal_pointer(&c);
}

static void test_capacity(void **state) {
        struct lbd_table *t = lbd_table_new();
        g_autoptr(lbd_config) c = config_with(10000, 80);
        assert_int_equal(lbd_table_sync(t, c, NULL), 0);
        uint64_t active, requests;
        assert_int_equal(lbd_table_service_stats(t, "web", &active, &requests, NULL), 0);
        assert_non_null(pick_text(t, NULL, 0, NULL));
        assert_int_equal(lbd_table_find_slot(t, "web", "127.0.39.15:80"), 9999);

        /* 10,000 more do not fit next to 10,000 draining ones. */
        g_autoptr(lbd_config) more = config_with(10000, 81);
        g_autofree char *reason = NULL;
        assert_int_equal(lbd_table_sync(t, more, &reason), -ENOSPC);
        assert_non_null(strstr(reason, "the backend table is full"));
        /* nothing changed */
        assert_int_equal(lbd_table_find_slot(t, "web", "127.0.39.15:81"), -ENOENT);
        assert_int_equal(state_of(t, "127.0.39.15:80"), LBD_BACKEND_UP);
        /* Once drained, they do. */
        g_autoptr(lbd_config) none = config_with(0, 80);
        assert_int_equal(lbd_table_sync(t, none, NULL), 0);
        assert_int_equal(state_of(t, "127.0.39.15:80"), LBD_BACKEND_DRAINING);
        lbd_table_tick(t, mono_ms(), NULL, NULL);
        assert_int_equal(lbd_table_sync(t, more, NULL), 0);
        assert_int_equal(lbd_table_find_slot(t, "web", "127.0.39.15:81"), 9999);
        lbd_table_free(t);
}

/* Finding a backend by name goes through the master's index: every one of
 * 10,000 is found at its slot; after every other one was removed and
 * freed (the index deletes by shifting entries back), the rest still are,
 * the removed ones are not, and new ones reuse the freed slots. The time of
 * 10,000 lookups is printed (GetStatistics makes one per backend). */
static void test_index(void **state) {
        struct lbd_table *t = lbd_table_new();
        g_autoptr(lbd_config) c = config_with(10000, 80);
        assert_int_equal(lbd_table_sync(t, c, NULL), 0);
        const struct lbd_service_config *svc = c->services->pdata[0];
        uint64_t t0 = mono_ms();
        for (unsigned i = 0; i < 10000; i++) {
                const char *a =
                        g_array_index(svc->backends, struct lbd_backend_config, i).address.text;
                assert_int_equal(lbd_table_find_slot(t, "web", a), (int)i);
        }
        print_message("10,000 lookups by name: %llu ms\n",
                      (unsigned long long)(mono_ms() - t0));
        assert_int_equal(lbd_table_find_slot(t, "other", "127.0.0.1:80"), -ENOENT);
        assert_int_equal(lbd_table_find_slot(t, "web", "127.0.0.1:81"), -ENOENT);

        g_autoptr(lbd_config) half = config_with(10000, 80);
        struct lbd_service_config *hs = half->services->pdata[0];
        for (guint i = hs->backends->len; i-- > 0;)
                if (i % 2)
                        g_array_remove_index(hs->backends, i);
        assert_int_equal(lbd_table_sync(t, half, NULL), 0);
        lbd_table_tick(t, mono_ms(), NULL, NULL); /* the removed ones drained: freed */
        for (unsigned i = 0; i < 10000; i++) {
                const char *a =
                        g_array_index(svc->backends, struct lbd_backend_config, i).address.text;
                assert_int_equal(lbd_table_find_slot(t, "web", a), i % 2 ? -ENOENT : (int)i);
        }
        g_autoptr(lbd_config) others = config_with(15000, 82);
        struct lbd_service_config *os = others->services->pdata[0];
        g_array_set_size(os->backends, 5000);
        g_array_append_vals(os->backends, hs->backends->data, hs->backends->len);
        assert_int_equal(lbd_table_sync(t, others, NULL), 0);
        for (guint i = 0; i < os->backends->len; i++) {
                const char *a =
                        g_array_index(os->backends, struct lbd_backend_config, i).address.text;
                int slot = lbd_table_find_slot(t, "web", a);
                assert_true(slot >= 0);
                assert_string_equal(lbd_table_address(t, (uint32_t)slot)->text, a);
        }
        lbd_table_free(t);
}

/* ---- several processes --------------------------------------------------------- */

#define CHILDREN 4
#define PICKS_PER_CHILD 100000

static void test_concurrent_processes(void **state) {
        struct lbd_table *t = lbd_table_new();
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002 weight=2;127.0.0.1:8003 max-conns=2");
        int pool = lbd_table_pool_find(t, "web");
        pid_t pids[CHILDREN];
        for (int c = 0; c < CHILDREN; c++) {
                pids[c] = fork();
                assert_true(pids[c] >= 0);
                if (pids[c] == 0) {
                        int bad = 0;
                        for (int k = 0; k < PICKS_PER_CHILD; k++) {
                                uint32_t slot;
                                if (lbd_table_pick(t, pool, NULL, NULL, 0, NULL, 0, &slot) < 0) {
                                        bad++;
                                        continue;
                                }
                                lbd_table_count_request(t, slot);
                                lbd_table_release(t, slot);
                        }
                        _exit(bad ? 1 : 0);
                }
        }
        /* Meanwhile the master changes the weights again and again. */
        int exited = 0, status;
        unsigned syncs = 0;
        while (exited < CHILDREN) {
                sync_ok(t, syncs++ % 2 ? "127.0.0.1:8001;127.0.0.1:8002 weight=2;"
                                         "127.0.0.1:8003 max-conns=2"
                                       : "127.0.0.1:8001 weight=3;127.0.0.1:8002;"
                                         "127.0.0.1:8003 max-conns=2");
                pid_t p = waitpid(-1, &status, WNOHANG);
                if (p > 0) {
                        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                        exited++;
                }
        }
        uint64_t active = 1, requests = 0;
        assert_int_equal(lbd_table_service_stats(t, "web", &active, &requests, NULL), 0);
        assert_int_equal(active, 0);
        assert_int_equal(requests, (uint64_t)CHILDREN * PICKS_PER_CHILD);
        print_message("%u syncs during %u picks\n", syncs, CHILDREN * PICKS_PER_CHILD);
        lbd_table_free(t);
}

static void test_lock_holder_killed(void **state) {
        struct lbd_table *t = lbd_table_new();
        sync_ok(t, "127.0.0.1:8001;127.0.0.1:8002");
        int pool = lbd_table_pool_find(t, "web");
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                lbd_table_pool_lock(t, pool);
                raise(SIGKILL); /* dies holding the lock */
                _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        /* A pick takes the lock (built-in round robin): no deadlock. */
        alarm(10);
        for (int k = 0; k < 4; k++)
                assert_non_null(pick_text(t, NULL, 0, NULL));
        alarm(0);
        lbd_table_free(t);
}

/* Not a limit (machines differ): the cost of a pick, printed for the
 * record, at 2 and at 1,000 backends (built-in round robin). */
static void test_pick_cost(void **state) {
        for (unsigned n = 2; n <= 1000; n = n == 2 ? 1000 : 1001) {
                struct lbd_table *t = lbd_table_new();
                g_autoptr(lbd_config) c = config_with(n, 80);
                assert_int_equal(lbd_table_sync(t, c, NULL), 0);
                int pool = lbd_table_pool_find(t, "web");
                const unsigned picks = 20000;
                uint64_t t0 = mono_ms();
                for (unsigned k = 0; k < picks; k++) {
                        uint32_t slot;
                        assert_int_equal(lbd_table_pick(t, pool, NULL, NULL, 0, NULL, 0, &slot), 0);
                        lbd_table_release(t, slot);
                }
                uint64_t ms = mono_ms() - t0;
                print_message("%u backends: %.0f ns per pick\n", n, ms * 1e6 / picks);
                lbd_table_free(t);
        }
}

static void test_client_hash(void **state) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(1) };
        struct sockaddr_in b = { .sin_family = AF_INET, .sin_port = htons(2) };
        inet_pton(AF_INET, "10.0.0.1", &a.sin_addr);
        inet_pton(AF_INET, "10.0.0.1", &b.sin_addr);
        struct sockaddr_in6 m = { .sin6_family = AF_INET6 };
        inet_pton(AF_INET6, "::ffff:10.0.0.1", &m.sin6_addr);
        uint64_t ha = lbd_table_client_hash((struct sockaddr *)&a, sizeof a);
        assert_true(ha != 0);
        /* The port does not matter; a v4-mapped address is the same client. */
        assert_true(ha == lbd_table_client_hash((struct sockaddr *)&b, sizeof b));
        assert_true(ha == lbd_table_client_hash((struct sockaddr *)&m, sizeof m));
        inet_pton(AF_INET, "10.0.0.2", &b.sin_addr);
        assert_true(ha != lbd_table_client_hash((struct sockaddr *)&b, sizeof b));
        /* Fixed: FNV-1a of the 4 bytes, in every process and run. */
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        const unsigned char ip[4] = { 10, 0, 0, 1 };
        for (int i = 0; i < 4; i++)
                h = (h ^ ip[i]) * UINT64_C(0x100000001b3);
        assert_true(ha == h);
        assert_true(lbd_table_client_hash(NULL, 0) == 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sync_add_update_remove),
                cmocka_unit_test(test_usable_rules),
                cmocka_unit_test(test_index),
                cmocka_unit_test(test_passive_health),
                cmocka_unit_test(test_passive_single_backend),
                cmocka_unit_test(test_slow_start),
                cmocka_unit_test(test_capacity),
                cmocka_unit_test(test_concurrent_processes),
                cmocka_unit_test(test_lock_holder_killed),
                cmocka_unit_test(test_pick_cost),
                cmocka_unit_test(test_client_hash),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
