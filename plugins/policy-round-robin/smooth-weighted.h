/* SPDX-License-Identifier: MIT */
/*
 * Smooth weighted round robin (round-robin.c says how it works), written
 * once against struct lbd_pool_host: the round_robin plugin's pick, and the
 * daemon's own fallback for a pool whose policy is missing, a placeholder
 * or answers something unusable (backend-table.c links this file too).
 */
#pragma once

#include "lbd-plugin.h"

/* The position picked, or -EAGAIN when no backend is usable. */
int lbd_smooth_weighted_pick(const struct lbd_pick *pick);
