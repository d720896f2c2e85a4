/* SPDX-License-Identifier: MIT */
/*
 * The loaded plugins (ListPlugins), by kind. Plugins change only when lbd
 * starts or reloads, so the list is read when lbd appears (a new unique
 * name) and when its root properties change (a reload or a worker change
 * goes with them); the dialogs take their choices of models and policies
 * from it.
 */
#pragma once

#include <gtk/gtk.h>

#include "desktop-bus.h"

typedef struct LbdPluginsPage LbdPluginsPage;

LbdPluginsPage *lbd_plugins_page_new(LbdDesktopBus *bus);
void lbd_plugins_page_free(LbdPluginsPage *page);
GtkWidget *lbd_plugins_page_widget(LbdPluginsPage *page);
/* The names of the loaded plugins of kind ("worker", "policy",
 * "network"), NULL-terminated (g_strfreev); empty before the first list. */
char **lbd_plugins_page_names(LbdPluginsPage *page, const char *kind);
