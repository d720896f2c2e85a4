/* SPDX-License-Identifier: MIT */
/*
 * StatsD lines (the etsy protocol, with DogStatsD's tags): pure text
 * building, so that what lbd sends is tested without a socket. A packet
 * is lines separated by '\n', at most LBD_STATSD_PACKET_MAX bytes (what
 * fits an Ethernet frame's UDP payload: a statsd server reads one
 * datagram per packet, and a fragment lost loses the whole packet).
 *
 * Timers come from histograms, not from samples: the samples a bucket
 * gained since the last send go out as one line "NAME:V|ms|@R" with V the
 * bucket's middle in ms and R = 1/count, which a statsd server counts as
 * `count` samples of V (the sample-rate field); its percentiles are then
 * as good as the buckets' (latency-histogram.h).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "latency-histogram.h"

#define LBD_STATSD_PACKET_MAX 1432u
#define LBD_STATSD_NAME_MAX 320u

/* A metric name's part made safe: every byte outside [A-Za-z0-9_-] becomes
 * '_' ("127.0.0.1:8001" -> "127_0_0_1_8001"). At most cap - 1 bytes. */
void lbd_statsd_sanitize(char *out, size_t cap, const char *in);

/* The lines of one send, cut into packets. */
struct lbd_statsd_batch {
        GPtrArray *packets; /* of GString *; the last one is being filled */
        const char *tags;   /* "#k:v,k2:v2" or NULL: appended to every line */
};
void lbd_statsd_batch_init(struct lbd_statsd_batch *b, const char *tags);
void lbd_statsd_batch_clear(struct lbd_statsd_batch *b);

/* NAME:VALUE|c (a count since the last send; nothing for 0). */
void lbd_statsd_counter(struct lbd_statsd_batch *b, const char *name, uint64_t delta);
/* NAME:VALUE|g */
void lbd_statsd_gauge(struct lbd_statsd_batch *b, const char *name, uint64_t value);
/* The samples now has more than before, as timer lines in ms. */
void lbd_statsd_timer(struct lbd_statsd_batch *b, const char *name,
                      const struct lbd_hist_counts *now, const struct lbd_hist_counts *before);
