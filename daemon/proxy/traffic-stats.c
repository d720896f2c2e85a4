/* SPDX-License-Identifier: MIT */
#include "traffic-stats.h"

#include <stdatomic.h>

#define ADD(field, n) atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)

enum lbd_status_class lbd_status_class(unsigned status) {
        if (status < 100 || status > 599)
                return LBD_STATUS_OTHER;
        return (enum lbd_status_class)(status / 100 - 1);
}

const char *lbd_status_class_name(enum lbd_status_class c) {
        static const char *const names[LBD_STATUS_CLASSES] = { "1xx", "2xx", "3xx",
                                                               "4xx", "5xx", "other" };
        return (unsigned)c < LBD_STATUS_CLASSES ? names[c] : "other";
}

void lbd_traffic_reset(struct lbd_traffic *x) {
        for (unsigned i = 0; i < LBD_STATUS_CLASSES; i++)
                atomic_store_explicit(&x->responses[i], 0, memory_order_relaxed);
#define RESET(name, what) atomic_store_explicit(&x->name, 0, memory_order_relaxed);
        LBD_TRAFFIC_COUNTERS(RESET)
#undef RESET
        atomic_store_explicit(&x->active_max, 0, memory_order_relaxed);
        lbd_hist_reset(&x->connect);
        lbd_hist_reset(&x->first_byte);
        lbd_hist_reset(&x->total);
}

void lbd_traffic_count_exchange(struct lbd_traffic *x, const struct lbd_exchange *e) {
        ADD(x->responses[lbd_status_class(e->status)], 1);
        if (e->bytes_in)
                ADD(x->bytes_in, e->bytes_in);
        if (e->bytes_out)
                ADD(x->bytes_out, e->bytes_out);
        if (e->client_abort)
                ADD(x->client_aborts, 1);
        if (e->server_abort)
                ADD(x->server_aborts, 1);
        lbd_hist_add(&x->total, e->total_us);
}

void lbd_traffic_note_active(struct lbd_traffic *x, uint32_t active) {
        uint32_t max = atomic_load_explicit(&x->active_max, memory_order_relaxed);
        while (active > max &&
               !atomic_compare_exchange_weak_explicit(&x->active_max, &max, active,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
        }
}

void lbd_traffic_add(struct lbd_traffic *into, const struct lbd_traffic *from) {
        struct lbd_traffic_counts c = { 0 };
        lbd_traffic_read_into(from, &c);
        for (unsigned i = 0; i < LBD_STATUS_CLASSES; i++)
                ADD(into->responses[i], c.responses[i]);
#define MERGE(name, what) ADD(into->name, c.name);
        LBD_TRAFFIC_COUNTERS(MERGE)
#undef MERGE
        lbd_traffic_note_active(into, c.active_max);
        lbd_hist_add_counts(&into->connect, &c.connect);
        lbd_hist_add_counts(&into->first_byte, &c.first_byte);
        lbd_hist_add_counts(&into->total, &c.total);
}

void lbd_traffic_read_into(const struct lbd_traffic *x, struct lbd_traffic_counts *into) {
        for (unsigned i = 0; i < LBD_STATUS_CLASSES; i++)
                into->responses[i] += atomic_load_explicit(&x->responses[i], memory_order_relaxed);
#define READ(name, what) into->name += atomic_load_explicit(&x->name, memory_order_relaxed);
        LBD_TRAFFIC_COUNTERS(READ)
#undef READ
        uint32_t max = atomic_load_explicit(&x->active_max, memory_order_relaxed);
        if (max > into->active_max)
                into->active_max = max;
        lbd_hist_read_into(&x->connect, &into->connect);
        lbd_hist_read_into(&x->first_byte, &into->first_byte);
        lbd_hist_read_into(&x->total, &into->total);
}
