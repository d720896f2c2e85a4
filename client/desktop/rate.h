/* SPDX-License-Identifier: MIT */
/*
 * A rate from a counter that lbd signals: Requests and Failures arrive in
 * PropertiesChanged at most twice a second and only when they moved, so the
 * counter is a step function of time. The rate is its increase over the last
 * LBD_RATE_WINDOW_US (or since the first sample, when that is shorter),
 * read at any time: a counter that stopped moving decays to 0 once the window
 * has passed, without asking lbd anything.
 */
#pragma once

#include <glib.h>

#define LBD_RATE_WINDOW_US (5 * G_USEC_PER_SEC)
#define LBD_RATE_SAMPLES 32

typedef struct {
        gint64 t_us;
        guint64 value;
} LbdRateSample;

typedef struct {
        LbdRateSample samples[LBD_RATE_SAMPLES]; /* oldest first */
        guint count;
} LbdRate;

/* The counter read value at now_us (monotonic). A value below the last
 * one (lbd restarted, counters from 0) starts the rate afresh. */
void lbd_rate_add(LbdRate *rate, gint64 now_us, guint64 value);

/* Per second, at now_us; 0 before two samples span any time. */
double lbd_rate_per_second(const LbdRate *rate, gint64 now_us);
