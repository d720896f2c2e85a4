/* SPDX-License-Identifier: MIT */
/*
 * The plugins loaded for one configuration (control/plugin-loader.h loads
 * them): what the workers, the backend table and the control plane look
 * up, and its end. A set is read-only once loaded.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lbd-plugin.h"

struct lbd_plugin {
        const struct lbd_plugin_descriptor *desc;
        char *path;   /* the file it was loaded from */
        void *handle; /* dlopen() handle */
        void *data;   /* what init() returned */
};

struct lbd_plugin_refusal {
        char *path;
        char *reason; /* one sentence, without the path */
        char *name;   /* the plugin's name, if it got as far as saying it; else NULL */
        enum lbd_plugin_kind kind;
};

struct lbd_plugin_set;

/* Calls every plugin's fini(), in reverse load order, and closes it. Call
 * it in the master only (fini() undoes what init() did there). Accepts
 * NULL. */
void lbd_plugin_set_free(struct lbd_plugin_set *set);

/* The loaded plugins, ordered by kind, then name (stable for ListPlugins).
 * Both accept NULL (an empty set); get() returns NULL past the end. */
size_t lbd_plugin_set_size(const struct lbd_plugin_set *set);
const struct lbd_plugin *lbd_plugin_set_get(const struct lbd_plugin_set *set, size_t i);
const struct lbd_plugin *lbd_plugin_set_find(const struct lbd_plugin_set *set,
                                             enum lbd_plugin_kind kind, const char *name);
/* The names of the loaded plugins of one kind, comma-separated, for error
 * messages ("unknown policy 'x'; loaded: least_conn, round_robin"), in
 * name order; "" when there is none. The caller frees it with g_free(). */
char *lbd_plugin_set_names(const struct lbd_plugin_set *set, enum lbd_plugin_kind kind);

size_t lbd_plugin_set_n_refusals(const struct lbd_plugin_set *set);
const struct lbd_plugin_refusal *lbd_plugin_set_get_refusal(const struct lbd_plugin_set *set,
                                                            size_t i);

/* The refusal of a plugin of kind named name (its init() failed, say), or
 * NULL: why a configuration naming it cannot be used. */
const struct lbd_plugin_refusal *lbd_plugin_set_find_refusal(const struct lbd_plugin_set *set,
                                                             enum lbd_plugin_kind kind,
                                                             const char *name);

const char *lbd_plugin_kind_to_string(enum lbd_plugin_kind kind);

static inline void lbd_plugin_set_freep(struct lbd_plugin_set **p) { lbd_plugin_set_free(*p); }
#define _cleanup_plugin_set_ __attribute__((cleanup(lbd_plugin_set_freep)))
