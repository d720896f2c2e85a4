/* SPDX-License-Identifier: MIT */
/*
 * What a user typed into a form, as D-Bus values. Only the shape is read
 * here (a list, a number); whether the value is valid is lbd's to say.
 */
#pragma once

#include <glib.h>

/* "a, b  c" -> ['a', 'b', 'c'] (type as; floating). */
GVariant *lbd_typed_list(const char *text);

/* A decimal number 0..G_MAXUINT32, spaces around allowed. */
gboolean lbd_typed_uint(const char *text, guint32 *out);
