/* SPDX-License-Identifier: MIT */
/*
 * lbd: the master process. run() reads top to bottom: parse the command
 * line, load the configuration and the plugins, check that they fit
 * together, then set up the loop, connect the bus and run.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "bus.h"
#include "event-glue.h"
#include "lbd-build-config.h"
#include "log.h"
#include "manager.h"
#include "util.h"

static void manager_done(struct lbd_manager *m) {
        lbd_bus_stop(m);
        if (m->event_source) {
                g_source_destroy(m->event_source);
                g_clear_pointer(&m->event_source, g_source_unref);
        }
        m->event = sd_event_unref(m->event);
        g_clear_pointer(&m->loop, g_main_loop_unref);
        g_clear_pointer(&m->plugins, lbd_plugin_set_free);
        g_clear_pointer(&m->config, lbd_config_free);
        lbd_options_done(&m->options);
}

/* Is `name` a loaded plugin of `kind`? If not, or if it is a placeholder,
 * say so naming where the configuration set it. Returns -ENOENT when the
 * configuration cannot be used. */
static int check_plugin_reference(const struct lbd_manager *m, enum lbd_plugin_kind kind,
                                  const char *name, const char *group, const char *key) {
        const struct lbd_plugin *p = lbd_plugin_set_find(m->plugins, kind, name);
        const char *origin = lbd_config_origin(m->config, group, key);
        if (!origin)
                origin = "default";
        if (!p) {
                g_autofree char *loaded = lbd_plugin_set_names(m->plugins, kind);
                log_error("%s: [%s] %s: no %s plugin named '%s' is loaded; loaded: %s", origin,
                          group, key, lbd_plugin_kind_to_string(kind), name,
                          loaded && *loaded ? loaded : "none");
                return -ENOENT;
        }
        if (p->desc->flags & LBD_PLUGIN_FLAG_PLACEHOLDER)
                log_warning("%s: [%s] %s: %s plugin '%s' is a placeholder: it is not built yet "
                            "and does not do its job",
                            origin, group, key, lbd_plugin_kind_to_string(kind), name);
        return 0;
}

static int check_config_against_plugins(const struct lbd_manager *m) {
        int r = check_plugin_reference(m, LBD_PLUGIN_KIND_WORKER, m->config->daemon.worker_model,
                                       "daemon", "worker-model");
        for (guint i = 0; i < m->config->services->len; i++) {
                const struct lbd_service_config *s = m->config->services->pdata[i];
                g_autofree char *group = g_strconcat("service ", s->name, NULL);
                int q = check_plugin_reference(m, LBD_PLUGIN_KIND_POLICY, s->policy, group,
                                               "policy");
                if (q < 0)
                        r = q;
        }
        return r;
}

static int load_configuration(struct lbd_manager *m) {
        g_autoptr(GError) error = NULL;
        const char *path = m->options.config_file ? m->options.config_file : LBD_CONFIG_FILE;
        m->config = lbd_config_load(path, m->options.config_file != NULL,
                                    m->options.config_dir, &error);
        if (!m->config) {
                log_error("%s", error->message);
                return -EINVAL;
        }

        struct lbd_plugin_loader_options lo = {
                .allow_insecure = m->options.allow_unowned_plugins,
        };
        int r = lbd_plugin_set_load((const char *const *)m->options.plugin_dirs,
                                    g_strv_length(m->options.plugin_dirs), &lo, &m->plugins);
        if (r < 0) {
                log_error("cannot load plugins: %s", g_strerror(-r));
                return r;
        }
        return check_config_against_plugins(m);
}

static void print_check_summary(const struct lbd_manager *m) {
        g_autoptr(GString) files = g_string_new(NULL);
        for (guint i = 0; i < m->config->sources->len; i++)
                g_string_append_printf(files, "%s%s", i ? ", " : "",
                                       (const char *)m->config->sources->pdata[i]);
        printf("lbd: configuration OK: %s\n", files->str);
        printf("lbd: %u service(s), worker model %s, %u worker(s)\n", m->config->services->len,
               m->config->daemon.worker_model, lbd_config_worker_count(m->config));
        printf("lbd: %zu plugin(s) loaded, %zu refused\n", lbd_plugin_set_size(m->plugins),
               lbd_plugin_set_n_refusals(m->plugins));
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct lbd_manager *m = userdata;
        log_info("received %s; stopping", strsignal((int)si->ssi_signo));
        sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
        g_main_loop_quit(m->loop);
        return 0;
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si,
                            void *userdata) {
        /* Reloading replaces workers gracefully, and there are no workers
         * yet (the data-plane issue): say so rather than pretend. */
        log_notice("received SIGHUP: configuration reload is not built yet; nothing changed");
        return 0;
}

static int setup_event_loop(struct lbd_manager *m) {
        int r = sd_event_new(&m->event);
        if (r < 0) {
                log_error("cannot create the event loop: %s", g_strerror(-r));
                return r;
        }
        /* Signals are taken through signalfd, so they must be blocked. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_stop_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGINT, on_stop_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload_signal, m)) < 0) {
                log_error("cannot watch signals: %s", g_strerror(-r));
                return r;
        }
        m->loop = g_main_loop_new(NULL, FALSE);
        m->event_source = lbd_event_source_new(m->event);
        g_source_attach(m->event_source, NULL);
        return 0;
}

static int prepare_state_dir(const struct lbd_manager *m) {
        if (g_mkdir_with_parents(m->options.state_dir, 0700) < 0) {
                int r = -errno;
                log_error("cannot create the state directory %s: %s", m->options.state_dir,
                          g_strerror(-r));
                return r;
        }
        return 0;
}

static int run(int argc, char **argv) {
        _cleanup_(manager_done) struct lbd_manager m = { 0 };

        if (lbd_options_parse(argc, argv, &m.options) < 0)
                return LBD_EXIT_USAGE;
        log_set_max_level(m.options.log_level);

        if (m.options.version) {
                printf("lbd %s (plugin ABI %u)\n", LBD_VERSION, LBD_PLUGIN_ABI_VERSION);
                return LBD_EXIT_OK;
        }
        if (m.options.dump_default_config) {
                fputs(lbd_config_builtin_default, stdout);
                return LBD_EXIT_OK;
        }

        if (load_configuration(&m) < 0) {
                if (m.options.check_config)
                        fprintf(stderr, "lbd: configuration check failed\n");
                else
                        log_error("refusing to start with this configuration");
                return LBD_EXIT_FAILURE;
        }
        if (m.options.check_config) {
                print_check_summary(&m);
                return LBD_EXIT_OK;
        }

        if (prepare_state_dir(&m) < 0 || setup_event_loop(&m) < 0 || lbd_bus_start(&m) < 0)
                return LBD_EXIT_FAILURE;

        log_info("lbd %s started: %u service(s); the proxy engine is not built yet, so no "
                 "traffic is carried",
                 LBD_VERSION, m.config->services->len);
        g_main_loop_run(m.loop);
        return m.exit_code;
}

int main(int argc, char **argv) { return run(argc, argv); }
