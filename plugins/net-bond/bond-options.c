/* SPDX-License-Identifier: MIT */
#include "bond-options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

const char *const bond_modes[] = {
        "balance-rr", "active-backup", "balance-xor", "broadcast",
        "802.3ad",    "balance-tlb",   "balance-alb", NULL,
};

const char *const bond_option_names[] = {
        "miimon",  "updelay",      "downdelay",     "lacp_rate", "xmit_hash_policy",
        "primary", "arp_interval", "arp_ip_target", NULL,
};

static const char *const lacp_rates[] = { "slow", "fast", NULL };
static const char *const hash_policies[] = {
        "layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4", "vlan+srcmac", NULL,
};

/* Which modes an option means something in (NULL: all). */
static const char *const lacp_modes[] = { "802.3ad", NULL };
static const char *const hash_modes[] = { "balance-xor", "802.3ad", "balance-tlb",
                                          "balance-alb", NULL };
static const char *const primary_modes[] = { "active-backup", "balance-tlb", "balance-alb",
                                             NULL };
/* ARP monitoring does not work with 802.3ad, balance-tlb or balance-alb. */
static const char *const arp_modes[] = { "balance-rr", "active-backup", "balance-xor",
                                         "broadcast", NULL };

static char *join(const char *const *list) { return g_strjoinv(", ", (char **)list); }

static bool is_uint(const char *v, unsigned long max) {
        if (!g_ascii_isdigit(*v))
                return false;
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        return !errno && !*end && n <= max;
}

static int check_targets(const char *value, char **why) {
        g_auto(GStrv) targets = g_strsplit(value, ",", -1);
        if (g_strv_length(targets) > 16) {
                *why = g_strdup("arp_ip_target takes at most 16 addresses");
                return -EINVAL;
        }
        for (char **t = targets; *t; t++) {
                struct in_addr a;
                g_strstrip(*t);
                if (inet_pton(AF_INET, *t, &a) != 1) {
                        *why = g_strdup_printf("Invalid bond option arp_ip_target=%.80s: '%.40s' "
                                               "is not an IPv4 address (a comma-separated list, "
                                               "e.g. \"10.0.0.1,10.0.0.2\")",
                                               value, *t);
                        return -EINVAL;
                }
        }
        return 0;
}

static int check_value(const char *name, const char *value, char **why) {
        g_autofree char *allowed = NULL;
        if (g_str_equal(name, "lacp_rate")) {
                if (g_strv_contains(lacp_rates, value))
                        return 0;
                allowed = join(lacp_rates);
        } else if (g_str_equal(name, "xmit_hash_policy")) {
                if (g_strv_contains(hash_policies, value))
                        return 0;
                allowed = join(hash_policies);
        } else if (g_str_equal(name, "primary")) {
                if (*value && strlen(value) <= 15 && !strpbrk(value, "/: \t\n"))
                        return 0;
                allowed = g_strdup("an interface name (one of the ports)");
        } else if (g_str_equal(name, "arp_ip_target")) {
                return check_targets(value, why);
        } else {
                /* miimon, updelay, downdelay, arp_interval: milliseconds. */
                if (is_uint(value, G_MAXINT))
                        return 0;
                allowed = g_strdup("a whole number of milliseconds");
        }
        *why = g_strdup_printf("Invalid bond option %s=%.80s; allowed: %s", name, value, allowed);
        return -EINVAL;
}

static int check_mode_fit(const char *name, const char *mode, char **why) {
        const char *const *modes = g_str_equal(name, "lacp_rate")          ? lacp_modes
                                   : g_str_equal(name, "xmit_hash_policy") ? hash_modes
                                   : g_str_equal(name, "primary")          ? primary_modes
                                   : g_str_has_prefix(name, "arp_")        ? arp_modes
                                                                           : NULL;
        if (!modes || !mode || g_strv_contains(modes, mode))
                return 0;
        g_autofree char *list = join(modes);
        *why = g_strdup_printf("Bond option %s does not apply to mode %s; it applies to: %s", name,
                               mode, list);
        return -EINVAL;
}

int bond_check(const struct lbd_link_request *req, const char *current_mode, char **why) {
        if (req->runner || req->team_config) {
                *why = g_strdup("Runner and TeamConfig are team options; a bond takes Mode and "
                                "BondOptions");
                return -EINVAL;
        }
        if (req->mode && !g_strv_contains(bond_modes, req->mode)) {
                g_autofree char *allowed = join(bond_modes);
                *why = g_strdup_printf("Unknown bond mode '%.80s'; allowed: %s", req->mode,
                                       allowed);
                return -EINVAL;
        }
        const char *mode = req->mode ? req->mode : current_mode;
        bool miimon = false, arp = false;
        for (const char *const *o = req->bond_options; o && *o; o++) {
                const char *eq = strchr(*o, '=');
                g_autofree char *name = g_strndup(*o, eq ? (size_t)(eq - *o) : strlen(*o));
                const char *value = eq ? eq + 1 : "";
                if (g_str_equal(name, "mode")) {
                        *why = g_strdup("Give the bond mode as Mode, not in BondOptions");
                        return -EINVAL;
                }
                if (!g_strv_contains(bond_option_names, name)) {
                        g_autofree char *allowed = join(bond_option_names);
                        *why = g_strdup_printf("Unknown bond option '%.80s'; allowed: %s", name,
                                               allowed);
                        return -EINVAL;
                }
                if (!*value)
                        continue; /* removes it (ModifyLink) */
                if (check_value(name, value, why) < 0 || check_mode_fit(name, mode, why) < 0)
                        return -EINVAL;
                if (g_str_equal(name, "miimon") && !g_str_equal(value, "0"))
                        miimon = true;
                if (g_str_equal(name, "arp_interval") && !g_str_equal(value, "0"))
                        arp = true;
        }
        if (miimon && arp) {
                *why = g_strdup("Bond options miimon and arp_interval exclude each other: the "
                                "driver watches links by MII or by ARP, not both");
                return -EINVAL;
        }
        return 0;
}

static bool option_on(const char *value) {
        return value && *value && !g_str_equal(value, "0");
}

int bond_check_combination(const char *miimon, const char *updelay, const char *downdelay,
                           const char *arp_interval, const char *arp_ip_target, char **why) {
        bool arp = option_on(arp_interval);
        /* Without miimon and arp_interval NetworkManager turns MII
         * monitoring on (miimon=100), so only an explicit 0, or ARP
         * monitoring, leaves updelay/downdelay without polls to count. */
        bool mii = miimon ? option_on(miimon) : !arp;
        const char *delay = option_on(updelay) ? "updelay" : option_on(downdelay) ? "downdelay"
                                                                                 : NULL;
        if (delay && !mii) {
                *why = g_strdup_printf("Bond option %s needs MII monitoring (miimon above 0, "
                                       "without arp_interval): it counts MII polls",
                                       delay);
                return -EINVAL;
        }
        if (arp && !(arp_ip_target && *arp_ip_target)) {
                *why = g_strdup("Bond option arp_interval needs arp_ip_target: the addresses "
                                "the driver sends its ARP probes to");
                return -EINVAL;
        }
        if (!arp && arp_ip_target && *arp_ip_target) {
                *why = g_strdup("Bond option arp_ip_target needs arp_interval above 0: without "
                                "it no ARP probe is sent");
                return -EINVAL;
        }
        return 0;
}
