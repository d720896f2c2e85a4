/* SPDX-License-Identifier: MIT */
/*
 * The bond network plugin: a Linux bonding device (any of the driver's
 * seven modes) with its ports, as NetworkManager profiles. Everything but
 * the bond's own settings is in net-common.
 */
#include <errno.h>

#include "bond-options.h"
#include "net-common.h"

static int bond_kind_check(const struct lbd_link_request *req, char **why) {
        /* CreateLink without Mode makes balance-rr; ModifyLink without Mode
         * keeps the profile's, checked when it is applied (bond_apply). */
        return bond_check(req, req->ports ? "balance-rr" : NULL, why);
}

static int bond_apply(NMConnection *c, const struct lbd_link_request *req, char **why) {
        NMSettingBond *s = nm_connection_get_setting_bond(c);
        if (!s) {
                s = NM_SETTING_BOND(nm_setting_bond_new());
                nm_connection_add_setting(c, NM_SETTING(s));
                nm_setting_bond_add_option(s, NM_SETTING_BOND_OPTION_MODE, "balance-rr");
        }
        const char *current = nm_setting_bond_get_option_by_name(s, NM_SETTING_BOND_OPTION_MODE);
        if (bond_check(req, current, why) < 0)
                return -EINVAL;
        if (req->mode)
                nm_setting_bond_add_option(s, NM_SETTING_BOND_OPTION_MODE, req->mode);
        for (const char *const *o = req->bond_options; o && *o; o++) {
                g_auto(GStrv) kv = g_strsplit(*o, "=", 2);
                if (kv[1] && *kv[1])
                        nm_setting_bond_add_option(s, kv[0], kv[1]);
                else
                        nm_setting_bond_remove_option(s, kv[0]);
        }
#define OPT(name) nm_setting_bond_get_option_by_name(s, name)
        return bond_check_combination(OPT("miimon"), OPT("updelay"), OPT("downdelay"),
                                      OPT("arp_interval"), OPT("arp_ip_target"), why);
#undef OPT
}

static char *bond_mode(NMConnection *c) {
        NMSettingBond *s = nm_connection_get_setting_bond(c);
        const char *mode = s ? nm_setting_bond_get_option_by_name(s, NM_SETTING_BOND_OPTION_MODE)
                             : NULL;
        /* NetworkManager may store the number ("4"). */
        if (mode && g_ascii_isdigit(mode[0]) && !mode[1] && mode[0] - '0' < 7)
                return g_strdup(bond_modes[mode[0] - '0']);
        return g_strdup(mode ? mode : "balance-rr");
}

static const struct net_kind bond_kind = {
        .name = "bond",
        .check = bond_kind_check,
        .apply = bond_apply,
        .mode = bond_mode,
};

NET_PLUGIN_DEFINE(bond_kind, PLUGIN_DESCRIPTION);
