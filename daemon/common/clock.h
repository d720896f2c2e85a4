/* SPDX-License-Identifier: MIT */
/*
 * The one clock of the daemon: CLOCK_MONOTONIC, in the unit the caller
 * counts in. Deadlines, heartbeats, latencies, health-check timers and the
 * backend table's fail windows all read it, so any two of them compare.
 * (Wall-clock time is only for log lines: log.c, access-log.c.)
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define LBD_USEC_PER_MSEC 1000ull
#define LBD_USEC_PER_SEC 1000000ull

uint64_t lbd_now_us(void);
/* Hold this thread's clock: until lbd_clock_hold(false), lbd_now_us()
 * returns the time read now (returned too; 0 when released). For a worker
 * model that runs many sessions per wake-up, so that a batch reads the
 * clock once, as nginx's cached time: deadlines and latencies then have
 * the resolution of a batch (well under a millisecond). */
uint64_t lbd_clock_hold(bool hold);

static inline uint64_t lbd_now_ms(void) { return lbd_now_us() / LBD_USEC_PER_MSEC; }
