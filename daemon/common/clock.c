/* SPDX-License-Identifier: MIT */
#include "clock.h"

#include <time.h>

/* 0: read the clock; else the time lbd_clock_hold() read (this thread). */
static _Thread_local uint64_t held_us;

uint64_t lbd_clock_hold(bool hold) {
        held_us = 0;
        if (hold)
                held_us = lbd_now_us();
        return held_us;
}

uint64_t lbd_now_us(void) {
        if (held_us)
                return held_us;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * LBD_USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000u;
}
