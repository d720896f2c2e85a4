/* SPDX-License-Identifier: MIT */
#include "scoreboard.h"

#include <sys/mman.h>
#include <time.h>

_Static_assert(sizeof(struct lbd_worker_slot) == 64, "one slot per cache line");

struct lbd_scoreboard *lbd_scoreboard_new(void) {
        void *p = mmap(NULL, sizeof(struct lbd_scoreboard), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

void lbd_scoreboard_free(struct lbd_scoreboard *sb) {
        if (sb)
                munmap(sb, sizeof(*sb));
}

bool lbd_scoreboard_fair_share(struct lbd_scoreboard *sb, unsigned mine, uint64_t now_ms) {
        unsigned high = atomic_load_explicit(&sb->high, memory_order_relaxed);
        if (high > LBD_SCOREBOARD_SLOTS)
                high = LBD_SCOREBOARD_SLOTS;
        uint64_t own = atomic_load_explicit(&sb->slots[mine].connections, memory_order_relaxed);
        uint64_t total = 0;
        unsigned live = 0;
        bool lower_in_queue = false; /* a worker with fewer connections accepts */
        for (unsigned i = 0; i < high; i++) {
                const struct lbd_worker_slot *s = &sb->slots[i];
                uint64_t hb = atomic_load_explicit(&s->heartbeat_ms, memory_order_relaxed);
                if (hb + 3000 < now_ms)
                        continue; /* an empty slot, or a worker gone */
                if (i != mine && atomic_load_explicit(&s->stopping, memory_order_relaxed))
                        continue; /* takes no new connections */
                uint32_t c = atomic_load_explicit(&s->connections, memory_order_relaxed);
                total += c;
                live++;
                if (i != mine && c < own &&
                    !atomic_load_explicit(&s->out_of_queue, memory_order_relaxed))
                        lower_in_queue = true;
        }
        bool yes = true;
        if (live > 1) {
                /* Up to a sixteenth over the average, and two connections
                 * of slack so that a quiet daemon does not ping-pong
                 * accepting on and off. */
                uint64_t avg = total / live;
                yes = own <= avg + avg / 16 + 2 || !lower_in_queue;
        }
        /* Written only when it changes: the others read this cache line
         * in every one of their own checks. */
        if (atomic_load_explicit(&sb->slots[mine].out_of_queue, memory_order_relaxed) != !yes)
                atomic_store_explicit(&sb->slots[mine].out_of_queue, !yes, memory_order_relaxed);
        return yes;
}
