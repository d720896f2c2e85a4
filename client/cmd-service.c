/* SPDX-License-Identifier: MIT */
/* service list|show|add|remove|set */
#include <string.h>

#include "objects.h"
#include "output.h"
#include "settings.h"

static const struct column service_cols[] = {
        { "name", CELL_STRING, 0 },
        { "mode", CELL_STRING, 0 },
        { "listen", CELL_STRV, 0 },
        { "policy", CELL_STRING, 0 },
        { "backends", CELL_STRV, 0 },
        { "connect_timeout", CELL_UINT, COL_RIGHT | COL_EXTRA },
        { "read_timeout", CELL_UINT, COL_RIGHT | COL_EXTRA },
        { "active_connections", CELL_UINT, COL_RIGHT | COL_EXTRA },
        { "requests", CELL_UINT, COL_RIGHT | COL_EXTRA },
};

static void add_service_row(struct table *t, const struct objects *o, const struct value *p) {
        table_add_string(t, value_str(p, "Name"));
        table_add_string(t, value_str(p, "Mode"));
        _cleanup_(strv_freep) char **listen = value_strv(p, "Listen");
        table_add_strv(t, listen);
        table_add_string(t, value_str(p, "Policy"));
        _cleanup_(strv_freep) char **paths = value_strv(p, "Backends");
        _cleanup_(strv_freep) char **addresses = calloc(1, sizeof(char *));
        if (!addresses)
                oom();
        for (char **b = paths; *b; b++)
                strv_push(&addresses,
                          value_str(objects_props(o, *b, LBD_BUS_BACKEND_INTERFACE), "Address") ?: "");
        table_add_strv(t, addresses);
        table_add_uint(t, value_uint(p, "ProxyConnectTimeout"));
        table_add_uint(t, value_uint(p, "ProxyReadTimeout"));
        table_add_uint(t, value_uint(p, "ActiveConnections"));
        table_add_uint(t, value_uint(p, "Requests"));
}

int cmd_service_list(struct lbc *c) {
        if (c->argc > 0)
                return usage_error("'service list' takes no arguments");
        _cleanup_(table_freep) struct table *t = table_new(service_cols, ELEMENTSOF(service_cols));
        _cleanup_(objects_clearp) struct objects o = { 0 };
        int r = objects_load_for_table(c, t, false, &o);
        if (r != EXIT_OK)
                return r;
        _cleanup_(strv_freep) char **services = value_strv(&o.root, "Services");
        for (char **s = services; *s; s++)
                add_service_row(t, &o, objects_props(&o, *s, LBD_BUS_SERVICE_INTERFACE));
        table_print(c, t);
        return EXIT_OK;
}

int cmd_service_show(struct lbc *c) {
        if (c->argc != 1)
                return usage_error("'service show' needs NAME");
        _cleanup_(table_freep) struct table *t = table_new(service_cols, ELEMENTSOF(service_cols));
        _cleanup_(objects_clearp) struct objects o = { 0 };
        int r = objects_load_for_table(c, t, true, &o);
        if (r != EXIT_OK)
                return r;
        const struct value *p = objects_service(&o, c->argv[0], &r);
        if (!p)
                return r;
        add_service_row(t, &o, p);
        table_print_record(c, t);
        return EXIT_OK;
}

static const char *const service_modes[] = { "http", "tcp", NULL };

static const struct setting service_settings[] = {
        { "listen", "Listen", SETTING_STRV, 0, 0, NULL },
        { "mode", "Mode", SETTING_STRING, 0, 0, service_modes },
        { "policy", "Policy", SETTING_STRING, 0, 0, NULL },
        { "connect-timeout", "ProxyConnectTimeout", SETTING_UINT, 1, 3600, NULL },
        { "read-timeout", "ProxyReadTimeout", SETTING_UINT, 1, 86400, NULL },
        { "backend", "Backends", SETTING_LIST, 0, 0, NULL },
        { "health-check", "HealthCheck", SETTING_STRING, 0, 0, NULL },
};

int cmd_service_add(struct lbc *c) {
        if (c->argc < 1)
                return usage_error("'service add' needs NAME listen ADDRESS ...");
        int r = settings_check("service add", service_settings, ELEMENTSOF(service_settings),
                               c->argc - 1, c->argv + 1);
        if (r != EXIT_OK)
                return r;
        bool has_listen = false;
        for (int i = 1; i + 1 < c->argc; i += 2)
                if (settings_find("service add", service_settings, ELEMENTSOF(service_settings),
                                  c->argv[i]) == 0)
                        has_listen = true;
        if (!has_listen)
                return usage_error("'service add' needs listen ADDRESS[,ADDRESS...]");
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        r = bus_new_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "AddService", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "s", c->argv[0]) < 0)
                oom();
        r = settings_append(m, "service add", service_settings, ELEMENTSOF(service_settings),
                            c->argc - 1, c->argv + 1);
        if (r != EXIT_OK)
                return r;
        return bus_call_message(c, m, "AddService", true, NULL);
}

int cmd_service_remove(struct lbc *c) {
        if (c->argc != 1)
                return usage_error("'service remove' needs NAME");
        return bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "RemoveService", true, NULL, "s", c->argv[0]);
}

int cmd_service_set(struct lbc *c) {
        static const char *const keys[] = { "policy" };
        if (c->argc < 3 || c->argc % 2 != 1)
                return usage_error("'service set' needs NAME policy POLICY");
        for (int i = 1; i < c->argc; i += 2) {
                /* The API changes a service's policy in place; its listen
                 * addresses, mode and timeouts only by adding it anew. */
                if (match_word("setting of 'service set'", c->argv[i], keys, ELEMENTSOF(keys)) < 0)
                        return EXIT_USAGE;
        }
        for (int i = 1; i < c->argc; i += 2) {
                int r = bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "SetPolicy", true, NULL, "ss",
                                 c->argv[0], c->argv[i + 1]);
                if (r != EXIT_OK)
                        return r;
        }
        return EXIT_OK;
}
