/* SPDX-License-Identifier: MIT */
/* link list|show|add bond|add team|modify|up|down|delete: bond and team
 * devices, which lbd makes through NetworkManager. */
#include <string.h>

#include "objects.h"
#include "output.h"
#include "settings.h"

static const struct column link_cols[] = {
        { "name", CELL_STRING, 0 },  { "kind", CELL_STRING, 0 },
        { "mode", CELL_STRING, 0 },  { "ports", CELL_STRV, 0 },
        { "state", CELL_STRING, COL_STATE }, { "managed", CELL_BOOL, 0 },
};

static const char *const bond_modes[] = { "balance-rr", "active-backup", "balance-xor",
                                          "broadcast", "802.3ad", "balance-tlb",
                                          "balance-alb", NULL };
static const char *const team_runners[] = { "broadcast", "roundrobin", "random", "activebackup",
                                            "loadbalance", "lacp", NULL };
static const char *const ipv4_methods[] = { "auto", "manual", "disabled", NULL };

/* The options of CreateLink and ModifyLink (dbus/org.example.LoadBalancer.xml). */
static const struct setting link_settings[] = {
        { "mode", "Mode", SETTING_STRING, 0, 0, bond_modes },
        { "runner", "Runner", SETTING_STRING, 0, 0, team_runners },
        { "miimon", "BondOptions", SETTING_DICT, 0, 0, NULL },
        { "updelay", "BondOptions", SETTING_DICT, 0, 0, NULL },
        { "downdelay", "BondOptions", SETTING_DICT, 0, 0, NULL },
        { "lacp-rate", "BondOptions", SETTING_DICT, 0, 0, NULL },
        { "xmit-hash-policy", "BondOptions", SETTING_DICT, 0, 0, NULL },
        { "primary", "BondOptions", SETTING_DICT, 0, 0, NULL },
        { "arp-interval", "BondOptions", SETTING_DICT, 0, 0, NULL },
        { "arp-ip-target", "BondOptions", SETTING_DICT, 0, 0, NULL },
        { "config", "TeamConfig", SETTING_STRING, 0, 0, NULL },
        { "ipv4.method", "IPv4Method", SETTING_STRING, 0, 0, ipv4_methods },
        { "ipv4.addresses", "IPv4Addresses", SETTING_STRV, 0, 0, NULL },
        { "ipv4.gateway", "IPv4Gateway", SETTING_STRING, 0, 0, NULL },
        { "ipv4.routes", "IPv4Routes", SETTING_STRV, 0, 0, NULL },
        { "ipv4.route-metric", "IPv4RouteMetric", SETTING_INT64, 0, UINT32_MAX, NULL },
        { "ipv4.routing-rules", "IPv4RoutingRules", SETTING_STRV, 0, 0, NULL },
};

static int check_ifname(const char *ifname) {
        /* The kernel's rule (IFNAMSIZ, no '/', ':' or whitespace). */
        size_t n = strlen(ifname);
        if (n == 0 || n > 15 || strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0 ||
            strpbrk(ifname, "/: \t\n"))
                return usage_error("'%s' is not an interface name (1 to 15 characters, no '/', "
                                   "':' or spaces)", ifname);
        return EXIT_OK;
}

static void add_link_row(struct table *t, const struct value *p) {
        table_add_string(t, value_str(p, "Name"));
        table_add_string(t, value_str(p, "Kind"));
        table_add_string(t, value_str(p, "Mode"));
        _cleanup_(strv_freep) char **ports = value_strv(p, "Ports");
        table_add_strv(t, ports);
        table_add_string(t, value_str(p, "State"));
        table_add_bool(t, value_bool(p, "Managed"));
}

int cmd_link_list(struct lbc *c) {
        if (c->argc > 0)
                return usage_error("'link list' takes no arguments");
        _cleanup_(table_freep) struct table *t = table_new(link_cols, ELEMENTSOF(link_cols));
        _cleanup_(objects_clearp) struct objects o = { 0 };
        int r = objects_load_for_table(c, t, false, &o);
        if (r != EXIT_OK)
                return r;
        _cleanup_(strv_freep) char **links = value_strv(&o.root, "Links");
        for (char **l = links; *l; l++) {
                const struct value *p = objects_props(&o, *l, LBD_BUS_LINK_INTERFACE);
                if (p)
                        add_link_row(t, p);
        }
        table_print(c, t);
        return EXIT_OK;
}

int cmd_link_show(struct lbc *c) {
        if (c->argc != 1)
                return usage_error("'link show' needs IFNAME");
        int r = check_ifname(c->argv[0]);
        if (r != EXIT_OK)
                return r;
        _cleanup_(table_freep) struct table *t = table_new(link_cols, ELEMENTSOF(link_cols));
        _cleanup_(objects_clearp) struct objects o = { 0 };
        r = objects_load_for_table(c, t, false, &o);
        if (r != EXIT_OK)
                return r;
        _cleanup_free_ char *path = link_path(c->argv[0]);
        const struct value *p = objects_props(&o, path, LBD_BUS_LINK_INTERFACE);
        if (!p)
                return fail(EXIT_NOT_FOUND, "there is no link '%s'.", c->argv[0]);
        add_link_row(t, p);
        table_print_record(c, t);
        return EXIT_OK;
}

/* Settings that belong to the other kind are a usage error. */
static int check_kind(const char *kind, int argc, char **argv) {
        static const char *const bond_only[] = { "mode", "miimon", "updelay", "downdelay",
                                                 "lacp-rate", "xmit-hash-policy", "primary",
                                                 "arp-interval", "arp-ip-target" };
        for (int i = 0; i + 1 < argc; i += 2) {
                int k = settings_find("link", link_settings, ELEMENTSOF(link_settings), argv[i]);
                if (k < 0)
                        return EXIT_USAGE;
                const char *name = link_settings[k].name;
                bool is_bond = false;
                for (size_t b = 0; b < ELEMENTSOF(bond_only); b++)
                        if (strcmp(name, bond_only[b]) == 0)
                                is_bond = true;
                bool is_team = strcmp(name, "runner") == 0 || strcmp(name, "config") == 0;
                if ((is_bond && strcmp(kind, "team") == 0) ||
                    (is_team && strcmp(kind, "bond") == 0))
                        return usage_error("%s is a setting of a %s, not of a %s", name,
                                           is_bond ? "bond" : "team", kind);
        }
        return EXIT_OK;
}

int cmd_link_add(struct lbc *c) {
        static const char *const kinds[] = { "bond", "team" };
        if (c->argc < 2)
                return usage_error("'link add' needs bond|team IFNAME ports IFACE[,IFACE...]");
        int k = match_word("link kind", c->argv[0], kinds, ELEMENTSOF(kinds));
        if (k < 0)
                return EXIT_USAGE;
        const char *ifname = c->argv[1];
        int r = check_ifname(ifname);
        if (r != EXIT_OK)
                return r;
        /* ports and activate are arguments of CreateLink, the rest its options. */
        _cleanup_(strv_freep) char **ports = NULL;
        _cleanup_(strv_freep) char **rest = calloc(1, sizeof(char *));
        bool activate = true;
        if (!rest)
                oom();
        if ((c->argc - 2) % 2 != 0)
                return usage_error("'link add': setting '%s' has no value", c->argv[c->argc - 1]);
        for (int i = 2; i + 1 < c->argc; i += 2) {
                const char *key = c->argv[i], *val = c->argv[i + 1];
                if (strcmp(key, "ports") == 0 || strcmp(key, "port") == 0) {
                        _cleanup_free_ char *copy = xstrdup(val);
                        char *save = NULL;
                        for (char *p = strtok_r(copy, ",", &save); p;
                             p = strtok_r(NULL, ",", &save)) {
                                r = check_ifname(p);
                                if (r != EXIT_OK)
                                        return r;
                                strv_push(&ports, p);
                        }
                } else if (strcmp(key, "activate") == 0) {
                        r = parse_bool("activate", val, &activate);
                        if (r != EXIT_OK)
                                return r;
                } else {
                        strv_push(&rest, key);
                        strv_push(&rest, val);
                }
        }
        if (!ports)
                return usage_error("'link add' needs ports IFACE[,IFACE...]");
        int nrest = (int)strv_length(rest);
        r = check_kind(kinds[k], nrest, rest);
        if (r == EXIT_OK)
                r = settings_check("link add", link_settings, ELEMENTSOF(link_settings), nrest,
                                   rest);
        if (r != EXIT_OK)
                return r;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        r = bus_new_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "CreateLink", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "ss", kinds[k], ifname) < 0 ||
            sd_bus_message_append_strv(m, ports) < 0)
                oom();
        r = settings_append(m, "link add", link_settings, ELEMENTSOF(link_settings), nrest, rest);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "b", (int)activate) < 0)
                oom();
        return bus_call_message(c, m, "CreateLink", true, NULL);
}

int cmd_link_modify(struct lbc *c) {
        if (c->argc < 3)
                return usage_error("'link modify' needs IFNAME SETTING VALUE...");
        int r = check_ifname(c->argv[0]);
        if (r == EXIT_OK)
                r = settings_check("link modify", link_settings, ELEMENTSOF(link_settings),
                                   c->argc - 1, c->argv + 1);
        if (r != EXIT_OK)
                return r;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        r = bus_new_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "ModifyLink", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "s", c->argv[0]) < 0)
                oom();
        r = settings_append(m, "link modify", link_settings, ELEMENTSOF(link_settings), c->argc - 1,
                            c->argv + 1);
        if (r != EXIT_OK)
                return r;
        return bus_call_message(c, m, "ModifyLink", true, NULL);
}

static int link_method(struct lbc *c, const char *verb, const char *method) {
        if (c->argc != 1)
                return usage_error("'link %s' needs IFNAME", verb);
        int r = check_ifname(c->argv[0]);
        if (r != EXIT_OK)
                return r;
        return bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, method, true, NULL, "s", c->argv[0]);
}

int cmd_link_up(struct lbc *c) {
        return link_method(c, "up", "ActivateLink");
}

int cmd_link_down(struct lbc *c) {
        return link_method(c, "down", "DeactivateLink");
}

int cmd_link_delete(struct lbc *c) {
        return link_method(c, "delete", "DeleteLink");
}
