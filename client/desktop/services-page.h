/* SPDX-License-Identifier: MIT */
/*
 * The services and their backends, as lbd's objects say: one group per
 * service (listeners, mode, policy; add a backend, change the policy,
 * remove), one row per backend (state with the reason of its last change,
 * weight, active connections, request and error rates; set the weight,
 * drain, enable, disable, remove).
 *
 * Structural changes (objects added or removed, a service's Backends) rebuild
 * the page; property changes update one row. Rates come from the counters lbd
 * signals (rate.h); a one-second timer only recomputes them locally.
 */
#pragma once

#include <gtk/gtk.h>

#include "desktop-bus.h"

typedef struct LbdServicesPage LbdServicesPage;

LbdServicesPage *lbd_services_page_new(LbdDesktopBus *bus);
void lbd_services_page_free(LbdServicesPage *page);
GtkWidget *lbd_services_page_widget(LbdServicesPage *page);
