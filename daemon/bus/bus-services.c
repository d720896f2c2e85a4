/* SPDX-License-Identifier: MIT */
/*
 * AddService, RemoveService and SetPolicy on the root object.
 *
 * A new service is checked the way the configuration file is checked: the
 * D-Bus keys first (names, types, ranges, addresses, mode, a loaded
 * policy: errors in D-Bus terms), then the configuration in effect plus the
 * new [service NAME] group goes through the configuration loader, so that
 * backends=, health-check= and the checks across services (an address
 * listened on twice) are exactly the file's.
 */
#include <errno.h>
#include <string.h>

#include "bus-private.h"
#include "config-files.h"
#include "log.h"
#include "polkit.h"
#include "cleanup.h"
#include "quote.h"

int lbd_bus_check_service_name(const char *name, sd_bus_error *error) {
        if (lbd_service_name_is_valid(name))
                return 0;
        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                 "Invalid service name %s: expected 1 to 64 of "
                                 "A-Z a-z 0-9 _ -", LBD_QUOTE(name));
}

int lbd_bus_check_policy(struct lbd_manager *m, const char *policy, sd_bus_error *error) {
        if (lbd_plugin_set_find(m->plugins, LBD_PLUGIN_KIND_POLICY, policy))
                return 0;
        g_autofree char *loaded = lbd_plugin_set_names(m->plugins, LBD_PLUGIN_KIND_POLICY);
        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                 "Unknown policy %s; loaded policy plugins: %s", LBD_QUOTE(policy),
                                 loaded && *loaded ? loaded : "none");
}

/* A free-form value that goes into the key file as it is: no list
 * separator, comment or control character may change its meaning. */
static int check_text(const char *key, const char *value, sd_bus_error *error) {
        for (const char *p = value; *p; p++)
                if (*p == ';' || *p == '#' || (unsigned char)*p < 0x20 || *p == 0x7f)
                        return sd_bus_error_setf(
                                error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                "%s %s contains %s: one value per entry, no comments "
                                "or control characters",
                                key, LBD_QUOTE(value),
                                *p == ';'   ? "';'"
                                : *p == '#' ? "'#'"
                                            : "a control character");
        return 0;
}

struct service_settings {
        char **listen;
        char *mode;
        char *policy;
        unsigned connect_timeout;
        unsigned read_timeout;
        char **backends;
        char *health_check;
};

static void service_settings_done(struct service_settings *s) {
        g_strfreev(s->listen);
        g_free(s->mode);
        g_free(s->policy);
        g_strfreev(s->backends);
        g_free(s->health_check);
}

/* m->config plus the service, through the configuration loader. */
static struct lbd_config *load_with_service(struct lbd_manager *m, const char *name,
                                            const struct service_settings *set,
                                            sd_bus_error *error) {
        g_autoptr(GKeyFile) kf = lbd_config_to_keyfile(m->config, NULL);
        g_autofree char *group = g_strconcat("service ", name, NULL);
        g_autofree char *listen = g_strjoinv(";", set->listen);
        g_key_file_set_string(kf, group, "listen", listen);
        if (set->mode)
                g_key_file_set_string(kf, group, "mode", set->mode);
        if (set->policy)
                g_key_file_set_string(kf, group, "policy", set->policy);
        if (set->connect_timeout > 0) /* 0: not given (the minimum is 1) */
                g_key_file_set_integer(kf, group, "proxy-connect-timeout", (int)set->connect_timeout);
        if (set->read_timeout > 0)
                g_key_file_set_integer(kf, group, "proxy-read-timeout", (int)set->read_timeout);
        if (set->backends && set->backends[0]) {
                g_autofree char *backends = g_strjoinv(";", set->backends);
                g_key_file_set_string(kf, group, "backends", backends);
        }
        if (set->health_check)
                g_key_file_set_string(kf, group, "health-check", set->health_check);
        gsize len;
        g_autofree char *data = g_key_file_to_data(kf, &len, NULL);
        g_autofree char *why = NULL;
        struct lbd_config *config = lbd_config_load_from_data(data, "AddService", &why);
        if (!config)
                sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT, "%s", why);
        return config;
}

int lbd_bus_method_add_service(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *name;
        int r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        _cleanup_(service_settings_done) struct service_settings set = { 0 };
        struct lbd_bus_key keys[] = {
                { "Listen", "as", &set.listen, 0, 0, false },
                { "Mode", "s", &set.mode, 0, 0, false },
                { "Policy", "s", &set.policy, 0, 0, false },
                { "ProxyConnectTimeout", "u", &set.connect_timeout, 1,
                  LBD_PROXY_CONNECT_TIMEOUT_MAX, false },
                { "ProxyReadTimeout", "u", &set.read_timeout, 1, LBD_PROXY_READ_TIMEOUT_MAX,
                  false },
                { "Backends", "as", &set.backends, 0, 0, false },
                { "HealthCheck", "s", &set.health_check, 0, 0, false },
        };
        r = lbd_bus_read_options(message, keys, G_N_ELEMENTS(keys), error);
        if (r < 0)
                return r;
        r = lbd_bus_check_service_name(name, error);
        if (r < 0)
                return r;
        if (lbd_config_find_service(m->config, name))
                return sd_bus_error_setf(error, LBD_BUS_ERROR_EXISTS,
                                         "A service named %s exists already", LBD_QUOTE(name));
        if (!set.listen || !set.listen[0])
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Listen is required: one or more addresses "
                                         "(HOST:PORT, [V6]:PORT or unix:/path)");
        for (char **l = set.listen; *l; l++) {
                struct lbd_address a;
                _cleanup_free_ char *why = NULL;
                if (lbd_address_parse(*l, &a, &why) < 0)
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Invalid Listen address %s: %s", LBD_QUOTE(*l),
                                                 why ? why : "out of memory");
        }
        if (set.mode && lbd_service_mode_from_string(set.mode) < 0)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Invalid Mode %s: expected http or tcp",
                                         LBD_QUOTE(set.mode));
        if (set.policy) {
                r = lbd_bus_check_policy(m, set.policy, error);
                if (r < 0)
                        return r;
        }
        for (char **b = set.backends; b && *b; b++) {
                r = check_text("Backends entry", *b, error);
                if (r < 0)
                        return r;
        }
        if (set.health_check) {
                r = check_text("HealthCheck", set.health_check, error);
                if (r < 0)
                        return r;
        }
        g_autoptr(lbd_config) parsed = load_with_service(m, name, &set, error);
        if (!parsed)
                return -EINVAL;

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_SERVICES,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        /* The new service as the loader made it, moved into a copy of the
         * configuration in effect (which keeps its sources and base, for
         * the state file). */
        struct lbd_config *next = lbd_config_copy(m->config);
        for (guint i = 0; i < parsed->services->len; i++) {
                struct lbd_service_config *s = parsed->services->pdata[i];
                if (g_str_equal(s->name, name)) {
                        g_ptr_array_add(next->services,
                                        g_ptr_array_steal_index(parsed->services, i));
                        break;
                }
        }
        g_autofree char *what = g_strdup_printf("add service %s", name);
        r = lbd_bus_commit(m, next, LBD_MANAGER_CHANGE_GENERATION, what, error);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        r = lbd_bus_service_path(name, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", path);
}

int lbd_bus_method_remove_service(sd_bus_message *message, void *userdata,
                                  sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *name;
        int r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = lbd_bus_check_service_name(name, error);
        if (r < 0)
                return r;
        if (!lbd_config_find_service(m->config, name))
                return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND, "No service %s",
                                         LBD_QUOTE(name));

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_SERVICES,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        /* A new generation without the service: its listeners close with
         * the old generation, whose workers finish their connections. */
        struct lbd_config *next = lbd_config_copy(m->config);
        for (guint i = 0; i < next->services->len; i++)
                if (g_str_equal(((struct lbd_service_config *)next->services->pdata[i])->name,
                                name)) {
                        g_ptr_array_remove_index(next->services, i);
                        break;
                }
        g_autofree char *what = g_strdup_printf("remove service %s", name);
        r = lbd_bus_commit(m, next, LBD_MANAGER_CHANGE_GENERATION, what, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

int lbd_bus_method_set_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *service, *policy;
        int r = sd_bus_message_read(message, "ss", &service, &policy);
        if (r < 0)
                return r;
        r = lbd_bus_check_service_name(service, error);
        if (r < 0)
                return r;
        const struct lbd_service_config *s = lbd_config_find_service(m->config, service);
        if (!s)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND, "No service %s",
                                         LBD_QUOTE(service));
        r = lbd_bus_check_policy(m, policy, error);
        if (r < 0)
                return r;
        if (g_str_equal(s->policy, policy))
                return sd_bus_reply_method_return(message, NULL);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_SERVICES,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        struct lbd_config *next = lbd_config_copy(m->config);
        struct lbd_service_config *c = (struct lbd_service_config *)lbd_config_find_service(
                next, service);
        g_autofree char *old_policy = g_strdup(c->policy);
        g_free(c->policy);
        c->policy = g_strdup(policy);
        g_autofree char *what = g_strdup_printf("apply policy %s to service %s", policy,
                                                service);
        r = lbd_bus_commit(m, next, LBD_MANAGER_CHANGE_UPDATE, what, error);
        if (r < 0)
                return r;
        log_info("service %s: policy %s -> %s (over D-Bus)", service, old_policy, policy);
        return sd_bus_reply_method_return(message, NULL);
}
