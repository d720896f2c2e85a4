/* SPDX-License-Identifier: MIT */
/*
 * The team network plugin: a teamd device with its ports, as
 * NetworkManager profiles. Team is deprecated by major distributions and
 * NetworkManager may be built without it, so before making one the plugin
 * asks the running NetworkManager whether it can (NM_CAPABILITY_TEAM) and
 * names the bond equivalents when it cannot.
 */
#include <errno.h>

#include "net-common.h"
#include "team-config.h"

#define BOND_INSTEAD                                                                        \
        "use a bond instead: activebackup -> Mode active-backup, roundrobin -> balance-rr, " \
        "broadcast -> broadcast, lacp -> 802.3ad, loadbalance -> balance-xor or balance-tlb"

static int team_kind_check(const struct lbd_link_request *req, char **why) {
        return team_check(req, NULL, why);
}

static int team_apply(NMConnection *c, const struct lbd_link_request *req, char **why) {
        g_autofree char *config_runner = NULL;
        if (team_check(req, &config_runner, why) < 0)
                return -EINVAL;
        NMSettingTeam *s = nm_connection_get_setting_team(c);
        if (!s) {
                s = NM_SETTING_TEAM(nm_setting_team_new());
                nm_connection_add_setting(c, NM_SETTING(s));
        }
        if (req->team_config)
                g_object_set(s, NM_SETTING_TEAM_CONFIG,
                             *req->team_config ? req->team_config : NULL, NULL);
        /* libnm folds the runner into the JSON config (as nmcli's
         * team.runner does). */
        if (req->runner && !config_runner)
                g_object_set(s, NM_SETTING_TEAM_RUNNER, req->runner, NULL);
        return 0;
}

static char *team_mode(NMConnection *c) {
        NMSettingTeam *s = nm_connection_get_setting_team(c);
        const char *runner = s ? nm_setting_team_get_runner(s) : NULL;
        /* teamd's default runner. */
        return g_strdup(runner ? runner : "roundrobin");
}

static int team_supported(NMClient *client, char **why) {
        gsize n = 0;
        const guint32 *caps = nm_client_get_capabilities(client, &n);
        for (gsize i = 0; i < n; i++)
                if (caps[i] == NM_CAPABILITY_TEAM)
                        return 0;
        *why = g_strdup_printf("NetworkManager %s here has no team support (its team plugin is not "
                               "installed; distributions are dropping teamd); " BOND_INSTEAD,
                               nm_client_get_version(client));
        return -EOPNOTSUPP;
}

static const struct net_kind team_kind = {
        .name = "team",
        .check = team_kind_check,
        .apply = team_apply,
        .mode = team_mode,
        .supported = team_supported,
};

NET_PLUGIN_DEFINE(team_kind, PLUGIN_DESCRIPTION);
