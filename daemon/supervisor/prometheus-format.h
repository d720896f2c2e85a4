/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text exposition format (version 0.0.4), pure text
 * building, so that /metrics is tested without a socket: a family's
 * "# HELP" and "# TYPE" lines, then its samples, each "name{labels} value".
 * Every sample of a family must follow its header before the next family
 * starts (the format's rule), so callers write family by family.
 *
 * Label values are escaped as the format says (\\, \" and \n); names are
 * the caller's constants. Histograms come from latency-histogram.h's
 * buckets, cumulative, in seconds, with le="+Inf", _sum and _count.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "latency-histogram.h"

enum lbd_prom_type { LBD_PROM_COUNTER, LBD_PROM_GAUGE, LBD_PROM_HISTOGRAM };

/* Labels of one sample: up to 3 pairs, names NULL-terminated. */
struct lbd_prom_labels {
        const char *name[4];
        const char *value[4];
};

/* # HELP name help\n# TYPE name type\n */
void lbd_prom_family(GString *out, const char *name, enum lbd_prom_type type, const char *help);

/* name{labels} value\n (labels may be NULL). */
void lbd_prom_sample(GString *out, const char *name, const struct lbd_prom_labels *labels,
                     uint64_t value);
/* The same with a value in seconds from microseconds (six decimals). */
void lbd_prom_sample_seconds(GString *out, const char *name, const struct lbd_prom_labels *labels,
                             uint64_t us);

/* name_bucket{labels,le="S"} ... for every stride-th bound (1: every bucket,
 * 2: one per octave) and +Inf, then name_sum (seconds) and name_count. */
void lbd_prom_histogram(GString *out, const char *name, const struct lbd_prom_labels *labels,
                        const struct lbd_hist_counts *c, unsigned stride);

/* A label value escaped (for tests). */
void lbd_prom_escape(GString *out, const char *value);
