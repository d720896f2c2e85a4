/* SPDX-License-Identifier: MIT */
/*
 * The policy plugins as built (round_robin.so, least_conn.so, ip_hash.so
 * from LBD_BUILD_PLUGIN_DIR, opened with dlopen), each driven through a
 * fake pool host (fake-pool.h) that also checks the plugin keeps the
 * contract of lbd-plugin.h. Ends with a micro-benchmark that prints the
 * cost of a pick at 2, 1,000 and 10,000 backends (printed, not asserted).
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake-pool.h"

static const char *plugin_dir;

struct policy {
        const char *name;
        void *dl;
        const struct lbd_plugin_descriptor *desc;
        const struct lbd_policy_ops *ops;
};

static struct policy policies[] = {
        { .name = "round_robin" },
        { .name = "least_conn" },
        { .name = "ip_hash" },
};
#define ROUND_ROBIN (policies[0].ops)
#define LEAST_CONN (policies[1].ops)
#define IP_HASH (policies[2].ops)

/* dlopen each plugin and check its descriptor: a real policy, not a
 * placeholder. */
static int load_policies(void **state) {
        for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
                struct policy *p = &policies[i];
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s.so", plugin_dir, p->name);
                p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
                if (!p->dl)
                        fail_msg("dlopen %s: %s", path, dlerror());
                lbd_plugin_entry_fn entry =
                        (lbd_plugin_entry_fn)dlsym(p->dl, LBD_PLUGIN_ENTRY_SYMBOL);
                assert_non_null(entry);
                p->desc = entry();
                assert_int_equal(p->desc->abi_version, LBD_PLUGIN_ABI_VERSION);
                assert_int_equal(p->desc->kind, LBD_PLUGIN_KIND_POLICY);
                assert_string_equal(p->desc->name, p->name);
                assert_int_equal(p->desc->flags & LBD_PLUGIN_FLAG_PLACEHOLDER, 0);
                assert_null(p->desc->init); /* they keep no per-daemon state */
                p->ops = p->desc->ops.policy;
                assert_non_null(p->ops->pick);
        }
        return 0;
}

static int unload_policies(void **state) {
        for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
                if (policies[i].dl)
                        dlclose(policies[i].dl);
        return 0;
}

/* ---- helpers ----------------------------------------------------------- */

#define assert_contract_kept(p)                                                \
        do {                                                                   \
                if ((p)->violations)                                           \
                        fail_msg("%u contract violations, first: %s",          \
                                 (p)->violations, (p)->violation);             \
        } while (0)

static struct lbd_pool *pool_with(const char *names, const uint32_t *weights) {
        static char one_letter[26][2];
        const char *n[26] = { 0 };
        uint32_t count = (uint32_t)strlen(names);
        for (uint32_t i = 0; i < count; i++) {
                one_letter[i][0] = names[i];
                n[i] = one_letter[i];
        }
        struct lbd_pool *p = fake_pool_new(count, n);
        if (weights)
                for (uint32_t i = 0; i < count; i++)
                        p->backends[i].weight = weights[i];
        return p;
}

/* The names of `picks` tiered picks, concatenated ("-" for -EAGAIN). */
static void sequence(const struct lbd_policy_ops *ops, struct lbd_pool *p, unsigned picks,
                     char *out) {
        for (unsigned k = 0; k < picks; k++) {
                int r = fake_pick_tiered(ops, p, 0);
                out[k] = r >= 0 ? p->backends[r].name[0] : '-';
        }
        out[picks] = 0;
}

/* ---- round_robin -------------------------------------------------------- */

static void rr_sequence_5_1_1(void **state) {
        struct lbd_pool *p = pool_with("abc", (const uint32_t[]){ 5, 1, 1 });
        char s[64];
        sequence(ROUND_ROBIN, p, 21, s);
        assert_string_equal(s, "aabacaa"
                               "aabacaa"
                               "aabacaa");
        assert_contract_kept(p);
        fake_pool_free(p);
}

static void rr_sequence_other_weights(void **state) {
        static const struct {
                const char *names;
                uint32_t weights[4];
                const char *expected;
        } cases[] = {
                { "abc", { 1, 1, 1 }, "abcabc" },
                { "ab", { 2, 1 }, "abaaba" },
                { "abc", { 4, 2, 1 }, "abacaba" },
                { "abcd", { 1, 2, 3, 4 }, "dcbdacdbcd" },
                { "a", { 7 }, "aaa" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct lbd_pool *p = pool_with(cases[i].names, cases[i].weights);
                char s[64];
                sequence(ROUND_ROBIN, p, (unsigned)strlen(cases[i].expected), s);
                assert_string_equal(s, cases[i].expected);
                assert_contract_kept(p);
                fake_pool_free(p);
        }
}

/* Counts per backend over `picks` tiered picks; the longest run of one
 * backend into *max_run. */
static void tally(const struct lbd_policy_ops *ops, struct lbd_pool *p, unsigned picks,
                  unsigned *counts, unsigned *max_run) {
        int last = -1;
        unsigned run = 0;
        if (max_run)
                *max_run = 0;
        for (unsigned k = 0; k < picks; k++) {
                int r = fake_pick_tiered(ops, p, 0);
                assert_true(r >= 0);
                counts[r]++;
                run = r == last ? run + 1 : 1;
                last = r;
                if (max_run && run > *max_run)
                        *max_run = run;
        }
}

static void rr_proportions_5_1_1(void **state) {
        struct lbd_pool *p = pool_with("abc", (const uint32_t[]){ 5, 1, 1 });
        unsigned counts[3] = { 0 }, max_run;
        tally(ROUND_ROBIN, p, 7000, counts, &max_run);
        assert_int_equal(counts[0], 5000);
        assert_int_equal(counts[1], 1000);
        assert_int_equal(counts[2], 1000);
        assert_true(max_run < 5); /* a a | a a across cycles, never five */
        assert_contract_kept(p);
        fake_pool_free(p);
}

/* Any weights: exact shares over every multiple of the total weight. */
static void rr_proportions_any_weights(void **state) {
        static const uint32_t weights[][6] = {
                { 3, 7, 1, 1, 8, 2 }, { 1000, 1, 1, 1, 1, 1 }, { 1, 1000, 1, 999, 2, 3 },
        };
        for (size_t c = 0; c < sizeof(weights) / sizeof(weights[0]); c++) {
                struct lbd_pool *p = pool_with("abcdef", weights[c]);
                unsigned total = 0;
                for (int i = 0; i < 6; i++)
                        total += weights[c][i];
                for (unsigned round = 1; round <= 3; round++) {
                        unsigned counts[6] = { 0 };
                        tally(ROUND_ROBIN, p, total, counts, NULL);
                        for (int i = 0; i < 6; i++)
                                assert_int_equal(counts[i], weights[c][i]);
                }
                assert_contract_kept(p);
                fake_pool_free(p);
        }
}

/* A backend that is down is skipped; the others keep exact shares; when it
 * returns it resumes without a burst and the shares are exact again. */
static void rr_down_and_back(void **state) {
        struct lbd_pool *p = pool_with("abc", (const uint32_t[]){ 5, 1, 1 });
        char s[64];
        sequence(ROUND_ROBIN, p, 3, s); /* a a b: mid-cycle */
        p->backends[1].down = true;
        unsigned counts[3] = { 0 }, max_run;
        tally(ROUND_ROBIN, p, 6000, counts, &max_run);
        assert_int_equal(counts[1], 0);
        assert_in_range(counts[0], 5000 - 1, 5000 + 1);
        assert_in_range(counts[2], 1000 - 1, 1000 + 1);

        p->backends[1].down = false;
        sequence(ROUND_ROBIN, p, 7, s);
        unsigned b_in_first_cycle = 0;
        for (int k = 0; k < 7; k++)
                b_in_first_cycle += s[k] == 'b';
        assert_in_range(b_in_first_cycle, 1, 2); /* no burst, not forgotten */
        memset(counts, 0, sizeof(counts));
        tally(ROUND_ROBIN, p, 7000, counts, &max_run);
        assert_in_range(counts[0], 5000 - 2, 5000 + 2);
        assert_in_range(counts[1], 1000 - 2, 1000 + 2);
        assert_in_range(counts[2], 1000 - 2, 1000 + 2);
        assert_true(max_run < 6);
        assert_contract_kept(p);
        fake_pool_free(p);
}

/* Random weights and outages (a fixed seed): once all are back, every
 * backend's count stays within two picks of its exact share, and no
 * current weight ever strays a whole total weight from zero. */
static void rr_random_outages(void **state) {
        uint64_t seed = 0x2545f4914f6cdd1dU;
#define NEXT() (seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17, seed)
        for (int trial = 0; trial < 300; trial++) {
                uint32_t n = 3 + (uint32_t)(NEXT() % 6), total = 0;
                struct lbd_pool *p = fake_pool_new(n, NULL);
                for (uint32_t i = 0; i < n; i++) {
                        p->backends[i].weight = 1 + (uint32_t)(NEXT() % 20);
                        total += p->backends[i].weight;
                }
                for (int phase = 0; phase < 6; phase++) {
                        bool any = false;
                        for (uint32_t i = 0; i < n; i++) {
                                if (NEXT() % 10 < 3)
                                        p->backends[i].down = !p->backends[i].down;
                                any |= !p->backends[i].down;
                        }
                        if (!any)
                                p->backends[0].down = false;
                        for (uint64_t k = NEXT() % 100; k > 0; k--)
                                assert_true(fake_pick(ROUND_ROBIN, p, false, 0) >= 0);
                        for (uint32_t i = 0; i < n; i++)
                                assert_true(llabs(p->backends[i].scratch) < total);
                }
                for (uint32_t i = 0; i < n; i++)
                        p->backends[i].down = false;
                unsigned counts[8] = { 0 };
                for (uint32_t k = 1; k <= 4 * total; k++) {
                        counts[fake_pick(ROUND_ROBIN, p, false, 0)]++;
                        for (uint32_t i = 0; i < n; i++) {
                                double ideal = (double)k * p->backends[i].weight / total;
                                if (counts[i] > ideal + 2 || counts[i] + 2 < ideal)
                                        fail_msg("trial %d: backend %u has %u picks of %u, "
                                                 "its share is %.1f", trial, i, counts[i], k,
                                                 ideal);
                        }
                }
                assert_contract_kept(p);
                fake_pool_free(p);
        }
#undef NEXT
}

/* Draining, full and already-tried backends are just as unusable. */
static void rr_skips_full_and_tried(void **state) {
        struct lbd_pool *p = pool_with("abc", NULL);
        p->backends[0].max_conns = 3;
        p->backends[0].active = 3;
        p->backends[2].tried = true;
        char s[16];
        sequence(ROUND_ROBIN, p, 4, s);
        assert_string_equal(s, "bbbb");
        p->backends[0].active = 2;
        p->backends[2].tried = false;
        sequence(ROUND_ROBIN, p, 6, s);
        for (int k = 0; k < 6; k++)
                assert_true(strchr("abc", s[k]));
        assert_non_null(strchr(s, 'a'));
        assert_non_null(strchr(s, 'c'));
        assert_contract_kept(p);
        fake_pool_free(p);
}

static void backup_tier(const struct lbd_policy_ops *ops) {
        /* a, b primaries; c, d backups */
        struct lbd_pool *p = pool_with("abcd", (const uint32_t[]){ 1, 1, 3, 1 });
        p->backends[2].backup = p->backends[3].backup = true;
        for (int k = 0; k < 50; k++) {
                int r = fake_pick_tiered(ops, p, (uint64_t)k);
                assert_true(r == 0 || r == 1);
        }
        p->backends[0].down = true;
        for (int k = 0; k < 50; k++)
                assert_int_equal(fake_pick_tiered(ops, p, (uint64_t)k), 1);
        p->backends[1].down = true;
        unsigned counts[4] = { 0 };
        for (int k = 0; k < 4000; k++) {
                int r = fake_pick_tiered(ops, p, (uint64_t)k * 2654435761u);
                assert_true(r == 2 || r == 3);
                counts[r]++;
                p->backends[r].active++; /* connections stay open (least_conn) */
        }
        /* weights 3:1 among the backups, roughly (exact for round_robin) */
        assert_in_range(counts[2], 2700, 3300);
        p->backends[2].down = p->backends[3].down = true;
        assert_int_equal(fake_pick_tiered(ops, p, 1), -EAGAIN);
        /* a primary back: the backups are left again */
        p->backends[2].down = p->backends[3].down = false;
        p->backends[1].down = false;
        for (int k = 0; k < 50; k++)
                assert_int_equal(fake_pick_tiered(ops, p, (uint64_t)k), 1);
        assert_contract_kept(p);
        fake_pool_free(p);
}

static void rr_backup_tier(void **state) { backup_tier(ROUND_ROBIN); }
static void lc_backup_tier(void **state) { backup_tier(LEAST_CONN); }
static void ih_backup_tier(void **state) { backup_tier(IP_HASH); }

static void nothing_usable(const struct lbd_policy_ops *ops) {
        struct lbd_pool *empty = fake_pool_new(0, NULL);
        assert_int_equal(fake_pick(ops, empty, false, 1), -EAGAIN);
        assert_int_equal(fake_pick(ops, empty, true, 1), -EAGAIN);
        assert_contract_kept(empty);
        fake_pool_free(empty);

        struct lbd_pool *p = fake_pool_new(5, NULL);
        p->backends[0].down = true;
        p->backends[1].tried = true;
        p->backends[2].max_conns = 1;
        p->backends[2].active = 1;
        p->backends[3].backup = true; /* usable, but only in the backup tier */
        p->backends[4].down = true;
        assert_int_equal(fake_pick(ops, p, false, 7), -EAGAIN);
        assert_int_equal(fake_pick(ops, p, true, 7), 3);
        p->backends[3].down = true;
        assert_int_equal(fake_pick_tiered(ops, p, 7), -EAGAIN);
        assert_contract_kept(p);
        fake_pool_free(p);
}

static void rr_nothing_usable(void **state) { nothing_usable(ROUND_ROBIN); }
static void lc_nothing_usable(void **state) { nothing_usable(LEAST_CONN); }
static void ih_nothing_usable(void **state) { nothing_usable(IP_HASH); }

/* Several threads (as workers) picking from one pool make one sequence:
 * the shares are exact only if every update of the shared state was made
 * under the lock. */
struct rr_thread {
        struct lbd_pool *pool;
        unsigned counts[3];
};

static void *rr_thread_main(void *data) {
        struct rr_thread *t = data;
        for (int k = 0; k < 7000; k++) {
                int r = fake_pick(ROUND_ROBIN, t->pool, false, 0);
                if (r >= 0 && r < 3)
                        t->counts[r]++;
        }
        return NULL;
}

static void rr_one_sequence_for_all_threads(void **state) {
        struct lbd_pool *p = pool_with("abc", (const uint32_t[]){ 5, 1, 1 });
        struct rr_thread threads[4] = { 0 };
        pthread_t ids[4];
        for (int i = 0; i < 4; i++) {
                threads[i].pool = p;
                assert_int_equal(pthread_create(&ids[i], NULL, rr_thread_main, &threads[i]), 0);
        }
        unsigned counts[3] = { 0 };
        for (int i = 0; i < 4; i++) {
                assert_int_equal(pthread_join(ids[i], NULL), 0);
                for (int j = 0; j < 3; j++)
                        counts[j] += threads[i].counts[j];
        }
        assert_int_equal(counts[0], 20000);
        assert_int_equal(counts[1], 4000);
        assert_int_equal(counts[2], 4000);
        for (int j = 0; j < 3; j++) /* back at the start of a cycle */
                assert_int_equal(p->backends[j].scratch, 0);
        assert_contract_kept(p);
        fake_pool_free(p);
}

/* ---- least_conn ---------------------------------------------------------- */

static int lc_pick_with(const uint32_t *active, const uint32_t *weights, uint32_t n) {
        struct lbd_pool *p = fake_pool_new(n, NULL);
        for (uint32_t i = 0; i < n; i++) {
                p->backends[i].active = active[i];
                p->backends[i].weight = weights ? weights[i] : 1;
        }
        int r = fake_pick(LEAST_CONN, p, false, 0);
        assert_contract_kept(p);
        fake_pool_free(p);
        return r;
}

#define U32(...) ((const uint32_t[]){ __VA_ARGS__ })

static void lc_choices(void **state) {
        assert_int_equal(lc_pick_with(U32(5, 2, 7), NULL, 3), 1);
        assert_int_equal(lc_pick_with(U32(9, 8, 7, 0), NULL, 4), 3);
        /* 5/3 < 2/1 < 3/1 */
        assert_int_equal(lc_pick_with(U32(5, 2, 3), U32(3, 1, 1), 3), 0);
        /* 7/3 > 2/1 */
        assert_int_equal(lc_pick_with(U32(7, 2, 3), U32(3, 1, 1), 3), 1);
        /* big numbers: 1000 conns at weight 1000 beat 2 at weight 1 */
        assert_int_equal(lc_pick_with(U32(2, 1000), U32(1, 1000), 2), 1);
        /* products beyond 32 bits */
        assert_int_equal(lc_pick_with(U32(4000000000u, 3999999999u), U32(1000, 1000), 2), 1);
}

static void lc_ties_rotate(void **state) {
        struct lbd_pool *p = fake_pool_new(4, NULL);
        for (int i = 0; i < 4; i++)
                p->backends[i].active = 3;
        unsigned counts[4] = { 0 };
        int last = -1;
        for (int k = 0; k < 400; k++) {
                int r = fake_pick(LEAST_CONN, p, false, 0);
                assert_true(r >= 0);
                assert_int_not_equal(r, last); /* counts unchanged: still rotates */
                last = r;
                counts[r]++;
        }
        for (int i = 0; i < 4; i++)
                assert_int_equal(counts[i], 100);
        /* ties among a subset: only the least loaded ones share */
        p->backends[1].active = 1;
        p->backends[3].active = 1;
        memset(counts, 0, sizeof(counts));
        for (int k = 0; k < 400; k++)
                counts[fake_pick(LEAST_CONN, p, false, 0)]++;
        assert_int_equal(counts[0] + counts[2], 0);
        assert_in_range(counts[1], 100, 300);
        assert_in_range(counts[3], 100, 300);
        assert_contract_kept(p);
        fake_pool_free(p);
}

/* A burst to an idle pool, each pick opening a connection: an even spread
 * by weight, not a pile on backend 0. */
static void lc_burst(void **state) {
        struct lbd_pool *p = fake_pool_new(4, NULL);
        for (int k = 0; k < 400; k++)
                p->backends[fake_pick(LEAST_CONN, p, false, 0)].active++;
        for (int i = 0; i < 4; i++)
                assert_int_equal(p->backends[i].active, 100);
        /* the first four picks of a burst go to four backends */
        for (int i = 0; i < 4; i++)
                p->backends[i].active = 0;
        bool seen[4] = { false };
        for (int k = 0; k < 4; k++)
                seen[fake_pick(LEAST_CONN, p, false, 0)] = true;
        for (int i = 0; i < 4; i++)
                assert_true(seen[i]);
        fake_pool_free(p);

        p = fake_pool_new(2, NULL);
        p->backends[0].weight = 3;
        for (int k = 0; k < 400; k++)
                p->backends[fake_pick(LEAST_CONN, p, false, 0)].active++;
        assert_in_range(p->backends[0].active, 299, 301);
        assert_contract_kept(p);
        fake_pool_free(p);
}

static void lc_all_busy_but_one(void **state) {
        struct lbd_pool *p = fake_pool_new(5, NULL);
        for (int i = 0; i < 5; i++) {
                p->backends[i].max_conns = 10;
                p->backends[i].active = i == 3 ? 9 : 10; /* the fullest usable one */
        }
        for (int k = 0; k < 20; k++)
                assert_int_equal(fake_pick(LEAST_CONN, p, false, 0), 3);
        p->backends[3].active = 10;
        assert_int_equal(fake_pick_tiered(LEAST_CONN, p, 0), -EAGAIN);
        /* down ones are skipped however idle */
        p->backends[0].active = 0;
        p->backends[0].down = true;
        p->backends[1].active = 5;
        assert_int_equal(fake_pick(LEAST_CONN, p, false, 0), 1);
        assert_contract_kept(p);
        fake_pool_free(p);
}

/* ---- ip_hash -------------------------------------------------------------- */

#define CLIENTS 100000u

/* The hash of client c's IPv4 address (10.x.y.z), as the host makes it. */
static uint64_t client(uint32_t c) {
        uint32_t address = 0x0a000000u + c;
        return fake_hash(&address, sizeof(address));
}

/* For every client, the name (as index into the pool's key order) of its
 * backend: we record the key, which survives position changes. */
static void assign(struct lbd_pool *p, uint64_t *keys, uint64_t (*client_hash)(uint32_t)) {
        for (uint32_t c = 0; c < CLIENTS; c++) {
                int r = fake_pick_tiered(IP_HASH, p, client_hash(c));
                assert_true(r >= 0);
                keys[c] = p->backends[r].key;
        }
}

static unsigned count_key(const uint64_t *keys, uint64_t key) {
        unsigned n = 0;
        for (uint32_t c = 0; c < CLIENTS; c++)
                n += keys[c] == key;
        return n;
}

static void ih_same_client_same_backend(void **state) {
        struct lbd_pool *p = fake_pool_new(10, NULL);
        for (uint32_t c = 0; c < 1000; c++) {
                int r = fake_pick(IP_HASH, p, false, client(c));
                for (int k = 0; k < 5; k++)
                        assert_int_equal(fake_pick(IP_HASH, p, false, client(c)), r);
        }
        /* the same answer from another pool with the same members in
         * another order: it follows the keys, not the positions */
        struct lbd_pool *q = fake_pool_new(10, NULL);
        for (int i = 0; i < 10; i++)
                q->backends[i] = p->backends[9 - i];
        for (uint32_t c = 0; c < 1000; c++)
                assert_int_equal(fake_pick(IP_HASH, q, false, client(c)),
                                 9 - fake_pick(IP_HASH, p, false, client(c)));
        assert_contract_kept(p);
        assert_contract_kept(q);
        fake_pool_free(p);
        fake_pool_free(q);
}

static uint64_t raw_client(uint32_t c) { return 0x0a000000u + c; }

static void ih_spread(void **state) {
        uint64_t *keys = calloc(CLIENTS, sizeof(*keys));
        /* also with a client hash that is no hash at all (sequential
         * addresses): the plugin mixes it itself */
        uint64_t (*hashes[])(uint32_t) = { client, raw_client };
        for (size_t h = 0; h < 2; h++)
                for (uint32_t n = 3; n <= 10; n += 7) {
                        struct lbd_pool *p = fake_pool_new(n, NULL);
                        assign(p, keys, hashes[h]);
                        for (uint32_t i = 0; i < n; i++) {
                                unsigned got = count_key(keys, p->backends[i].key);
                                double share = (double)got * n / CLIENTS;
                                if (share < 0.9 || share > 1.1)
                                        fail_msg("n=%u: backend %u has %u of %u clients", n, i,
                                                 got, CLIENTS);
                        }
                        assert_contract_kept(p);
                        fake_pool_free(p);
                }
        free(keys);
}

/* A pool of n, then the same without position `gone` (the later ones move
 * up a position, as when a backend is removed). */
static struct lbd_pool *without(const struct lbd_pool *p, uint32_t gone) {
        struct lbd_pool *q = fake_pool_new(p->count - 1, NULL);
        for (uint32_t i = 0, j = 0; i < p->count; i++)
                if (i != gone)
                        q->backends[j++] = p->backends[i];
        return q;
}

static void ih_remove_one(void **state) {
        uint64_t *before = calloc(CLIENTS, sizeof(*before));
        uint64_t *after = calloc(CLIENTS, sizeof(*after));
        for (uint32_t n = 3; n <= 10; n += 7)
                for (uint32_t gone = 0; gone < n; gone += n - 1) { /* first and last */
                        struct lbd_pool *p = fake_pool_new(n, NULL);
                        struct lbd_pool *q = without(p, gone);
                        uint64_t gone_key = p->backends[gone].key;
                        assign(p, before, client);
                        assign(q, after, client);
                        unsigned moved = 0;
                        for (uint32_t c = 0; c < CLIENTS; c++)
                                if (before[c] != after[c]) {
                                        moved++;
                                        if (before[c] != gone_key)
                                                fail_msg("n=%u: client %u moved but its backend "
                                                         "stayed", n, c);
                                }
                        double fraction = (double)moved / CLIENTS;
                        if (fraction > 1.0 / n + 0.01 || fraction < 1.0 / n - 0.01)
                                fail_msg("n=%u: %.4f of clients moved, expected about %.4f", n,
                                         fraction, 1.0 / n);
                        /* the removed one's clients spread over the others */
                        for (uint32_t i = 0; i < q->count; i++) {
                                unsigned gained = count_key(after, q->backends[i].key) -
                                                  count_key(before, q->backends[i].key);
                                assert_in_range(gained, moved / (n - 1) * 8 / 10,
                                                moved / (n - 1) * 12 / 10);
                        }
                        assert_contract_kept(p);
                        assert_contract_kept(q);
                        fake_pool_free(p);
                        fake_pool_free(q);
                }
        free(before);
        free(after);
}

static void ih_add_one(void **state) {
        uint64_t *before = calloc(CLIENTS, sizeof(*before));
        uint64_t *after = calloc(CLIENTS, sizeof(*after));
        for (uint32_t n = 3; n <= 10; n += 7) {
                struct lbd_pool *q = fake_pool_new(n + 1, NULL);
                struct lbd_pool *p = without(q, n / 2); /* the new one joins mid-list */
                uint64_t new_key = q->backends[n / 2].key;
                assign(p, before, client);
                assign(q, after, client);
                unsigned moved = 0;
                for (uint32_t c = 0; c < CLIENTS; c++)
                        if (before[c] != after[c]) {
                                moved++;
                                assert_true(after[c] == new_key);
                        }
                double fraction = (double)moved / CLIENTS;
                if (fraction > 1.0 / (n + 1) + 0.01 || fraction < 1.0 / (n + 1) - 0.01)
                        fail_msg("n=%u+1: %.4f of clients moved, expected about %.4f", n,
                                 fraction, 1.0 / (n + 1));
                assert_contract_kept(p);
                assert_contract_kept(q);
                fake_pool_free(p);
                fake_pool_free(q);
        }
        free(before);
        free(after);
}

/* A backend going down moves its clients only, and they come back. */
static void ih_down_and_back(void **state) {
        uint64_t *before = calloc(CLIENTS, sizeof(*before));
        uint64_t *during = calloc(CLIENTS, sizeof(*during));
        uint64_t *again = calloc(CLIENTS, sizeof(*again));
        struct lbd_pool *p = fake_pool_new(5, NULL);
        assign(p, before, client);
        p->backends[2].down = true;
        assign(p, during, client);
        p->backends[2].down = false;
        assign(p, again, client);
        for (uint32_t c = 0; c < CLIENTS; c++) {
                if (before[c] == p->backends[2].key)
                        assert_true(during[c] != before[c]);
                else
                        assert_true(during[c] == before[c]);
                assert_true(again[c] == before[c]);
        }
        assert_contract_kept(p);
        fake_pool_free(p);
        free(before);
        free(during);
        free(again);
}

static void ih_weights(void **state) {
        static const uint32_t weights[][4] = {
                { 1, 2, 3, 0 }, { 3, 2, 1, 0 }, { 1, 1, 2, 0 }, { 2, 1, 1, 0 }, { 1, 1, 1, 5 },
                { 10, 1, 1, 1 },
        };
        uint64_t *keys = calloc(CLIENTS, sizeof(*keys));
        uint64_t *after = calloc(CLIENTS, sizeof(*after));
        for (size_t w = 0; w < sizeof(weights) / sizeof(weights[0]); w++) {
                uint32_t n = weights[w][3] ? 4 : 3, total = 0;
                struct lbd_pool *p = fake_pool_new(n, NULL);
                for (uint32_t i = 0; i < n; i++) {
                        p->backends[i].weight = weights[w][i];
                        total += weights[w][i];
                }
                assign(p, keys, client);
                for (uint32_t i = 0; i < n; i++) {
                        double expected = (double)CLIENTS * weights[w][i] / total;
                        unsigned got = count_key(keys, p->backends[i].key);
                        if (got < expected * 0.9 || got > expected * 1.1)
                                fail_msg("weights case %zu: backend %u has %u clients, "
                                         "expected about %.0f", w, i, got, expected);
                }
                /* still consistent: removing one moves only its clients */
                struct lbd_pool *q = without(p, 0);
                assign(q, after, client);
                for (uint32_t c = 0; c < CLIENTS; c++)
                        if (keys[c] != p->backends[0].key)
                                assert_true(after[c] == keys[c]);
                assert_contract_kept(p);
                fake_pool_free(p);
                fake_pool_free(q);
        }
        free(keys);
        free(after);
}

/* The integer path (equal weights) and the weighted path agree: with
 * backend 0 of weight 3 in front of five of weight 7, every scan is
 * weighted, and a client that backend 0 does not win goes where it goes
 * when backend 0 is down and all the weights are equal. */
static void ih_weighted_path_agrees(void **state) {
        struct lbd_pool *p = fake_pool_new(6, NULL);
        struct lbd_pool *q = fake_pool_new(6, NULL);
        p->backends[0].down = true;
        q->backends[0].weight = 3;
        for (int i = 1; i < 6; i++)
                q->backends[i].weight = 7;
        unsigned won_by_0 = 0;
        for (uint32_t c = 0; c < 20000; c++) {
                int r = fake_pick(IP_HASH, q, false, client(c));
                if (r == 0)
                        won_by_0++;
                else
                        assert_int_equal(r, fake_pick(IP_HASH, p, false, client(c)));
        }
        /* 3 / 38 of the clients */
        assert_in_range(won_by_0, 20000 * 3 / 38 * 9 / 10, 20000 * 3 / 38 * 11 / 10);
        assert_contract_kept(p);
        assert_contract_kept(q);
        fake_pool_free(p);
        fake_pool_free(q);
}

/* ---- all: one linear scan ------------------------------------------------ */

static void one_scan(void **state) {
        for (size_t k = 0; k < 3; k++) {
                struct lbd_pool *p = fake_pool_new(1000, NULL);
                for (int i = 0; i < 1000; i++)
                        p->backends[i].weight = 1 + (uint32_t)i % 7;
                p->count_calls = true;
                for (int j = 0; j < 10; j++)
                        assert_true(fake_pick(policies[k].ops, p, false, (uint64_t)j) >= 0);
                if (p->usable_calls > 10 * 1000)
                        fail_msg("%s: %llu calls of usable() for 10 picks of 1000",
                                 policies[k].name, (unsigned long long)p->usable_calls);
                assert_contract_kept(p);
                fake_pool_free(p);
        }
}

/* ---- large pools: tables and samples instead of scans ------------------ */

/* As the plugins' LBD_POLICY_SCAN_MAX and LBD_POLICY_PROBES
 * (plugins/common/policy-table.h): the tests check the behaviour, so they
 * keep their own copy of the numbers they depend on. */
#define SCAN_MAX 64u
#define PROBES 16u

static struct lbd_pool *built_pool(const struct lbd_policy_ops *ops, uint32_t n,
                                   uint32_t (*weight_of)(uint32_t)) {
        struct lbd_pool *p = fake_pool_new(n, NULL);
        for (uint32_t i = 0; weight_of && i < n; i++)
                p->backends[i].weight = weight_of(i);
        fake_pool_build(ops, p);
        return p;
}

static uint32_t one_to_seven(uint32_t i) { return 1 + i % 7; }

static void large_tables_only_past_scan_max(void **state) {
        const struct lbd_policy_ops *with_table[] = { ROUND_ROBIN, IP_HASH };
        for (size_t k = 0; k < 2; k++) {
                struct lbd_pool *small = built_pool(with_table[k], SCAN_MAX, NULL);
                struct lbd_pool *large = built_pool(with_table[k], SCAN_MAX + 1, NULL);
                assert_int_equal(small->table_len[0], 0);
                assert_true(large->table_len[0] > 0);
                assert_int_equal(large->table_len[1], 0); /* no backups */
                /* 65 positions, but 2 of them down when the master builds:
                 * 63 candidates, scanned */
                large->backends[3].down = large->backends[9].down = true;
                fake_pool_build(with_table[k], large);
                assert_int_equal(large->table_len[0], 0);
                assert_contract_kept(small);
                assert_contract_kept(large);
                fake_pool_free(small);
                fake_pool_free(large);
        }
        /* least_conn keeps no table: it samples */
        struct lbd_pool *p = built_pool(LEAST_CONN, 1000, NULL);
        assert_int_equal(p->table_len[0], 0);
        fake_pool_free(p);
}

static void large_rr_cycle_exact_and_even(void **state) {
        const uint32_t n = 1000;
        struct lbd_pool *p = built_pool(ROUND_ROBIN, n, one_to_seven);
        uint32_t total = 0;
        for (uint32_t i = 0; i < n; i++)
                total += p->backends[i].weight;
        assert_int_equal(p->table_len[0], total);
        uint32_t *counts = calloc(n, sizeof(*counts));
        uint64_t *last = calloc(n, sizeof(*last));
        uint64_t *max_gap = calloc(n, sizeof(*max_gap));
        p->count_calls = true;
        for (uint64_t k = 0; k < 3u * total; k++) {
                int r = fake_pick(ROUND_ROBIN, p, false, 0);
                assert_true(r >= 0);
                counts[r]++;
                if (last[r] && k - last[r] > max_gap[r])
                        max_gap[r] = k - last[r];
                last[r] = k;
        }
        for (uint32_t i = 0; i < n; i++) {
                assert_int_equal(counts[i], 3 * p->backends[i].weight);
                /* turns spread over the cycle: never more than two
                 * shares' worth of picks apart */
                if (max_gap[i] > 2u * total / p->backends[i].weight)
                        fail_msg("backend %u (weight %u): %llu picks between two turns, cycle "
                                 "%u", i, p->backends[i].weight,
                                 (unsigned long long)max_gap[i], total);
        }
        /* one usable() per pick: the table's entry, no scan */
        assert_int_equal(p->usable_calls, 3u * total);
        assert_contract_kept(p);
        fake_pool_free(p);
        free(counts);
        free(last);
        free(max_gap);
}

static void large_rr_skips_unusable(void **state) {
        const uint32_t n = 500;
        struct lbd_pool *p = built_pool(ROUND_ROBIN, n, NULL);
        uint32_t *counts = calloc(n, sizeof(*counts));
        /* down since the table was built, full, tried: never picked; their
         * turns go to the next in the cycle */
        p->backends[7].down = true;
        p->backends[8].max_conns = 1;
        p->backends[8].active = 1;
        p->backends[300].tried = true;
        for (uint32_t k = 0; k < 10 * n; k++) {
                int r = fake_pick(ROUND_ROBIN, p, false, 0);
                assert_true(r >= 0);
                counts[r]++;
        }
        assert_int_equal(counts[7] + counts[8] + counts[300], 0);
        for (uint32_t i = 0; i < n; i++)
                if (i != 7 && i != 8 && i != 300)
                        assert_in_range(counts[i], 10, 20);
        /* rebuilt without the down one: exact shares among the others */
        fake_pool_build(ROUND_ROBIN, p);
        assert_int_equal(p->table_len[0], n - 1);
        p->backends[8].active = 0;
        p->backends[300].tried = false;
        memset(counts, 0, n * sizeof(*counts));
        for (uint32_t k = 0; k < 4 * (n - 1); k++)
                counts[fake_pick(ROUND_ROBIN, p, false, 0)]++;
        for (uint32_t i = 0; i < n; i++)
                assert_int_equal(counts[i], i == 7 ? 0 : 4);
        /* everything down since the build: the scan finds nothing */
        for (uint32_t i = 0; i < n; i++)
                p->backends[i].down = true;
        assert_int_equal(fake_pick(ROUND_ROBIN, p, false, 0), -EAGAIN);
        assert_contract_kept(p);
        fake_pool_free(p);
        free(counts);
}

static uint32_t hundred_or_fifty(uint32_t i) { return i % 2 ? 50 : 100; }

static void large_rr_weights_scaled_to_fit(void **state) {
        /* 2,000 backends of weight 100 and 50: a cycle of 150,000, more
         * than the 65,536 entries: scaled, in proportion */
        const uint32_t n = 2000;
        struct lbd_pool *p = built_pool(ROUND_ROBIN, n, hundred_or_fifty);
        uint32_t len = p->table_len[0];
        assert_true(len > 0 && len <= 65536);
        uint64_t heavy = 0, light = 0;
        for (uint32_t k = 0; k < len; k++) {
                int r = fake_pick(ROUND_ROBIN, p, false, 0);
                if (r % 2)
                        light++;
                else
                        heavy++;
        }
        double ratio = (double)heavy / (double)light;
        if (ratio < 1.9 || ratio > 2.1)
                fail_msg("weights 100:50 scaled to a ratio of %.3f", ratio);
        assert_contract_kept(p);
        fake_pool_free(p);
}

static void large_rr_backup_tier(void **state) {
        const uint32_t n = 300;
        struct lbd_pool *p = fake_pool_new(n, NULL);
        for (uint32_t i = 100; i < n; i++)
                p->backends[i].backup = true;
        fake_pool_build(ROUND_ROBIN, p);
        assert_int_equal(p->table_len[0], 100);
        assert_int_equal(p->table_len[1], 200);
        for (uint32_t i = 0; i < 100; i++)
                p->backends[i].down = true;
        uint32_t *counts = calloc(n, sizeof(*counts));
        for (uint32_t k = 0; k < 2 * 200; k++) {
                int r = fake_pick_tiered(ROUND_ROBIN, p, 0);
                assert_true(r >= 100);
                counts[r]++;
        }
        for (uint32_t i = 100; i < n; i++)
                assert_int_equal(counts[i], 2);
        assert_contract_kept(p);
        fake_pool_free(p);
        free(counts);
}

/* Long connections that stay open: every pick raises the chosen one's
 * count. The power of two choices keeps the most loaded within a few of
 * the mean (one random choice would put it near twice the mean). */
static void large_lc_two_choices_balance(void **state) {
        const uint32_t n = 1000, picks = 10000;
        struct lbd_pool *p = built_pool(LEAST_CONN, n, NULL);
        p->count_calls = true;
        for (uint32_t k = 0; k < picks; k++) {
                int r = fake_pick(LEAST_CONN, p, false, client(k % 97));
                assert_true(r >= 0);
                p->backends[r].active++;
        }
        uint32_t max = 0, min = UINT32_MAX;
        for (uint32_t i = 0; i < n; i++) {
                max = p->backends[i].active > max ? p->backends[i].active : max;
                min = p->backends[i].active < min ? p->backends[i].active : min;
        }
        if (max > picks / n + 4 || min + 6 < picks / n)
                fail_msg("%u connections over %u backends: from %u to %u each", picks, n, min,
                         max);
        /* a few usable() per pick, not a scan */
        if (p->usable_calls > 3u * picks)
                fail_msg("%llu calls of usable() for %u picks",
                         (unsigned long long)p->usable_calls, picks);
        assert_contract_kept(p);
        fake_pool_free(p);
}

static uint32_t one_or_two(uint32_t i) { return 1 + i % 2; }

static void large_lc_weights_and_unusable(void **state) {
        const uint32_t n = 1000, picks = 30000;
        struct lbd_pool *p = built_pool(LEAST_CONN, n, one_or_two);
        p->backends[5].down = true;
        p->backends[6].tried = true;
        uint64_t light = 0, heavy = 0;
        for (uint32_t k = 0; k < picks; k++) {
                int r = fake_pick(LEAST_CONN, p, false, 0);
                assert_true(r >= 0 && r != 5 && r != 6);
                p->backends[r].active++;
                if (r % 2)
                        heavy++;
                else
                        light++;
        }
        double ratio = (double)heavy / (double)light;
        if (ratio < 1.8 || ratio > 2.2)
                fail_msg("weights 2:1 got a ratio of %.3f of the connections", ratio);
        /* all but 3 down: the draws rarely meet them; the scan does */
        for (uint32_t i = 0; i < n; i++)
                p->backends[i].down = i != 10 && i != 500 && i != 990;
        for (uint32_t k = 0; k < 100; k++) {
                int r = fake_pick(LEAST_CONN, p, false, 0);
                assert_true(r == 10 || r == 500 || r == 990);
        }
        for (uint32_t i = 0; i < n; i++)
                p->backends[i].down = true;
        assert_int_equal(fake_pick(LEAST_CONN, p, false, 0), -EAGAIN);
        assert_contract_kept(p);
        fake_pool_free(p);
}

/* Every client's backend in a large pool, by key. */
static void assign_built(struct lbd_pool *p, uint64_t *keys) {
        for (uint32_t c = 0; c < CLIENTS; c++) {
                int r = fake_pick_tiered(IP_HASH, p, client(c));
                assert_true(r >= 0);
                keys[c] = p->backends[r].key;
        }
}

static void large_ih_sticky_and_even(void **state) {
        const uint32_t n = 1000;
        struct lbd_pool *p = built_pool(IP_HASH, n, NULL);
        assert_int_equal(p->table_len[0], 65521); /* the largest prime that fits */
        uint64_t *keys = calloc(CLIENTS, sizeof(*keys));
        p->count_calls = true;
        assign_built(p, keys);
        assert_int_equal(p->usable_calls, CLIENTS); /* one entry each, no scan */
        p->count_calls = false;
        for (uint32_t c = 0; c < CLIENTS; c += 97)
                assert_int_equal(p->backends[fake_pick(IP_HASH, p, false, client(c))].key,
                                 keys[c]);
        /* 100 clients each on average; Poisson spread and the table's
         * 65 or 66 entries per backend */
        for (uint32_t i = 0; i < n; i++) {
                unsigned got = count_key(keys, p->backends[i].key);
                if (got < 55 || got > 150)
                        fail_msg("backend %u has %u of %u clients", i, got, CLIENTS);
        }
        /* the same members in another order: the same answers */
        struct lbd_pool *q = fake_pool_new(n, NULL);
        for (uint32_t i = 0; i < n; i++)
                q->backends[i] = p->backends[n - 1 - i];
        fake_pool_build(IP_HASH, q);
        for (uint32_t c = 0; c < CLIENTS; c += 7)
                assert_int_equal(q->backends[fake_pick(IP_HASH, q, false, client(c))].key,
                                 keys[c]);
        assert_contract_kept(p);
        assert_contract_kept(q);
        fake_pool_free(p);
        fake_pool_free(q);
        free(keys);
}

/* Removing or adding one of 1,000: its own clients move, and only a small
 * share of the others (Maglev's near-minimal disruption). */
static void large_ih_remove_and_add(void **state) {
        const uint32_t n = 1000;
        uint64_t *before = calloc(CLIENTS, sizeof(*before));
        uint64_t *after = calloc(CLIENTS, sizeof(*after));
        struct lbd_pool *p = built_pool(IP_HASH, n, NULL);
        struct lbd_pool *q = without(p, 400);
        fake_pool_build(IP_HASH, q);
        uint64_t gone = p->backends[400].key;
        assign_built(p, before);
        assign_built(q, after);
        unsigned own = 0, others = 0;
        for (uint32_t c = 0; c < CLIENTS; c++) {
                if (before[c] == gone) {
                        own++;
                        assert_true(after[c] != gone);
                } else if (after[c] != before[c])
                        others++;
        }
        assert_true(own > 0);
        /* removed: p -> q; added: q -> p, the same pairs the other way */
        if (others > CLIENTS / 50)
                fail_msg("removing 1 of %u moved %u other clients of %u", n, others, CLIENTS);
        assert_contract_kept(p);
        assert_contract_kept(q);
        fake_pool_free(p);
        fake_pool_free(q);
        free(before);
        free(after);
}

static void large_ih_down_and_back(void **state) {
        const uint32_t n = 1000;
        uint64_t *before = calloc(CLIENTS, sizeof(*before));
        uint64_t *during = calloc(CLIENTS, sizeof(*during));
        uint64_t *again = calloc(CLIENTS, sizeof(*again));
        struct lbd_pool *p = built_pool(IP_HASH, n, NULL);
        assign_built(p, before);
        /* down, before the master rebuilds: its clients go on to the next
         * entries; nobody else moves */
        p->backends[123].down = true;
        assign_built(p, during);
        p->backends[123].down = false;
        assign_built(p, again);
        uint64_t down = p->backends[123].key;
        for (uint32_t c = 0; c < CLIENTS; c++) {
                if (before[c] == down)
                        assert_true(during[c] != down);
                else
                        assert_true(during[c] == before[c]);
                assert_true(again[c] == before[c]);
        }
        assert_contract_kept(p);
        fake_pool_free(p);
        free(before);
        free(during);
        free(again);
}

static uint32_t one_or_three(uint32_t i) { return i % 2 ? 3 : 1; }

static void large_ih_weights(void **state) {
        const uint32_t n = 500;
        uint64_t *keys = calloc(CLIENTS, sizeof(*keys));
        struct lbd_pool *p = built_pool(IP_HASH, n, one_or_three);
        assign_built(p, keys);
        uint64_t heavy = 0, light = 0;
        for (uint32_t i = 0; i < n; i++) {
                unsigned got = count_key(keys, p->backends[i].key);
                if (i % 2)
                        heavy += got;
                else
                        light += got;
        }
        double ratio = (double)heavy / (double)light;
        if (ratio < 2.8 || ratio > 3.2)
                fail_msg("weights 3:1 got a ratio of %.3f of the clients", ratio);
        assert_contract_kept(p);
        fake_pool_free(p);
        free(keys);
}

static void large_ih_backup_tier(void **state) {
        const uint32_t n = 300;
        struct lbd_pool *p = fake_pool_new(n, NULL);
        for (uint32_t i = 0; i < n; i++)
                p->backends[i].backup = i >= 100;
        fake_pool_build(IP_HASH, p);
        assert_int_equal(p->table_len[0], 65521);
        assert_int_equal(p->table_len[1], 16381);
        for (uint32_t i = 0; i < 100; i++)
                p->backends[i].down = true;
        fake_pool_build(IP_HASH, p);
        assert_int_equal(p->table_len[0], 0); /* 0 primaries: the scan says -EAGAIN */
        for (uint32_t c = 0; c < 1000; c++) {
                int r = fake_pick_tiered(IP_HASH, p, client(c));
                assert_true(r >= 100);
                assert_int_equal(fake_pick_tiered(IP_HASH, p, client(c)), r);
        }
        assert_contract_kept(p);
        fake_pool_free(p);
}

/* With the master's tables built, no policy scans a large pool. */
static void large_pools_do_not_scan(void **state) {
        for (size_t k = 0; k < 3; k++) {
                struct lbd_pool *p = built_pool(policies[k].ops, 10000, one_to_seven);
                p->count_calls = true;
                for (uint32_t j = 0; j < 100; j++)
                        assert_true(fake_pick(policies[k].ops, p, false, client(j)) >= 0);
                if (p->usable_calls > 100u * PROBES)
                        fail_msg("%s: %llu calls of usable() for 100 picks of 10,000",
                                 policies[k].name, (unsigned long long)p->usable_calls);
                assert_contract_kept(p);
                fake_pool_free(p);
        }
}

/* ---- micro-benchmark (printed, not asserted) ----------------------------- */

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The floor, for comparison: a scan that only asks the host usable(),
 * weight() and active() of every backend. */
static int scan_only_pick(void *data, const struct lbd_pick *pick) {
        int found = -EAGAIN;
        uint64_t sum = 0;
        for (uint32_t i = 0; i < pick->count; i++)
                if (pick->host->usable(pick, i)) {
                        sum += pick->host->weight(pick, i) + pick->host->active(pick, i);
                        if (found < 0)
                                found = (int)i;
                }
        __asm__ volatile("" : : "r"(sum)); /* keep the calls */
        return found;
}

static const struct lbd_policy_ops scan_only = {
        .struct_size = sizeof(struct lbd_policy_ops),
        .pick = scan_only_pick,
};

static void benchmark(void **state) {
        static const uint32_t sizes[] = { 2, 1000, 10000 };
        const struct policy all[] = { policies[0], policies[1], policies[2],
                                      { .name = "(scan only)", .ops = &scan_only } };
        for (size_t k = 0; k < 4; k++)
                for (size_t s = 0; s < 3; s++) {
                        struct lbd_pool *p = fake_pool_new(sizes[s], NULL);
                        for (uint32_t i = 0; i < sizes[s]; i++) {
                                p->backends[i].weight = 1 + i % 3; /* ip_hash: weighted path */
                                p->backends[i].active = i % 5;
                        }
                        fake_pool_build(all[k].ops, p); /* as the master does */
                        /* about 50 ms each */
                        uint64_t start = now_ns(), picks = 0, elapsed;
                        do {
                                for (int j = 0; j < 64; j++)
                                        fake_pick(all[k].ops, p, false, client((uint32_t)picks++));
                        } while ((elapsed = now_ns() - start) < 50000000u);
                        printf("benchmark: %-11s %5u backends: %8.1f ns/pick (through the fake "
                               "host)\n",
                               all[k].name, sizes[s], (double)elapsed / (double)picks);
                        assert_contract_kept(p);
                        fake_pool_free(p);
                }
}

int main(void) {
        plugin_dir = getenv("LBD_BUILD_PLUGIN_DIR");
        if (!plugin_dir) {
                fprintf(stderr, "LBD_BUILD_PLUGIN_DIR is not set (run through meson test)\n");
                return 1;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(rr_sequence_5_1_1),
                cmocka_unit_test(rr_sequence_other_weights),
                cmocka_unit_test(rr_proportions_5_1_1),
                cmocka_unit_test(rr_proportions_any_weights),
                cmocka_unit_test(rr_down_and_back),
                cmocka_unit_test(rr_random_outages),
                cmocka_unit_test(rr_skips_full_and_tried),
                cmocka_unit_test(rr_backup_tier),
                cmocka_unit_test(rr_nothing_usable),
                cmocka_unit_test(rr_one_sequence_for_all_threads),
                cmocka_unit_test(lc_choices),
                cmocka_unit_test(lc_ties_rotate),
                cmocka_unit_test(lc_burst),
                cmocka_unit_test(lc_all_busy_but_one),
                cmocka_unit_test(lc_backup_tier),
                cmocka_unit_test(lc_nothing_usable),
                cmocka_unit_test(ih_same_client_same_backend),
                cmocka_unit_test(ih_spread),
                cmocka_unit_test(ih_remove_one),
                cmocka_unit_test(ih_add_one),
                cmocka_unit_test(ih_down_and_back),
                cmocka_unit_test(ih_weights),
                cmocka_unit_test(ih_weighted_path_agrees),
                cmocka_unit_test(ih_backup_tier),
                cmocka_unit_test(ih_nothing_usable),
                cmocka_unit_test(one_scan),
                cmocka_unit_test(large_tables_only_past_scan_max),
                cmocka_unit_test(large_rr_cycle_exact_and_even),
                cmocka_unit_test(large_rr_skips_unusable),
                cmocka_unit_test(large_rr_weights_scaled_to_fit),
                cmocka_unit_test(large_rr_backup_tier),
                cmocka_unit_test(large_lc_two_choices_balance),
                cmocka_unit_test(large_lc_weights_and_unusable),
                cmocka_unit_test(large_ih_sticky_and_even),
                cmocka_unit_test(large_ih_remove_and_add),
                cmocka_unit_test(large_ih_down_and_back),
                cmocka_unit_test(large_ih_weights),
                cmocka_unit_test(large_ih_backup_tier),
                cmocka_unit_test(large_pools_do_not_scan),
                cmocka_unit_test(benchmark),
        };
        return cmocka_run_group_tests(tests, load_policies, unload_policies);
}
