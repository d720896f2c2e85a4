/* SPDX-License-Identifier: MIT */
#include "forms.h"

#include <adwaita.h>

typedef struct {
        GPtrArray *widgets; /* one per field */
        LbdFieldKind *kinds;
        LbdFormDone done;
        gpointer data;
        GDestroyNotify destroy;
} Form;

static void form_free(gpointer p) {
        Form *form = p;
        if (form->destroy)
                form->destroy(form->data);
        g_ptr_array_unref(form->widgets);
        g_free(form->kinds);
        g_free(form);
}

static void form_closure_free(gpointer data, GClosure *closure) {
        form_free(data);
}

static char *field_value(GtkWidget *widget, LbdFieldKind kind) {
        switch (kind) {
        case LBD_FIELD_TEXT:
                return g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(widget))));
        case LBD_FIELD_CHOICE: {
                GtkStringObject *item = adw_combo_row_get_selected_item(ADW_COMBO_ROW(widget));
                return g_strdup(item ? gtk_string_object_get_string(item) : "");
        }
        case LBD_FIELD_SWITCH:
                return g_strdup(gtk_switch_get_active(GTK_SWITCH(widget)) ? "true" : "false");
        }
        return g_strdup("");
}

static void form_response(AdwMessageDialog *dialog, const char *response, gpointer data) {
        Form *form = data;

        if (g_strcmp0(response, "apply") != 0 || !form->done)
                return;
        g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < form->widgets->len; i++)
                g_ptr_array_add(values,
                                field_value(g_ptr_array_index(form->widgets, i), form->kinds[i]));
        g_ptr_array_add(values, NULL);
        form->done((const char *const *)values->pdata, form->data);
}

static GtkWidget *add_field(GtkListBox *list, const LbdField *field) {
        switch (field->kind) {
        case LBD_FIELD_TEXT: {
                GtkWidget *row = adw_entry_row_new();
                adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), field->label);
                /* The row's title is its accessible name already. */
                gtk_editable_set_text(GTK_EDITABLE(row), field->value ? field->value : "");
                gtk_list_box_append(list, row);
                return row;
        }
        case LBD_FIELD_CHOICE: {
                GtkWidget *row = adw_combo_row_new();
                GtkStringList *model = gtk_string_list_new(field->choices);
                guint selected = 0;
                for (guint i = 0; field->choices && field->choices[i]; i++)
                        if (g_strcmp0(field->choices[i], field->value) == 0)
                                selected = i;
                adw_combo_row_set_model(ADW_COMBO_ROW(row), G_LIST_MODEL(model));
                g_object_unref(model);
                adw_combo_row_set_selected(ADW_COMBO_ROW(row), selected);
                adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), field->label);
                gtk_list_box_append(list, row);
                return row;
        }
        case LBD_FIELD_SWITCH: {
                GtkWidget *row = adw_action_row_new();
                GtkWidget *toggle = gtk_switch_new();
                adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), field->label);
                gtk_switch_set_active(GTK_SWITCH(toggle), g_strcmp0(field->value, "true") == 0);
                gtk_widget_set_valign(toggle, GTK_ALIGN_CENTER);
                gtk_accessible_update_property(GTK_ACCESSIBLE(toggle),
                                               GTK_ACCESSIBLE_PROPERTY_LABEL, field->label, -1);
                adw_action_row_add_suffix(ADW_ACTION_ROW(row), toggle);
                adw_action_row_set_activatable_widget(ADW_ACTION_ROW(row), toggle);
                gtk_list_box_append(list, row);
                return toggle;
        }
        }
        return NULL;
}

void lbd_form_show(GtkWindow *parent, const LbdForm *spec, LbdFormDone done, gpointer data,
                   GDestroyNotify destroy) {
        GtkWidget *dialog = adw_message_dialog_new(parent, spec->heading, spec->body);
        Form *form = g_new0(Form, 1);

        form->widgets = g_ptr_array_new();
        form->kinds = g_new0(LbdFieldKind, spec->n_fields + 1);
        form->done = done;
        form->data = data;
        form->destroy = destroy;

        if (spec->n_fields) {
                GtkWidget *list = gtk_list_box_new();
                gtk_list_box_set_selection_mode(GTK_LIST_BOX(list), GTK_SELECTION_NONE);
                gtk_widget_add_css_class(list, "boxed-list");
                for (guint i = 0; i < spec->n_fields; i++) {
                        form->kinds[i] = spec->fields[i].kind;
                        g_ptr_array_add(form->widgets,
                                        add_field(GTK_LIST_BOX(list), &spec->fields[i]));
                }
                adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(dialog), list);
        }
        AdwMessageDialog *d = ADW_MESSAGE_DIALOG(dialog);
        adw_message_dialog_add_responses(d, "cancel", "_Cancel", "apply", spec->apply_label, NULL);
        adw_message_dialog_set_response_appearance(
                d, "apply", spec->destructive ? ADW_RESPONSE_DESTRUCTIVE : ADW_RESPONSE_SUGGESTED);
        adw_message_dialog_set_default_response(d, spec->destructive ? "cancel" : "apply");
        adw_message_dialog_set_close_response(d, "cancel");
        g_signal_connect_data(dialog, "response", G_CALLBACK(form_response), form,
                              form_closure_free, 0);
        gtk_window_present(GTK_WINDOW(dialog));
        if (form->widgets->len)
                gtk_widget_grab_focus(g_ptr_array_index(form->widgets, 0));
}

void lbd_form_message(GtkWindow *parent, const char *heading, const char *body) {
        GtkWidget *dialog = adw_message_dialog_new(parent, heading, body);
        adw_message_dialog_add_response(ADW_MESSAGE_DIALOG(dialog), "close", "_Close");
        adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(dialog), "close");
        gtk_window_present(GTK_WINDOW(dialog));
}
