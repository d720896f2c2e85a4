/* SPDX-License-Identifier: MIT */
/*
 * lbclient: the command-line client of lbd. It talks only to the D-Bus API
 * (org.example.LoadBalancer on the system bus), never to the daemon's files.
 *
 * Built so far: `status` and `plugin list`. The other commands of the design
 * (service, backend, policy, workers, link, stats, monitor, reload) come with
 * the lbclient issue, once the daemon has the methods they call.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "lbd-build-config.h"

#define BUS_NAME "org.example.LoadBalancer"
#define BUS_PATH "/org/example/LoadBalancer"
#define BUS_INTERFACE "org.example.LoadBalancer"

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Exit codes, documented in lbclient --help. */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,      /* the operation failed */
        EXIT_USAGE = 2,       /* bad command line */
        EXIT_DENIED = 3,      /* access denied by polkit */
        EXIT_NOT_FOUND = 4,   /* no such service, backend, link */
        EXIT_NOT_RUNNING = 5, /* lbd is not running */
};

static void freep(void *p) { free(*(void **)p); }
static void strv_freep(char ***p) {
        if (*p)
                for (char **s = *p; *s; s++)
                        free(*s);
        free(*p);
}

static size_t strv_length(char **v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

/* Map a failed call to one plain sentence on stderr and an exit code. */
static int report_bus_error(const char *what, const sd_bus_error *e, int r) {
        if (sd_bus_error_has_names(e, "org.freedesktop.DBus.Error.ServiceUnknown",
                                   "org.freedesktop.DBus.Error.NameHasNoOwner")) {
                fprintf(stderr, "lbclient: lbd is not running (nothing owns %s on the system bus)\n",
                        BUS_NAME);
                return EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_has_names(e, "org.freedesktop.DBus.Error.AccessDenied",
                                   "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired")) {
                fprintf(stderr, "lbclient: %s: access denied: %s\n", what, e->message);
                return EXIT_DENIED;
        }
        if (sd_bus_error_has_name(e, "org.example.LoadBalancer.Error.NotFound")) {
                fprintf(stderr, "lbclient: %s: %s\n", what, e->message);
                return EXIT_NOT_FOUND;
        }
        fprintf(stderr, "lbclient: %s: %s\n", what,
                sd_bus_error_is_set(e) ? e->message : strerror(-r));
        return EXIT_FAILED;
}

static int get_string(sd_bus *bus, const char *path, const char *iface, const char *prop,
                      char **ret, int *exit_code) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property_string(bus, BUS_NAME, path, iface, prop, &e, ret);
        if (r < 0)
                *exit_code = report_bus_error(prop, &e, r);
        return r;
}

static int get_u32(sd_bus *bus, const char *path, const char *iface, const char *prop,
                   uint32_t *ret, int *exit_code) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property_trivial(bus, BUS_NAME, path, iface, prop, &e, 'u', ret);
        if (r < 0)
                *exit_code = report_bus_error(prop, &e, r);
        return r;
}

static int get_bool(sd_bus *bus, const char *path, const char *iface, const char *prop,
                    bool *ret, int *exit_code) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int v = 0;
        int r = sd_bus_get_property_trivial(bus, BUS_NAME, path, iface, prop, &e, 'b', &v);
        if (r < 0)
                *exit_code = report_bus_error(prop, &e, r);
        *ret = v;
        return r;
}

/* Read an array property ("as" or "ao") into a NULL-terminated strv. */
static int get_strv(sd_bus *bus, const char *path, const char *iface, const char *prop,
                    const char *type, char ***ret, int *exit_code) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_get_property(bus, BUS_NAME, path, iface, prop, &e, &reply, type);
        if (r < 0) {
                *exit_code = report_bus_error(prop, &e, r);
                return r;
        }
        size_t n = 0, cap = 8;
        char **v = calloc(cap, sizeof(char *));
        if (!v)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', type + 1);
        const char *s;
        while (r >= 0 && (r = sd_bus_message_read_basic(reply, type[1], &s)) > 0) {
                if (n + 2 > cap) {
                        char **nv = realloc(v, (cap *= 2) * sizeof(char *));
                        if (!nv) {
                                r = -ENOMEM;
                                break;
                        }
                        v = nv;
                }
                v[n++] = strdup(s);
                v[n] = NULL;
        }
        if (r < 0) {
                strv_freep(&v);
                *exit_code = report_bus_error(prop, &e, r);
                return r;
        }
        *ret = v;
        return 0;
}

struct plugin_info {
        char *kind, *name, *description, *path;
};

/* ListPlugins → a(ssss). Fills *ret (terminated by a zeroed entry). */
static int list_plugins(sd_bus *bus, struct plugin_info **ret, int *exit_code) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "ListPlugins", &e,
                                   &reply, NULL);
        if (r < 0) {
                *exit_code = report_bus_error("ListPlugins", &e, r);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(ssss)");
        size_t n = 0;
        struct plugin_info *v = calloc(1, sizeof(*v));
        const char *k, *nm, *d, *p;
        while (v && r >= 0 && (r = sd_bus_message_read(reply, "(ssss)", &k, &nm, &d, &p)) > 0) {
                struct plugin_info *nv = realloc(v, (n + 2) * sizeof(*v));
                if (!nv) {
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                v[n] = (struct plugin_info){ strdup(k), strdup(nm), strdup(d), strdup(p) };
                v[++n] = (struct plugin_info){ 0 };
        }
        if (!v || r < 0) {
                for (size_t i = 0; v && i < n; i++)
                        free(v[i].kind), free(v[i].name), free(v[i].description),
                                free(v[i].path);
                free(v);
                *exit_code = report_bus_error("ListPlugins", &e, r < 0 ? r : -ENOMEM);
                return r < 0 ? r : -ENOMEM;
        }
        *ret = v;
        return 0;
}

static void plugin_info_freep(struct plugin_info **p) {
        for (struct plugin_info *i = *p; i && i->name; i++)
                free(i->kind), free(i->name), free(i->description), free(i->path);
        free(*p);
}

static bool is_placeholder(const struct plugin_info *plugins, const char *kind, const char *name) {
        for (const struct plugin_info *i = plugins; i && i->name; i++)
                if (strcmp(i->kind, kind) == 0 && strcmp(i->name, name) == 0)
                        return strstr(i->description, "(placeholder") != NULL;
        return false;
}

static const char *placeholder_note(const struct plugin_info *plugins, const char *kind,
                                    const char *name) {
        if (!is_placeholder(plugins, kind, name))
                return "";
        /* What lbd does instead (daemon/session.c, pick_backend). */
        if (strcmp(kind, "policy") == 0)
                return "  (placeholder plugin, not built yet: each worker rotates over the "
                       "backends instead)";
        return "  (placeholder plugin: not built yet)";
}

static int print_backends(sd_bus *bus, char **backends, int *exit_code) {
        printf("    %-28s %6s  %-9s %s\n", "BACKEND", "WEIGHT", "STATE", "BACKUP");
        for (char **b = backends; b && *b; b++) {
                _cleanup_(freep) char *address = NULL, *state = NULL;
                uint32_t weight = 0;
                bool backup = false;
                const char *iface = BUS_INTERFACE ".Backend";
                if (get_string(bus, *b, iface, "Address", &address, exit_code) < 0 ||
                    get_u32(bus, *b, iface, "Weight", &weight, exit_code) < 0 ||
                    get_string(bus, *b, iface, "State", &state, exit_code) < 0 ||
                    get_bool(bus, *b, iface, "Backup", &backup, exit_code) < 0)
                        return -EIO;
                printf("    %-28s %6u  %-9s %s\n", address, weight, state, backup ? "yes" : "no");
        }
        if (!backends || !*backends)
                printf("    (no backends)\n");
        return 0;
}

static int cmd_status(sd_bus *bus) {
        int exit_code = EXIT_OK;
        _cleanup_(freep) char *version = NULL, *model = NULL;
        _cleanup_(strv_freep) char **services = NULL;
        _cleanup_(plugin_info_freep) struct plugin_info *plugins = NULL;
        uint32_t workers = 0;

        if (get_string(bus, BUS_PATH, BUS_INTERFACE, "Version", &version, &exit_code) < 0 ||
            get_string(bus, BUS_PATH, BUS_INTERFACE, "WorkerModel", &model, &exit_code) < 0 ||
            get_u32(bus, BUS_PATH, BUS_INTERFACE, "Workers", &workers, &exit_code) < 0 ||
            get_strv(bus, BUS_PATH, BUS_INTERFACE, "Services", "ao", &services, &exit_code) < 0 ||
            list_plugins(bus, &plugins, &exit_code) < 0)
                return exit_code;

        printf("lbd %s\n", version);
        printf("  worker model: %s%s\n", model, placeholder_note(plugins, "worker", model));
        printf("  workers:      %u\n", workers);
        printf("  services:     %zu\n", strv_length(services));
        for (char **s = services; s && *s; s++) {
                _cleanup_(freep) char *name = NULL, *mode = NULL, *policy = NULL;
                _cleanup_(strv_freep) char **listen = NULL, **backends = NULL;
                const char *iface = BUS_INTERFACE ".Service";
                if (get_string(bus, *s, iface, "Name", &name, &exit_code) < 0 ||
                    get_string(bus, *s, iface, "Mode", &mode, &exit_code) < 0 ||
                    get_string(bus, *s, iface, "Policy", &policy, &exit_code) < 0 ||
                    get_strv(bus, *s, iface, "Listen", "as", &listen, &exit_code) < 0 ||
                    get_strv(bus, *s, iface, "Backends", "ao", &backends, &exit_code) < 0)
                        return exit_code;
                printf("\nservice %s\n", name);
                printf("  mode:   %s\n", mode);
                printf("  listen:");
                for (char **l = listen; l && *l; l++)
                        printf(" %s", *l);
                printf("\n  policy: %s%s\n", policy, placeholder_note(plugins, "policy", policy));
                if (print_backends(bus, backends, &exit_code) < 0)
                        return exit_code;
        }
        return EXIT_OK;
}

static int cmd_plugin_list(sd_bus *bus) {
        int exit_code = EXIT_OK;
        _cleanup_(plugin_info_freep) struct plugin_info *plugins = NULL;
        if (list_plugins(bus, &plugins, &exit_code) < 0)
                return exit_code;
        printf("%-8s %-12s %s\n", "KIND", "NAME", "DESCRIPTION");
        for (struct plugin_info *i = plugins; i->name; i++)
                printf("%-8s %-12s %s\n", i->kind, i->name, i->description);
        return EXIT_OK;
}

struct command {
        const char *verb;
        const char *object; /* second word, or NULL */
        int (*run)(sd_bus *bus);
        const char *help;
};

static const struct command commands[] = {
        { "status", NULL, cmd_status, "Show the daemon, its services and backends" },
        { "plugin", "list", cmd_plugin_list, "List the loaded plugins" },
};

static void help(void) {
        printf("Usage: lbclient [OPTIONS] COMMAND\n\n"
               "Control lbd, the load balancer, over D-Bus (org.example.LoadBalancer on the\n"
               "system bus; DBUS_SYSTEM_BUS_ADDRESS selects another bus).\n\n"
               "Commands (unambiguous prefixes work: 'lbclient st', 'lbclient p l'):\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                char buf[64];
                snprintf(buf, sizeof buf, "%s%s%s", commands[i].verb,
                         commands[i].object ? " " : "",
                         commands[i].object ? commands[i].object : "");
                printf("  %-18s %s\n", buf, commands[i].help);
        }
        printf("\nNot built yet: service, backend, policy, workers, link, stats, monitor,\n"
               "reload (they need the daemon's control-plane methods).\n\n"
               "Options:\n"
               "  -h, --help     Show this help\n"
               "      --version  Show the version\n\n"
               "Exit status: 0 success, 1 operation failed, 2 usage error, 3 access denied,\n"
               "4 not found, 5 lbd not running.\n");
}

static bool matches(const char *word, const char *full) {
        return word && *word && strncmp(full, word, strlen(word)) == 0;
}

/* Find the one command that argv[0] (and argv[1]) abbreviate. */
static const struct command *find_command(int argc, char **argv) {
        const struct command *found = NULL;
        int n = 0;
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                const struct command *c = &commands[i];
                if (!matches(argv[0], c->verb))
                        continue;
                if (c->object && (argc < 2 || !matches(argv[1], c->object)))
                        continue;
                found = c;
                n++;
        }
        return n == 1 ? found : NULL;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case 'V':
                        printf("lbclient %s\n", LBD_VERSION);
                        return EXIT_OK;
                default:
                        fprintf(stderr, "Try 'lbclient --help'.\n");
                        return EXIT_USAGE;
                }
        }
        argc -= optind;
        argv += optind;
        static char *default_command[] = { "status", NULL };
        if (argc == 0) {
                argv = default_command;
                argc = 1;
        }
        const struct command *cmd = find_command(argc, argv);
        if (!cmd) {
                fprintf(stderr, "lbclient: unknown or ambiguous command '%s%s%s'. Try 'lbclient --help'.\n",
                        argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
                return EXIT_USAGE;
        }

        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "lbclient: cannot connect to the system bus: %s\n", strerror(-r));
                return EXIT_NOT_RUNNING;
        }
        return cmd->run(bus);
}
