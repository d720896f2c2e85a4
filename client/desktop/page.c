/* SPDX-License-Identifier: MIT */
#include "page.h"

#include <adwaita.h>

#include "widgets.h"

void lbd_page_frame_init(LbdPageFrame *frame, const char *icon, const char *title,
                         const char *description, const char *button_label,
                         const char *button_action) {
        frame->box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 24);
        gtk_widget_set_margin_top(frame->box, 24);
        gtk_widget_set_margin_bottom(frame->box, 24);
        gtk_widget_set_margin_start(frame->box, 12);
        gtk_widget_set_margin_end(frame->box, 12);
        GtkWidget *clamp = adw_clamp_new();
        adw_clamp_set_maximum_size(ADW_CLAMP(clamp), 1000);
        adw_clamp_set_child(ADW_CLAMP(clamp), frame->box);
        GtkWidget *scrolled = gtk_scrolled_window_new();
        gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scrolled), GTK_POLICY_NEVER,
                                       GTK_POLICY_AUTOMATIC);
        gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scrolled), clamp);

        frame->empty = adw_status_page_new();
        adw_status_page_set_icon_name(ADW_STATUS_PAGE(frame->empty), icon);
        adw_status_page_set_title(ADW_STATUS_PAGE(frame->empty), title);
        adw_status_page_set_description(ADW_STATUS_PAGE(frame->empty), description);
        if (button_label) {
                GtkWidget *button = lbd_action_button(NULL, button_label, button_action, NULL);
                gtk_widget_set_halign(button, GTK_ALIGN_CENTER);
                gtk_widget_add_css_class(button, "pill");
                gtk_widget_add_css_class(button, "suggested-action");
                adw_status_page_set_child(ADW_STATUS_PAGE(frame->empty), button);
        }

        frame->root = gtk_stack_new();
        gtk_stack_add_named(GTK_STACK(frame->root), scrolled, "list");
        gtk_stack_add_named(GTK_STACK(frame->root), frame->empty, "empty");
        g_object_ref_sink(frame->root);
        lbd_page_frame_show(frame, FALSE);
}

void lbd_page_frame_clear(LbdPageFrame *frame) {
        g_clear_object(&frame->root);
}

void lbd_page_frame_reset(LbdPageFrame *frame) {
        lbd_box_clear(GTK_BOX(frame->box));
}

void lbd_page_frame_show(LbdPageFrame *frame, gboolean shown) {
        lbd_stack_show(GTK_STACK(frame->root), shown ? "list" : "empty");
}
