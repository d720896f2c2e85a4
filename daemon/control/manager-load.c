/* SPDX-License-Identifier: MIT */
/*
 * Loading the configuration and the plugins, and checking that they fit
 * together: what startup does, and what a reload (SIGHUP, Reload()) does
 * again before it changes anything.
 */
#include "config-files.h"
#include "manager.h"

#include <errno.h>

#include "lbd-build-config.h"
#include "log.h"
#include "state.h"

/* Is `name` a loaded plugin of `kind`? If not, or if it is a placeholder,
 * say so naming where the configuration set it. Returns -ENOENT when the
 * configuration cannot be used, with the message in *reason unless one is
 * there already. */
static int check_plugin_reference(const struct lbd_config *config,
                                  const struct lbd_plugin_set *plugins, enum lbd_plugin_kind kind,
                                  const char *name, const char *group, const char *key,
                                  char **reason) {
        const struct lbd_plugin *p = lbd_plugin_set_find(plugins, kind, name);
        const char *origin = lbd_config_origin(config, group, key);
        if (!origin)
                origin = "default";
        if (!p) {
                g_autofree char *loaded = lbd_plugin_set_names(plugins, kind);
                const struct lbd_plugin_refusal *refused =
                        lbd_plugin_set_find_refusal(plugins, kind, name);
                g_autofree char *msg =
                        refused ? g_strdup_printf("%s: [%s] %s: the %s plugin '%s' cannot be "
                                                  "used here: %s (%s); loaded: %s",
                                                  origin, group, key,
                                                  lbd_plugin_kind_to_string(kind), name,
                                                  refused->reason, refused->path,
                                                  loaded && *loaded ? loaded : "none")
                                : g_strdup_printf("%s: [%s] %s: no %s plugin named '%s' is "
                                                  "loaded; loaded: %s",
                                                  origin, group, key,
                                                  lbd_plugin_kind_to_string(kind), name,
                                                  loaded && *loaded ? loaded : "none");
                log_error("%s", msg);
                if (!*reason)
                        *reason = g_steal_pointer(&msg);
                return -ENOENT;
        }
        if (p->desc->flags & LBD_PLUGIN_FLAG_PLACEHOLDER)
                log_warning("%s: [%s] %s: %s plugin '%s' is a placeholder: it is not built yet "
                            "and does not do its job",
                            origin, group, key, lbd_plugin_kind_to_string(kind), name);
        return 0;
}

static int check_config_against_plugins(const struct lbd_config *config,
                                        const struct lbd_plugin_set *plugins, char **reason) {
        int r = check_plugin_reference(config, plugins, LBD_PLUGIN_KIND_WORKER,
                                       config->daemon.worker_model, "daemon", "worker-model",
                                       reason);
        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *s = config->services->pdata[i];
                g_autofree char *group = g_strconcat("service ", s->name, NULL);
                int q = check_plugin_reference(config, plugins, LBD_PLUGIN_KIND_POLICY,
                                               s->policy, group, "policy", reason);
                if (q < 0)
                        r = q;
        }
        return r;
}

int lbd_manager_load_configuration(const struct lbd_options *options, struct lbd_shared *shared,
                                   struct lbd_config **ret_config,
                                   struct lbd_plugin_set **ret_plugins, char **ret_reason) {
        g_autofree char *reason = NULL;
        const char *path = options->config_file ? options->config_file : LBD_CONFIG_FILE;
        g_autoptr(lbd_config) config = NULL;
        int r = lbd_config_load(path, options->config_file != NULL, options->config_dir, &config,
                                &reason);
        if (r < 0) {
                log_error("%s", reason);
                if (ret_reason)
                        *ret_reason = g_steal_pointer(&reason);
                return r;
        }
        /* What was changed over D-Bus goes over the files (state.h); lbd -t
         * reports an unusable state file and moves nothing. */
        struct lbd_config *merged = NULL;
        r = lbd_state_load(options->state_dir, g_steal_pointer(&config), options->check_config,
                           &merged, &reason);
        if (r < 0) {
                log_error("%s", reason);
                if (ret_reason)
                        *ret_reason = g_steal_pointer(&reason);
                return r;
        }
        config = merged;

        struct lbd_plugin_loader_options lo = {
                .allow_insecure = options->allow_unowned_plugins,
                .shared = shared,
        };
        _cleanup_plugin_set_ struct lbd_plugin_set *plugins = NULL;
        r = lbd_plugin_set_load((const char *const *)options->plugin_dirs,
                                g_strv_length(options->plugin_dirs), &lo, &plugins);
        if (r < 0) {
                log_error_errno(r, "cannot load plugins: %m");
                if (ret_reason)
                        *ret_reason = g_strdup_printf("cannot load plugins: %s", g_strerror(-r));
                return r;
        }
        r = check_config_against_plugins(config, plugins, &reason);
        /* A plugin the state file names may be gone (the files' own
         * references are checked, and logged once more, only then). */
        g_autofree char *base_reason = NULL;
        if (r < 0 && lbd_state_applied(config) && !options->check_config &&
            check_config_against_plugins(config->base, plugins, &base_reason) >= 0) {
                g_autofree char *reject_reason = NULL;
                r = lbd_state_reject(options->state_dir, &config, reason, &reject_reason);
                if (r < 0) {
                        log_error("%s", reject_reason);
                        g_free(reason);
                        reason = g_steal_pointer(&reject_reason);
                }
        }
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = g_steal_pointer(&reason);
                return r;
        }
        *ret_config = g_steal_pointer(&config);
        *ret_plugins = g_steal_pointer(&plugins);
        return 0;
}
