/* SPDX-License-Identifier: MIT */
/* See schedule.h. */
#include "schedule.h"

#include <stdlib.h>

#include "../common/policy-table.h"

struct turn {
        uint64_t due;    /* fixed point: a cycle is 2^40 */
        uint64_t stride; /* 2^40 / weight */
        uint32_t pos;
};

static bool before(const struct turn *a, const struct turn *b) {
        return a->due < b->due || (a->due == b->due && a->pos < b->pos);
}

static void sift_down(struct turn *heap, uint32_t n, uint32_t i) {
        for (;;) {
                uint32_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < n && before(&heap[l], &heap[m]))
                        m = l;
                if (r < n && before(&heap[r], &heap[m]))
                        m = r;
                if (m == i)
                        return;
                struct turn t = heap[i];
                heap[i] = heap[m];
                heap[m] = t;
                i = m;
        }
}

uint32_t lbd_rr_schedule_build(const struct lbd_pick *pick, uint32_t *table, uint32_t size) {
        if (pick->count <= LBD_POLICY_SCAN_MAX)
                return 0;
        uint32_t *pos = malloc(sizeof(uint32_t) * pick->count);
        uint32_t *weight = malloc(sizeof(uint32_t) * pick->count);
        struct turn *heap = malloc(sizeof(struct turn) * pick->count);
        uint32_t len = 0;
        if (!pos || !weight || !heap)
                goto out;
        uint32_t n = lbd_policy_candidates(pick, pos, weight);
        if (n <= LBD_POLICY_SCAN_MAX || n > size)
                goto out;
        uint64_t total = 0;
        for (uint32_t i = 0; i < n; i++)
                total += weight[i];
        if (total > size) {
                /* Scaled so that even with every one raised to 1 the
                 * cycle fits: sum <= (size - n) + n. */
                uint64_t room = size - n, sum = 0;
                for (uint32_t i = 0; i < n; i++) {
                        uint64_t w = weight[i] * room / total;
                        weight[i] = w ? (uint32_t)w : 1;
                        sum += weight[i];
                }
                total = sum;
        }
        for (uint32_t i = 0; i < n; i++) {
                uint64_t stride = (UINT64_C(1) << 40) / weight[i];
                /* First turns half a stride in: equal weights take their
                 * turns in pool order, heavier ones start sooner. */
                heap[i] = (struct turn){ .due = stride / 2, .stride = stride, .pos = pos[i] };
        }
        for (uint32_t i = n / 2; i-- > 0;)
                sift_down(heap, n, i);
        for (len = 0; len < total; len++) {
                table[len] = heap[0].pos;
                heap[0].due += heap[0].stride;
                sift_down(heap, n, 0);
        }
out:
        free(pos);
        free(weight);
        free(heap);
        return len;
}
