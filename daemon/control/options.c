/* SPDX-License-Identifier: MIT */
#include "options.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "lbd-build-config.h"
#include "log.h"

static const char summary[] =
        "A load balancer driven over D-Bus: it carries traffic from clients to\n"
        "application servers and manages link aggregation through NetworkManager.\n"
        "\n"
        "Without --config, lbd reads " LBD_CONFIG_FILE " if it exists and its\n"
        "embedded default otherwise; drop-ins in --config-dir are merged over it.";

int lbd_options_parse(int argc, char **argv, struct lbd_options *ret) {
        g_autofree char *log_level = NULL;
        g_auto(GStrv) plugin_dirs = NULL;
        struct lbd_options o = { .log_level = LOG_INFO };
        const GOptionEntry entries[] = {
                { "config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config_file,
                  "Main configuration file (default " LBD_CONFIG_FILE ", optional)", "FILE" },
                { "config-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.config_dir,
                  "Directory of *.conf drop-ins (default " LBD_CONFIG_DROPIN_DIR ")", "DIR" },
                { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.state_dir,
                  "Where changes made over D-Bus are kept (default " LBD_STATE_DIR ")", "DIR" },
                { "logs-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.logs_dir,
                  "Where access-log= and error-log= files named without a directory go "
                  "(default " LBD_LOGS_DIR ")", "DIR" },
                { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_dirs,
                  "Plugin directory; repeatable, later ones override earlier ones; replaces "
                  "the defaults " LBD_PKG_PLUGIN_DIR " and " LBD_DROPIN_PLUGIN_DIR, "DIR" },
                { "allow-unowned-plugins", 0, 0, G_OPTION_ARG_NONE, &o.allow_unowned_plugins,
                  "Load plugins not owned by root or writable by others (development only)",
                  NULL },
                { "bus-address", 0, 0, G_OPTION_ARG_STRING, &o.bus_address,
                  "D-Bus address of the system bus (default $DBUS_SYSTEM_BUS_ADDRESS)",
                  "ADDRESS" },
                { "check-config", 't', 0, G_OPTION_ARG_NONE, &o.check_config,
                  "Check the configuration and plugins, then exit", NULL },
                { "dump-default-config", 0, 0, G_OPTION_ARG_NONE, &o.dump_default_config,
                  "Print the embedded default configuration and exit", NULL },
                { "log-level", 0, 0, G_OPTION_ARG_STRING, &log_level,
                  "err, warning, notice, info (default) or debug", "LEVEL" },
                { "version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Show the version and exit",
                  NULL },
                { 0 },
        };
        g_autoptr(GOptionContext) context = g_option_context_new(NULL);
        g_autoptr(GError) error = NULL;

        g_option_context_set_summary(context, summary);
        g_option_context_add_main_entries(context, entries, NULL);
        if (!g_option_context_parse(context, &argc, &argv, &error)) {
                fprintf(stderr, "lbd: %s\nTry 'lbd --help'.\n", error->message);
                lbd_options_done(&o);
                return -EINVAL;
        }
        if (argc > 1) {
                fprintf(stderr, "lbd: unexpected argument '%s'\nTry 'lbd --help'.\n", argv[1]);
                lbd_options_done(&o);
                return -EINVAL;
        }
        if (log_level) {
                o.log_level = log_level_from_string(log_level);
                if (o.log_level < 0) {
                        fprintf(stderr,
                                "lbd: unknown log level '%s'; expected err, warning, notice, "
                                "info or debug\n",
                                log_level);
                        lbd_options_done(&o);
                        return -EINVAL;
                }
        }

        if (plugin_dirs && plugin_dirs[0])
                o.plugin_dirs = g_steal_pointer(&plugin_dirs);
        else
                o.plugin_dirs = g_strdupv((char *[]){ LBD_PKG_PLUGIN_DIR, LBD_DROPIN_PLUGIN_DIR, NULL });
        if (!o.config_dir)
                o.config_dir = g_strdup(LBD_CONFIG_DROPIN_DIR);
        if (!o.state_dir)
                o.state_dir = g_strdup(LBD_STATE_DIR);
        if (!o.logs_dir)
                o.logs_dir = g_strdup(LBD_LOGS_DIR);

        *ret = o;
        return 0;
}

void lbd_options_done(struct lbd_options *o) {
        g_clear_pointer(&o->config_file, g_free);
        g_clear_pointer(&o->config_dir, g_free);
        g_clear_pointer(&o->state_dir, g_free);
        g_clear_pointer(&o->logs_dir, g_free);
        g_clear_pointer(&o->plugin_dirs, g_strfreev);
        g_clear_pointer(&o->bus_address, g_free);
}
