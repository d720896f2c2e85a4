/* SPDX-License-Identifier: MIT */
/*
 * Objects that plugins share (struct lbd_host's get_shared/set_shared):
 * the network plugins' one NetworkManager client. The manager owns the
 * registry for the daemon's whole life, so a shared object outlives
 * reloads, which load the same plugins again. Keys are copied; each
 * object's destroy function runs once, from lbd_shared_free(), which runs
 * before the plugins' fini() (the function lives in a plugin).
 */
#pragma once

#include <stddef.h>

struct lbd_shared;

struct lbd_shared *lbd_shared_new(void);
/* Destroys every object, newest first. Accepts NULL; returns NULL. */
struct lbd_shared *lbd_shared_free(struct lbd_shared *s);

void *lbd_shared_get(struct lbd_shared *s, const char *key);
/* 0, or -EEXIST when key holds an object already (nothing stored). */
int lbd_shared_set(struct lbd_shared *s, const char *key, void *object,
                   void (*destroy)(void *object));
/* How to find the master's private fds in key's object (lbd_host's
 * set_shared_private_fds). 0, or -ENOENT when key holds nothing. */
int lbd_shared_set_private_fds(struct lbd_shared *s, const char *key,
                               size_t (*fds)(void *object, int *fds, size_t max));
/* Every object's private fds, at most max: how many were written. */
size_t lbd_shared_private_fds(const struct lbd_shared *s, int *fds, size_t max);
