/* SPDX-License-Identifier: MIT */
/*
 * The shared backend table (backend-table.h).
 *
 * Layout: one MAP_SHARED | MAP_ANONYMOUS mapping with the pools, the
 * backend slots and, per pool, its member list (slot numbers, in the
 * configuration's order, draining members last). Only touched pages cost
 * memory: slots are taken lowest first and the master scans them only up
 * to the highest ever used.
 *
 * Who writes what:
 *  - the master writes a slot's identity and parameters, a pool's member
 *    list and policy name, always between seq_begin() and seq_end() of the
 *    pool, so a worker whose pick saw the sequence change starts over;
 *  - workers write the counters and passive-health words of a slot with
 *    atomics; the master only reads those (and resets them when a slot is
 *    taken for a new backend, while no worker can pick it).
 * Plain fields that the master writes while workers may read them are
 * accessed with relaxed atomic builtins (LOAD/STORE), so a torn read is
 * impossible and a stale one is caught by the sequence check.
 *
 * A pick (lbd_table_pick) raises the chosen backend's active count, then
 * re-reads the pool's sequence: a changed sequence or a backend over its
 * max_conns undoes the raise and picks again. That is what makes a slot
 * safe: the master frees a slot only when it is removed and its active
 * count is 0, and a removal changes the sequence first.
 */
#include "backend-table.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <netinet/in.h>

#include "log.h"
#include "smooth-weighted.h" /* the fallback policy: round_robin's code */

/* The cold part of slot s (t in scope). */
#define C(s) (&t->cold[(s) - t->slots])
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* The same for _Atomic fields (clang's __atomic builtins refuse them). */
#define ALOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define ASTORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

/* slot flags (master-written) */
enum {
        SLOT_IN_USE = 1u << 0,
        SLOT_BACKUP = 1u << 1,
        SLOT_DISABLED = 1u << 2, /* down= / Disable() */
        SLOT_DRAIN = 1u << 3,    /* drain= / Drain() */
        SLOT_REMOVED = 1u << 4,  /* not in the configuration any more: draining */
        SLOT_HEALTH_DOWN = 1u << 5,
};
#define SLOT_NOT_PICKABLE (SLOT_DISABLED | SLOT_DRAIN | SLOT_REMOVED | SLOT_HEALTH_DOWN)

#define REASON_MAX 96
/* How often a pick starts over (the master changed the pool, or a backend
 * filled up under us) before it gives up with -EAGAIN. */
#define PICK_ATTEMPTS 64
/* How often a pick waits for a master's change in progress to end. */
#define SEQ_SPINS 100000
/* Entries of the lookup table a policy may keep per pool (build()), for
 * the primaries and for the backups: 64 and 16 per backend of a pool of
 * 1,000, six and more at the table's largest pool. Only pools whose
 * policy builds one touch these pages. */
#define POLICY_TABLE_PRIMARY 65536u
#define POLICY_TABLE_BACKUP 16384u

/* What a pick reads of every backend it scans, in one cache line per
 * backend, so that a scan of 1,000 backends reads 64 KB, not three times
 * that. */
struct slot {
        /* -- written by the master (under the pool's sequence) -- */
        uint32_t flags;
        uint32_t pool;
        uint64_t key;        /* hash of the address text */
        uint32_t weight;
        uint32_t max_conns;
        uint32_t slow_start_ms;
        /* -- workers (atomics) -- */
        _Atomic uint32_t active;
        uint64_t slow_start_from_ms;    /* master; 0: no ramp */
        _Atomic uint64_t down_until_ms; /* passive health: down before this */
        /* The policy's word, changed only under the pool's lock. */
        int64_t scratch;
        uint64_t unused;
};
_Static_assert(sizeof(struct slot) == 64, "one cache line per backend");

/* The rest of a backend: what a pick does not scan. */
struct slot_cold {
        /* -- written by the master (under the pool's sequence) -- */
        uint64_t generation; /* bumped each time the slot is taken */
        uint32_t max_fails;
        uint32_t fail_timeout_ms;
        struct lbd_address address;
        /* -- the master alone -- */
        uint8_t reported;            /* the State last reported by tick */
        bool health_was_down;        /* for the reason of a recovery */
        uint32_t active_downs;       /* times the health check took it down */
        uint32_t passive_downs;      /* times its failures took it down */
        uint64_t down_since_ms;      /* down now, since (0: not down) */
        uint64_t down_ms;            /* time spent down before that */
        char health_reason[REASON_MAX];

        /* -- written by workers (atomics); on their own cache lines -- */
        _Alignas(64) _Atomic uint32_t fails; /* failures in the current window */
        _Atomic uint32_t marked_fails; /* the count that marked it down */
        _Atomic uint32_t latency_us;   /* moving average */
        _Atomic uint32_t reason_lock;
        _Atomic uint64_t window_start_ms;
        _Atomic uint64_t requests;
        char fail_reason[48]; /* the last failure's reason, under reason_lock */
};

struct pool {
        _Atomic uint64_t seq;  /* odd while the master changes the pool */
        _Atomic uint32_t count;
        _Atomic uint32_t policy_gen; /* bumped when policy[] changes */
        uint64_t pool_word;
        pthread_mutex_t lock;  /* robust, process-shared */
        char name[72];
        char policy[LBD_PLUGIN_NAME_MAX + 1];
        /* Entries of the policy's tables (primaries, backups) in use; the
         * master writes both under the sequence. */
        _Atomic uint32_t table_len[2];
        /* -- the master alone -- */
        bool table_dirty; /* changed since the policy's tables were built */
        bool used;
        bool in_config; /* in the configuration last synced */
        uint32_t holds; /* worker generations using the pool */
};

/* The master's index from (pool, address) to slot: open addressing with
 * linear probing, twice the slots (at most half full), deletion by
 * backward shift (no tombstones), so that finding a backend by name
 * (GetStatistics, SetWeight, a health result) costs O(1), not a scan of
 * its pool. An entry is slot + 1; 0 is empty. */
#define INDEX_SIZE (2u * LBD_TABLE_BACKENDS_MAX)
_Static_assert((INDEX_SIZE & (INDEX_SIZE - 1)) == 0, "a power of two");

struct lbd_table {
        uint32_t index[INDEX_SIZE]; /* the master alone */
        uint32_t high;        /* one more than the highest slot ever taken */
        uint32_t n_slots;     /* taken */
        uint64_t generations; /* last slot generation given */
        struct pool pools[LBD_TABLE_POOLS_MAX];
        _Alignas(64) struct slot slots[LBD_TABLE_BACKENDS_MAX];
        struct slot_cold cold[LBD_TABLE_BACKENDS_MAX];
        /* What went through each backend, and through each pool without
         * reaching one or through its backends since removed
         * (traffic-stats.h). */
        struct lbd_traffic traffic[LBD_TABLE_BACKENDS_MAX];
        struct lbd_traffic pool_traffic[LBD_TABLE_POOLS_MAX];
        /* Per pool, responses by status code (StatsD's request.status.<code>). */
        _Atomic uint64_t pool_codes[LBD_TABLE_POOLS_MAX][LBD_TABLE_STATUS_CODES];
        uint32_t members[LBD_TABLE_POOLS_MAX][LBD_TABLE_POOL_MEMBERS_MAX];
        /* Per pool, the policy's tables: primaries', then backups'. */
        uint32_t policy_tables[LBD_TABLE_POOLS_MAX][POLICY_TABLE_PRIMARY + POLICY_TABLE_BACKUP];
};

const char *lbd_backend_state_to_string(enum lbd_backend_state state) {
        switch (state) {
        case LBD_BACKEND_UP: return "up";
        case LBD_BACKEND_DOWN: return "down";
        case LBD_BACKEND_DRAINING: return "draining";
        case LBD_BACKEND_DISABLED: return "disabled";
        }
        return "unknown";
}

/* FNV-1a, 64 bits: fixed, so the same in every process and every run. */
static uint64_t fnv1a(const void *data, size_t len) {
        const unsigned char *p = data;
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

/* ---- creation ------------------------------------------------------------ */

struct lbd_table *lbd_table_new(void) {
        struct lbd_table *t = mmap(NULL, sizeof(struct lbd_table), PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (t == MAP_FAILED)
                return NULL;
        pthread_mutexattr_t attr;
        int r = pthread_mutexattr_init(&attr);
        if (r == 0)
                r = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        /* A worker killed (heartbeat timeout) while it holds a pool's lock
         * must not stop every other worker's picks: robust. */
        if (r == 0)
                r = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
        for (unsigned i = 0; r == 0 && i < LBD_TABLE_POOLS_MAX; i++)
                r = pthread_mutex_init(&t->pools[i].lock, &attr);
        pthread_mutexattr_destroy(&attr);
        if (r != 0) {
                munmap(t, sizeof(*t));
                errno = r;
                return NULL;
        }
        return t;
}

void lbd_table_free(struct lbd_table *t) {
        if (t)
                munmap(t, sizeof(*t));
}

/* ---- the master's writes --------------------------------------------------- */

static void seq_begin(struct pool *p) {
        p->table_dirty = true; /* whatever changes, the policy's tables follow */
        atomic_fetch_add_explicit(&p->seq, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_release);
}

static void seq_end(struct pool *p) {
        atomic_fetch_add_explicit(&p->seq, 1, memory_order_release);
}

static int pool_find(const struct lbd_table *t, const char *name) {
        for (unsigned i = 0; i < LBD_TABLE_POOLS_MAX; i++)
                if (t->pools[i].used && strcmp(t->pools[i].name, name) == 0)
                        return (int)i;
        return -ENOENT;
}

int lbd_table_pool_find(const struct lbd_table *t, const char *name) {
        return pool_find(t, name);
}

static uint32_t index_home(uint32_t pool, uint64_t key) {
        uint64_t h = (key ^ ((uint64_t)pool * UINT64_C(0x9e3779b97f4a7c15))) *
                     UINT64_C(0xbf58476d1ce4e5b9);
        return (uint32_t)(h >> 32) & (INDEX_SIZE - 1);
}

static void index_add(struct lbd_table *t, uint32_t i) {
        uint32_t h = index_home(t->slots[i].pool, t->slots[i].key);
        while (t->index[h])
                h = (h + 1) & (INDEX_SIZE - 1);
        t->index[h] = i + 1;
}

static void index_remove(struct lbd_table *t, uint32_t i) {
        uint32_t h = index_home(t->slots[i].pool, t->slots[i].key);
        while (t->index[h] != i + 1) {
                if (!t->index[h])
                        return; /* not there: cannot happen */
                h = (h + 1) & (INDEX_SIZE - 1);
        }
        /* Backward shift: move up each later entry of the run that may
         * live at the hole, so that no probe stops early. */
        uint32_t hole = h;
        for (uint32_t j = (h + 1) & (INDEX_SIZE - 1); t->index[j]; j = (j + 1) & (INDEX_SIZE - 1)) {
                uint32_t s = t->index[j] - 1;
                uint32_t home = index_home(t->slots[s].pool, t->slots[s].key);
                /* Movable unless its home lies cyclically in (hole, j]. */
                bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
                if (!stays) {
                        t->index[hole] = t->index[j];
                        hole = j;
                }
        }
        t->index[hole] = 0;
}

static int slot_find(const struct lbd_table *t, int pool, const char *address) {
        if (pool < 0)
                return -ENOENT;
        uint32_t h = index_home((uint32_t)pool, fnv1a(address, strlen(address)));
        for (; t->index[h]; h = (h + 1) & (INDEX_SIZE - 1)) {
                uint32_t i = t->index[h] - 1;
                if (t->slots[i].pool == (uint32_t)pool &&
                    strcmp(t->cold[i].address.text, address) == 0)
                        return (int)i;
        }
        return -ENOENT;
}

int lbd_table_find_slot(const struct lbd_table *t, const char *service, const char *address) {
        return slot_find(t, pool_find(t, service), address);
}

static uint32_t slot_take(struct lbd_table *t) {
        uint32_t i = 0;
        while (t->slots[i].flags & SLOT_IN_USE)
                i++; /* the caller checked that one is free */
        if (i + 1 > t->high)
                t->high = i + 1;
        t->n_slots++;
        return i;
}

/* The parameters of b, into slot s (under the pool's sequence). */
static void slot_set_params(struct lbd_table *t, struct slot *s,
                            const struct lbd_backend_config *b) {
        uint32_t keep = LOAD(s->flags) & (SLOT_IN_USE | SLOT_HEALTH_DOWN);
        uint32_t flags = keep | (b->backup ? SLOT_BACKUP : 0) | (b->down ? SLOT_DISABLED : 0) |
                         (b->drain ? SLOT_DRAIN : 0);
        STORE(s->flags, flags);
        STORE(s->weight, b->weight ? b->weight : 1);
        STORE(C(s)->max_fails, b->max_fails);
        STORE(C(s)->fail_timeout_ms, b->fail_timeout * 1000u);
        STORE(s->max_conns, b->max_conns);
        STORE(s->slow_start_ms, b->slow_start * 1000u);
}

static enum lbd_backend_state slot_state(const struct slot *s, uint64_t now) {
        uint32_t f = LOAD(s->flags);
        if (f & SLOT_DISABLED)
                return LBD_BACKEND_DISABLED;
        if (f & (SLOT_DRAIN | SLOT_REMOVED))
                return LBD_BACKEND_DRAINING;
        if ((f & SLOT_HEALTH_DOWN) ||
            atomic_load_explicit(&s->down_until_ms, memory_order_relaxed) > now)
                return LBD_BACKEND_DOWN;
        return LBD_BACKEND_UP;
}

/* A new backend in slot i of pool: counters from zero, a new generation. */
static void slot_init(struct lbd_table *t, uint32_t i, uint32_t pool,
                      const struct lbd_backend_config *b) {
        struct slot *s = &t->slots[i];
        STORE(s->flags, SLOT_IN_USE);
        STORE(s->pool, pool);
        STORE(C(s)->generation, ++t->generations);
        C(s)->address = b->address;
        STORE(s->key, fnv1a(b->address.text, strlen(b->address.text)));
        s->slow_start_from_ms = 0;
        C(s)->health_was_down = false;
        C(s)->health_reason[0] = 0;
        C(s)->active_downs = C(s)->passive_downs = 0;
        C(s)->down_since_ms = C(s)->down_ms = 0;
        lbd_traffic_reset(&t->traffic[i]);
        atomic_store(&s->active, 0);
        atomic_store(&C(s)->fails, 0);
        atomic_store(&C(s)->marked_fails, 0);
        atomic_store(&C(s)->latency_us, 0);
        atomic_store(&C(s)->window_start_ms, 0);
        atomic_store(&s->down_until_ms, 0);
        atomic_store(&C(s)->requests, 0);
        atomic_store(&C(s)->reason_lock, 0);
        C(s)->fail_reason[0] = 0;
        s->scratch = 0;
        slot_set_params(t, s, b);
        C(s)->reported = (uint8_t)slot_state(s, lbd_now_ms());
        index_add(t, i);
}

/* Mark every member of a pool removed (its service is gone). */
static void pool_retire(struct lbd_table *t, unsigned pi) {
        struct pool *p = &t->pools[pi];
        uint32_t n = ALOAD(p->count);
        seq_begin(p);
        for (uint32_t k = 0; k < n; k++) {
                struct slot *s = &t->slots[t->members[pi][k]];
                STORE(s->flags, LOAD(s->flags) | SLOT_REMOVED);
        }
        seq_end(p);
}

/* Make pool pi's members those of service (config order), keeping the
 * slots of backends that stay and marking the others removed (last). */
static void pool_sync(struct lbd_table *t, unsigned pi, const struct lbd_service_config *svc,
                      GHashTable *index) {
        struct pool *p = &t->pools[pi];
        uint32_t old_n = ALOAD(p->count);
        g_autofree uint32_t *old = g_memdup2(t->members[pi], (gsize)old_n * sizeof(uint32_t) + 1);
        g_autofree bool *kept = g_new0(bool, (gsize)old_n + 1);
        g_autoptr(GHashTable) old_pos = g_hash_table_new(g_str_hash, g_str_equal);
        for (uint32_t k = 0; k < old_n; k++)
                g_hash_table_insert(old_pos, t->cold[old[k]].address.text, GUINT_TO_POINTER(k + 1));

        seq_begin(p);
        if (strcmp(p->policy, svc->policy) != 0) {
                g_strlcpy(p->policy, svc->policy, sizeof p->policy);
                atomic_fetch_add_explicit(&p->policy_gen, 1, memory_order_relaxed);
        }
        uint32_t n = 0;
        for (guint b = 0; b < svc->backends->len; b++) {
                const struct lbd_backend_config *bc =
                        &g_array_index(svc->backends, struct lbd_backend_config, b);
                if (g_hash_table_contains(index, bc->address.text))
                        continue; /* a duplicate address: the first one counts */
                uint32_t k1 = GPOINTER_TO_UINT(g_hash_table_lookup(old_pos, bc->address.text));
                uint32_t i;
                if (k1 && !kept[k1 - 1]) {
                        kept[k1 - 1] = true;
                        i = old[k1 - 1];
                        struct slot *s = &t->slots[i];
                        STORE(s->flags, LOAD(s->flags) & ~SLOT_REMOVED);
                        slot_set_params(t, s, bc);
                } else {
                        i = slot_take(t);
                        slot_init(t, i, pi, bc);
                }
                g_hash_table_add(index, t->cold[i].address.text);
                t->members[pi][n++] = i;
        }
        for (uint32_t k = 0; k < old_n; k++) {
                if (kept[k])
                        continue;
                struct slot *s = &t->slots[old[k]];
                STORE(s->flags, LOAD(s->flags) | SLOT_REMOVED);
                t->members[pi][n++] = old[k];
        }
        atomic_store_explicit(&p->count, n, memory_order_relaxed);
        seq_end(p);
}

int lbd_table_sync(struct lbd_table *t, const struct lbd_config *config, char **ret_reason) {
        /* First count what is needed, so that a full table changes nothing. */
        uint32_t new_slots = 0, new_pools = 0;
        for (guint si = 0; si < config->services->len; si++) {
                const struct lbd_service_config *svc = config->services->pdata[si];
                int pi = pool_find(t, svc->name);
                if (pi < 0)
                        new_pools++;
                g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
                g_autoptr(GHashTable) have = g_hash_table_new(g_str_hash, g_str_equal);
                if (pi >= 0)
                        for (uint32_t k = 0; k < ALOAD(t->pools[pi].count); k++)
                                g_hash_table_add(have,
                                                 t->cold[t->members[pi][k]].address.text);
                for (guint b = 0; b < svc->backends->len; b++) {
                        const char *a = g_array_index(svc->backends, struct lbd_backend_config,
                                                      b).address.text;
                        if (!g_hash_table_add(seen, (gpointer)a))
                                continue;
                        if (!g_hash_table_contains(have, a))
                                new_slots++;
                }
        }
        uint32_t free_pools = 0;
        for (unsigned i = 0; i < LBD_TABLE_POOLS_MAX; i++)
                free_pools += !t->pools[i].used;
        if (new_slots > LBD_TABLE_BACKENDS_MAX - t->n_slots || new_pools > free_pools) {
                if (ret_reason) {
                        if (new_pools > free_pools)
                                *ret_reason = g_strdup_printf(
                                        "the backend table is full: %u new service(s), room "
                                        "for %u (at most %u services)",
                                        new_pools, free_pools, LBD_TABLE_POOLS_MAX);
                        else
                                *ret_reason = g_strdup_printf(
                                        "the backend table is full: %u new backend(s), room "
                                        "for %u (at most %u backends, draining ones included)",
                                        new_slots, LBD_TABLE_BACKENDS_MAX - t->n_slots,
                                        LBD_TABLE_BACKENDS_MAX);
                }
                return -ENOSPC;
        }

        bool in_config[LBD_TABLE_POOLS_MAX] = { false };
        for (guint si = 0; si < config->services->len; si++) {
                const struct lbd_service_config *svc = config->services->pdata[si];
                int pi = pool_find(t, svc->name);
                if (pi < 0) {
                        for (pi = 0; t->pools[pi].used; pi++)
                                ;
                        struct pool *p = &t->pools[pi];
                        /* Unused: no worker reads it; no sequence needed. */
                        p->used = true;
                        p->holds = 0;
                        atomic_store(&p->count, 0);
                        p->pool_word = 0;
                        p->policy[0] = 0;
                        g_strlcpy(p->name, svc->name, sizeof p->name);
                        lbd_traffic_reset(&t->pool_traffic[pi]);
                        for (unsigned c = 0; c < LBD_TABLE_STATUS_CODES; c++)
                                atomic_store(&t->pool_codes[pi][c], 0);
                }
                g_autoptr(GHashTable) index = g_hash_table_new(g_str_hash, g_str_equal);
                pool_sync(t, (unsigned)pi, svc, index);
                in_config[pi] = true;
        }
        for (unsigned i = 0; i < LBD_TABLE_POOLS_MAX; i++) {
                struct pool *p = &t->pools[i];
                if (!p->used)
                        continue;
                bool was = p->in_config;
                p->in_config = in_config[i];
                /* A service gone: its backends drain once no generation
                 * of workers serves it any more. */
                if (was && !p->in_config && p->holds == 0)
                        pool_retire(t, i);
        }
        return 0;
}

void lbd_table_pool_hold(struct lbd_table *t, const struct lbd_config *config) {
        for (guint si = 0; si < config->services->len; si++) {
                const struct lbd_service_config *svc = config->services->pdata[si];
                int pi = pool_find(t, svc->name);
                if (pi >= 0)
                        t->pools[pi].holds++;
        }
}

void lbd_table_pool_release(struct lbd_table *t, const struct lbd_config *config) {
        for (guint si = 0; si < config->services->len; si++) {
                const struct lbd_service_config *svc = config->services->pdata[si];
                int pi = pool_find(t, svc->name);
                if (pi < 0 || t->pools[pi].holds == 0)
                        continue;
                struct pool *p = &t->pools[pi];
                if (--p->holds == 0 && !p->in_config)
                        pool_retire(t, (unsigned)pi);
        }
}

int lbd_table_set_health(struct lbd_table *t, const char *service, const char *address, bool up,
                         const char *reason) {
        int pi = pool_find(t, service);
        int i = slot_find(t, pi, address);
        if (i < 0)
                return -ENOENT;
        struct slot *s = &t->slots[i];
        g_strlcpy(C(s)->health_reason, reason ? reason : (up ? "health check passed" :
                                                            "health check failed"),
                  sizeof C(s)->health_reason);
        uint32_t f = LOAD(s->flags);
        /* One word, read atomically by the picks: no sequence needed; the
         * policy's tables follow at the next lbd_table_build_policies(). */
        STORE(s->flags, up ? f & ~SLOT_HEALTH_DOWN : f | SLOT_HEALTH_DOWN);
        if ((f & SLOT_HEALTH_DOWN) != (up ? 0 : SLOT_HEALTH_DOWN))
                t->pools[LOAD(s->pool)].table_dirty = true;
        return 0;
}

/* Free slot i (removed, drained) from its pool. */
static void slot_free(struct lbd_table *t, uint32_t i) {
        struct slot *s = &t->slots[i];
        struct pool *p = &t->pools[s->pool];
        uint32_t *m = t->members[s->pool];
        uint32_t n = ALOAD(p->count), k;
        seq_begin(p);
        for (k = 0; k < n && m[k] != i; k++)
                ;
        if (k < n) {
                memmove(m + k, m + k + 1, (size_t)(n - k - 1) * sizeof *m);
                atomic_store_explicit(&p->count, n - 1, memory_order_relaxed);
        }
        STORE(s->flags, 0);
        seq_end(p);
        /* What it served stays in its service's figures. */
        lbd_traffic_add(&t->pool_traffic[s->pool], &t->traffic[i]);
        index_remove(t, i);
        t->n_slots--;
}

static void transition_reason(struct lbd_table *t, struct slot *s, enum lbd_backend_state old,
                              enum lbd_backend_state now_state, char *buf, size_t len) {
        uint32_t f = LOAD(s->flags);
        switch (now_state) {
        case LBD_BACKEND_DISABLED:
                snprintf(buf, len, "disabled");
                return;
        case LBD_BACKEND_DRAINING:
                snprintf(buf, len, (f & SLOT_REMOVED) ? "removed; draining" : "drain");
                return;
        case LBD_BACKEND_DOWN:
                if (f & SLOT_HEALTH_DOWN) {
                        snprintf(buf, len, "%s", C(s)->health_reason);
                        return;
                }
                {
                        char why[sizeof C(s)->fail_reason] = "";
                        uint32_t unlocked = 0;
                        if (atomic_compare_exchange_strong(&C(s)->reason_lock, &unlocked, 1)) {
                                memcpy(why, C(s)->fail_reason, sizeof why);
                                why[sizeof why - 1] = 0;
                                atomic_store(&C(s)->reason_lock, 0);
                        }
                        uint32_t n = atomic_load(&C(s)->marked_fails);
                        snprintf(buf, len, "%u failure%s in %u s%s%s", n, n == 1 ? "" : "s",
                                 LOAD(C(s)->fail_timeout_ms) / 1000u, why[0] ? ": " : "", why);
                }
                return;
        case LBD_BACKEND_UP:
                if (old == LBD_BACKEND_DISABLED)
                        snprintf(buf, len, "enabled");
                else if (old == LBD_BACKEND_DRAINING)
                        snprintf(buf, len, "drain ended");
                else if (C(s)->health_was_down)
                        snprintf(buf, len, "%s", C(s)->health_reason);
                else
                        snprintf(buf, len, "passive hold expired");
                return;
        }
}

void lbd_table_tick(struct lbd_table *t, uint64_t now, lbd_table_state_fn on_change,
                    void *userdata) {
        for (uint32_t i = 0; i < t->high; i++) {
                struct slot *s = &t->slots[i];
                uint32_t f = LOAD(s->flags);
                if (!(f & SLOT_IN_USE))
                        continue;
                struct pool *p = &t->pools[s->pool];
                if ((f & SLOT_REMOVED) && atomic_load(&s->active) == 0) {
                        log_full(LOG_DEBUG, p->name, "backend %s drained; removed",
                                 C(s)->address.text);
                        slot_free(t, i);
                        continue;
                }
                uint64_t ramp_from = LOAD(s->slow_start_from_ms);
                if (ramp_from) {
                        /* A weight ramping up: the policy's tables follow
                         * it tick by tick, and once more when it ends. */
                        p->table_dirty = true;
                        if (now >= ramp_from && now - ramp_from >= LOAD(s->slow_start_ms))
                                STORE(s->slow_start_from_ms, 0);
                }
                enum lbd_backend_state st = slot_state(s, now);
                enum lbd_backend_state old = (enum lbd_backend_state)C(s)->reported;
                if (st == old)
                        continue;
                p->table_dirty = true; /* up, down, held: the tables change */
                char reason[160];
                transition_reason(t, s, old, st, reason, sizeof reason);
                if (st == LBD_BACKEND_UP && (old == LBD_BACKEND_DOWN || old == LBD_BACKEND_DISABLED)) {
                        /* Back: ramp its weight up (slow_start). */
                        STORE(s->slow_start_from_ms, LOAD(s->slow_start_ms) ? now : 0);
                }
                if (st == LBD_BACKEND_DOWN) {
                        C(s)->health_was_down = (f & SLOT_HEALTH_DOWN) != 0;
                        if (C(s)->health_was_down)
                                C(s)->active_downs++;
                        else
                                C(s)->passive_downs++;
                        C(s)->down_since_ms = now;
                } else if (old == LBD_BACKEND_DOWN && C(s)->down_since_ms) {
                        C(s)->down_ms += now - C(s)->down_since_ms;
                        C(s)->down_since_ms = 0;
                }
                if (st == LBD_BACKEND_UP)
                        C(s)->health_was_down = false;
                C(s)->reported = (uint8_t)st;
                if (on_change)
                        on_change(userdata, p->name, C(s)->address.text, old, st, reason);
        }
        /* Pools of services gone, no longer held, all drained: free. */
        for (unsigned i = 0; i < LBD_TABLE_POOLS_MAX; i++) {
                struct pool *p = &t->pools[i];
                if (p->used && !p->in_config && p->holds == 0 && ALOAD(p->count) == 0) {
                        seq_begin(p);
                        p->used = false;
                        p->name[0] = 0;
                        p->policy[0] = 0;
                        atomic_fetch_add(&p->policy_gen, 1);
                        seq_end(p);
                }
        }
}

static uint32_t effective_weight(const struct slot *s, uint64_t now) {
        uint32_t w = LOAD(s->weight);
        uint64_t from = LOAD(s->slow_start_from_ms);
        uint32_t ramp = LOAD(s->slow_start_ms);
        if (from && ramp && now >= from && now - from < ramp) {
                /* As HAProxy: weight * elapsed / slowstart, at least 1. */
                uint64_t e = (uint64_t)w * (now - from) / ramp;
                w = e < 1 ? 1 : (uint32_t)e;
        }
        return w ? w : 1;
}

int lbd_table_backend_stats(const struct lbd_table *t, const char *service, const char *address,
                            struct lbd_backend_stats *ret) {
        int i = slot_find(t, pool_find(t, service), address);
        if (i < 0)
                return -ENOENT;
        const struct slot *s = &t->slots[i];
        uint64_t now = lbd_now_ms();
        *ret = (struct lbd_backend_stats){
                .state = slot_state(s, now),
                .active = atomic_load_explicit(&s->active, memory_order_relaxed),
                .requests = atomic_load_explicit(&C(s)->requests, memory_order_relaxed),
                .active_downs = C(s)->active_downs,
                .passive_downs = C(s)->passive_downs,
                .down_ms = C(s)->down_ms + (C(s)->down_since_ms ? now - C(s)->down_since_ms : 0),
                .latency_us = atomic_load_explicit(&C(s)->latency_us, memory_order_relaxed),
                .weight = effective_weight(s, now),
        };
        lbd_traffic_read_into(&t->traffic[i], &ret->traffic);
        ret->failures = ret->traffic.connect_errors + ret->traffic.response_errors;
        return 0;
}

int lbd_table_service_stats(const struct lbd_table *t, const char *service,
                            uint64_t *ret_active, uint64_t *ret_requests,
                            struct lbd_traffic_counts *ret_traffic) {
        int pi = pool_find(t, service);
        if (pi < 0)
                return -ENOENT;
        uint64_t active = 0, requests = 0;
        for (uint32_t k = 0; k < ALOAD(t->pools[pi].count); k++) {
                uint32_t i = t->members[pi][k];
                const struct slot *s = &t->slots[i];
                active += atomic_load_explicit(&s->active, memory_order_relaxed);
                requests += atomic_load_explicit(&C(s)->requests, memory_order_relaxed);
                if (ret_traffic)
                        lbd_traffic_read_into(&t->traffic[i], ret_traffic);
        }
        if (ret_traffic) {
                /* The most at once of any one backend; not the service's. */
                lbd_traffic_read_into(&t->pool_traffic[pi], ret_traffic);
        }
        if (ret_active)
                *ret_active = active;
        if (ret_requests)
                *ret_requests = requests;
        return 0;
}

/* ---- the pool host: what a policy sees ----------------------------------- */

/* struct lbd_pick as the host fills it, with what the accessors need. */
struct host_pick {
        struct lbd_pick pub;
        struct lbd_table *t;
        struct pool *p;
        const uint32_t *members;
        const uint64_t *tried;
        uint32_t tried_words;
        uint64_t now;
        bool build; /* for the policy's build(): usable() by state alone */
};

static inline const struct host_pick *hp_of(const struct lbd_pick *pick) {
        return (const struct host_pick *)pick;
}

/* Bounds by masks, not branches (both sizes are powers of two): a policy
 * asking past count (it must not) reads some slot, harmlessly; the host
 * checks every answer. This is the inner loop of every scan. */
_Static_assert((LBD_TABLE_BACKENDS_MAX & (LBD_TABLE_BACKENDS_MAX - 1)) == 0, "power of two");
_Static_assert((LBD_TABLE_POOL_MEMBERS_MAX & (LBD_TABLE_POOL_MEMBERS_MAX - 1)) == 0,
               "power of two");

static inline uint32_t slot_index_at(const struct host_pick *hp, uint32_t i) {
        return LOAD(hp->members[i & (LBD_TABLE_POOL_MEMBERS_MAX - 1)]) &
               (LBD_TABLE_BACKENDS_MAX - 1);
}

static inline struct slot *slot_at(const struct lbd_pick *pick, uint32_t i) {
        const struct host_pick *hp = hp_of(pick);
        return &hp->t->slots[slot_index_at(hp, i)];
}

static inline bool usable(const struct host_pick *hp, uint32_t i) {
        if (i >= hp->pub.count)
                return false;
        uint32_t k = slot_index_at(hp, i);
        const struct slot *s = &hp->t->slots[k];
        uint32_t f = LOAD(s->flags);
        /* in use, pickable, and of the tier asked for, in one compare */
        uint32_t want = SLOT_IN_USE | (hp->pub.backup_tier ? SLOT_BACKUP : 0);
        if ((f & (SLOT_IN_USE | SLOT_NOT_PICKABLE | SLOT_BACKUP)) != want)
                return false;
        if (__builtin_expect(atomic_load_explicit(&s->down_until_ms, memory_order_relaxed) >
                                     hp->now, 0))
                return false;
        if (hp->build)
                return true;
        uint32_t max = LOAD(s->max_conns);
        if (max && atomic_load_explicit(&s->active, memory_order_relaxed) >= max)
                return false;
        if (hp->tried && k / 64 < hp->tried_words && (hp->tried[k / 64] >> (k % 64)) & 1)
                return false;
        return true;
}

static bool host_usable(const struct lbd_pick *pick, uint32_t i) {
        return usable(hp_of(pick), i);
}

static uint32_t host_weight(const struct lbd_pick *pick, uint32_t i) {
        return effective_weight(slot_at(pick, i), hp_of(pick)->now);
}

static uint32_t host_active(const struct lbd_pick *pick, uint32_t i) {
        return atomic_load_explicit(&slot_at(pick, i)->active, memory_order_relaxed);
}

static uint64_t host_key(const struct lbd_pick *pick, uint32_t i) {
        return LOAD(slot_at(pick, i)->key);
}

static int64_t *host_scratch(const struct lbd_pick *pick, uint32_t i) {
        return &slot_at(pick, i)->scratch;
}

static uint64_t *host_pool_word(const struct lbd_pick *pick) {
        return &hp_of(pick)->p->pool_word;
}

static const uint32_t *host_table(const struct lbd_pick *pick, uint32_t *ret_len) {
        const struct host_pick *hp = hp_of(pick);
        uint32_t len = hp->build ? 0 : ALOAD(hp->p->table_len[pick->backup_tier]);
        *ret_len = len;
        if (!len)
                return NULL;
        const uint32_t *table = hp->t->policy_tables[hp->p - hp->t->pools];
        return pick->backup_tier ? table + POLICY_TABLE_PRIMARY : table;
}

static void pool_lock(struct pool *p) {
        /* EOWNERDEAD: its holder died mid-pick (a worker killed for its
         * heartbeat). The words it guards are policy scratch, at worst one
         * step off: carry on with them. */
        if (pthread_mutex_lock(&p->lock) == EOWNERDEAD)
                pthread_mutex_consistent(&p->lock);
}

static void host_lock(const struct lbd_pick *pick) { pool_lock(hp_of(pick)->p); }

static void host_unlock(const struct lbd_pick *pick) {
        pthread_mutex_unlock(&hp_of(pick)->p->lock);
}

void lbd_table_pool_lock(struct lbd_table *t, int pool) { pool_lock(&t->pools[pool]); }

void lbd_table_pool_unlock(struct lbd_table *t, int pool) {
        pthread_mutex_unlock(&t->pools[pool].lock);
}

static const struct lbd_pool_host pool_host = {
        .struct_size = sizeof(struct lbd_pool_host),
        .usable = host_usable,
        .weight = host_weight,
        .active = host_active,
        .key = host_key,
        .scratch = host_scratch,
        .pool_word = host_pool_word,
        .lock = host_lock,
        .unlock = host_unlock,
        .table = host_table,
};

/* Plugin p's policy operations, or NULL for a placeholder or a plugin
 * without pick() (the table's built-in round robin stands in). */
static const struct lbd_policy_ops *policy_ops(const struct lbd_plugin *pl) {
        if (!pl || (pl->desc->flags & LBD_PLUGIN_FLAG_PLACEHOLDER) || !pl->desc->ops.policy ||
            !pl->desc->ops.policy->pick)
                return NULL;
        return pl->desc->ops.policy;
}

/* ---- the policy's tables (the master) ------------------------------------ */

static uint32_t *tier_table(struct lbd_table *t, unsigned pi, bool backup) {
        return t->policy_tables[pi] + (backup ? POLICY_TABLE_PRIMARY : 0);
}

/* Build pool pi's tables with its policy in `plugins` (none: no tables),
 * into scratch, then copy them in under the sequence, so that workers
 * wait only for the copy. */
static void pool_build(struct lbd_table *t, unsigned pi, const struct lbd_plugin_set *plugins,
                       uint64_t now, uint32_t *scratch) {
        struct pool *p = &t->pools[pi];
        const struct lbd_plugin *pl =
                plugins ? lbd_plugin_set_find(plugins, LBD_PLUGIN_KIND_POLICY, p->policy) : NULL;
        const struct lbd_policy_ops *ops = policy_ops(pl);
        bool has_build = ops && ops->struct_size >= offsetof(struct lbd_policy_ops, build) +
                                                             sizeof(ops->build) &&
                         ops->build;
        struct host_pick hp = {
                .pub = {
                        .struct_size = sizeof(struct lbd_pick),
                        .count = ALOAD(p->count),
                        .host = &pool_host,
                        .pool = (struct lbd_pool *)p,
                },
                .t = t,
                .p = p,
                .members = t->members[pi],
                .now = now,
                .build = true,
        };
        uint32_t len[2] = { 0, 0 };
        const uint32_t size[2] = { POLICY_TABLE_PRIMARY, POLICY_TABLE_BACKUP };
        for (int tier = 0; has_build && p->used && tier < 2; tier++) {
                hp.pub.backup_tier = tier == 1;
                uint32_t n = ops->build(pl->data, &hp.pub,
                                        scratch + (tier ? POLICY_TABLE_PRIMARY : 0), size[tier]);
                len[tier] = n <= size[tier] ? n : 0; /* more than it may: none */
        }
        if (len[0] != ALOAD(p->table_len[0]) || len[1] != ALOAD(p->table_len[1]))
                log_full(LOG_DEBUG, p->name, "policy %s: a table of %u entries for the primaries, "
                         "%u for the backups", p->policy, len[0], len[1]);
        if (len[0] != ALOAD(p->table_len[0]) || len[1] != ALOAD(p->table_len[1]) || len[0] ||
            len[1]) {
                seq_begin(p);
                for (int tier = 0; tier < 2; tier++) {
                        memcpy(tier_table(t, pi, tier), scratch + (tier ? POLICY_TABLE_PRIMARY : 0),
                               (size_t)len[tier] * sizeof(uint32_t));
                        ASTORE(p->table_len[tier], len[tier]);
                }
                seq_end(p);
        }
        p->table_dirty = false;
}

void lbd_table_build_policies(struct lbd_table *t, const struct lbd_plugin_set *plugins,
                              uint64_t now) {
        g_autofree uint32_t *scratch = NULL;
        for (unsigned i = 0; i < LBD_TABLE_POOLS_MAX; i++) {
                if (!t->pools[i].table_dirty)
                        continue;
                if (!scratch)
                        scratch = g_new(uint32_t, POLICY_TABLE_PRIMARY + POLICY_TABLE_BACKUP);
                pool_build(t, i, plugins, now, scratch);
        }
}

/* The policy of pool pi in this thread's view: resolved again only when
 * the plugin set or the pool's policy changed. */
struct policy_cache {
        const struct lbd_plugin_set *set;
        uint32_t gen_plus_one; /* 0: empty */
        const struct lbd_plugin *plugin; /* NULL: the built-in */
};
static _Thread_local struct policy_cache policy_cache[LBD_TABLE_POOLS_MAX];

static const struct lbd_plugin *resolve_policy(struct pool *p, unsigned pi,
                                               const struct lbd_plugin_set *plugins) {
        struct policy_cache *c = &policy_cache[pi];
        uint32_t gen = atomic_load_explicit(&p->policy_gen, memory_order_acquire);
        if (c->set == plugins && c->gen_plus_one == gen + 1)
                return c->plugin;
        char name[sizeof p->policy];
        for (;;) {
                uint64_t seq = atomic_load_explicit(&p->seq, memory_order_acquire);
                gen = atomic_load_explicit(&p->policy_gen, memory_order_relaxed);
                for (size_t k = 0; k < sizeof name; k++)
                        name[k] = LOAD(p->policy[k]);
                name[sizeof name - 1] = 0;
                atomic_thread_fence(memory_order_acquire);
                if (!(seq & 1) && atomic_load_explicit(&p->seq, memory_order_relaxed) == seq)
                        break;
                sched_yield(); /* rare: the master is changing this pool */
        }
        const struct lbd_plugin *pl = lbd_plugin_set_find(plugins, LBD_PLUGIN_KIND_POLICY, name);
        if (!policy_ops(pl))
                pl = NULL;
        *c = (struct policy_cache){ plugins, gen + 1, pl };
        return pl;
}

static uint64_t client_hash(const struct sockaddr *sa, socklen_t len) {
        if (!sa)
                return 0;
        if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
                return fnv1a(&((const struct sockaddr_in *)sa)->sin_addr, 4);
        if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
                /* ::ffff:a.b.c.d is a.b.c.d: one client, one hash. */
                if (IN6_IS_ADDR_V4MAPPED(a))
                        return fnv1a(a->s6_addr + 12, 4);
                return fnv1a(a->s6_addr, 16);
        }
        return 0;
}

uint64_t lbd_table_client_hash(const struct sockaddr *client, socklen_t client_len) {
        return client_hash(client, client_len);
}

int lbd_table_pick(struct lbd_table *t, int pool, const struct lbd_plugin_set *plugins,
                   const struct sockaddr *client, socklen_t client_len, const uint64_t *tried,
                   uint32_t tried_words, uint32_t *ret_slot) {
        if (pool < 0 || (unsigned)pool >= LBD_TABLE_POOLS_MAX)
                return -ENOENT;
        struct pool *p = &t->pools[pool];
        const struct lbd_plugin *policy = resolve_policy(p, (unsigned)pool, plugins);
        struct host_pick hp = {
                .pub = {
                        .struct_size = sizeof(struct lbd_pick),
                        .host = &pool_host,
                        .pool = (struct lbd_pool *)p,
                        .client_addr = client,
                        .client_addr_len = client ? (uint32_t)client_len : 0,
                        .client_hash = client_hash(client, client_len),
                },
                .t = t,
                .p = p,
                .members = t->members[pool],
                .tried = tried,
                .tried_words = tried_words,
                .now = lbd_now_ms(),
        };
        unsigned spins = 0;
        for (unsigned attempt = 0; attempt < PICK_ATTEMPTS;) {
                uint64_t seq = atomic_load_explicit(&p->seq, memory_order_acquire);
                if (seq & 1) {
                        if (++spins > SEQ_SPINS)
                                return -EAGAIN;
                        sched_yield(); /* the master is changing this pool */
                        continue;
                }
                attempt++;
                hp.pub.count = atomic_load_explicit(&p->count, memory_order_relaxed);
                int r = -EAGAIN;
                for (int tier = 0; tier < 2 && r < 0; tier++) {
                        hp.pub.backup_tier = tier == 1;
                        r = policy ? policy->desc->ops.policy->pick(policy->data, &hp.pub)
                                   : lbd_smooth_weighted_pick(&hp.pub);
                        /* An answer that is not a usable position: ours. */
                        if (r >= 0 && !host_usable(&hp.pub, (uint32_t)r))
                                r = lbd_smooth_weighted_pick(&hp.pub);
                }
                atomic_thread_fence(memory_order_acquire);
                bool changed = atomic_load_explicit(&p->seq, memory_order_relaxed) != seq;
                if (r < 0) {
                        if (changed)
                                continue;
                        return -EAGAIN;
                }
                uint32_t i = LOAD(hp.members[r]);
                struct slot *s = &t->slots[i];
                uint32_t before = atomic_fetch_add_explicit(&s->active, 1, memory_order_seq_cst);
                uint32_t max = LOAD(s->max_conns);
                if (atomic_load_explicit(&p->seq, memory_order_seq_cst) != seq ||
                    (max && before >= max)) {
                        /* The pool changed under us, or another worker
                         * filled the backend: undo, pick again. */
                        atomic_fetch_sub_explicit(&s->active, 1, memory_order_relaxed);
                        continue;
                }
                lbd_traffic_note_active(&t->traffic[i], before + 1);
                *ret_slot = i;
                return 0;
        }
        return -EAGAIN;
}

/* ---- workers' reports ------------------------------------------------------ */

const struct lbd_address *lbd_table_address(const struct lbd_table *t, uint32_t slot) {
        return &t->cold[slot].address;
}

uint64_t lbd_table_slot_generation(const struct lbd_table *t, uint32_t slot) {
        return LOAD(t->cold[slot].generation);
}

bool lbd_table_slot_pickable(const struct lbd_table *t, uint32_t slot, uint64_t generation) {
        const struct slot *s = &t->slots[slot];
        return LOAD(C(s)->generation) == generation && (LOAD(s->flags) & SLOT_IN_USE) &&
               !(LOAD(s->flags) & SLOT_NOT_PICKABLE);
}

void lbd_table_report_success(struct lbd_table *t, uint32_t slot, uint32_t latency_us) {
        struct slot *s = &t->slots[slot];
        uint32_t old = atomic_load_explicit(&C(s)->latency_us, memory_order_relaxed);
        /* EWMA with 1/8 (as TCP's srtt); a lost update between workers is
         * one sample less, not a wrong value. */
        uint32_t v = old ? (uint32_t)(((uint64_t)old * 7 + latency_us) / 8) : latency_us;
        if (v == 0)
                v = 1;
        atomic_store_explicit(&C(s)->latency_us, v, memory_order_relaxed);
        /* A success ends a run of failures (nginx). */
        if (atomic_load_explicit(&C(s)->fails, memory_order_relaxed))
                atomic_store_explicit(&C(s)->fails, 0, memory_order_relaxed);
}

void lbd_table_report_failure(struct lbd_table *t, uint32_t slot, bool connecting, uint64_t now,
                              const char *reason) {
        struct slot *s = &t->slots[slot];
        struct lbd_traffic *x = &t->traffic[slot];
        atomic_fetch_add_explicit(connecting ? &x->connect_errors : &x->response_errors, 1,
                                  memory_order_relaxed);
        uint32_t expected = 0;
        if (reason && atomic_compare_exchange_strong(&C(s)->reason_lock, &expected, 1)) {
                g_strlcpy(C(s)->fail_reason, reason, sizeof C(s)->fail_reason);
                atomic_store(&C(s)->reason_lock, 0);
        }
        uint32_t max_fails = LOAD(C(s)->max_fails);
        if (max_fails == 0)
                return; /* passive health off */
        /* The only backend of its pool is never held down (as nginx's
         * single-server upstream): there is nowhere else to go, and a 502
         * for every request of the next fail_timeout seconds helps no one. */
        if (atomic_load_explicit(&t->pools[LOAD(s->pool)].count, memory_order_relaxed) <= 1)
                return;
        uint64_t window = LOAD(C(s)->fail_timeout_ms);
        uint64_t start = atomic_load(&C(s)->window_start_ms);
        if (start == 0 || now - start >= window) {
                /* A new window; whoever wins the exchange resets it. */
                if (atomic_compare_exchange_strong(&C(s)->window_start_ms, &start, now))
                        atomic_store(&C(s)->fails, 0);
        }
        uint32_t n = atomic_fetch_add(&C(s)->fails, 1) + 1;
        if (n >= max_fails && atomic_load(&s->down_until_ms) <= now) {
                atomic_store(&C(s)->marked_fails, n);
                atomic_store(&s->down_until_ms, now + window);
                atomic_store(&C(s)->fails, 0);
                atomic_store(&C(s)->window_start_ms, 0);
        }
}

void lbd_table_count_request(struct lbd_table *t, uint32_t slot) {
        atomic_fetch_add_explicit(&t->cold[slot].requests, 1, memory_order_relaxed);
}

void lbd_table_count_attempt(struct lbd_table *t, uint32_t slot) {
        atomic_fetch_add_explicit(&t->traffic[slot].connect_attempts, 1, memory_order_relaxed);
}

void lbd_table_count_connected(struct lbd_table *t, uint32_t slot, bool reused,
                               uint64_t connect_us) {
        struct lbd_traffic *x = &t->traffic[slot];
        if (reused)
                atomic_fetch_add_explicit(&x->reuses, 1, memory_order_relaxed);
        else
                lbd_hist_add(&x->connect, connect_us);
}

void lbd_table_count_first_byte(struct lbd_table *t, uint32_t slot, uint64_t us) {
        lbd_hist_add(&t->traffic[slot].first_byte, us);
}

void lbd_table_count_retry(struct lbd_table *t, uint32_t slot) {
        atomic_fetch_add_explicit(&t->traffic[slot].retries, 1, memory_order_relaxed);
}

void lbd_table_count_exchange(struct lbd_table *t, int pool, long slot,
                              const struct lbd_exchange *e) {
        if (slot >= 0)
                lbd_traffic_count_exchange(&t->traffic[slot], e);
        if (pool < 0 || pool >= (int)LBD_TABLE_POOLS_MAX)
                return;
        if (slot < 0)
                lbd_traffic_count_exchange(&t->pool_traffic[pool], e);
        if (e->status >= 100 && e->status < 100 + LBD_TABLE_STATUS_CODES)
                atomic_fetch_add_explicit(&t->pool_codes[pool][e->status - 100], 1,
                                          memory_order_relaxed);
}

int lbd_table_service_codes(const struct lbd_table *t, const char *service,
                            uint64_t ret[LBD_TABLE_STATUS_CODES]) {
        int pi = pool_find(t, service);
        if (pi < 0)
                return -ENOENT;
        for (unsigned c = 0; c < LBD_TABLE_STATUS_CODES; c++)
                ret[c] = atomic_load_explicit(&t->pool_codes[pi][c], memory_order_relaxed);
        return 0;
}

void lbd_table_release(struct lbd_table *t, uint32_t slot) {
        atomic_fetch_sub_explicit(&t->slots[slot].active, 1, memory_order_release);
}
