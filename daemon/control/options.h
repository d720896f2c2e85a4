/* SPDX-License-Identifier: MIT */
/* lbd's command line. Every path the daemon uses can be set here, so tests
 * and the demo run from the build tree without installing anything. */
#pragma once

#include <glib.h>

struct lbd_options {
        char *config_file;     /* --config; NULL: the default path, optional */
        char *config_dir;      /* --config-dir; drop-ins */
        char *state_dir;       /* --state-dir */
        char *logs_dir;        /* --logs-dir: where log files named without a path go */
        char **plugin_dirs;    /* --plugin-dir, NULL-terminated, lowest priority first */
        char *bus_address;     /* --bus-address; NULL: DBUS_SYSTEM_BUS_ADDRESS or the system bus */
        int log_level;         /* --log-level, syslog priority */
        gboolean allow_unowned_plugins; /* gboolean: GOption writes an int */
        gboolean check_config;
        gboolean dump_default_config;
        gboolean version;
};

enum {
        /* Exit codes, as nginx -t and systemd tools: 0 fine, 1 the
         * configuration or environment is wrong, 2 the command line is. */
        LBD_EXIT_OK = 0,
        LBD_EXIT_FAILURE = 1,
        LBD_EXIT_USAGE = 2,
};

/* Parse argv into *ret with defaults filled in. On a usage error, prints it
 * and returns -EINVAL. */
int lbd_options_parse(int argc, char **argv, struct lbd_options *ret);
void lbd_options_done(struct lbd_options *o);
