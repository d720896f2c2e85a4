/* SPDX-License-Identifier: MIT */
/*
 * The main window: a header bar with a view switcher over the services,
 * workers, links and plugins pages; a status page instead while lbd is not
 * on the bus (or there is no system bus); the dialogs for edits, each of
 * which ends in one of the application's actions (actions.h); and lbd's
 * message when a call fails.
 */
#pragma once

#include <adwaita.h>

#include "desktop-bus.h"

typedef struct LbdWindow LbdWindow;

/* A window of app over bus; freed with its GtkWindow. */
LbdWindow *lbd_window_new(GtkApplication *app, LbdDesktopBus *bus);
GtkWindow *lbd_window_gtk(LbdWindow *window);

/* What desktop-bus reported (main.c forwards its hooks). */
void lbd_window_connected(LbdWindow *window, const GError *error);
void lbd_window_presence(LbdWindow *window, gboolean running);
void lbd_window_call_failed(LbdWindow *window, const char *what, const char *error_name,
                            const char *message);
