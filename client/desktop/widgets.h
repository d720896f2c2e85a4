/* SPDX-License-Identifier: MIT */
/*
 * Small widgets every page makes the same way.
 */
#pragma once

#include <gtk/gtk.h>

/* A flat button that activates action (e.g. "app.drain") with target
 * (floating, consumed; may be NULL). With an icon, label becomes its tooltip
 * and accessible name ("Drain 127.0.0.1:8001"); without, its text. */
GtkWidget *lbd_action_button(const char *icon, const char *label, const char *action,
                             GVariant *target);

/* A text for markup-using libadwaita titles and subtitles. */
char *lbd_markup(const char *text);

/* Remove every child of box. */
void lbd_box_clear(GtkBox *box);

/* Show the child name of stack, and hide the others from assistive
 * technologies too (GTK 4.8 lists a stack's hidden children to AT-SPI as
 * if they were on screen). */
void lbd_stack_show(GtkStack *stack, const char *name);
