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

uint64_t lbd_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
