/* SPDX-License-Identifier: MIT */
#include "scoreboard.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct lbd_worker_slot) == 64, "one slot per cache line");

#define QUEUE_KICK_MS 2u

struct lbd_scoreboard *lbd_scoreboard_new(void) {
        struct lbd_scoreboard *sb = mmap(NULL, sizeof(struct lbd_scoreboard),
                                         PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sb == MAP_FAILED)
                return NULL;
        sb->queue_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        return sb;
}

void lbd_scoreboard_free(struct lbd_scoreboard *sb) {
        if (!sb)
                return;
        if (sb->queue_fd >= 0)
                close(sb->queue_fd);
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
        bool over = false;
        if (live > 1) {
                /* Up to a sixteenth over the average, and two connections
                 * of slack so that a quiet daemon does not ping-pong
                 * accepting on and off. */
                uint64_t avg = total / live;
                over = own > avg + avg / 16 + 2;
        }
        bool yes = !over || !lower_in_queue;
        /* Written only when it changes: the others read this cache line
         * in every one of their own checks. */
        bool leaving = false;
        if (atomic_load_explicit(&sb->slots[mine].out_of_queue, memory_order_relaxed) != !yes) {
                atomic_store_explicit(&sb->slots[mine].out_of_queue, !yes, memory_order_relaxed);
                leaving = !yes;
        }
        /* Over its share, whether it leaves the queue or stays in it (no
         * one with fewer is in it): the others look again, join the queue
         * if they are under their share, and take what is queued. At most
         * every QUEUE_KICK_MS per thread: a worker stays over its share as
         * long as its connections live. */
        static _Thread_local uint64_t last_kick_ms;
        if (over && sb->queue_fd >= 0 && (leaving || now_ms - last_kick_ms >= QUEUE_KICK_MS)) {
                uint64_t one = 1;
                (void)!write(sb->queue_fd, &one, sizeof one);
                last_kick_ms = now_ms;
        }
        return yes;
}
