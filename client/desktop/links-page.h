/* SPDX-License-Identifier: MIT */
/*
 * The links: bond and team devices with their mode, ports and
 * NetworkManager's state, made through lbd (managed: modify, activate,
 * deactivate, delete) or outside it (shown, not touched).
 */
#pragma once

#include <gtk/gtk.h>

#include "desktop-bus.h"

typedef struct LbdLinksPage LbdLinksPage;

LbdLinksPage *lbd_links_page_new(LbdDesktopBus *bus);
void lbd_links_page_free(LbdLinksPage *page);
GtkWidget *lbd_links_page_widget(LbdLinksPage *page);
