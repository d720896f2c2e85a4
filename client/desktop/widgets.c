/* SPDX-License-Identifier: MIT */
#include "widgets.h"

GtkWidget *lbd_action_button(const char *icon, const char *label, const char *action,
                             GVariant *target) {
        GtkWidget *button;

        if (icon) {
                button = gtk_button_new_from_icon_name(icon);
                gtk_widget_set_tooltip_text(button, label);
                gtk_widget_add_css_class(button, "flat");
        } else {
                button = gtk_button_new_with_label(label);
        }
        gtk_accessible_update_property(GTK_ACCESSIBLE(button), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                       -1);
        gtk_widget_set_valign(button, GTK_ALIGN_CENTER);
        gtk_actionable_set_action_name(GTK_ACTIONABLE(button), action);
        if (target)
                gtk_actionable_set_action_target_value(GTK_ACTIONABLE(button), target);
        return button;
}

char *lbd_markup(const char *text) {
        return g_markup_escape_text(text ? text : "", -1);
}

void lbd_box_clear(GtkBox *box) {
        GtkWidget *child;
        while ((child = gtk_widget_get_first_child(GTK_WIDGET(box))))
                gtk_box_remove(box, child);
}

void lbd_stack_show(GtkStack *stack, const char *name) {
        gtk_stack_set_visible_child_name(stack, name);
        for (GtkWidget *child = gtk_widget_get_first_child(GTK_WIDGET(stack)); child;
             child = gtk_widget_get_next_sibling(child)) {
                const char *child_name = gtk_stack_page_get_name(gtk_stack_get_page(stack, child));
                gtk_accessible_update_state(GTK_ACCESSIBLE(child), GTK_ACCESSIBLE_STATE_HIDDEN,
                                            g_strcmp0(child_name, name) != 0, -1);
        }
}
