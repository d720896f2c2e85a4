/* SPDX-License-Identifier: MIT */
#include "bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "arbiter.h"
#include "lbd-build-config.h"
#include "log.h"
#include "state.h"
#include "polkit.h"
#include "util.h"

#define SERVICE_PREFIX LBD_BUS_PATH "/service"
#define SERVICE_INTERFACE LBD_BUS_INTERFACE ".Service"
#define BACKEND_INTERFACE LBD_BUS_INTERFACE ".Backend"


/* ---- object paths ------------------------------------------------------ */

/* Backend IDs are positions in the service's backend list for now; they
 * become stable numbers when backends can be added and removed at run time
 * (the control-plane issue). */

static int service_path(const struct lbd_service_config *s, char **ret) {
        return sd_bus_path_encode(SERVICE_PREFIX, s->name, ret);
}

static int backend_path(const struct lbd_service_config *s, size_t i, char **ret) {
        _cleanup_free_ char *sp = NULL;
        int r = service_path(s, &sp);
        if (r < 0)
                return r;
        if (asprintf(ret, "%s/backend/%zu", sp, i) < 0)
                return -ENOMEM;
        return 0;
}

/* Split PATH under SERVICE_PREFIX into the service and, for a backend path,
 * the backend index. Returns 0 if the path names neither. */
static int parse_path(struct lbd_manager *m, const char *path,
                      const struct lbd_service_config **ret_service, long *ret_backend) {
        size_t n = strlen(SERVICE_PREFIX);
        if (strncmp(path, SERVICE_PREFIX "/", n + 1) != 0)
                return 0;
        const char *elem = path + n + 1;
        const char *slash = strchr(elem, '/');
        g_autofree char *encoded = slash ? g_strndup(elem, slash - elem) : g_strdup(elem);
        g_autofree char *service_only = g_strconcat(SERVICE_PREFIX "/", encoded, NULL);
        _cleanup_free_ char *name = NULL;
        if (sd_bus_path_decode(service_only, SERVICE_PREFIX, &name) <= 0)
                return 0;
        const struct lbd_service_config *s = lbd_config_find_service(m->config, name);
        if (!s)
                return 0;

        long backend = -1;
        if (slash) {
                const char *rest = slash + 1;
                if (strncmp(rest, "backend/", 8) != 0)
                        return 0;
                char *end;
                errno = 0;
                unsigned long v = strtoul(rest + 8, &end, 10);
                if (errno || end == rest + 8 || *end || v >= s->backends->len)
                        return 0;
                backend = (long)v;
        }
        *ret_service = s;
        *ret_backend = backend;
        return 1;
}

static int service_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                        void **found, sd_bus_error *error) {
        const struct lbd_service_config *s;
        long b;
        if (parse_path(userdata, path, &s, &b) <= 0 || b >= 0)
                return 0;
        *found = (void *)s;
        return 1;
}

static int backend_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                        void **found, sd_bus_error *error) {
        const struct lbd_service_config *s;
        long b;
        if (parse_path(userdata, path, &s, &b) <= 0 || b < 0)
                return 0;
        *found = &g_array_index(s->backends, struct lbd_backend_config, b);
        return 1;
}

static int enumerate_objects(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                             sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(free);
        for (guint i = 0; i < m->config->services->len; i++) {
                const struct lbd_service_config *s = m->config->services->pdata[i];
                char *p;
                int r = service_path(s, &p);
                if (r < 0)
                        return r;
                g_ptr_array_add(paths, p);
                for (guint b = 0; b < s->backends->len; b++) {
                        r = backend_path(s, b, &p);
                        if (r < 0)
                                return r;
                        g_ptr_array_add(paths, p);
                }
        }
        /* sd-bus frees the strv with free(): hand over malloc()ed strings. */
        char **strv = calloc(paths->len + 1, sizeof(char *));
        if (!strv)
                return -ENOMEM;
        for (guint i = 0; i < paths->len; i++)
                strv[i] = paths->pdata[i];
        g_ptr_array_set_free_func(paths, NULL);
        *nodes = strv;
        return 0;
}

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

static int property_workers(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        return sd_bus_message_append(reply, "u", lbd_arbiter_get_workers(m));
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
                r = service_path(m->config->services->pdata[i], &p);
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
        /* No network plugin can make links yet: the list is truly empty. */
        return sd_bus_message_append(reply, "ao", 0);
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

/* Persist `next` (what a method is about to make effective) under the
 * state directory, atomically. On failure the method changes nothing and
 * replies Failed. */
static int save_state(struct lbd_manager *m, const struct lbd_config *next,
                      sd_bus_error *error) {
        g_autoptr(GError) e = NULL;
        if (lbd_state_save(m->options.state_dir, next, &e) < 0)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_FAILED,
                                         "Cannot save the change, so it was not made: %s",
                                         e->message);
        return 0;
}

/* The change was saved but could not be applied: save what is in effect
 * again, so that a restart does not bring back what the caller was told
 * failed. */
static void restore_state(struct lbd_manager *m) {
        g_autoptr(GError) e = NULL;
        if (lbd_state_save(m->options.state_dir, m->config, &e) < 0)
                log_error("cannot restore the state file after a failed change: %s",
                          e->message);
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
        r = lbd_arbiter_reload(m, &reason);
        if (r < 0)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_FAILED,
                                         "Reload failed; the previous configuration stays in "
                                         "effect: %s",
                                         reason ? reason : g_strerror(-r));
        /* PropertiesChanged: lbd_arbiter_apply() signalled the new
         * configuration. What was set over D-Bus survives: the reload
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
        if (count == lbd_arbiter_get_workers(m))
                return sd_bus_reply_method_return(message, NULL);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_CONFIGURE_WORKERS,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        /* Saved before it takes effect: what the reply confirms survives a
         * crash (docs/state.md). */
        g_autoptr(lbd_config) next = lbd_config_copy(m->config);
        next->daemon.workers = count;
        r = save_state(m, next, error);
        if (r < 0)
                return r;
        r = lbd_arbiter_set_workers(m, count);
        if (r < 0) {
                restore_state(m);
                return sd_bus_error_setf(error, LBD_BUS_ERROR_FAILED,
                                         "Cannot change the worker count: %s",
                                         r == -ESHUTDOWN ? "lbd is stopping" : g_strerror(-r));
        }
        /* A reload without changes keeps this count. */
        m->config->daemon.workers = count;
        /* PropertiesChanged(Workers): lbd_arbiter_set_workers() signalled
         * it, as it does for TTIN/TTOU. */
        return sd_bus_reply_method_return(message, NULL);
}

static int method_set_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *service, *policy;
        int r = sd_bus_message_read(message, "ss", &service, &policy);
        if (r < 0)
                return r;
        if (!lbd_service_name_is_valid(service))
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Invalid service name '%.80s': expected 1 to 64 of "
                                         "A-Z a-z 0-9 _ -",
                                         service);
        const struct lbd_service_config *s = lbd_config_find_service(m->config, service);
        if (!s)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND, "No service '%s'",
                                         service);
        const struct lbd_plugin *p = lbd_plugin_set_find(m->plugins, LBD_PLUGIN_KIND_POLICY,
                                                         policy);
        if (!p) {
                g_autofree char *loaded = lbd_plugin_set_names(m->plugins,
                                                               LBD_PLUGIN_KIND_POLICY);
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Unknown policy '%.80s'; loaded policy plugins: %s",
                                         policy, loaded && *loaded ? loaded : "none");
        }
        if (g_str_equal(s->policy, policy))
                return sd_bus_reply_method_return(message, NULL);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_SERVICES,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        /* A new generation of workers with a copy of the configuration that
         * differs in this one policy; the plugins stay. The old workers
         * finish their connections. */
        g_autoptr(lbd_config) config = lbd_config_copy(m->config);
        for (guint i = 0; i < config->services->len; i++) {
                struct lbd_service_config *c = config->services->pdata[i];
                if (g_str_equal(c->name, service)) {
                        g_free(c->policy);
                        c->policy = g_strdup(policy);
                }
        }
        g_autofree char *old_policy = g_strdup(s->policy);
        r = save_state(m, config, error);
        if (r < 0)
                return r;
        /* A new generation starts with the configuration's worker count:
         * keep the one running (TTIN/TTOU), which is not saved. */
        config->daemon.workers = lbd_arbiter_get_workers(m);
        r = lbd_arbiter_apply(m, g_steal_pointer(&config), m->plugins);
        if (r < 0) {
                restore_state(m);
                return sd_bus_error_setf(error, LBD_BUS_ERROR_FAILED,
                                         "Cannot apply policy %s to service %s: %s", policy,
                                         service,
                                         r == -ESHUTDOWN ? "lbd is stopping" : g_strerror(-r));
        }
        log_info("service %s: policy %s -> %s (over D-Bus)", service, old_policy, policy);
        _cleanup_free_ char *path = NULL;
        r = sd_bus_path_encode(SERVICE_PREFIX, service, &path);
        if (r >= 0)
                r = sd_bus_emit_properties_changed(m->bus, path, SERVICE_INTERFACE, "Policy",
                                                   NULL);
        if (r < 0)
                log_warning("cannot signal the new policy of service %s: %s", service,
                            g_strerror(-r));
        return sd_bus_reply_method_return(message, NULL);
}

static const sd_bus_vtable root_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("WorkerModel", "s", property_worker_model, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Workers", "u", property_workers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Services", "ao", property_services, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Links", "ao", property_links, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListPlugins", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssss)", plugins), method_list_plugins,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetPolicy", SD_BUS_ARGS("s", service, "s", policy),
                                SD_BUS_NO_RESULT, method_set_policy,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetWorkers", SD_BUS_ARGS("u", count), SD_BUS_NO_RESULT,
                                method_set_workers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* ---- services ---------------------------------------------------------- */

static int service_property_name(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error) {
        const struct lbd_service_config *s = userdata;
        return sd_bus_message_append(reply, "s", s->name);
}

static int service_property_listen(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        const struct lbd_service_config *s = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (guint i = 0; i < s->listen->len; i++) {
                r = sd_bus_message_append(
                        reply, "s", g_array_index(s->listen, struct lbd_address, i).text);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int service_property_mode(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error) {
        const struct lbd_service_config *s = userdata;
        return sd_bus_message_append(reply, "s", lbd_service_mode_to_string(s->mode));
}

static int service_property_policy(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        const struct lbd_service_config *s = userdata;
        return sd_bus_message_append(reply, "s", s->policy);
}

static int service_property_backends(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply,
                                     void *userdata, sd_bus_error *error) {
        const struct lbd_service_config *s = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (guint i = 0; i < s->backends->len; i++) {
                _cleanup_free_ char *p = NULL;
                r = backend_path(s, i, &p);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "o", p);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static const sd_bus_vtable service_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", service_property_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Listen", "as", service_property_listen, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Mode", "s", service_property_mode, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Policy", "s", service_property_policy, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Backends", "ao", service_property_backends, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

/* ---- backends ---------------------------------------------------------- */

static int backend_property_address(sd_bus *bus, const char *path, const char *interface,
                                    const char *property, sd_bus_message *reply, void *userdata,
                                    sd_bus_error *error) {
        const struct lbd_backend_config *b = userdata;
        return sd_bus_message_append(reply, "s", b->address.text);
}

static int backend_property_state(sd_bus *bus, const char *path, const char *interface,
                                  const char *property, sd_bus_message *reply, void *userdata,
                                  sd_bus_error *error) {
        const struct lbd_backend_config *b = userdata;
        /* Administrative state from the configuration; health checks (the
         * balancing issue) will add "down" and "draining". */
        return sd_bus_message_append(reply, "s", b->down ? "disabled" : "up");
}

static const sd_bus_vtable backend_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", backend_property_address, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Weight", "u", NULL, offsetof(struct lbd_backend_config, weight),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", backend_property_state, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Backup", "b", NULL, offsetof(struct lbd_backend_config, backup),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

/* ---- change signals ---------------------------------------------------- */

void lbd_bus_workers_changed(struct lbd_manager *m) {
        if (!m->bus || !m->root_slot)
                return;
        int r = sd_bus_emit_properties_changed(m->bus, LBD_BUS_PATH, LBD_BUS_INTERFACE,
                                               "Workers", NULL);
        if (r < 0)
                log_warning("cannot signal the new worker count: %s", g_strerror(-r));
}

void lbd_bus_configuration_changed(struct lbd_manager *m) {
        if (!m->bus || !m->root_slot)
                return;
        /* TODO(control plane): InterfacesAdded/Removed for the service and
         * backend objects a new configuration adds or removes. */
        int r = sd_bus_emit_properties_changed(m->bus, LBD_BUS_PATH, LBD_BUS_INTERFACE,
                                               "WorkerModel", "Workers", "Services", NULL);
        if (r < 0)
                log_warning("cannot signal the new configuration: %s", g_strerror(-r));
}

int lbd_bus_backend_path(const char *service, const char *address, char **ret) {
        _cleanup_free_ char *sp = NULL;
        int r = sd_bus_path_encode(SERVICE_PREFIX, service, &sp);
        if (r < 0)
                return r;
        g_autofree char *prefix = g_strconcat(sp, "/backend", NULL);
        return sd_bus_path_encode(prefix, address, ret);
}

void lbd_bus_backend_state_changed(struct lbd_manager *m, const char *service,
                                   const char *address, const char *state, const char *reason) {
        if (!m->bus || !m->root_slot)
                return;
        _cleanup_free_ char *path = NULL;
        int r = lbd_bus_backend_path(service, address, &path);
        if (r >= 0)
                r = sd_bus_emit_signal(m->bus, LBD_BUS_PATH, LBD_BUS_INTERFACE,
                                       "BackendStateChanged", "oss", path, state, reason);
        if (r >= 0)
                r = sd_bus_emit_properties_changed(m->bus, path, BACKEND_INTERFACE, "State",
                                                   NULL);
        if (r < 0)
                log_warning("cannot signal the state of backend %s of %s: %s", address, service,
                            g_strerror(-r));
}

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
        lbd_arbiter_stop(m, true);
        return 0;
}

static int bus_connect(struct lbd_manager *m) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;
        if (!m->options.bus_address) {
                r = sd_bus_open_system(&bus);
                if (r < 0)
                        log_error("cannot connect to the system bus: %s", g_strerror(-r));
                else
                        m->bus = bus;
                bus = NULL;
                return r;
        }
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, m->options.bus_address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, 1);
        if (r >= 0)
                r = sd_bus_set_trusted(bus, 0);
        if (r >= 0)
                r = sd_bus_negotiate_creds(bus, 1, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID |
                                                           SD_BUS_CREDS_EFFECTIVE_CAPS);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                log_error("cannot connect to the bus at %s: %s", m->options.bus_address,
                          g_strerror(-r));
                return r;
        }
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
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(m->bus, &m->service_slot, SERVICE_PREFIX,
                                               SERVICE_INTERFACE, service_vtable, service_find,
                                               m);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(m->bus, &m->backend_slot, SERVICE_PREFIX,
                                               BACKEND_INTERFACE, backend_vtable, backend_find,
                                               m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, &m->enumerator_slot, SERVICE_PREFIX,
                                               enumerate_objects, m);
        if (r >= 0)
                r = sd_bus_add_object_manager(m->bus, &m->object_manager_slot, LBD_BUS_PATH);
        if (r >= 0)
                r = sd_bus_match_signal_async(m->bus, NULL, "org.freedesktop.DBus.Local", NULL,
                                              "org.freedesktop.DBus.Local", "Disconnected",
                                              on_disconnected, NULL, m);
        if (r < 0) {
                log_error("cannot publish the D-Bus objects: %s", g_strerror(-r));
                return r;
        }
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_error("cannot attach the bus to the event loop: %s", g_strerror(-r));
                return r;
        }
        r = lbd_polkit_new(m->bus, &m->polkit);
        if (r < 0) {
                log_error("cannot set up polkit checks: %s", g_strerror(-r));
                return r;
        }
        r = sd_bus_request_name_async(m->bus, NULL, LBD_BUS_NAME, 0, on_name_acquired, m);
        if (r < 0) {
                log_error("cannot request the bus name %s: %s", LBD_BUS_NAME, g_strerror(-r));
                return r;
        }
        return 0;
}

void lbd_bus_stop(struct lbd_manager *m) {
        /* Pending authorizations go first: they hold messages, slots and
         * event sources of the bus and its loop. */
        m->polkit = lbd_polkit_free(m->polkit);
        m->object_manager_slot = sd_bus_slot_unref(m->object_manager_slot);
        m->enumerator_slot = sd_bus_slot_unref(m->enumerator_slot);
        m->backend_slot = sd_bus_slot_unref(m->backend_slot);
        m->service_slot = sd_bus_slot_unref(m->service_slot);
        m->root_slot = sd_bus_slot_unref(m->root_slot);
        if (m->bus) {
                sd_bus_flush(m->bus);
                m->bus = sd_bus_flush_close_unref(m->bus);
        }
}
