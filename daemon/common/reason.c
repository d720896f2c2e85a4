/* SPDX-License-Identifier: MIT */
#include "reason.h"

#include <glib.h>
#include <stdarg.h>

int lbd_reason(char **ret_reason, int error, const char *format, ...) {
        if (ret_reason && !*ret_reason) {
                va_list ap;
                va_start(ap, format);
                *ret_reason = g_strdup_vprintf(format, ap);
                va_end(ap);
        }
        return error;
}
