/* SPDX-License-Identifier: MIT */
/*
 * The workers: the model, how many processes, threads and connections per
 * worker, lbd's version; change the model or the count, reload the
 * configuration. Follows the root object's properties.
 */
#pragma once

#include <gtk/gtk.h>

#include "desktop-bus.h"

typedef struct LbdWorkersPage LbdWorkersPage;

LbdWorkersPage *lbd_workers_page_new(LbdDesktopBus *bus);
void lbd_workers_page_free(LbdWorkersPage *page);
GtkWidget *lbd_workers_page_widget(LbdWorkersPage *page);
