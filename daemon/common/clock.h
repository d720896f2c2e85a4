/* SPDX-License-Identifier: MIT */
/*
 * The one clock of the daemon: CLOCK_MONOTONIC, in the unit the caller
 * counts in. Deadlines, heartbeats, latencies, health-check timers and the
 * backend table's fail windows all read it, so any two of them compare.
 * (Wall-clock time is only for log lines: log.c, access-log.c.)
 */
#pragma once

#include <stdint.h>

#define LBD_USEC_PER_MSEC 1000ull
#define LBD_USEC_PER_SEC 1000000ull

uint64_t lbd_now_us(void);

static inline uint64_t lbd_now_ms(void) { return lbd_now_us() / LBD_USEC_PER_MSEC; }
