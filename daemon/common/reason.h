/* SPDX-License-Identifier: MIT */
/*
 * The daemon's one channel for why something failed, below the bus (which
 * turns it into an sd_bus_error): a function returns a negative errno and,
 * if its caller passed ret_reason (may be NULL), a sentence for a person
 * there (g_free() it). The first reason set is kept: it is the cause, what
 * follows are consequences. Whoever decides to log logs it (log.h).
 */
#pragma once

/* Set *ret_reason to the formatted text unless it is set already; returns
 * error (a negative errno), so that a failing function can end with
 * `return lbd_reason(ret_reason, -EINVAL, "...", ...);`. */
int lbd_reason(char **ret_reason, int error, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
