/* SPDX-License-Identifier: MIT */
/*
 * lbclient: the command-line client of lbd. It talks only to the D-Bus API
 * (org.example.LoadBalancer on the system bus), never to the daemon's files
 * or sockets. This file parses the command line and dispatches; each
 * command group is in a cmd-*.c file.
 */
#include <getopt.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

#include "lbclient.h"
#include "lbd-build-config.h"

static const struct command commands[] = {
        { "status", NULL, cmd_status, "", "Show the daemon, its services and backends" },
        { "service", "list", cmd_service_list, "", "List the services" },
        { "service", "show", cmd_service_show, "NAME", "Show one service" },
        { "service", "add", cmd_service_add,
          "NAME listen ADDRESS[,ADDRESS...] [mode http|tcp] [policy POLICY]\n"
          "        [connect-timeout SECONDS] [read-timeout SECONDS]\n"
          "        [backend 'ADDRESS [weight=N ...]']... [health-check CHECK]",
          "Add a service and start serving it" },
        { "service", "remove", cmd_service_remove, "NAME", "Stop serving a service" },
        { "service", "set", cmd_service_set, "NAME policy POLICY",
          "Change a service's settings" },
        { "backend", "list", cmd_backend_list, "[SERVICE]",
          "List the backends (of every service, or of one)" },
        { "backend", "show", cmd_backend_show, "SERVICE ADDRESS", "Show one backend" },
        { "backend", "add", cmd_backend_add,
          "SERVICE ADDRESS [weight N] [max-fails N] [fail-timeout SECONDS]\n"
          "        [backup yes|no] [max-conns N] [slow-start SECONDS]",
          "Add a backend to a service" },
        { "backend", "remove", cmd_backend_remove, "SERVICE ADDRESS",
          "Remove a backend (its open connections finish)" },
        { "backend", "set", cmd_backend_set, "SERVICE ADDRESS SETTING VALUE...",
          "Change a backend's settings (as for add)" },
        { "backend", "drain", cmd_backend_drain, "SERVICE ADDRESS",
          "No new connections to a backend; open ones finish" },
        { "backend", "enable", cmd_backend_enable, "SERVICE ADDRESS",
          "Let a drained or disabled backend take traffic again" },
        { "backend", "disable", cmd_backend_disable, "SERVICE ADDRESS",
          "Take a backend out administratively" },
        { "policy", "set", cmd_policy_set, "SERVICE POLICY",
          "Choose the policy that picks a service's backends" },
        { "workers", "set", cmd_workers_set, "COUNT", "Run COUNT worker processes" },
        { "workers", "model", cmd_workers_model, "MODEL [threads N] [connections N]",
          "Change the worker model (workers are replaced gracefully)" },
        { "plugin", "list", cmd_plugin_list, "", "List the loaded plugins" },
        { "link", "list", cmd_link_list, "", "List the bond and team devices" },
        { "link", "show", cmd_link_show, "IFNAME", "Show one link" },
        { "link", "add", cmd_link_add,
          "bond|team IFNAME ports IFACE[,IFACE...] [SETTING VALUE]... [activate yes|no]",
          "Create a bond or team device through NetworkManager" },
        { "link", "modify", cmd_link_modify, "IFNAME SETTING VALUE...",
          "Change a link's settings" },
        { "link", "up", cmd_link_up, "IFNAME", "Activate a link" },
        { "link", "down", cmd_link_down, "IFNAME", "Deactivate a link (its profile stays)" },
        { "link", "delete", cmd_link_delete, "IFNAME", "Delete a link and its port profiles" },
        { "stats", NULL, cmd_stats, "[--watch[=SECONDS]]",
          "Show the counters of the daemon, its workers and backends" },
        { "monitor", NULL, cmd_monitor, "",
          "Print changes and signals as they happen, one line each" },
        { "reload", NULL, cmd_reload, "", "Re-read the configuration and plugins" },
        { "check", NULL, cmd_check, "[SERVICE...]",
          "Exit 0 only if lbd is serving: a backend up and listeners accepting (keepalived)" },
        { "failover-notify", NULL, cmd_failover_notify, "TYPE NAME STATE [PRIORITY]",
          "Tell lbd what keepalived's notify hook says (VRRP instance or group state)" },
};

/* The first words, in table order, without repeats. */
static size_t groups(const char **out) {
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (n == 0 || strcmp(out[n - 1], commands[i].group) != 0)
                        out[n++] = commands[i].group;
        return n;
}

static size_t verbs(const char *group, const char **out) {
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(commands[i].group, group) == 0 && commands[i].verb)
                        out[n++] = commands[i].verb;
        return n;
}

static void print_command(const struct command *cmd) {
        _cleanup_free_ char *name = xasprintf("%s%s%s", cmd->group, cmd->verb ? " " : "",
                                                cmd->verb ? cmd->verb : "");
        printf("  %s%s%s\n", name, *cmd->args ? " " : "", cmd->args);
        printf("      %s\n", cmd->help);
}

static const char options_help[] =
        "Options:\n"
        "  -t, --terse            Colon-separated values for scripts (':' and '\\'\n"
        "                         escaped with '\\'), no header\n"
        "  -f, --fields FIELDS    Comma-separated columns to show, or 'all'\n"
        "  -o, --output FORMAT    table (default), terse or json\n"
        "  -w, --watch[=SECONDS]  stats: refresh every SECONDS (default 1)\n"
        "      --no-ask-password  Do not ask for authorization interactively\n"
        "  -h, --help             Show this help (after a command: its help)\n"
        "      --version          Show the version\n\n"
        "Exit status: 0 success, 1 operation failed, 2 usage error, 3 access denied,\n"
        "4 not found, 5 lbd not running.\n";

static void help(void) {
        printf("Usage: lbclient [OPTIONS] COMMAND [ARGUMENTS]\n\n"
               "Control lbd, the load balancer, over D-Bus (org.example.LoadBalancer on the\n"
               "system bus; DBUS_SYSTEM_BUS_ADDRESS selects another bus). Every word of a\n"
               "command may be shortened to an unambiguous prefix ('lbclient b l').\n"
               "Without a command, lbclient runs 'status'.\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                print_command(&commands[i]);
        printf("\n%s", options_help);
}

static void help_group(const char *group) {
        printf("Usage: lbclient [OPTIONS] %s ...\n\n", group);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(commands[i].group, group) == 0)
                        print_command(&commands[i]);
        printf("\nSee lbclient(1) for the settings and fields of each command.\n\n%s",
               options_help);
}

/* Resolve the command words; *words is how many were used. NULL: usage error printed. */
static const struct command *find_command(int argc, char **argv, int *words,
                                          const char **group_out) {
        const char *names[ELEMENTSOF(commands)];
        size_t n = groups(names);
        int g = match_word("command", argv[0], names, n);
        if (g < 0)
                return NULL;
        const char *group = names[g];
        *group_out = group;
        n = verbs(group, names);
        const char *verb = NULL;
        *words = 1;
        if (n > 0) {
                if (argc < 2) {
                        /* "lbclient service" lists, as nmcli does. */
                        for (size_t i = 0; i < n; i++)
                                if (strcmp(names[i], "list") == 0)
                                        verb = "list";
                        if (!verb) {
                                _cleanup_free_ char *list = strv_join((char **)names, "|");
                                usage_error("'%s' needs a subcommand: %s %s", group, group, list);
                                return NULL;
                        }
                } else {
                        int v = match_word(group, argv[1], names, n);
                        if (v < 0)
                                return NULL;
                        verb = names[v];
                        *words = 2;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(commands[i].group, group) == 0 &&
                    (!verb || strcmp(commands[i].verb, verb) == 0))
                        return &commands[i];
        return NULL;
}

static void lbc_done(struct lbc *c) {
        polkit_agent_close(c);
        c->bus = sd_bus_flush_close_unref(c->bus);
}

static bool color_wanted(void) {
        const char *no_color = getenv("NO_COLOR");
        const char *term = getenv("TERM");
        return isatty(STDOUT_FILENO) && !(no_color && *no_color) &&
               !(term && strcmp(term, "dumb") == 0);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "terse", no_argument, NULL, 't' },
                { "fields", required_argument, NULL, 'f' },
                { "output", required_argument, NULL, 'o' },
                { "watch", optional_argument, NULL, 'w' },
                { "no-ask-password", no_argument, NULL, 'P' },
                {},
        };
        _cleanup_(lbc_done) struct lbc c = {
                .color = color_wanted(),
                .ask_password = isatty(STDIN_FILENO),
        };
        bool want_help = false;
        int opt;
        setlocale(LC_ALL, "");
        while ((opt = getopt_long(argc, argv, "htf:o:w::", options, NULL)) >= 0) {
                switch (opt) {
                case 'h':
                        want_help = true;
                        break;
                case 'V':
                        printf("lbclient %s\n", LBD_VERSION);
                        return EXIT_OK;
                case 't':
                        c.output = OUTPUT_TERSE;
                        break;
                case 'f':
                        c.fields = optarg;
                        break;
                case 'o': {
                        static const char *const formats[] = { "table", "terse", "json" };
                        int i = match_word("output format", optarg, formats, ELEMENTSOF(formats));
                        if (i < 0)
                                return EXIT_USAGE;
                        c.output = (enum output_mode)i;
                        break;
                }
                case 'w': {
                        c.watch = 1.0;
                        if (optarg) {
                                char *end;
                                c.watch = strtod(optarg, &end);
                                if (!*optarg || *end || !(c.watch >= 0.1 && c.watch <= 3600))
                                        return usage_error("--watch needs seconds from 0.1 to "
                                                           "3600, not '%s'", optarg);
                        }
                        break;
                }
                case 'P':
                        c.ask_password = false;
                        break;
                default:
                        return usage_error("bad option");
                }
        }
        if (c.output != OUTPUT_TABLE)
                c.color = false;
        argc -= optind;
        argv += optind;
        if (argc == 0) {
                if (want_help) {
                        help();
                        return EXIT_OK;
                }
                static char *status[] = { "status", NULL };
                argv = status;
                argc = 1;
        }
        int words = 0;
        const char *group = NULL;
        const struct command *cmd = find_command(argc, argv, &words, &group);
        if (want_help && group) {
                help_group(group);
                return EXIT_OK;
        }
        if (!cmd)
                return EXIT_USAGE;
        if (c.watch > 0 && cmd->run != cmd_stats)
                return usage_error("--watch is an option of 'stats' only");
        c.argc = argc - words;
        c.argv = argv + words;
        return cmd->run(&c);
}
