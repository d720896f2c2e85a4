/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "lbclient.h"
#include "objects.h"
#include "output.h"

int bus_connect(struct lbc *c) {
        if (c->bus)
                return EXIT_OK;
        int r = sd_bus_open_system(&c->bus);
        if (r < 0) {
                const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
                return fail(EXIT_NOT_RUNNING, "cannot connect to the system bus%s%s: %s.",
                            address ? " at " : "", address ? address : "", strerror(-r));
        }
        /* polkit may ask the user (through the agent) only when we allow it. */
        sd_bus_set_allow_interactive_authorization(c->bus, c->ask_password);
        return EXIT_OK;
}

int bus_report(const char *method, const sd_bus_error *e, int r) {
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return fail(EXIT_NOT_RUNNING,
                            "lbd is not running (nothing owns %s on the system bus).", LBD_BUS_NAME);
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD))
                return fail(EXIT_FAILED,
                            "the daemon does not support %s; it is older than this lbclient.",
                            method);
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_ACCESS_DENIED,
                                   SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                return fail(EXIT_DENIED, "%s: access denied: %s", method, e->message);
        if (sd_bus_error_has_names(e, LBD_BUS_ERROR_NOT_FOUND, SD_BUS_ERROR_UNKNOWN_OBJECT))
                return fail(EXIT_NOT_FOUND, "%s: %s", method, e->message);
        if (sd_bus_error_has_name(e, LBD_BUS_ERROR_INVALID_ARGUMENT))
                return fail(EXIT_USAGE, "%s: %s", method, e->message);
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT))
                return fail(EXIT_FAILED, "%s: lbd did not answer in time.", method);
        if (sd_bus_error_is_set(e))
                return fail(EXIT_FAILED, "%s failed: %s", method, e->message);
        return fail(EXIT_FAILED, "%s failed: %s.", method, strerror(-r));
}

int bus_new_call(struct lbc *c, const char *path, const char *iface, const char *method,
                 sd_bus_message **ret) {
        int r = bus_connect(c);
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_new_method_call(c->bus, ret, LBD_BUS_NAME, path, iface, method);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot build a %s call: %s.", method, strerror(-r));
        return EXIT_OK;
}

int bus_call_message(struct lbc *c, sd_bus_message *m, const char *method, bool mutating,
                     sd_bus_message **reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        uint64_t timeout = 0; /* sd-bus's default, 25 s */
        if (mutating && c->ask_password) {
                polkit_agent_open(c);
                timeout = 300ULL * 1000000ULL; /* a person may be typing a password */
        }
        int r = sd_bus_call(c->bus, m, timeout, &e, reply);
        if (r < 0)
                return bus_report(method, &e, r);
        return EXIT_OK;
}

int bus_call(struct lbc *c, const char *path, const char *iface, const char *method,
             bool mutating, sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = bus_new_call(c, path, iface, method, &m);
        if (r != EXIT_OK)
                return r;
        if (types) {
                va_list ap;
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return fail(EXIT_FAILED, "cannot build a %s call: %s.", method,
                                    strerror(-r));
        }
        return bus_call_message(c, m, method, mutating, reply);
}

static char *encode(const char *prefix, const char *element) {
        char *p = NULL;
        if (sd_bus_path_encode(prefix, element, &p) < 0)
                oom();
        return p;
}

char *service_path(const char *name) {
        return encode(LBD_BUS_SERVICE_PREFIX, name);
}

char *backend_path(const char *service, const char *address) {
        _cleanup_free_ char *s = service_path(service);
        _cleanup_free_ char *prefix = xasprintf("%s/backend", s);
        return encode(prefix, address);
}

char *link_path(const char *ifname) {
        return encode(LBD_BUS_LINK_PREFIX, ifname);
}

/* --- objects ---------------------------------------------------------------- */

int objects_load_for_table(struct lbc *c, struct table *t, bool show, struct objects *o) {
        const char *fields = c->fields;
        if (show && !fields)
                c->fields = "all";
        int r = table_select(c, t);
        c->fields = fields;
        if (r != EXIT_OK)
                return r;
        return objects_load(c, o);
}

int objects_load(struct lbc *c, struct objects *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = bus_call(c, LBD_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll", false, &reply,
                         "s", LBD_BUS_INTERFACE);
        if (r != EXIT_OK)
                return r;
        if (value_read(reply, &o->root) < 0)
                return fail(EXIT_FAILED, "cannot read lbd's properties: unexpected reply.");
        reply = sd_bus_message_unref(reply);
        r = bus_call(c, LBD_BUS_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                     false, &reply, NULL);
        if (r != EXIT_OK)
                return r;
        if (value_read(reply, &o->managed) < 0)
                return fail(EXIT_FAILED, "cannot read lbd's objects: unexpected reply.");
        return EXIT_OK;
}

void objects_clear(struct objects *o) {
        value_clear(&o->root);
        value_clear(&o->managed);
}

const struct value *objects_props(const struct objects *o, const char *path, const char *iface) {
        return value_get(value_get(&o->managed, path), iface);
}

const struct value *objects_service(const struct objects *o, const char *name, int *exit_code) {
        _cleanup_free_ char *path = service_path(name);
        const struct value *p = objects_props(o, path, LBD_BUS_SERVICE_INTERFACE);
        if (!p)
                *exit_code = fail(EXIT_NOT_FOUND, "there is no service '%s'.", name);
        return p;
}

const struct value *objects_backend(const struct objects *o, const char *service,
                                    const char *address, int *exit_code) {
        if (!objects_service(o, service, exit_code))
                return NULL;
        _cleanup_free_ char *path = backend_path(service, address);
        const struct value *p = objects_props(o, path, LBD_BUS_BACKEND_INTERFACE);
        if (!p)
                *exit_code = fail(EXIT_NOT_FOUND, "service '%s' has no backend '%s'.", service,
                                  address);
        return p;
}
