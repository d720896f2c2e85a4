/* SPDX-License-Identifier: MIT */
/* The daemon as a whole: status, plugin list, workers, policy set, reload. */
#include <string.h>

#include "json.h"
#include "objects.h"
#include "output.h"

/* ListPlugins: an array of (kind, name, description, path). */
static int list_plugins(struct lbc *c, struct value *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "ListPlugins", false, &reply, NULL);
        if (r != EXIT_OK)
                return r;
        if (value_read(reply, ret) < 0 || ret->type != VALUE_ARRAY)
                return fail(EXIT_FAILED, "ListPlugins: unexpected reply.");
        return EXIT_OK;
}

static const char *field(const struct value *tuple, size_t i) {
        return tuple->type == VALUE_ARRAY && i < tuple->n && tuple->items[i].type == VALUE_STRING
                       ? tuple->items[i].s
                       : "";
}

static const char *placeholder_note(const struct value *plugins, const char *kind,
                                    const char *name) {
        for (size_t i = 0; name && i < plugins->n; i++)
                if (strcmp(field(&plugins->items[i], 0), kind) == 0 &&
                    strcmp(field(&plugins->items[i], 1), name) == 0 &&
                    strstr(field(&plugins->items[i], 2), "(placeholder"))
                        return "  (placeholder plugin: not built yet)";
        return "";
}

/* The names of the link objects (bond and team devices). */
static char **link_names(const struct objects *o) {
        _cleanup_(strv_freep) char **paths = value_strv(&o->root, "Links");
        char **names = calloc(1, sizeof(char *));
        if (!names)
                oom();
        for (char **l = paths; *l; l++)
                strv_push(&names, value_str(objects_props(o, *l, LBD_BUS_LINK_INTERFACE), "Name") ?: "");
        return names;
}

static void status_json(const struct objects *o) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_key(&j, "version");
        json_string(&j, value_str(&o->root, "Version"));
        json_key(&j, "worker_model");
        json_string(&j, value_str(&o->root, "WorkerModel"));
        static const char *const counts[] = { "Workers", "Threads", "WorkerConnections" };
        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                _cleanup_free_ char *key = json_snake_case(counts[i]);
                json_key(&j, key);
                json_uint(&j, value_uint(&o->root, counts[i]));
        }
        json_key(&j, "services");
        json_begin_array(&j);
        _cleanup_(strv_freep) char **services = value_strv(&o->root, "Services");
        for (char **s = services; *s; s++) {
                const struct value *p = objects_props(o, *s, LBD_BUS_SERVICE_INTERFACE);
                json_begin_object(&j);
                json_key(&j, "name");
                json_string(&j, value_str(p, "Name"));
                json_key(&j, "mode");
                json_string(&j, value_str(p, "Mode"));
                json_key(&j, "policy");
                json_string(&j, value_str(p, "Policy"));
                json_key(&j, "listen");
                _cleanup_(strv_freep) char **listen = value_strv(p, "Listen");
                json_strv(&j, listen);
                json_key(&j, "backends");
                json_begin_array(&j);
                _cleanup_(strv_freep) char **backends = value_strv(p, "Backends");
                for (char **b = backends; *b; b++) {
                        const struct value *bp = objects_props(o, *b, LBD_BUS_BACKEND_INTERFACE);
                        json_begin_object(&j);
                        json_key(&j, "address");
                        json_string(&j, value_str(bp, "Address"));
                        json_key(&j, "weight");
                        json_uint(&j, value_uint(bp, "Weight"));
                        json_key(&j, "state");
                        json_string(&j, value_str(bp, "State"));
                        json_key(&j, "backup");
                        json_bool(&j, value_bool(bp, "Backup"));
                        json_end_object(&j);
                }
                json_end_array(&j);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_key(&j, "links");
        _cleanup_(strv_freep) char **links = link_names(o);
        json_strv(&j, links);
        json_key(&j, "failover");
        json_begin_object(&j);
        const struct value *failover = value_get(&o->root, "FailoverStates");
        for (size_t i = 0; failover && failover->type == VALUE_DICT && i < failover->n; i++) {
                json_key(&j, failover->items[i].key);
                json_string(&j, failover->items[i].s);
        }
        json_end_object(&j);
        json_end_object(&j);
}

/* -t and -f: the daemon's own fields, one per line. */
static int status_record(struct lbc *c, const struct objects *o) {
        static const struct column cols[] = {
                { "version", CELL_STRING, 0 },     { "worker_model", CELL_STRING, 0 },
                { "workers", CELL_UINT, 0 },       { "threads", CELL_UINT, 0 },
                { "worker_connections", CELL_UINT, 0 }, { "services", CELL_STRV, 0 },
                { "links", CELL_STRV, 0 },
        };
        _cleanup_(table_freep) struct table *t = table_new(cols, ELEMENTSOF(cols));
        table_add_string(t, value_str(&o->root, "Version"));
        table_add_string(t, value_str(&o->root, "WorkerModel"));
        table_add_uint(t, value_uint(&o->root, "Workers"));
        table_add_uint(t, value_uint(&o->root, "Threads"));
        table_add_uint(t, value_uint(&o->root, "WorkerConnections"));
        _cleanup_(strv_freep) char **paths = value_strv(&o->root, "Services");
        _cleanup_(strv_freep) char **names = calloc(1, sizeof(char *));
        for (char **s = paths; *s; s++)
                strv_push(&names, value_str(objects_props(o, *s, LBD_BUS_SERVICE_INTERFACE), "Name") ?: "");
        table_add_strv(t, names);
        _cleanup_(strv_freep) char **links = link_names(o);
        table_add_strv(t, links);
        int r = table_select(c, t);
        if (r == EXIT_OK)
                table_print_record(c, t);
        return r;
}

/* lbd-etcd-sync's line, when one runs on this bus (lbd keeps serving its
 * backends when etcd is unreachable; this says so). */
static void print_etcd_sync(struct lbc *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(value_clearp) struct value props = { 0 };
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(c->bus, LBD_SYNC_BUS_NAME, LBD_SYNC_BUS_PATH,
                                   "org.freedesktop.DBus.Properties", "GetAll", &e, &reply, "s",
                                   LBD_SYNC_BUS_INTERFACE);
        sd_bus_error_free(&e);
        if (r < 0 || value_read(reply, &props) < 0)
                return; /* no sync here */
        const struct value *revision = value_get(&props, "Revision");
        if (value_bool(&props, "Connected"))
                printf("  etcd sync:    following %s, revision %lld, %llu backend(s) from etcd\n",
                       value_str(&props, "Endpoint") ?: "?",
                       revision ? (long long)revision->i : 0LL,
                       (unsigned long long)value_uint(&props, "Applied"));
        else
                printf("  etcd sync:    NOT connected (%s); lbd keeps its %llu backend(s) from "
                       "etcd\n",
                       value_str(&props, "LastError") ?: "?",
                       (unsigned long long)value_uint(&props, "Applied"));
}

int cmd_status(struct lbc *c) {
        if (c->argc > 0)
                return usage_error("'status' takes no arguments");
        _cleanup_(objects_clearp) struct objects o = { 0 };
        _cleanup_(value_clearp) struct value plugins = { 0 };
        int r = objects_load(c, &o);
        if (r != EXIT_OK)
                return r;
        if (c->output == OUTPUT_JSON && !c->fields) {
                status_json(&o);
                return EXIT_OK;
        }
        if (c->output != OUTPUT_TABLE || c->fields)
                return status_record(c, &o);
        r = list_plugins(c, &plugins);
        if (r != EXIT_OK)
                return r;
        const char *model = value_str(&o.root, "WorkerModel");
        const char *bold = c->color ? ANSI_BOLD : "", *reset = c->color ? ANSI_RESET : "";
        printf("%slbd %s%s\n", bold, value_str(&o.root, "Version") ?: "?", reset);
        printf("  worker model: %s%s\n", model ?: "?", placeholder_note(&plugins, "worker", model));
        printf("  workers:      %llu\n", (unsigned long long)value_uint(&o.root, "Workers"));
        const struct value *failover = value_get(&o.root, "FailoverStates");
        for (size_t i = 0; failover && failover->type == VALUE_DICT && i < failover->n; i++)
                printf("  failover:     %s %s (keepalived)\n", failover->items[i].key,
                       failover->items[i].s ?: "?");
        print_etcd_sync(c);
        _cleanup_(strv_freep) char **services = value_strv(&o.root, "Services");
        printf("  services:     %zu\n", strv_length(services));
        for (char **s = services; *s; s++) {
                const struct value *p = objects_props(&o, *s, LBD_BUS_SERVICE_INTERFACE);
                const char *policy = value_str(p, "Policy");
                _cleanup_(strv_freep) char **listen = value_strv(p, "Listen");
                _cleanup_free_ char *listen_text = strv_join(listen, " ");
                printf("\n%sservice %s%s\n", bold, value_str(p, "Name") ?: "?", reset);
                printf("  mode:   %s\n", value_str(p, "Mode") ?: "?");
                printf("  listen: %s\n", listen_text);
                printf("  policy: %s%s\n", policy ?: "?",
                       placeholder_note(&plugins, "policy", policy));
                _cleanup_(strv_freep) char **backends = value_strv(p, "Backends");
                if (!backends[0]) {
                        printf("    (no backends)\n");
                        continue;
                }
                printf("    %-28s %6s  %-9s %s\n", "BACKEND", "WEIGHT", "STATE", "BACKUP");
                for (char **b = backends; *b; b++) {
                        const struct value *bp = objects_props(&o, *b, LBD_BUS_BACKEND_INTERFACE);
                        const char *state = value_str(bp, "State") ?: "?";
                        const char *color = c->color ? state_color(state) : "";
                        printf("    %-28s %6llu  %s%-9s%s %s\n", value_str(bp, "Address") ?: "?",
                               (unsigned long long)value_uint(bp, "Weight"), color, state,
                               *color ? ANSI_RESET : "", value_bool(bp, "Backup") ? "yes" : "no");
                }
        }
        return EXIT_OK;
}

int cmd_plugin_list(struct lbc *c) {
        static const struct column cols[] = {
                { "kind", CELL_STRING, 0 },
                { "name", CELL_STRING, 0 },
                { "description", CELL_STRING, 0 },
                { "path", CELL_STRING, COL_EXTRA },
        };
        if (c->argc > 0)
                return usage_error("'plugin list' takes no arguments");
        _cleanup_(table_freep) struct table *t = table_new(cols, ELEMENTSOF(cols));
        int r = table_select(c, t);
        if (r != EXIT_OK)
                return r;
        _cleanup_(value_clearp) struct value plugins = { 0 };
        r = list_plugins(c, &plugins);
        if (r != EXIT_OK)
                return r;
        for (size_t i = 0; i < plugins.n; i++)
                for (size_t k = 0; k < ELEMENTSOF(cols); k++)
                        table_add_string(t, field(&plugins.items[i], k));
        table_print(c, t);
        return EXIT_OK;
}

int cmd_reload(struct lbc *c) {
        if (c->argc > 0)
                return usage_error("'reload' takes no arguments");
        return bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "Reload", true, NULL, NULL);
}

int cmd_policy_set(struct lbc *c) {
        if (c->argc != 2)
                return usage_error("'policy set' needs SERVICE POLICY");
        return bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "SetPolicy", true, NULL, "ss", c->argv[0],
                        c->argv[1]);
}

int cmd_workers_set(struct lbc *c) {
        uint32_t n;
        if (c->argc != 1)
                return usage_error("'workers set' needs COUNT");
        int r = parse_uint("COUNT", c->argv[0], 1, 1024, &n);
        if (r != EXIT_OK)
                return r;
        return bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "SetWorkers", true, NULL, "u", n);
}

int cmd_workers_model(struct lbc *c) {
        static const char *const keys[] = { "threads", "connections" };
        static const char *const dbus_keys[] = { "Threads", "WorkerConnections" };
        static const uint32_t max[] = { 1024, 1000000 };
        if (c->argc < 1 || c->argc % 2 != 1 || c->argc > 5)
                return usage_error("'workers model' needs MODEL [threads N] [connections N]");
        /* Checked before anything is sent. */
        int k[2];
        uint32_t v[2];
        for (int i = 1; i < c->argc; i += 2) {
                k[i / 2] = match_word("setting of 'workers model'", c->argv[i], keys,
                                      ELEMENTSOF(keys));
                if (k[i / 2] < 0)
                        return EXIT_USAGE;
                int r = parse_uint(keys[k[i / 2]], c->argv[i + 1], 1, max[k[i / 2]], &v[i / 2]);
                if (r != EXIT_OK)
                        return r;
        }
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = bus_new_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "SetWorkerModel", &m);
        if (r != EXIT_OK)
                return r;
        if (sd_bus_message_append(m, "s", c->argv[0]) < 0 ||
            sd_bus_message_open_container(m, 'a', "{sv}") < 0)
                oom();
        for (int i = 0; i < c->argc / 2; i++)
                if (sd_bus_message_append(m, "{sv}", dbus_keys[k[i]], "u", v[i]) < 0)
                        oom();
        if (sd_bus_message_close_container(m) < 0)
                oom();
        return bus_call_message(c, m, "SetWorkerModel", true, NULL);
}
