/* SPDX-License-Identifier: MIT */
#include "typed.h"

GVariant *lbd_typed_list(const char *text) {
        g_auto(GStrv) parts = g_strsplit_set(text ? text : "", ", \t\n", -1);
        GVariantBuilder list;
        g_variant_builder_init(&list, G_VARIANT_TYPE("as"));
        for (guint i = 0; parts[i]; i++)
                if (*parts[i])
                        g_variant_builder_add(&list, "s", parts[i]);
        return g_variant_builder_end(&list);
}

gboolean lbd_typed_uint(const char *text, guint32 *out) {
        g_autofree char *copy = g_strstrip(g_strdup(text ? text : ""));
        guint64 n;
        if (!g_ascii_string_to_unsigned(copy, 10, 0, G_MAXUINT32, &n, NULL))
                return FALSE;
        *out = (guint32)n;
        return TRUE;
}
