/* SPDX-License-Identifier: MIT */
/*
 * lbd: the master process. run() reads top to bottom: parse the command
 * line, load the configuration and the plugins, check that they fit
 * together, then set up the loop, connect the bus, start the manager's
 * parts (the table, the workers: arbiter.h, which handles the signals; the
 * health checks, the links) and run.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "config-files.h"
#include "bus.h"
#include "event-glue.h"
#include "failover.h"
#include "lbd-build-config.h"
#include "log.h"
#include "manager.h"
#include "cleanup.h"
#include "worker-identity.h"

static void manager_done(struct lbd_manager *m) {
        lbd_manager_stop_parts(m); /* before the bus: link calls reply on it */
        lbd_bus_stop(m);
        if (m->event_source) {
                g_source_destroy(m->event_source);
                g_clear_pointer(&m->event_source, g_source_unref);
        }
        m->event = sd_event_unref(m->event);
        g_clear_pointer(&m->loop, g_main_loop_unref);
        /* Shared objects go before the plugins' fini(): their destroy
         * functions live in the plugins. */
        m->shared = lbd_shared_free(m->shared);
        g_clear_pointer(&m->plugins, lbd_plugin_set_free);
        g_clear_pointer(&m->config, lbd_config_free);
        m->failover = lbd_failover_free(m->failover);
        lbd_options_done(&m->options);
}

static int load_configuration(struct lbd_manager *m) {
        if (!m->shared)
                m->shared = lbd_shared_new();
        return lbd_manager_load_configuration(&m->options, m->shared, &m->config, &m->plugins,
                                              NULL);
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
        /* The loader logged each refusal already; repeat them here, where
         * someone running `lbd -t` reads the verdict. */
        for (size_t i = 0; i < lbd_plugin_set_n_refusals(m->plugins); i++) {
                const struct lbd_plugin_refusal *r = lbd_plugin_set_get_refusal(m->plugins, i);
                printf("lbd: refused plugin %s: %s\n", r->path, r->reason);
        }
}

static int setup_event_loop(struct lbd_manager *m) {
        int r = sd_event_new(&m->event);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop: %m");
        m->loop = g_main_loop_new(NULL, FALSE);
        m->event_source = lbd_event_source_new(m->event);
        g_source_attach(m->event_source, NULL);
        return 0;
}

static int prepare_state_dir(const struct lbd_manager *m) {
        if (g_mkdir_with_parents(m->options.state_dir, 0700) < 0) {
                int r = -errno;
                log_error_errno(r, "cannot create the state directory %s: %m",
                                m->options.state_dir);
                return r;
        }
        return 0;
}

/* Every connection is an fd, two when proxied: take the whole hard limit
 * for the workers to inherit (systemd's default soft limit, 1024, is for
 * programs that still use select(); lbd does not). Not being able to is no
 * reason not to start. */
static void raise_fd_limit(void) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == rl.rlim_max)
                return;
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
                log_debug("file descriptor limit raised from %llu to %llu",
                          (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

/* No other process of lbd's user (its workers included, a compromised one
 * most of all) may ptrace the master or read its memory; nor does a crash
 * dump it (cores would hold what it holds). Workers inherit it. */
static int forbid_tracing(void) {
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return log_error_errno(-errno, "cannot make lbd non-dumpable: %m");
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
                /* As nginx -t: the user and groups must exist (as root;
                 * anyone else's workers keep their own identity). */
                struct lbd_worker_identity id;
                if (lbd_worker_identity_resolve(m.config, &id) < 0) {
                        fprintf(stderr, "lbd: configuration check failed\n");
                        return LBD_EXIT_FAILURE;
                }
                print_check_summary(&m);
                return LBD_EXIT_OK;
        }

        if (forbid_tracing() < 0)
                return LBD_EXIT_FAILURE;
        raise_fd_limit();
        /* The workers come after the bus: they close the bus and event
         * loop fds, so those must exist. The arbiter takes over the
         * signals. */
        if (prepare_state_dir(&m) < 0 || setup_event_loop(&m) < 0 || lbd_bus_start(&m) < 0 ||
            lbd_manager_start(&m) < 0)
                return LBD_EXIT_FAILURE;

        log_info("lbd %s started: %u service(s), %u worker(s)", LBD_VERSION,
                 m.config->services->len, lbd_manager_get_workers(&m));
        g_main_loop_run(m.loop);
        return m.exit_code;
}

int main(int argc, char **argv) { return run(argc, argv); }
