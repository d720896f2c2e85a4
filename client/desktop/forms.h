/* SPDX-License-Identifier: MIT */
/*
 * Dialogs for edits, in the manner of the GNOME HIG: a message dialog with a
 * heading, a boxed list of fields and Cancel / an action button. A form
 * without fields is a confirmation (the button destructive where the action
 * is). The form only collects text: what the values mean is for its caller,
 * and what is valid for lbd.
 */
#pragma once

#include <gtk/gtk.h>

typedef enum {
        LBD_FIELD_TEXT,   /* an entry row, prefilled with value */
        LBD_FIELD_CHOICE, /* a combo row of choices, value selected */
        LBD_FIELD_SWITCH, /* a switch row, on when value is "true" */
} LbdFieldKind;

typedef struct {
        LbdFieldKind kind;
        const char *label;          /* also its accessible name */
        const char *value;          /* NULL: empty / the first choice / off */
        const char *const *choices; /* LBD_FIELD_CHOICE, NULL-terminated */
} LbdField;

/* values[i] is field i's text (a choice's text, "true"/"false" for a switch). */
typedef void (*LbdFormDone)(const char *const *values, gpointer data);

typedef struct {
        const char *heading;
        const char *body;        /* may be NULL */
        const char *apply_label; /* "Add", "Remove", ... */
        gboolean destructive;
        const LbdField *fields;
        guint n_fields;
} LbdForm;

/* Show form over parent; done(values, data) when applied, and
 * destroy(data) in every case once the dialog is gone. */
void lbd_form_show(GtkWindow *parent, const LbdForm *form, LbdFormDone done, gpointer data,
                   GDestroyNotify destroy);

/* A message: heading and body, one Close button. */
void lbd_form_message(GtkWindow *parent, const char *heading, const char *body);
