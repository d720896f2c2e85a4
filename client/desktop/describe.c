/* SPDX-License-Identifier: MIT */
#include "describe.h"

#define SEP " \u00b7 "

static const char *or_dash(const char *s) {
        return s && *s ? s : "\u2014";
}

static char *joined(const char *const *list) {
        if (!list || !list[0])
                return g_strdup("\u2014");
        return g_strjoinv(", ", (char **)list);
}

char *lbd_describe_rate(double per_second) {
        if (per_second < 0.05)
                return g_strdup("0");
        if (per_second < 100.0)
                return g_strdup_printf("%.1f", per_second);
        return g_strdup_printf("%.0f", per_second);
}

char *lbd_describe_service(const char *mode, const char *policy, const char *const *listen) {
        g_autofree char *addresses = joined(listen);
        return g_strconcat(or_dash(mode), SEP, or_dash(policy), SEP, addresses, NULL);
}

char *lbd_describe_backend(const char *reason, const char *origin, guint weight, gboolean backup,
                           guint max_conns, guint active, double requests_per_s,
                           double failures_per_s) {
        g_autofree char *req = lbd_describe_rate(requests_per_s);
        g_autofree char *fail = lbd_describe_rate(failures_per_s);
        GString *s = g_string_new(NULL);

        if (reason && *reason)
                g_string_append_printf(s, "%s" SEP, reason);
        if (origin && *origin)
                g_string_append_printf(s, "from %s" SEP, origin);
        if (backup)
                g_string_append(s, "backup" SEP);
        g_string_append_printf(s, "weight %u", weight);
        if (max_conns)
                g_string_append_printf(s, SEP "%u of %u active", active, max_conns);
        else
                g_string_append_printf(s, SEP "%u active", active);
        g_string_append_printf(s, SEP "%s req/s" SEP "%s errors/s", req, fail);
        return g_string_free(s, FALSE);
}

char *lbd_describe_link(const char *kind, const char *mode, const char *const *ports,
                        const char *state, gboolean managed) {
        g_autofree char *port_list = joined(ports);
        return g_strconcat(or_dash(kind), SEP, or_dash(mode), SEP, port_list, SEP, or_dash(state),
                           managed ? "" : SEP "made outside lbd", NULL);
}

char *lbd_describe_failover(GVariant *states) {
        if (!states || !g_variant_is_of_type(states, G_VARIANT_TYPE("a{ss}")) ||
            g_variant_n_children(states) == 0)
                return g_strdup("not reported");
        GString *s = g_string_new(NULL);
        GVariantIter it;
        const char *name, *state;
        g_variant_iter_init(&it, states);
        while (g_variant_iter_next(&it, "{&s&s}", &name, &state))
                g_string_append_printf(s, "%s%s %s", s->len ? ", " : "", name, state);
        return g_string_free(s, FALSE);
}
