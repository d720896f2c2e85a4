/* SPDX-License-Identifier: MIT */
/* backend list|show|add|remove|set|drain|enable|disable */
#include <string.h>

#include "objects.h"
#include "output.h"
#include "settings.h"

static const struct column backend_cols[] = {
        { "service", CELL_STRING, 0 },
        { "address", CELL_STRING, 0 },
        { "state", CELL_STRING, COL_STATE },
        { "weight", CELL_UINT, COL_RIGHT },
        { "backup", CELL_BOOL, 0 },
        { "max_fails", CELL_UINT, COL_RIGHT },
        { "fail_timeout", CELL_UINT, COL_RIGHT },
        { "max_conns", CELL_UINT, COL_RIGHT },
        { "slow_start", CELL_UINT, COL_RIGHT },
        { "active_connections", CELL_UINT, COL_RIGHT | COL_EXTRA },
        { "requests", CELL_UINT, COL_RIGHT | COL_EXTRA },
        { "failures", CELL_UINT, COL_RIGHT | COL_EXTRA },
        { "origin", CELL_STRING, COL_EXTRA },
};

/* weight ... slow_start: the settings of add and set, in the order of the columns. */
static const struct setting backend_settings[] = {
        { "weight", "Weight", SETTING_UINT, 1, 1000, NULL },
        { "backup", "Backup", SETTING_BOOL, 0, 0, NULL },
        { "max-fails", "MaxFails", SETTING_UINT, 0, 1000, NULL },
        { "fail-timeout", "FailTimeout", SETTING_UINT, 1, 86400, NULL },
        { "max-conns", "MaxConns", SETTING_UINT, 0, 1000000, NULL },
        { "slow-start", "SlowStart", SETTING_UINT, 0, 3600, NULL },
};

static void add_backend_row(struct table *t, const char *service, const struct value *p) {
        table_add_string(t, service);
        table_add_string(t, value_str(p, "Address"));
        table_add_string(t, value_str(p, "State"));
        table_add_uint(t, value_uint(p, "Weight"));
        table_add_bool(t, value_bool(p, "Backup"));
        table_add_uint(t, value_uint(p, "MaxFails"));
        table_add_uint(t, value_uint(p, "FailTimeout"));
        table_add_uint(t, value_uint(p, "MaxConns"));
        table_add_uint(t, value_uint(p, "SlowStart"));
        table_add_uint(t, value_uint(p, "ActiveConnections"));
        table_add_uint(t, value_uint(p, "Requests"));
        table_add_uint(t, value_uint(p, "Failures"));
        table_add_string(t, value_str(p, "Origin") ?: "");
}

int cmd_backend_list(struct lbc *c) {
        if (c->argc > 1)
                return usage_error("'backend list' takes at most a SERVICE");
        _cleanup_(table_freep) struct table *t = table_new(backend_cols, ELEMENTSOF(backend_cols));
        _cleanup_(objects_clearp) struct objects o = { 0 };
        int r = objects_load_for_table(c, t, false, &o);
        if (r != EXIT_OK)
                return r;
        if (c->argc == 1 && !objects_service(&o, c->argv[0], &r))
                return r;
        _cleanup_(strv_freep) char **services = value_strv(&o.root, "Services");
        for (char **s = services; *s; s++) {
                const struct value *sp = objects_props(&o, *s, LBD_BUS_SERVICE_INTERFACE);
                const char *name = value_str(sp, "Name") ?: "";
                if (c->argc == 1 && strcmp(name, c->argv[0]) != 0)
                        continue;
                _cleanup_(strv_freep) char **backends = value_strv(sp, "Backends");
                for (char **b = backends; *b; b++) {
                        const struct value *bp = objects_props(&o, *b, LBD_BUS_BACKEND_INTERFACE);
                        if (bp)
                                add_backend_row(t, name, bp);
                }
        }
        table_print(c, t);
        return EXIT_OK;
}

int cmd_backend_show(struct lbc *c) {
        if (c->argc != 2)
                return usage_error("'backend show' needs SERVICE ADDRESS");
        _cleanup_(table_freep) struct table *t = table_new(backend_cols, ELEMENTSOF(backend_cols));
        _cleanup_(objects_clearp) struct objects o = { 0 };
        int r = objects_load_for_table(c, t, true, &o);
        if (r != EXIT_OK)
                return r;
        const struct value *p = objects_backend(&o, c->argv[0], c->argv[1], &r);
        if (!p)
                return r;
        add_backend_row(t, c->argv[0], p);
        table_print_record(c, t);
        return EXIT_OK;
}

static int add_backend(struct lbc *c, const char *service, const char *address, int argc,
                       char **argv) {
        int r = settings_check("backend add", backend_settings, ELEMENTSOF(backend_settings), argc,
                               argv);
        if (r != EXIT_OK)
                return r;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        r = bus_new_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "AddBackend", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "ss", service, address) < 0)
                oom();
        r = settings_append(m, "backend add", backend_settings, ELEMENTSOF(backend_settings), argc,
                            argv);
        if (r != EXIT_OK)
                return r;
        return bus_call_message(c, m, "AddBackend", true, NULL);
}

int cmd_backend_add(struct lbc *c) {
        if (c->argc < 2)
                return usage_error("'backend add' needs SERVICE ADDRESS [SETTING VALUE]...");
        return add_backend(c, c->argv[0], c->argv[1], c->argc - 2, c->argv + 2);
}

int cmd_backend_remove(struct lbc *c) {
        if (c->argc != 2)
                return usage_error("'backend remove' needs SERVICE ADDRESS");
        return bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "RemoveBackend", true, NULL, "ss",
                        c->argv[0], c->argv[1]);
}

/* A method of the backend's own object, after checking that it exists (a
 * missing object would answer UnknownObject or UnknownMethod, which would
 * read as an old daemon). */
static int backend_method(struct lbc *c, const char *verb, const char *method,
                          const char *types, uint32_t arg) {
        if (c->argc != 2)
                return usage_error("'backend %s' needs SERVICE ADDRESS", verb);
        _cleanup_(objects_clearp) struct objects o = { 0 };
        int r = objects_load(c, &o);
        if (r != EXIT_OK)
                return r;
        if (!objects_backend(&o, c->argv[0], c->argv[1], &r))
                return r;
        _cleanup_free_ char *path = backend_path(c->argv[0], c->argv[1]);
        if (types)
                return bus_call(c, path, LBD_BUS_BACKEND_INTERFACE, method, true, NULL, types, arg);
        return bus_call(c, path, LBD_BUS_BACKEND_INTERFACE, method, true, NULL, NULL);
}

int cmd_backend_drain(struct lbc *c) {
        return backend_method(c, "drain", "Drain", NULL, 0);
}

int cmd_backend_enable(struct lbc *c) {
        return backend_method(c, "enable", "Enable", NULL, 0);
}

int cmd_backend_disable(struct lbc *c) {
        return backend_method(c, "disable", "Disable", NULL, 0);
}

/* The current settings of a backend as command-line pairs, with the new
 * ones in place of the old: what AddBackend gets when set replaces it. */
static char **merged_settings(const struct value *p, int argc, char **argv) {
        char **out = calloc(1, sizeof(char *));
        if (!out)
                oom();
        for (size_t k = 0; k < ELEMENTSOF(backend_settings); k++) {
                const struct setting *s = &backend_settings[k];
                const char *given = NULL;
                for (int i = 0; i + 1 < argc; i += 2)
                        if (settings_find("backend set", backend_settings,
                                          ELEMENTSOF(backend_settings), argv[i]) == (int)k)
                                given = argv[i + 1];
                _cleanup_free_ char *now =
                        s->type == SETTING_BOOL
                                ? xstrdup(value_bool(p, s->key) ? "yes" : "no")
                                : xasprintf("%llu", (unsigned long long)value_uint(p, s->key));
                strv_push(&out, s->name);
                strv_push(&out, given ? given : now);
        }
        return out;
}

int cmd_backend_set(struct lbc *c) {
        if (c->argc < 4)
                return usage_error("'backend set' needs SERVICE ADDRESS SETTING VALUE...");
        const char *service = c->argv[0], *address = c->argv[1];
        int argc = c->argc - 2;
        char **argv = c->argv + 2;
        /* Check every pair before changing anything. */
        int r = settings_check("backend set", backend_settings, ELEMENTSOF(backend_settings),
                               argc, argv);
        if (r != EXIT_OK)
                return r;
        bool weight_only = true;
        for (int i = 0; i < argc; i += 2)
                if (settings_find("backend set", backend_settings, ELEMENTSOF(backend_settings),
                                  argv[i]) != 0)
                        weight_only = false;
        _cleanup_(objects_clearp) struct objects o = { 0 };
        r = objects_load(c, &o);
        if (r != EXIT_OK)
                return r;
        const struct value *p = objects_backend(&o, service, address, &r);
        if (!p)
                return r;
        _cleanup_free_ char *path = backend_path(service, address);
        if (weight_only) {
                uint32_t w;
                r = parse_uint("weight", argv[argc - 1], 1, 1000, &w);
                if (r != EXIT_OK)
                        return r;
                return bus_call(c, path, LBD_BUS_BACKEND_INTERFACE, "SetWeight", true, NULL, "u", w);
        }
        /* The API changes a running backend's weight and state in place; its
         * other settings only by adding it anew. Its open connections finish
         * on the old entry, and its counters restart. */
        _cleanup_(strv_freep) char **now = merged_settings(p, 0, NULL);
        _cleanup_(strv_freep) char **next = merged_settings(p, argc, argv);
        _cleanup_free_ char *state = xstrdup(value_str(p, "State") ?: "up");
        r = bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "RemoveBackend", true, NULL, "ss", service,
                     address);
        if (r != EXIT_OK)
                return r;
        r = add_backend(c, service, address, (int)strv_length(next), next);
        if (r != EXIT_OK) {
                if (add_backend(c, service, address, (int)strv_length(now), now) != EXIT_OK)
                        fail(EXIT_FAILED, "backend %s of %s is removed and could not be added "
                                          "back with its previous settings.", address, service);
                return r;
        }
        /* A drained or disabled backend stays so. */
        if (strcmp(state, "draining") == 0)
                return bus_call(c, path, LBD_BUS_BACKEND_INTERFACE, "Drain", true, NULL, NULL);
        if (strcmp(state, "disabled") == 0)
                return bus_call(c, path, LBD_BUS_BACKEND_INTERFACE, "Disable", true, NULL, NULL);
        return EXIT_OK;
}
