/* SPDX-License-Identifier: MIT */
/*
 * round_robin's table for a large pool: one cycle of the weighted
 * sequence, built by the master (lbd-plugin.h: build()), walked by the
 * picks with an atomic counter: no lock, no scan.
 */
#pragma once

#include "lbd-plugin.h"

/* Fill table with a cycle in which every candidate of the pick's tier
 * appears weight times (weights scaled down, none below 1, when the
 * cycle would not fit in size), its turns spread evenly (earliest deadline
 * first: each candidate's next turn is due 1/weight of a cycle after its
 * last). Returns the cycle's length; 0 for a pool small enough to scan or
 * when memory is short. */
uint32_t lbd_rr_schedule_build(const struct lbd_pick *pick, uint32_t *table, uint32_t size);
