/* SPDX-License-Identifier: MIT */
/*
 * The frame every page shares: a scrolled, clamped column of preference
 * groups, and a status page for when there is nothing to list.
 */
#pragma once

#include <gtk/gtk.h>

typedef struct {
        GtkWidget *root;  /* GtkStack: "list" and "empty"; the page's widget */
        GtkWidget *box;   /* the column the groups go in */
        GtkWidget *empty; /* AdwStatusPage */
} LbdPageFrame;

/* A frame whose empty state says title and description, with an optional
 * button (label, action) on it. root holds a reference (lbd_page_frame_clear). */
void lbd_page_frame_init(LbdPageFrame *frame, const char *icon, const char *title,
                         const char *description, const char *button_label,
                         const char *button_action);
void lbd_page_frame_clear(LbdPageFrame *frame);
/* Empty the column (before a rebuild). */
void lbd_page_frame_reset(LbdPageFrame *frame);
/* Show the column, or the empty state when shown is FALSE. */
void lbd_page_frame_show(LbdPageFrame *frame, gboolean shown);
