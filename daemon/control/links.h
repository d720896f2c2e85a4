/* SPDX-License-Identifier: MIT */
/*
 * Links: bond and team devices, which the network plugins make through
 * NetworkManager. lbd keeps no state of its own for them: NetworkManager's
 * profiles are the truth (they persist there); this keeps the network
 * plugins started (again after a reload that loaded new ones), the last
 * list they gave, and which links have a change under way.
 *
 * The plugins report changes; one refresh per main-loop iteration lists
 * them again and hands the list before and after to the changed callback
 * (bus-links.c turns that into InterfacesAdded/Removed and
 * PropertiesChanged).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "plugin-loader.h"

struct lbd_link {
        char *name;
        char *kind;
        char *mode;
        char **ports;
        char *state;
        bool managed;
};

struct lbd_links;

typedef void (*lbd_links_changed_fn)(void *userdata, const GPtrArray *before,
                                     const GPtrArray *after);

/* Start the network plugins of plugins (the set in effect, not owned);
 * changed (may be NULL) hears of every new list. Never fails: a plugin
 * that does not start is logged and left out. */
struct lbd_links *lbd_links_new(const struct lbd_plugin_set *plugins,
                                lbd_links_changed_fn changed, void *userdata);
/* Stop the plugins (their calls under way end now, with -ECANCELED).
 * Accepts NULL; returns NULL. */
struct lbd_links *lbd_links_free(struct lbd_links *l);
/* plugins may be a new set (after a reload): start its network plugins
 * and forget the old ones, which may be freed already; until their fini()
 * they keep reporting here and finish their calls under way. */
void lbd_links_sync_plugins(struct lbd_links *l, const struct lbd_plugin_set *plugins);

/* List again now; the changed callback sees the difference. */
void lbd_links_refresh(struct lbd_links *l);

/* The last list (struct lbd_link *, by name), one link of it, or NULL. */
const GPtrArray *lbd_links_list(struct lbd_links *l);
const struct lbd_link *lbd_links_find(struct lbd_links *l, const char *name);

/* A started network plugin by name, or NULL; their names, comma-separated
 * (g_free()). */
const struct lbd_plugin *lbd_links_plugin(struct lbd_links *l, const char *kind);
char *lbd_links_kinds(struct lbd_links *l);

/* One change per link at a time: busy() claims ifname (false when it is
 * claimed already), unbusy() lets go. */
bool lbd_links_busy(struct lbd_links *l, const char *ifname);
void lbd_links_unbusy(struct lbd_links *l, const char *ifname);
