/* SPDX-License-Identifier: MIT */
/*
 * AddBackend and RemoveBackend on the root object, and the methods of each
 * backend object (SetWeight, Drain, Enable, Disable). The limits are the
 * configuration's (config.h), so D-Bus accepts what backends= accepts.
 */
#include <errno.h>
#include <inttypes.h>

#include "bus-private.h"
#include "log.h"
#include "polkit.h"
#include "cleanup.h"
#include "quote.h"

/* What backends= gives a backend without options (config.c's defaults). */
static const struct lbd_backend_config backend_defaults = {
        .weight = 1,
        .max_fails = 1,
        .fail_timeout = 10,
        .max_conns = 0,
        .slow_start = 0,
};

static int find_service(struct lbd_manager *m, const char *name,
                        const struct lbd_service_config **ret, sd_bus_error *error) {
        int r = lbd_bus_check_service_name(name, error);
        if (r < 0)
                return r;
        *ret = lbd_config_find_service(m->config, name);
        if (!*ret)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND, "No service %s",
                                         LBD_QUOTE(name));
        return 0;
}

/* The copy of backend `address` of `service` in next. */
static struct lbd_backend_config *next_backend(struct lbd_config *next, const char *service,
                                               const char *address) {
        const struct lbd_service_config *s = lbd_config_find_service(next, service);
        return s ? lbd_bus_find_backend(s, address) : NULL;
}

int lbd_bus_method_add_backend(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *service, *address;
        int r = sd_bus_message_read(message, "ss", &service, &address);
        if (r < 0)
                return r;
        struct lbd_backend_config b = backend_defaults;
        g_autofree char *origin = NULL;
        struct lbd_bus_key keys[] = {
                { "Weight", "u", &b.weight, 1, LBD_BACKEND_WEIGHT_MAX, false },
                { "MaxFails", "u", &b.max_fails, 0, LBD_BACKEND_MAX_FAILS_MAX, false },
                { "FailTimeout", "u", &b.fail_timeout, 1, LBD_BACKEND_FAIL_TIMEOUT_MAX, false },
                { "Backup", "b", &b.backup, 0, 0, false },
                { "MaxConns", "u", &b.max_conns, 0, LBD_BACKEND_MAX_CONNS_MAX, false },
                { "SlowStart", "u", &b.slow_start, 0, LBD_BACKEND_SLOW_START_MAX, false },
                { "Origin", "s", &origin, 0, 0, false },
        };
        r = lbd_bus_read_options(message, keys, G_N_ELEMENTS(keys), error);
        if (r < 0)
                return r;
        if (origin) {
                if (!lbd_backend_origin_valid(origin))
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Invalid Origin %s: expected 1 to %d of A-Z "
                                                 "a-z 0-9 . _ : / @ -",
                                                 LBD_QUOTE(origin), LBD_BACKEND_ORIGIN_MAX);
                g_strlcpy(b.origin, origin, sizeof b.origin);
        }
        const struct lbd_service_config *s;
        r = find_service(m, service, &s, error);
        if (r < 0)
                return r;
        _cleanup_free_ char *why = NULL;
        if (lbd_address_parse(address, &b.address, &why) < 0)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Invalid backend address %s: %s", LBD_QUOTE(address),
                                         why ? why : "out of memory");
        const struct lbd_backend_config *old = lbd_bus_find_backend(s, address);
        if (old)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_EXISTS,
                                         "Service %s has a backend %s already", service,
                                         old->address.text);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_SERVICES,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        struct lbd_config *next = lbd_config_copy(m->config);
        struct lbd_service_config *ns =
                (struct lbd_service_config *)lbd_config_find_service(next, service);
        g_array_append_val(ns->backends, b);
        g_autofree char *what = g_strdup_printf("add backend %s to service %s",
                                                b.address.text, service);
        _cleanup_free_ char *path = NULL;
        r = lbd_bus_backend_path(service, b.address.text, &path);
        if (r < 0) {
                lbd_config_free(next);
                return r;
        }
        r = lbd_bus_commit(m, next, LBD_MANAGER_CHANGE_UPDATE, what, error);
        if (r < 0)
                return r;
        log_info("service %s: backend %s added (over D-Bus)", service, b.address.text);
        return sd_bus_reply_method_return(message, "o", path);
}

int lbd_bus_method_remove_backend(sd_bus_message *message, void *userdata,
                                  sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *service, *address;
        int r = sd_bus_message_read(message, "ss", &service, &address);
        if (r < 0)
                return r;
        const struct lbd_service_config *s;
        r = find_service(m, service, &s, error);
        if (r < 0)
                return r;
        const struct lbd_backend_config *b = lbd_bus_find_backend(s, address);
        if (!b)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND,
                                         "Service %s has no backend %s", service,
                                         LBD_QUOTE(address));

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_SERVICES,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        g_autofree char *text = g_strdup(b->address.text);
        struct lbd_config *next = lbd_config_copy(m->config);
        struct lbd_service_config *ns =
                (struct lbd_service_config *)lbd_config_find_service(next, service);
        for (guint i = 0; i < ns->backends->len; i++)
                if (g_str_equal(g_array_index(ns->backends, struct lbd_backend_config, i)
                                        .address.text,
                                text)) {
                        g_array_remove_index(ns->backends, i);
                        break;
                }
        g_autofree char *what = g_strdup_printf("remove backend %s of service %s", text,
                                                service);
        r = lbd_bus_commit(m, next, LBD_MANAGER_CHANGE_UPDATE, what, error);
        if (r < 0)
                return r;
        log_info("service %s: backend %s removed, draining (over D-Bus)", service, text);
        return sd_bus_reply_method_return(message, NULL);
}

/* ---- the backend objects' methods ------------------------------------- */

enum backend_change { SET_WEIGHT, DRAIN, ENABLE, DISABLE };

static bool backend_differs(const struct lbd_backend_config *b, enum backend_change change,
                            unsigned weight) {
        switch (change) {
        case SET_WEIGHT:
                return b->weight != weight;
        case DRAIN:
                return !b->drain || b->down;
        case ENABLE:
                return b->drain || b->down;
        case DISABLE:
                return !b->down || b->drain;
        }
        return true;
}

/* Drain, Disable and Enable set the administrative state outright: one of
 * up, draining, disabled. */
static void backend_change_apply(struct lbd_backend_config *b, enum backend_change change,
                                 unsigned weight) {
        switch (change) {
        case SET_WEIGHT:
                b->weight = weight;
                break;
        case DRAIN:
                b->drain = true;
                b->down = false;
                break;
        case ENABLE:
                b->drain = b->down = false;
                break;
        case DISABLE:
                b->down = true;
                b->drain = false;
                break;
        }
}

static const char *const change_words[] = {
        [SET_WEIGHT] = "set the weight of",
        [DRAIN] = "drain",
        [ENABLE] = "enable",
        [DISABLE] = "disable",
};

static int backend_method(sd_bus_message *message, struct lbd_manager *m,
                          enum backend_change change, sd_bus_error *error) {
        unsigned weight = 0;
        int r;
        if (change == SET_WEIGHT) {
                uint32_t w;
                r = sd_bus_message_read(message, "u", &w);
                if (r < 0)
                        return r;
                if (w < 1 || w > LBD_BACKEND_WEIGHT_MAX)
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Invalid weight %" PRIu32 ": expected 1..%u",
                                                 w, LBD_BACKEND_WEIGHT_MAX);
                weight = w;
        }
        const struct lbd_service_config *s;
        const struct lbd_backend_config *b;
        if (lbd_bus_lookup(m, sd_bus_message_get_path(message), &s, &b) != 2)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND,
                                         "The backend %s is gone",
                                         sd_bus_message_get_path(message));
        if (!backend_differs(b, change, weight))
                return sd_bus_reply_method_return(message, NULL);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_SERVICES,
                                   error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        g_autofree char *service = g_strdup(s->name), *address = g_strdup(b->address.text);
        struct lbd_config *next = lbd_config_copy(m->config);
        backend_change_apply(next_backend(next, service, address), change, weight);
        g_autofree char *what = g_strdup_printf("%s backend %s of service %s",
                                                change_words[change], address, service);
        r = lbd_bus_commit(m, next, LBD_MANAGER_CHANGE_UPDATE, what, error);
        if (r < 0)
                return r;
        log_info("service %s: backend %s: %s (over D-Bus)", service, address,
                 change == SET_WEIGHT ? "new weight" : change_words[change]);
        return sd_bus_reply_method_return(message, NULL);
}

int lbd_bus_backend_method_set_weight(sd_bus_message *message, void *userdata,
                                      sd_bus_error *error) {
        return backend_method(message, userdata, SET_WEIGHT, error);
}

int lbd_bus_backend_method_drain(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return backend_method(message, userdata, DRAIN, error);
}

int lbd_bus_backend_method_enable(sd_bus_message *message, void *userdata,
                                  sd_bus_error *error) {
        return backend_method(message, userdata, ENABLE, error);
}

int lbd_bus_backend_method_disable(sd_bus_message *message, void *userdata,
                                   sd_bus_error *error) {
        return backend_method(message, userdata, DISABLE, error);
}
