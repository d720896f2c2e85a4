/* SPDX-License-Identifier: MIT */
/*
 * A placeholder plugin: it gives a name its place (so configs naming it
 * load, ListPlugins shows it) but does not do the job yet. It carries
 * LBD_PLUGIN_FLAG_PLACEHOLDER, so the daemon warns whenever it is selected,
 * and every operation fails with -ENOSYS and a message saying so.
 *
 * Compiled once per name, with PLUGIN_NAME, PLUGIN_KIND_* and
 * PLUGIN_DESCRIPTION defined by plugins/meson.build. Each real plugin
 * replaces its placeholder in its own folder.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "lbd-plugin.h"

#define NOT_BUILT PLUGIN_NAME " is a placeholder: this plugin is not built yet"

static const struct lbd_host *saved_host;

static int placeholder_init(const struct lbd_host *host, void **data) {
        saved_host = host;
        *data = NULL;
        return 0;
}

static void say_not_built(void) {
        if (saved_host && saved_host->log)
                saved_host->log(saved_host, LOG_WARNING, "%s", NOT_BUILT);
}

#if defined(PLUGIN_KIND_WORKER)
static int placeholder_run(void *data, const struct lbd_worker_host *host,
                           struct lbd_worker *worker) {
        say_not_built();
        return -ENOSYS;
}
static const struct lbd_worker_ops ops = {
        .struct_size = sizeof(struct lbd_worker_ops),
        .run = placeholder_run,
};
#define KIND LBD_PLUGIN_KIND_WORKER
#define OPS .worker = &ops
#elif defined(PLUGIN_KIND_POLICY)
static int placeholder_pick(void *data, const struct lbd_pick *pick) {
        say_not_built();
        return -ENOSYS;
}
static const struct lbd_policy_ops ops = {
        .struct_size = sizeof(struct lbd_policy_ops),
        .pick = placeholder_pick,
};
#define KIND LBD_PLUGIN_KIND_POLICY
#define OPS .policy = &ops
#elif defined(PLUGIN_KIND_NETWORK)
static int placeholder_validate(void *data, const struct lbd_link_request *request,
                                char **error_message) {
        say_not_built();
        *error_message = strdup(NOT_BUILT);
        return -ENOSYS;
}
static const struct lbd_network_ops ops = {
        .struct_size = sizeof(struct lbd_network_ops),
        .connection_type = PLUGIN_NAME,
        .validate = placeholder_validate,
};
#define KIND LBD_PLUGIN_KIND_NETWORK
#define OPS .network = &ops
#else
#error "define PLUGIN_KIND_WORKER, PLUGIN_KIND_POLICY or PLUGIN_KIND_NETWORK"
#endif

static const struct lbd_plugin_descriptor descriptor = {
        .abi_version = LBD_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct lbd_plugin_descriptor),
        .kind = KIND,
        .flags = LBD_PLUGIN_FLAG_PLACEHOLDER,
        .name = PLUGIN_NAME,
        .description = PLUGIN_DESCRIPTION " (placeholder: not built yet)",
        .init = placeholder_init,
        .ops = { OPS },
};

LBD_PLUGIN_DEFINE(descriptor);
