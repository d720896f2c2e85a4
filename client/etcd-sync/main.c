/* SPDX-License-Identifier: MIT */
/*
 * lbd-etcd-sync: backend membership shared by several lbd nodes through an
 * etcd key prefix, applied to this node's lbd through its D-Bus API
 * (sync.h). One per lbd node; see docs/etcd/.
 *
 *   lbd-etcd-sync [--config FILE] [--endpoints URL,...] [--prefix /lbd/]
 *
 * FILE (default /etc/lbd/etcd-sync.conf) is a key file:
 *   [etcd]
 *   endpoints=http://10.0.0.1:2379,http://10.0.0.2:2379,http://10.0.0.3:2379
 *   prefix=/lbd/
 * The options override it.
 */
#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "lbd-build-config.h"
#include "status.h"
#include "sync.h"

#define DEFAULT_CONFIG LBD_PKG_CONF_DIR "/etcd-sync.conf"
#define DEFAULT_PREFIX "/lbd/"

typedef struct {
        GMainLoop *loop;
        int status;
} Run;

static gboolean quit(gpointer data) {
        g_main_loop_quit(((Run *)data)->loop);
        return G_SOURCE_CONTINUE;
}

static void name_lost(GDBusConnection *bus, const char *name, gpointer data) {
        Run *run = data;
        fprintf(stderr,
                "lbd-etcd-sync: cannot own %s on the system bus (another sync runs, or "
                "the bus policy does not allow this user)\n",
                name);
        run->status = 1;
        g_main_loop_quit(run->loop);
}

static void name_acquired(GDBusConnection *bus, const char *name, gpointer data) {
        sd_notify(0, "READY=1");
}

/* The endpoints and prefix, from the file and the options; FALSE with a
 * message printed when they are not usable. */
static gboolean settings(const char *config, gboolean config_given, const char *endpoints_opt,
                         const char *prefix_opt, char ***endpoints, char **prefix) {
        g_autoptr(GKeyFile) file = g_key_file_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *from_file = NULL, *prefix_file = NULL;
        if (g_key_file_load_from_file(file, config, G_KEY_FILE_NONE, &error)) {
                from_file = g_key_file_get_string(file, "etcd", "endpoints", NULL);
                prefix_file = g_key_file_get_string(file, "etcd", "prefix", NULL);
        } else if (config_given || !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
                fprintf(stderr, "lbd-etcd-sync: %s: %s\n", config, error->message);
                return FALSE;
        }
        const char *list = endpoints_opt ? endpoints_opt : from_file;
        if (!list || !*list) {
                fprintf(stderr,
                        "lbd-etcd-sync: no etcd endpoints: give --endpoints or "
                        "[etcd] endpoints= in %s\n",
                        config);
                return FALSE;
        }
        g_auto(GStrv) parts = g_strsplit_set(list, ",; \t", -1);
        g_autoptr(GStrvBuilder) urls = g_strv_builder_new();
        guint n = 0;
        for (char **p = parts; *p; p++) {
                if (!**p)
                        continue;
                if (!g_str_has_prefix(*p, "http://")) {
                        fprintf(stderr,
                                "lbd-etcd-sync: endpoint '%.200s' is not http://HOST:PORT "
                                "(TLS to etcd is not supported yet)\n",
                                *p);
                        return FALSE;
                }
                g_strv_builder_add(urls, *p);
                n++;
        }
        if (n == 0) {
                fprintf(stderr, "lbd-etcd-sync: no etcd endpoints in '%.200s'\n", list);
                return FALSE;
        }
        const char *p = prefix_opt ? prefix_opt : prefix_file ? prefix_file : DEFAULT_PREFIX;
        if (p[0] != '/' || !g_str_has_suffix(p, "/") || strlen(p) > 200) {
                fprintf(stderr, "lbd-etcd-sync: prefix '%.200s' must start and end with '/'\n", p);
                return FALSE;
        }
        *endpoints = g_strv_builder_end(urls);
        *prefix = g_strdup(p);
        return TRUE;
}

int main(int argc, char **argv) {
        g_autofree char *config = NULL, *endpoints_opt = NULL, *prefix_opt = NULL;
        const GOptionEntry entries[] = {
                {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
                 "The configuration file (default " DEFAULT_CONFIG ")", "FILE"},
                {"endpoints", 'e', 0, G_OPTION_ARG_STRING, &endpoints_opt,
                 "etcd's client URLs, comma-separated", "URL,..."},
                {"prefix", 'p', 0, G_OPTION_ARG_STRING, &prefix_opt,
                 "The key prefix (default " DEFAULT_PREFIX ")", "PREFIX"},
                {NULL, 0, 0, 0, NULL, NULL, NULL},
        };
        g_autoptr(GOptionContext) context = g_option_context_new(NULL);
        g_option_context_set_summary(context, "Apply backend membership from etcd to lbd.");
        g_option_context_add_main_entries(context, entries, NULL);
        g_autoptr(GError) error = NULL;
        if (!g_option_context_parse(context, &argc, &argv, &error)) {
                fprintf(stderr, "lbd-etcd-sync: %s\n", error->message);
                return 2;
        }
        if (argc > 1) {
                fprintf(stderr, "lbd-etcd-sync: unexpected argument '%s'\n", argv[1]);
                return 2;
        }
        gboolean config_given = config != NULL;
        if (!config)
                config = g_strdup(DEFAULT_CONFIG);
        g_auto(GStrv) endpoints = NULL;
        g_autofree char *prefix = NULL;
        if (!settings(config, config_given, endpoints_opt, prefix_opt, &endpoints, &prefix))
                return 2;

        g_autoptr(GDBusConnection) bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
        if (!bus) {
                fprintf(stderr, "lbd-etcd-sync: cannot connect to the system bus: %s\n",
                        error->message);
                return 1;
        }
        Run run = {g_main_loop_new(NULL, FALSE), 0};
        LbdSync *sync = lbd_sync_new(bus, (const char *const *)endpoints, prefix, &error);
        if (!sync) {
                fprintf(stderr, "lbd-etcd-sync: %s\n", error->message);
                g_main_loop_unref(run.loop);
                return 1;
        }
        guint owner = g_bus_own_name_on_connection(bus, LBD_SYNC_BUS_NAME,
                                                   G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                                   name_acquired, name_lost, &run, NULL);
        g_unix_signal_add(SIGTERM, quit, &run);
        g_unix_signal_add(SIGINT, quit, &run);
        fprintf(stderr, "lbd-etcd-sync: prefix %s, origin etcd:%s, endpoints %s\n", prefix, prefix,
                endpoints_opt ? endpoints_opt : "from the configuration");
        lbd_sync_start(sync);
        g_main_loop_run(run.loop);
        sd_notify(0, "STOPPING=1");
        g_bus_unown_name(owner);
        lbd_sync_free(sync);
        g_main_loop_unref(run.loop);
        return run.status;
}
