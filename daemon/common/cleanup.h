/* SPDX-License-Identifier: MIT */
/*
 * The one set of cleanup attributes (systemd's _cleanup_ idiom), for what
 * GLib's g_autoptr() does not know: malloc()ed memory handed over by
 * sd-bus, file descriptors, directories; sd-bus and sd-event objects use
 * their own unref functions with _cleanup_().
 */
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void lbd_freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(lbd_freep)

static inline void lbd_closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(lbd_closep)

static inline void lbd_closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(lbd_closedirp)
