/* SPDX-License-Identifier: MIT */
/*
 * The IPv4 options of a link, checked before NetworkManager sees them, so
 * that a mistake gets a sentence naming the entry and the syntax rather
 * than NetworkManager's error for the whole profile. Routing rules use
 * libnm's own parser (nm_ip_routing_rule_from_string()), which needs no
 * NetworkManager: the syntax is exactly nmcli's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net-common.h"

int net_parse_ipv4_prefix(const char *text, char *address, size_t size, unsigned *prefix) {
        const char *slash = strchr(text, '/');
        size_t n = slash ? (size_t)(slash - text) : strlen(text);
        if (n == 0 || n >= size || n >= INET_ADDRSTRLEN)
                return -EINVAL;
        memcpy(address, text, n);
        address[n] = '\0';
        struct in_addr a;
        if (inet_pton(AF_INET, address, &a) != 1)
                return -EINVAL;
        *prefix = 32;
        if (slash) {
                char *end;
                errno = 0;
                unsigned long p = strtoul(slash + 1, &end, 10);
                if (errno || end == slash + 1 || *end || p > 32 || slash[1] == '-' ||
                    slash[1] == '+')
                        return -EINVAL;
                *prefix = (unsigned)p;
        }
        return 0;
}

static bool is_ipv4(const char *text) {
        struct in_addr a;
        return inet_pton(AF_INET, text, &a) == 1;
}

static bool parse_metric(const char *text, int64_t *ret) {
        char *end;
        errno = 0;
        if (!g_ascii_isdigit(*text))
                return false;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || *end || v > UINT32_MAX)
                return false;
        *ret = (int64_t)v;
        return true;
}

#define ROUTE_SYNTAX \
        "expected \"DEST/PREFIX [NEXT-HOP] [METRIC]\", e.g. \"192.168.1.0/24 10.0.0.1 100\""

int net_parse_ipv4_route(const char *text, char *dest, size_t dsize, unsigned *prefix,
                         char *next_hop, size_t nsize, int64_t *metric, char **why) {
        g_auto(GStrv) words = g_strsplit_set(text, " \t", -1);
        g_autoptr(GPtrArray) w = g_ptr_array_new();
        for (char **p = words; *p; p++)
                if (**p)
                        g_ptr_array_add(w, *p);
        *metric = -1;
        next_hop[0] = '\0';
        if (w->len < 1 || w->len > 3) {
                *why = g_strdup_printf("Invalid IPv4 route '%.80s': %s", text, ROUTE_SYNTAX);
                return -EINVAL;
        }
        if (net_parse_ipv4_prefix(w->pdata[0], dest, dsize, prefix) < 0) {
                *why = g_strdup_printf("Invalid IPv4 route '%.80s': '%.80s' is not an IPv4 "
                                       "destination (a.b.c.d/0..32); %s",
                                       text, (char *)w->pdata[0], ROUTE_SYNTAX);
                return -EINVAL;
        }
        for (guint i = 1; i < w->len; i++) {
                const char *word = w->pdata[i];
                if (i == 1 && is_ipv4(word)) {
                        g_strlcpy(next_hop, word, nsize);
                        continue;
                }
                if (i == w->len - 1 && parse_metric(word, metric))
                        continue;
                *why = g_strdup_printf("Invalid IPv4 route '%.80s': '%.80s' is neither an "
                                       "IPv4 next hop nor a metric (0..4294967295); %s",
                                       text, word, ROUTE_SYNTAX);
                return -EINVAL;
        }
        return 0;
}

static const char *const methods[] = { "auto", "manual", "disabled", NULL };

int net_check_ipv4(const struct lbd_link_request *req, char **why) {
        char addr[INET_ADDRSTRLEN], hop[INET_ADDRSTRLEN];
        unsigned prefix;
        int64_t metric;
        if (req->ipv4_method && !g_strv_contains(methods, req->ipv4_method)) {
                *why = g_strdup_printf("Unknown IPv4Method '%.80s'; allowed: auto, manual, "
                                       "disabled",
                                       req->ipv4_method);
                return -EINVAL;
        }
        for (const char *const *a = req->ipv4_addresses; a && *a; a++)
                if (net_parse_ipv4_prefix(*a, addr, sizeof(addr), &prefix) < 0) {
                        *why = g_strdup_printf("Invalid IPv4 address '%.80s': expected "
                                               "a.b.c.d/PREFIX with PREFIX 0..32, e.g. "
                                               "\"10.0.0.2/24\"",
                                               *a);
                        return -EINVAL;
                }
        if (req->ipv4_method && g_str_equal(req->ipv4_method, "disabled") &&
            ((req->ipv4_addresses && *req->ipv4_addresses) ||
             (req->ipv4_gateway && *req->ipv4_gateway))) {
                *why = g_strdup("IPv4Method \"disabled\" takes no IPv4Addresses or "
                                "IPv4Gateway");
                return -EINVAL;
        }
        if (req->ipv4_method && g_str_equal(req->ipv4_method, "manual") &&
            req->ipv4_addresses && !*req->ipv4_addresses) {
                *why = g_strdup("IPv4Method \"manual\" needs at least one address in "
                                "IPv4Addresses");
                return -EINVAL;
        }
        if (req->ipv4_gateway && *req->ipv4_gateway && !is_ipv4(req->ipv4_gateway)) {
                *why = g_strdup_printf("Invalid IPv4Gateway '%.80s': expected an IPv4 address "
                                       "such as 10.0.0.1 (or \"\" for none)",
                                       req->ipv4_gateway);
                return -EINVAL;
        }
        for (const char *const *r = req->ipv4_routes; r && *r; r++)
                if (net_parse_ipv4_route(*r, addr, sizeof(addr), &prefix, hop, sizeof(hop),
                                         &metric, why) < 0)
                        return -EINVAL;
        if (req->has_ipv4_route_metric &&
            (req->ipv4_route_metric < -1 || req->ipv4_route_metric > UINT32_MAX)) {
                *why = g_strdup_printf("Invalid IPv4RouteMetric %" PRId64 ": expected -1 "
                                       "(NetworkManager's default) to 4294967295",
                                       req->ipv4_route_metric);
                return -EINVAL;
        }
        for (const char *const *r = req->ipv4_routing_rules; r && *r; r++) {
                g_autoptr(GError) e = NULL;
                _cleanup_rule_ NMIPRoutingRule *rule = nm_ip_routing_rule_from_string(
                        *r, NM_IP_ROUTING_RULE_AS_STRING_FLAGS_AF_INET |
                                    NM_IP_ROUTING_RULE_AS_STRING_FLAGS_VALIDATE,
                        NULL, &e);
                if (!rule) {
                        *why = g_strdup_printf("Invalid IPv4 routing rule '%.80s': %s; "
                                               "expected nmcli's syntax, e.g. \"priority 100 "
                                               "from 192.168.1.100 table 100\"",
                                               *r, e->message);
                        return -EINVAL;
                }
        }
        return 0;
}
