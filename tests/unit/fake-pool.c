/* SPDX-License-Identifier: MIT */
/* See fake-pool.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake-pool.h"

/* The pool whose lock this thread holds, if any. */
static __thread const struct lbd_pool *held;

static void complain(struct lbd_pool *p, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static void complain(struct lbd_pool *p, const char *format, ...) {
        if (__atomic_fetch_add(&p->violations, 1, __ATOMIC_RELAXED) == 0) {
                va_list ap;
                va_start(ap, format);
                vsnprintf(p->violation, sizeof(p->violation), format, ap);
                va_end(ap);
        }
}

/* The backend at position i, or NULL (and a complaint) when i is out of
 * range. */
static struct fake_backend *at(const struct lbd_pick *pick, uint32_t i) {
        struct lbd_pool *p = pick->pool;
        if (i >= pick->count || pick->count != p->count) {
                complain(p, "position %u asked of a pick over %u backends", i, pick->count);
                return NULL;
        }
        return &p->backends[i];
}

static bool is_usable(const struct fake_backend *b, bool backup_tier) {
        return !b->down && !b->tried && b->backup == backup_tier &&
               (b->max_conns == 0 || b->active < b->max_conns);
}

static bool fake_usable(const struct lbd_pick *pick, uint32_t i) {
        if (pick->pool->count_calls) /* not atomic: only for one thread */
                pick->pool->usable_calls++;
        const struct fake_backend *b = at(pick, i);
        if (b && pick->pool->building) /* the state alone, as the master's */
                return !b->down && b->backup == pick->backup_tier;
        return b && is_usable(b, pick->backup_tier);
}

static uint32_t fake_weight(const struct lbd_pick *pick, uint32_t i) {
        const struct fake_backend *b = at(pick, i);
        return b ? b->weight : 1;
}

static uint32_t fake_active(const struct lbd_pick *pick, uint32_t i) {
        const struct fake_backend *b = at(pick, i);
        return b ? __atomic_load_n(&b->active, __ATOMIC_RELAXED) : 0;
}

static uint64_t fake_key(const struct lbd_pick *pick, uint32_t i) {
        const struct fake_backend *b = at(pick, i);
        return b ? b->key : 0;
}

static int64_t *fake_scratch(const struct lbd_pick *pick, uint32_t i) {
        struct fake_backend *b = at(pick, i);
        if (!b)
                return &pick->pool->backends[0].scratch;
        if (held != pick->pool)
                complain(pick->pool, "scratch(%u) outside lock()", i);
        return &b->scratch;
}

static uint64_t *fake_pool_word(const struct lbd_pick *pick) { return &pick->pool->pool_word; }

static void fake_lock(const struct lbd_pick *pick) {
        struct lbd_pool *p = pick->pool;
        if (held == p) { /* locking again would deadlock */
                complain(p, "lock() while this thread holds it");
                return;
        }
        pthread_mutex_lock(&p->mutex);
        p->locked = true;
        held = p;
}

static void fake_unlock(const struct lbd_pick *pick) {
        struct lbd_pool *p = pick->pool;
        if (held != p) {
                complain(p, "unlock() without lock()");
                return;
        }
        held = NULL;
        p->locked = false;
        pthread_mutex_unlock(&p->mutex);
}

static const uint32_t *fake_table(const struct lbd_pick *pick, uint32_t *ret_len) {
        struct lbd_pool *p = pick->pool;
        if (p->building) {
                complain(p, "table() asked during build()");
                *ret_len = 0;
                return NULL;
        }
        *ret_len = p->table_len[pick->backup_tier];
        return *ret_len ? p->table[pick->backup_tier] : NULL;
}

static const struct lbd_pool_host fake_host = {
        .struct_size = sizeof(struct lbd_pool_host),
        .usable = fake_usable,
        .weight = fake_weight,
        .active = fake_active,
        .key = fake_key,
        .scratch = fake_scratch,
        .pool_word = fake_pool_word,
        .lock = fake_lock,
        .unlock = fake_unlock,
        .table = fake_table,
};

void fake_pool_build(const struct lbd_policy_ops *ops, struct lbd_pool *p) {
        static const uint32_t sizes[2] = { 65536, 16384 };
        for (int tier = 0; tier < 2; tier++) {
                free(p->table[tier]);
                p->table[tier] = NULL;
                p->table_len[tier] = 0;
                if (!ops->build)
                        continue;
                uint32_t *table = calloc(sizes[tier], sizeof(*table));
                if (!table)
                        abort();
                struct lbd_pick pick = {
                        .struct_size = sizeof(pick),
                        .count = p->count,
                        .host = &fake_host,
                        .pool = p,
                        .backup_tier = tier == 1,
                };
                p->building = true;
                uint32_t n = ops->build(NULL, &pick, table, sizes[tier]);
                p->building = false;
                if (n > sizes[tier])
                        complain(p, "build() wrote %u entries of %u", n, sizes[tier]);
                for (uint32_t k = 0; k < n && k < sizes[tier]; k++)
                        if (table[k] >= p->count)
                                complain(p, "build() put position %u in a pool of %u", table[k],
                                         p->count);
                if (n == 0 || n > sizes[tier]) {
                        free(table);
                        continue;
                }
                p->table[tier] = table;
                p->table_len[tier] = n;
        }
}

uint64_t fake_hash(const void *data, size_t len) {
        const unsigned char *c = data;
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < len; i++) {
                h ^= c[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

struct lbd_pool *fake_pool_new(uint32_t count, const char *const *names) {
        struct lbd_pool *p = calloc(1, sizeof(*p));
        if (!p)
                abort();
        p->count = count;
        p->backends = calloc(count ? count : 1, sizeof(*p->backends));
        if (!p->backends)
                abort();
        pthread_mutex_init(&p->mutex, NULL);
        /* Names live as long as the process: tests make few pools. */
        static char generated[4096][8];
        for (uint32_t i = 0; i < count; i++) {
                struct fake_backend *b = &p->backends[i];
                if (names)
                        b->name = names[i];
                else if (i < 4096) {
                        snprintf(generated[i], sizeof(generated[i]), "b%u", i);
                        b->name = generated[i];
                } else
                        b->name = "b?";
                char address[32];
                snprintf(address, sizeof(address), "127.0.%u.%u:8000", i / 256, i % 256);
                if (names)
                        snprintf(address, sizeof(address), "%s", names[i]);
                b->key = fake_hash(address, strlen(address));
                b->weight = 1;
        }
        return p;
}

void fake_pool_free(struct lbd_pool *p) {
        if (!p)
                return;
        pthread_mutex_destroy(&p->mutex);
        free(p->table[0]);
        free(p->table[1]);
        free(p->backends);
        free(p);
}

int fake_pick(const struct lbd_policy_ops *ops, struct lbd_pool *p, bool backup_tier,
              uint64_t client_hash) {
        const struct lbd_pick pick = {
                .struct_size = sizeof(struct lbd_pick),
                .count = p->count,
                .host = &fake_host,
                .pool = p,
                .client_hash = client_hash,
                .backup_tier = backup_tier,
        };
        int r = ops->pick(NULL, &pick);
        if (held == p)
                complain(p, "pick returned %d with the lock held", r);
        if (r >= 0 && ((uint32_t)r >= p->count || !is_usable(&p->backends[r], backup_tier)))
                complain(p, "pick returned %d, which is not usable", r);
        else if (r < 0 && r != -EAGAIN)
                complain(p, "pick returned %d, not a position or -EAGAIN", r);
        return r;
}

int fake_pick_tiered(const struct lbd_policy_ops *ops, struct lbd_pool *p, uint64_t client_hash) {
        int r = fake_pick(ops, p, false, client_hash);
        if (r == -EAGAIN)
                r = fake_pick(ops, p, true, client_hash);
        return r;
}
