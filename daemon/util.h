/* SPDX-License-Identifier: MIT */
/* Cleanup attributes for resources that GLib's g_autoptr() does not know:
 * malloc()ed memory handed over by sd-bus, sd-bus and sd-event objects. */
#pragma once

#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void lbd_freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(lbd_freep)
