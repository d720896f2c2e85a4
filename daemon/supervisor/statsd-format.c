/* SPDX-License-Identifier: MIT */
#include "statsd-format.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void lbd_statsd_sanitize(char *out, size_t cap, const char *in) {
        size_t n = 0;
        for (; in && *in && n + 1 < cap; in++) {
                char c = *in;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '-';
                out[n++] = ok ? c : '_';
        }
        if (cap)
                out[n] = 0;
}

void lbd_statsd_batch_init(struct lbd_statsd_batch *b, const char *tags) {
        b->packets = g_ptr_array_new();
        b->tags = tags && *tags ? tags : NULL;
}

static void free_packet(gpointer p) {
        g_string_free(p, TRUE);
}

void lbd_statsd_batch_clear(struct lbd_statsd_batch *b) {
        if (b->packets) {
                g_ptr_array_set_free_func(b->packets, free_packet);
                g_ptr_array_free(b->packets, TRUE);
        }
        b->packets = NULL;
}

/* One line (without '\n'): into the packet being filled, or a new one. */
static void add_line(struct lbd_statsd_batch *b, const char *line, size_t len) {
        GString *p = b->packets->len ? g_ptr_array_index(b->packets, b->packets->len - 1) : NULL;
        if (!p || p->len + 1 + len > LBD_STATSD_PACKET_MAX) {
                p = g_string_sized_new(LBD_STATSD_PACKET_MAX);
                g_ptr_array_add(b->packets, p);
        } else {
                g_string_append_c(p, '\n');
        }
        g_string_append_len(p, line, (gssize)len);
}

static void add(struct lbd_statsd_batch *b, const char *name, const char *value,
                const char *type, const char *rate) {
        char line[LBD_STATSD_NAME_MAX + 512];
        int n = snprintf(line, sizeof line, "%s:%s|%s%s%s%s", name, value, type,
                         rate ? "|@" : "", rate ? rate : "", b->tags ? "|" : "");
        if (n < 0 || (size_t)n >= sizeof line)
                return; /* a name longer than LBD_STATSD_NAME_MAX: not sent */
        size_t len = (size_t)n;
        if (b->tags) {
                size_t t = strlen(b->tags);
                if (len + t >= sizeof line)
                        return;
                memcpy(line + len, b->tags, t);
                len += t;
        }
        add_line(b, line, len);
}

void lbd_statsd_counter(struct lbd_statsd_batch *b, const char *name, uint64_t delta) {
        if (delta == 0)
                return;
        char v[24];
        snprintf(v, sizeof v, "%llu", (unsigned long long)delta);
        add(b, name, v, "c", NULL);
}

void lbd_statsd_gauge(struct lbd_statsd_batch *b, const char *name, uint64_t value) {
        char v[24];
        snprintf(v, sizeof v, "%llu", (unsigned long long)value);
        add(b, name, v, "g", NULL);
}

void lbd_statsd_timer(struct lbd_statsd_batch *b, const char *name,
                      const struct lbd_hist_counts *now, const struct lbd_hist_counts *before) {
        for (unsigned i = 0; i < LBD_HIST_BUCKETS; i++) {
                uint64_t was = before ? before->count[i] : 0;
                if (now->count[i] <= was)
                        continue;
                uint64_t k = now->count[i] - was;
                uint64_t lo = i ? lbd_hist_bound_us(i - 1) : 0;
                uint64_t hi = i + 1 < LBD_HIST_BUCKETS ? lbd_hist_bound_us(i) : lo;
                double ms = (double)(lo + hi) / 2.0 / 1000.0;
                char v[32], rate[32];
                snprintf(v, sizeof v, "%.3f", ms);
                if (k == 1) {
                        add(b, name, v, "ms", NULL);
                        continue;
                }
                /* "|@R": one line stands for 1/R samples. Fixed-point:
                 * statsd servers read the rate as digits and a dot. */
                snprintf(rate, sizeof rate, "%.15f", 1.0 / (double)k);
                for (size_t e = strlen(rate); e > 2 && rate[e - 1] == '0'; e--)
                        rate[e - 1] = 0;
                add(b, name, v, "ms", rate);
        }
}
