/* SPDX-License-Identifier: MIT */
/*
 * Inside a plugin set: between plugin-set.c and the loader that fills it
 * (control/plugin-loader.c). Not an interface for anything else.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "plugin-set.h"

struct lbd_shared;

/* One loaded plugin. The public part is what callers see; host is what
 * init() received from the default host, embedded so that host_log() can
 * find the plugin a line comes from. */
struct plugin_entry {
        struct lbd_host host;
        struct lbd_shared *shared; /* the loader options' registry, borrowed */
        struct lbd_plugin pub;
        size_t dir_index;  /* into the load's dirs[], for the override rules */
        bool initialized;  /* init() succeeded (or there is none): fini() is due */
        char *init_error;  /* what init() said of its failure (host->init_error) */
};

struct lbd_plugin_set {
        GPtrArray *loaded;     /* struct plugin_entry *, in load order; owns them */
        GPtrArray *sorted;     /* the same entries by kind, then name; borrowed */
        GPtrArray *refusals;   /* struct lbd_plugin_refusal *; owns them */
};

void lbd_plugin_refusal_free(gpointer p);
/* Undo one plugin: fini() if init() ran, then close it. */
void lbd_plugin_entry_free(struct plugin_entry *e);
/* G_DEFINE_AUTOPTR_CLEANUP_FUNC wants a type name without "struct". */
typedef struct plugin_entry plugin_entry;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(plugin_entry, lbd_plugin_entry_free)
/* The loaded plugin of that name, of any kind, or NULL. */
struct plugin_entry *lbd_plugin_set_find_name(const struct lbd_plugin_set *set, const char *name);
