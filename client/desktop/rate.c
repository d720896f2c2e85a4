/* SPDX-License-Identifier: MIT */
#include "rate.h"

#include <string.h>

/* Forget samples that no read can need: the newest one at or before the
 * start of the window at now_us is the counter's value there; older ones
 * are not. */
static void drop_old(LbdRate *rate, gint64 now_us) {
        gint64 start = now_us - LBD_RATE_WINDOW_US;
        guint keep_from = 0;

        for (guint i = 0; i + 1 < rate->count; i++)
                if (rate->samples[i + 1].t_us <= start)
                        keep_from = i + 1;
        if (keep_from == 0)
                return;
        memmove(rate->samples, rate->samples + keep_from,
                (rate->count - keep_from) * sizeof rate->samples[0]);
        rate->count -= keep_from;
}

void lbd_rate_add(LbdRate *rate, gint64 now_us, guint64 value) {
        if (rate->count > 0 && value < rate->samples[rate->count - 1].value)
                rate->count = 0;
        drop_old(rate, now_us);
        if (rate->count == LBD_RATE_SAMPLES) {
                /* More changes in a window than lbd sends (2/s): keep the oldest,
                 * which anchors the window, and the newest. */
                memmove(rate->samples + 1, rate->samples + 2,
                        (LBD_RATE_SAMPLES - 2) * sizeof rate->samples[0]);
                rate->count--;
        }
        rate->samples[rate->count++] = (LbdRateSample){now_us, value};
}

double lbd_rate_per_second(const LbdRate *rate, gint64 now_us) {
        if (rate->count == 0)
                return 0.0;
        gint64 start = now_us - LBD_RATE_WINDOW_US;
        /* The counter's value at the window's start (or the first sample). */
        LbdRateSample base = rate->samples[0];
        for (guint i = 1; i < rate->count && rate->samples[i].t_us <= start; i++)
                base = rate->samples[i];
        gint64 from = MAX(base.t_us, start);
        guint64 newest = rate->samples[rate->count - 1].value;
        if (now_us <= from || newest < base.value)
                return 0.0;
        return (double)(newest - base.value) * G_USEC_PER_SEC / (double)(now_us - from);
}
