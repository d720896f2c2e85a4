/* SPDX-License-Identifier: MIT */
#include "bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "bus-links.h"
#include "bus-private.h"
#include "lbd-build-config.h"
#include "log.h"
#include "polkit.h"
#include "cleanup.h"
#include "quote.h"

/* ---- root object ------------------------------------------------------- */

static int property_version(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", LBD_VERSION);
}

static int property_worker_model(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->config->daemon.worker_model);
}

static int property_daemon_uint(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        return sd_bus_message_append(reply, "u",
                                     g_str_equal(property, "Threads")
                                             ? m->config->daemon.threads
                                             : m->config->daemon.worker_connections);
}

static int property_workers(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        return sd_bus_message_append(reply, "u", lbd_manager_get_workers(m));
}

static int property_services(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (guint i = 0; i < m->config->services->len; i++) {
                _cleanup_free_ char *p = NULL;
                r = lbd_bus_service_path(
                        ((const struct lbd_service_config *)m->config->services->pdata[i])->name,
                        &p);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "o", p);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_links(sd_bus *bus, const char *path, const char *interface,
                          const char *property, sd_bus_message *reply, void *userdata,
                          sd_bus_error *error) {
        return lbd_bus_links_property(userdata, reply);
}

static int method_list_plugins(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < lbd_plugin_set_size(m->plugins); i++) {
                const struct lbd_plugin *p = lbd_plugin_set_get(m->plugins, i);
                r = sd_bus_message_append(reply, "(ssss)",
                                          lbd_plugin_kind_to_string(p->desc->kind),
                                          p->desc->name, p->desc->description, p->path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Every mutating method, in the same order: read the arguments, validate
 * them (a named error saying what is wrong), return early if nothing would
 * change, ask polkit (returning 1 without a reply while it is pending: the
 * call comes back here), change, signal, reply. */

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        int r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_RELOAD, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        g_autofree char *reason = NULL;
        r = lbd_manager_reload(m, &reason);
        if (r < 0)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_FAILED,
                                         "Reload failed; the previous configuration stays in "
                                         "effect: %s",
                                         reason ? reason : g_strerror(-r));
        /* PropertiesChanged: the manager's configuration_changed hook
         * signalled the new configuration. What was set over D-Bus survives: the reload
         * merges the state file over the files (lbd_manager_load_
         * configuration). */
        return sd_bus_reply_method_return(message, NULL);
}

static int method_set_workers(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        uint32_t count;
        int r = sd_bus_message_read(message, "u", &count);
        if (r < 0)
                return r;
        if (count < 1 || count > LBD_WORKERS_MAX)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Invalid worker count %" PRIu32 ": expected 1..%u",
                                         count, LBD_WORKERS_MAX);
        if (count == lbd_manager_get_workers(m))
                return sd_bus_reply_method_return(message, NULL);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_CONFIGURE_WORKERS,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        /* Saved before it takes effect (the manager): what the reply
         * confirms survives a crash (docs/state.md). */
        g_autofree char *reason = NULL;
        r = lbd_manager_set_workers(m, count, &reason);
        if (r < 0)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_FAILED,
                                         "Cannot change the worker count: %s", reason);
        /* PropertiesChanged(Workers): the workers_changed hook signalled
         * it, as it does for TTIN/TTOU. */
        return sd_bus_reply_method_return(message, NULL);
}

int lbd_bus_commit(struct lbd_manager *m, struct lbd_config *next, enum lbd_manager_change how,
                   const char *what, sd_bus_error *error) {
        g_autofree char *reason = NULL;
        int r = lbd_manager_commit(m, next, how, &reason);
        if (r < 0)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_FAILED,
                                         "Cannot %s; nothing was changed: %s", what, reason);
        /* Signals: the configuration_changed hook. */
        return 0;
}

static int method_set_worker_model(sd_bus_message *message, void *userdata,
                                   sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *model;
        int r = sd_bus_message_read(message, "s", &model);
        if (r < 0)
                return r;
        unsigned threads = m->config->daemon.threads;
        unsigned connections = m->config->daemon.worker_connections;
        struct lbd_bus_key keys[] = {
                { "Threads", "u", &threads, 1, LBD_THREADS_MAX, false },
                { "WorkerConnections", "u", &connections, 1, LBD_WORKER_CONNECTIONS_MAX, false },
        };
        r = lbd_bus_read_options(message, keys, G_N_ELEMENTS(keys), error);
        if (r < 0)
                return r;
        if (!lbd_plugin_set_find(m->plugins, LBD_PLUGIN_KIND_WORKER, model)) {
                g_autofree char *loaded = lbd_plugin_set_names(m->plugins, LBD_PLUGIN_KIND_WORKER);
                const struct lbd_plugin_refusal *refused =
                        lbd_plugin_set_find_refusal(m->plugins, LBD_PLUGIN_KIND_WORKER, model);
                if (refused)
                        /* Built and installed, but not usable on this
                         * machine (io_uring disabled, say). */
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_SUPPORTED,
                                                 "Worker model %s cannot be used here: %s; "
                                                 "loaded worker plugins: %s", LBD_QUOTE(model),
                                                 refused->reason,
                                                 loaded && *loaded ? loaded : "none");
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Unknown worker model %s; loaded worker plugins: %s",
                                         LBD_QUOTE(model), loaded && *loaded ? loaded : "none");
        }
        if (g_str_equal(model, m->config->daemon.worker_model) &&
            threads == m->config->daemon.threads &&
            connections == m->config->daemon.worker_connections)
                return sd_bus_reply_method_return(message, NULL);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_CONFIGURE_WORKERS,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        struct lbd_config *next = lbd_config_copy(m->config);
        g_free(next->daemon.worker_model);
        next->daemon.worker_model = g_strdup(model);
        next->daemon.threads = threads;
        next->daemon.worker_connections = connections;
        g_autofree char *what = g_strdup_printf("change the worker model to %s", model);
        r = lbd_bus_commit(m, next, LBD_MANAGER_CHANGE_GENERATION, what, error);
        if (r < 0)
                return r;
        log_info("worker model %s, threads %u, worker-connections %u (over D-Bus)", model,
                 threads, connections);
        return sd_bus_reply_method_return(message, NULL);
}

static const sd_bus_vtable root_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("WorkerModel", "s", property_worker_model, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Workers", "u", property_workers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Threads", "u", property_daemon_uint, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WorkerConnections", "u", property_daemon_uint, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Services", "ao", property_services, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Links", "ao", property_links, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FailoverStates", "a{ss}", lbd_bus_property_failover_states, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListPlugins", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssss)", plugins), method_list_plugins,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddService", SD_BUS_ARGS("s", name, "a{sv}", settings),
                                SD_BUS_RESULT("o", service), lbd_bus_method_add_service,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveService", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                lbd_bus_method_remove_service, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddBackend",
                                SD_BUS_ARGS("s", service, "s", address, "a{sv}", options),
                                SD_BUS_RESULT("o", backend), lbd_bus_method_add_backend,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveBackend", SD_BUS_ARGS("s", service, "s", address),
                                SD_BUS_NO_RESULT, lbd_bus_method_remove_backend,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetPolicy", SD_BUS_ARGS("s", service, "s", policy),
                                SD_BUS_NO_RESULT, lbd_bus_method_set_policy,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetWorkers", SD_BUS_ARGS("u", count), SD_BUS_NO_RESULT,
                                method_set_workers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetWorkerModel", SD_BUS_ARGS("s", model, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_set_worker_model,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetStatistics", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a{sv}", statistics),
                                lbd_bus_method_get_statistics, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReportFailoverState", SD_BUS_ARGS("s", name, "s", state),
                                SD_BUS_NO_RESULT, lbd_bus_method_report_failover_state,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("BackendStateChanged",
                                SD_BUS_ARGS("o", backend, "s", state, "s", reason), 0),
        SD_BUS_VTABLE_END,
};

/* ---- change signals ---------------------------------------------------- */

static void workers_changed(struct lbd_manager *m) {
        if (!m->bus || !m->root_slot)
                return;
        int r = sd_bus_emit_properties_changed(m->bus, LBD_BUS_PATH, LBD_BUS_INTERFACE,
                                               "Workers", NULL);
        if (r < 0)
                log_warning_errno(r, "cannot signal the new worker count: %m");
}

static void configuration_changed(struct lbd_manager *m) {
        if (!m->bus || !m->root_slot)
                return;
        int r = sd_bus_emit_properties_changed(m->bus, LBD_BUS_PATH, LBD_BUS_INTERFACE,
                                               "WorkerModel", "Workers", "Threads",
                                               "WorkerConnections", "Services", NULL);
        if (r < 0)
                log_warning_errno(r, "cannot signal the new configuration: %m");
        /* Services and backends that came, went or changed. */
        lbd_bus_objects_changed(m);
}

static void backend_state_changed(struct lbd_manager *m, const char *service,
                                  const char *address, const char *state, const char *reason) {
        if (!m->bus || !m->root_slot)
                return;
        _cleanup_free_ char *path = NULL;
        int r = lbd_bus_backend_path(service, address, &path);
        if (r >= 0)
                r = sd_bus_emit_signal(m->bus, LBD_BUS_PATH, LBD_BUS_INTERFACE,
                                       "BackendStateChanged", "oss", path, state, reason);
        if (r >= 0)
                r = sd_bus_emit_properties_changed(m->bus, path, LBD_BUS_BACKEND_INTERFACE, "State",
                                                   NULL);
        if (r < 0)
                log_warning_errno(r, "cannot signal the state of backend %s of %s: %m", address,
                                  service);
}

/* What the manager tells the bus (manager.h). */
static const struct lbd_manager_hooks bus_hooks = {
        .workers_changed = workers_changed,
        .configuration_changed = configuration_changed,
        .backend_state_changed = backend_state_changed,
        .links_changed = lbd_bus_links_changed,
};

/* ---- connection -------------------------------------------------------- */

static const sd_bus_error_map lbd_bus_errors[] = {
        SD_BUS_ERROR_MAP(LBD_BUS_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(LBD_BUS_ERROR_NOT_FOUND, ENOENT),
        SD_BUS_ERROR_MAP(LBD_BUS_ERROR_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(LBD_BUS_ERROR_FAILED, EIO),
        SD_BUS_ERROR_MAP_END,
};

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        struct lbd_manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (e) {
                log_error("cannot own the bus name %s: %s", LBD_BUS_NAME, e->message);
                m->exit_code = LBD_EXIT_FAILURE;
                g_main_loop_quit(m->loop);
                return 0;
        }
        log_info("serving %s on the system bus", LBD_BUS_NAME);
        sd_notifyf(0, "READY=1\nSTATUS=Serving %s with %u service(s)", LBD_BUS_NAME,
                   m->config->services->len);
        return 0;
}

static int on_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        struct lbd_manager *m = userdata;
        /* Without the bus lbd cannot be managed: stop, but let the open
         * connections finish (systemd restarts the service). */
        log_error("lost the connection to the system bus; stopping gracefully");
        m->exit_code = LBD_EXIT_FAILURE;
        lbd_manager_stop(m, true);
        return 0;
}

static int bus_connect(struct lbd_manager *m) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;
        if (!m->options.bus_address) {
                r = sd_bus_open_system(&bus);
                if (r < 0)
                        log_error_errno(r, "cannot connect to the system bus: %m");
                else
                        m->bus = bus;
                bus = NULL;
                return r;
        }
        const char *address = m->options.bus_address;
        r = sd_bus_new(&bus);
        if (r < 0)
                return log_error_errno(r, "cannot create a bus connection: %m");
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return log_error_errno(r, "invalid bus address %s: %m", address);
        /* A bus client that trusts nobody: every caller goes to polkit. */
        r = sd_bus_set_bus_client(bus, 1);
        if (r < 0)
                return log_error_errno(r, "cannot make the connection to %s a bus client: %m",
                                       address);
        r = sd_bus_set_trusted(bus, 0);
        if (r < 0)
                return log_error_errno(r, "cannot mark the bus at %s untrusted: %m", address);
        r = sd_bus_negotiate_creds(bus, 1, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID |
                                                   SD_BUS_CREDS_EFFECTIVE_CAPS);
        if (r < 0)
                return log_error_errno(r, "cannot ask the bus at %s for callers' credentials: %m",
                                       address);
        r = sd_bus_start(bus);
        if (r < 0)
                return log_error_errno(r, "cannot connect to the bus at %s: %m", address);
        m->bus = bus;
        bus = NULL;
        return 0;
}

int lbd_bus_start(struct lbd_manager *m) {
        /* Lets sd-bus map our error names to errnos and back. */
        int r = sd_bus_error_add_map(lbd_bus_errors);
        if (r < 0)
                return r;
        r = bus_connect(m);
        if (r < 0)
                return r;

        r = sd_bus_add_object_vtable(m->bus, &m->root_slot, LBD_BUS_PATH, LBD_BUS_INTERFACE,
                                     root_vtable, m);
        if (r < 0)
                return log_error_errno(r, "cannot publish %s: %m", LBD_BUS_PATH);
        r = lbd_bus_objects_publish(m);
        if (r < 0)
                return r; /* logged */
        r = lbd_bus_links_publish(m);
        if (r < 0)
                return r; /* logged */
        r = sd_bus_add_object_manager(m->bus, &m->object_manager_slot, LBD_BUS_PATH);
        if (r < 0)
                return log_error_errno(r, "cannot publish the ObjectManager at %s: %m",
                                       LBD_BUS_PATH);
        r = sd_bus_match_signal_async(m->bus, NULL, "org.freedesktop.DBus.Local", NULL,
                                      "org.freedesktop.DBus.Local", "Disconnected",
                                      on_disconnected, NULL, m);
        if (r < 0)
                return log_error_errno(r, "cannot watch for the loss of the bus: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "cannot attach the bus to the event loop: %m");
        r = lbd_polkit_new(m->bus, &m->polkit);
        if (r < 0)
                return log_error_errno(r, "cannot set up polkit checks: %m");
        r = sd_bus_request_name_async(m->bus, NULL, LBD_BUS_NAME, 0, on_name_acquired, m);
        if (r < 0)
                return log_error_errno(r, "cannot request the bus name %s: %m", LBD_BUS_NAME);
        m->hooks = &bus_hooks;
        return 0;
}

void lbd_bus_stop(struct lbd_manager *m) {
        /* Pending authorizations go first: they hold messages, slots and
         * event sources of the bus and its loop. */
        m->hooks = NULL;
        m->polkit = lbd_polkit_free(m->polkit);
        m->object_manager_slot = sd_bus_slot_unref(m->object_manager_slot);
        lbd_bus_links_unpublish(m);
        lbd_bus_objects_unpublish(m);
        m->root_slot = sd_bus_slot_unref(m->root_slot);
        if (m->bus) {
                sd_bus_flush(m->bus);
                m->bus = sd_bus_flush_close_unref(m->bus);
        }
}
