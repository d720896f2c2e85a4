/* SPDX-License-Identifier: MIT */
/*
 * What an error message may echo of its input: a bounded, escaped prefix.
 * A caller's 1 MB address, or one with a newline or a terminal escape in
 * it, must not come back whole in a D-Bus error or a log line.
 *
 *     sd_bus_error_setf(error, ..., "No service %s", LBD_QUOTE(name));
 *
 * gives 'web' for a short printable value, and for a long one its first
 * LBD_QUOTE_PREFIX bytes, then "..." and the full length:
 * 'aaaa...' (1048576 bytes). Bytes outside printable ASCII, the quote and
 * the backslash are written \xHH.
 */
#pragma once

#include <stddef.h>

#define LBD_QUOTE_PREFIX 64
/* Every byte escaped (4 each), quotes, "..." and " (N bytes)". */
#define LBD_QUOTE_SIZE (4 * LBD_QUOTE_PREFIX + 48)

/* Write the quoted form of s (NULL: (null)) into buf; returns buf. */
const char *lbd_quote(char buf[LBD_QUOTE_SIZE], const char *s);
/* The same for len bytes of s, which need not end in a NUL. */
const char *lbd_quote_n(char buf[LBD_QUOTE_SIZE], const char *s, size_t len);

/* A temporary buffer that lives until the end of the enclosing block: for
 * a quote in a function call's arguments. */
#define LBD_QUOTE(s) lbd_quote((char[LBD_QUOTE_SIZE]){ 0 }, (s))
#define LBD_QUOTE_N(s, len) lbd_quote_n((char[LBD_QUOTE_SIZE]){ 0 }, (s), (len))
