/* SPDX-License-Identifier: MIT */
/*
 * A network plugin's log lines go through the host's log (lbd's log target
 * and level), never to stderr directly.
 */
#include <stdarg.h>

#include "net-private.h"

void net_plugin_log(const struct net_plugin *p, int priority, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        g_autofree char *line = g_strdup_vprintf(format, ap);
        va_end(ap);
        if (p->host && p->host->log)
                p->host->log(p->host, priority, "%s", line);
}
