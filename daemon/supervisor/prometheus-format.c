/* SPDX-License-Identifier: MIT */
#include "prometheus-format.h"

#include <inttypes.h>
#include <stdbool.h>

static const char *type_name(enum lbd_prom_type t) {
        switch (t) {
        case LBD_PROM_COUNTER:
                return "counter";
        case LBD_PROM_GAUGE:
                return "gauge";
        case LBD_PROM_HISTOGRAM:
                return "histogram";
        }
        return "untyped";
}

void lbd_prom_family(GString *out, const char *name, enum lbd_prom_type type, const char *help) {
        g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                               type_name(type));
}

void lbd_prom_escape(GString *out, const char *value) {
        for (const char *p = value; *p; p++) {
                if (*p == '\\')
                        g_string_append(out, "\\\\");
                else if (*p == '"')
                        g_string_append(out, "\\\"");
                else if (*p == '\n')
                        g_string_append(out, "\\n");
                else
                        g_string_append_c(out, *p);
        }
}

/* name{a="x",b="y"[,extra="v"]} with the space before the value. */
static void head(GString *out, const char *name, const char *suffix,
                 const struct lbd_prom_labels *labels, const char *extra, const char *extra_value) {
        g_string_append(out, name);
        if (suffix)
                g_string_append(out, suffix);
        bool any = false;
        for (unsigned i = 0; labels && i < G_N_ELEMENTS(labels->name) && labels->name[i]; i++) {
                g_string_append_c(out, any ? ',' : '{');
                g_string_append_printf(out, "%s=\"", labels->name[i]);
                lbd_prom_escape(out, labels->value[i] ? labels->value[i] : "");
                g_string_append_c(out, '"');
                any = true;
        }
        if (extra) {
                g_string_append_c(out, any ? ',' : '{');
                g_string_append_printf(out, "%s=\"%s\"", extra, extra_value);
                any = true;
        }
        if (any)
                g_string_append_c(out, '}');
        g_string_append_c(out, ' ');
}

void lbd_prom_sample(GString *out, const char *name, const struct lbd_prom_labels *labels,
                     uint64_t value) {
        head(out, name, NULL, labels, NULL, NULL);
        g_string_append_printf(out, "%" PRIu64 "\n", value);
}

static void append_seconds(GString *out, uint64_t us) {
        g_string_append_printf(out, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

void lbd_prom_sample_seconds(GString *out, const char *name, const struct lbd_prom_labels *labels,
                             uint64_t us) {
        head(out, name, NULL, labels, NULL, NULL);
        append_seconds(out, us);
        g_string_append_c(out, '\n');
}

void lbd_prom_histogram(GString *out, const char *name, const struct lbd_prom_labels *labels,
                        const struct lbd_hist_counts *c, unsigned stride) {
        if (stride == 0)
                stride = 1;
        uint64_t cumulative = 0;
        char le[32];
        for (unsigned i = 0; i + 1 < LBD_HIST_BUCKETS; i++) {
                cumulative += c->count[i];
                /* The last bounded bucket always, so that +Inf minus it is
                 * "longer than 67 s" whatever the stride. */
                if ((i + 1) % stride != 0 && i + 2 != LBD_HIST_BUCKETS)
                        continue;
                uint64_t us = lbd_hist_bound_us(i);
                g_snprintf(le, sizeof le, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
                head(out, name, "_bucket", labels, "le", le);
                g_string_append_printf(out, "%" PRIu64 "\n", cumulative);
        }
        cumulative += c->count[LBD_HIST_BUCKETS - 1];
        head(out, name, "_bucket", labels, "le", "+Inf");
        g_string_append_printf(out, "%" PRIu64 "\n", cumulative);
        head(out, name, "_sum", labels, NULL, NULL);
        append_seconds(out, c->sum_us);
        g_string_append_c(out, '\n');
        head(out, name, "_count", labels, NULL, NULL);
        g_string_append_printf(out, "%" PRIu64 "\n", cumulative);
}
