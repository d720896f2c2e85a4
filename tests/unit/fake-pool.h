/* SPDX-License-Identifier: MIT */
/*
 * A fake struct lbd_pool_host over plain arrays, for testing policy plugins
 * without the daemon's shared backend table. It plays the host's part the
 * way lbd-plugin.h describes it: usable() is false for a backend that is
 * down, already tried, at max_conns or not of the tier being picked, and
 * fake_pick_tiered() asks for a primary first and for a backup only after
 * -EAGAIN.
 *
 * It also checks the policy against the contract and counts what it sees
 * wrong in `violations` (with the first complaint in `violation`), instead
 * of failing inside the plugin: positions out of range, scratch() outside
 * lock(), lock() twice, unlock() without lock(), a pick returning an
 * unusable position or returning with the lock held. The lock is a real
 * mutex, so threads may pick from one pool at once.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lbd-plugin.h"

struct fake_backend {
        const char *name;     /* for messages and sequences; one letter is handy */
        uint32_t weight;      /* >= 1 */
        uint32_t active;
        uint32_t max_conns;   /* 0: no limit */
        uint64_t key;
        bool down;
        bool backup;
        bool tried;
        int64_t scratch;
};

struct lbd_pool {
        uint32_t count;
        struct fake_backend *backends; /* count of them, owned */
        uint64_t pool_word;
        pthread_mutex_t mutex;
        bool locked;          /* by some thread */
        /* contract checks */
        unsigned violations;
        char violation[160];
        /* calls of usable(), counted while count_calls is set (single
         * thread only) */
        bool count_calls;
        uint64_t usable_calls;
        /* The policy's tables (fake_pool_build()), per tier, owned. */
        uint32_t *table[2];
        uint32_t table_len[2];
        bool building; /* usable() as build() sees it */
};

/* A pool of `count` backends named "b0", "b1"… (or names[i] when names is
 * not NULL), weight 1, keys derived from the names. fake_pool_free()
 * accepts NULL. */
struct lbd_pool *fake_pool_new(uint32_t count, const char *const *names);
void fake_pool_free(struct lbd_pool *p);

/* Ask the policy once, for one tier, as the host would. */
int fake_pick(const struct lbd_policy_ops *ops, struct lbd_pool *p, bool backup_tier,
              uint64_t client_hash);
/* Primaries first; the backups only when the policy finds no usable
 * primary. */
int fake_pick_tiered(const struct lbd_policy_ops *ops, struct lbd_pool *p, uint64_t client_hash);

/* As the master after a change: the policy's build() for both tiers (none
 * when it has no build()), replacing the tables the picks see. Table sizes
 * as the daemon's (65536 entries for the primaries, 16384 for the
 * backups). */
void fake_pool_build(const struct lbd_policy_ops *ops, struct lbd_pool *p);

/* A 64-bit FNV-1a hash, as a stand-in for the host's address hashes. */
uint64_t fake_hash(const void *data, size_t len);
