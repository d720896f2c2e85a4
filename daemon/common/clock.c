/* SPDX-License-Identifier: MIT */
#include "clock.h"

#include <time.h>

uint64_t lbd_now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * LBD_USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000u;
}
