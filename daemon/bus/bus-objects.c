/* SPDX-License-Identifier: MIT */
/*
 * The service and backend objects:
 *   /org/example/LoadBalancer/service/NAME                (.Service)
 *   /org/example/LoadBalancer/service/NAME/backend/ADDRESS (.Backend)
 * served from m->config as it is at each call (fallback vtables: nothing to
 * register or unregister when the configuration changes), and the
 * announcement of changes: a copy of what each object showed last
 * (`shown`) is compared with the configuration after every change, so that
 * InterfacesAdded/Removed and PropertiesChanged follow whatever changed it
 * (D-Bus, Reload, HUP). Counters are compared on a timer instead, at most
 * twice a second, and signalled only when they moved.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bus-private.h"
#include "log.h"
#include "cleanup.h"
#include "quote.h"

#define COUNTER_INTERVAL_USEC (500 * 1000) /* PropertiesChanged of counters: <= 2/s */
/* Backends sampled per tick. The table finds a backend by name with a scan
 * of its pool, so sampling all of a pool costs its size squared: with
 * thousands of backends the master would spend its time here. Past this
 * many, each tick takes the next slice and a backend's counters are
 * signalled every size/BUDGET ticks instead. */
#define COUNTER_BACKEND_BUDGET 256u

/* The bookkeeping of the objects; the userdata of m->enumerator_slot,
 * freed with it. */
struct bus_objects {
        struct lbd_manager *m;
        GHashTable *shown;    /* path -> char ** (property texts, see snapshot_*) */
        GHashTable *counters; /* path -> struct shown_counters */
        sd_event_source *timer;
        size_t cursor;        /* the next backend to sample, counted over all services */
};

struct shown_counters {
        uint64_t active, requests, failures;
};

/* ---- paths ------------------------------------------------------------- */

int lbd_bus_service_path(const char *service, char **ret) {
        return sd_bus_path_encode(LBD_BUS_SERVICE_PREFIX, service, ret);
}

int lbd_bus_backend_path(const char *service, const char *address, char **ret) {
        _cleanup_free_ char *sp = NULL;
        int r = lbd_bus_service_path(service, &sp);
        if (r < 0)
                return r;
        g_autofree char *prefix = g_strconcat(sp, "/backend", NULL);
        return sd_bus_path_encode(prefix, address, ret);
}

struct lbd_backend_config *lbd_bus_find_backend(const struct lbd_service_config *s,
                                                const char *address) {
        for (guint i = 0; i < s->backends->len; i++) {
                struct lbd_backend_config *b =
                        &g_array_index(s->backends, struct lbd_backend_config, i);
                if (g_str_equal(b->address.text, address))
                        return b;
        }
        /* Another spelling of the same address ("[::1]:80" vs "[0::1]:80"). */
        struct lbd_address a;
        g_autofree char *why = NULL;
        if (lbd_address_parse(address, &a, &why) < 0)
                return NULL;
        for (guint i = 0; i < s->backends->len; i++) {
                struct lbd_backend_config *b =
                        &g_array_index(s->backends, struct lbd_backend_config, i);
                if (lbd_address_equal(&b->address, &a))
                        return b;
        }
        return NULL;
}

int lbd_bus_lookup(struct lbd_manager *m, const char *path,
                   const struct lbd_service_config **ret_s,
                   const struct lbd_backend_config **ret_b) {
        _cleanup_free_ char *service = NULL, *address = NULL;
        if (sd_bus_path_decode_many(path, LBD_BUS_SERVICE_PREFIX "/%/backend/%", &service,
                                    &address) > 0) {
                const struct lbd_service_config *s = lbd_config_find_service(m->config, service);
                const struct lbd_backend_config *b = s ? lbd_bus_find_backend(s, address) : NULL;
                /* Only the canonical spelling is an object. */
                if (!b || !g_str_equal(b->address.text, address))
                        return 0;
                *ret_s = s;
                *ret_b = b;
                return 2;
        }
        if (sd_bus_path_decode_many(path, LBD_BUS_SERVICE_PREFIX "/%", &service) > 0) {
                const struct lbd_service_config *s = lbd_config_find_service(m->config, service);
                if (!s)
                        return 0;
                *ret_s = s;
                *ret_b = NULL;
                return 1;
        }
        return 0;
}

static int service_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                        void **found, sd_bus_error *error) {
        const struct lbd_service_config *s;
        const struct lbd_backend_config *b;
        if (lbd_bus_lookup(userdata, path, &s, &b) != 1)
                return 0;
        *found = userdata; /* the handlers look the path up again: see lbd_bus_lookup() */
        return 1;
}

static int backend_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                        void **found, sd_bus_error *error) {
        const struct lbd_service_config *s;
        const struct lbd_backend_config *b;
        if (lbd_bus_lookup(userdata, path, &s, &b) != 2)
                return 0;
        *found = userdata;
        return 1;
}

/* Every service and backend path of config, services first in order, each
 * followed by its backends. */
static GPtrArray *all_paths(const struct lbd_config *config) {
        GPtrArray *paths = g_ptr_array_new_with_free_func(free);
        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *s = config->services->pdata[i];
                char *p;
                if (lbd_bus_service_path(s->name, &p) < 0)
                        continue;
                g_ptr_array_add(paths, p);
                for (guint j = 0; j < s->backends->len; j++) {
                        const struct lbd_backend_config *b =
                                &g_array_index(s->backends, struct lbd_backend_config, j);
                        if (lbd_bus_backend_path(s->name, b->address.text, &p) >= 0)
                                g_ptr_array_add(paths, p);
                }
        }
        return paths;
}

static int enumerate_objects(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                             sd_bus_error *error) {
        struct bus_objects *o = userdata;
        g_autoptr(GPtrArray) paths = all_paths(o->m->config);
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

/* ---- services ---------------------------------------------------------- */

static int append_uint_or_u64(sd_bus_message *reply, char type, uint64_t v) {
        if (type == 'u')
                return sd_bus_message_append(reply, "u", (uint32_t)MIN(v, (uint64_t)UINT32_MAX));
        return sd_bus_message_append(reply, "t", v);
}

static int service_property(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const struct lbd_service_config *s;
        const struct lbd_backend_config *b;
        if (lbd_bus_lookup(m, path, &s, &b) != 1)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND, "No service at %s",
                                         LBD_QUOTE(path));
        if (g_str_equal(property, "Name"))
                return sd_bus_message_append(reply, "s", s->name);
        if (g_str_equal(property, "Mode"))
                return sd_bus_message_append(reply, "s", lbd_service_mode_to_string(s->mode));
        if (g_str_equal(property, "Policy"))
                return sd_bus_message_append(reply, "s", s->policy);
        if (g_str_equal(property, "ProxyConnectTimeout"))
                return sd_bus_message_append(reply, "u", s->proxy_connect_timeout);
        if (g_str_equal(property, "ProxyReadTimeout"))
                return sd_bus_message_append(reply, "u", s->proxy_read_timeout);
        if (g_str_equal(property, "Statistics"))
                return lbd_bus_append_service_statistics(reply, m, s);
        if (g_str_equal(property, "ActiveConnections") || g_str_equal(property, "Requests")) {
                uint64_t active, requests;
                lbd_bus_service_counters(m, s, &active, &requests);
                return property[0] == 'A' ? append_uint_or_u64(reply, 'u', active)
                                          : append_uint_or_u64(reply, 't', requests);
        }
        bool listen = g_str_equal(property, "Listen");
        int r = sd_bus_message_open_container(reply, 'a', listen ? "s" : "o");
        if (r < 0)
                return r;
        GArray *list = listen ? s->listen : s->backends;
        for (guint i = 0; i < list->len; i++) {
                if (listen) {
                        r = sd_bus_message_append(
                                reply, "s", g_array_index(list, struct lbd_address, i).text);
                } else {
                        _cleanup_free_ char *p = NULL;
                        r = lbd_bus_backend_path(
                                s->name, g_array_index(list, struct lbd_backend_config, i).address.text,
                                &p);
                        if (r >= 0)
                                r = sd_bus_message_append(reply, "o", p);
                }
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

#define SERVICE_PROPERTY(name, type, flags) \
        SD_BUS_PROPERTY(name, type, service_property, 0, flags)

static const sd_bus_vtable service_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SERVICE_PROPERTY("Name", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        SERVICE_PROPERTY("Listen", "as", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SERVICE_PROPERTY("Mode", "s", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SERVICE_PROPERTY("Policy", "s", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SERVICE_PROPERTY("ProxyConnectTimeout", "u", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SERVICE_PROPERTY("ProxyReadTimeout", "u", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SERVICE_PROPERTY("Backends", "ao", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SERVICE_PROPERTY("ActiveConnections", "u", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SERVICE_PROPERTY("Requests", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Every counter: too big to send with each change, so invalidated
         * (with the throttled counters) and read when wanted. */
        SERVICE_PROPERTY("Statistics", "a{sv}", SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_VTABLE_END,
};

/* ---- backends ---------------------------------------------------------- */

static int backend_property(sd_bus *bus, const char *path, const char *interface,
                            const char *property, sd_bus_message *reply, void *userdata,
                            sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const struct lbd_service_config *s;
        const struct lbd_backend_config *b;
        if (lbd_bus_lookup(m, path, &s, &b) != 2)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND, "No backend at %s",
                                         LBD_QUOTE(path));
        if (g_str_equal(property, "Address"))
                return sd_bus_message_append(reply, "s", b->address.text);
        if (g_str_equal(property, "Statistics"))
                return lbd_bus_append_backend_statistics(reply, m, s, b);
        if (g_str_equal(property, "Backup"))
                return sd_bus_message_append(reply, "b", (int)b->backup);
        if (g_str_equal(property, "Origin"))
                return sd_bus_message_append(reply, "s", b->origin);
        static const struct {
                const char *name;
                size_t offset;
        } config_uints[] = {
                { "Weight", offsetof(struct lbd_backend_config, weight) },
                { "MaxFails", offsetof(struct lbd_backend_config, max_fails) },
                { "FailTimeout", offsetof(struct lbd_backend_config, fail_timeout) },
                { "MaxConns", offsetof(struct lbd_backend_config, max_conns) },
                { "SlowStart", offsetof(struct lbd_backend_config, slow_start) },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(config_uints); i++)
                if (g_str_equal(property, config_uints[i].name))
                        return sd_bus_message_append(
                                reply, "u",
                                *(const unsigned *)((const char *)b + config_uints[i].offset));
        struct lbd_bus_counters c;
        lbd_bus_backend_counters(m, s, b, &c);
        if (g_str_equal(property, "State"))
                return sd_bus_message_append(reply, "s", c.state);
        if (g_str_equal(property, "ActiveConnections"))
                return sd_bus_message_append(reply, "u", c.active);
        if (g_str_equal(property, "Requests"))
                return sd_bus_message_append(reply, "t", c.requests);
        return sd_bus_message_append(reply, "t", c.failures); /* Failures */
}

#define BACKEND_PROPERTY(name, type, flags) \
        SD_BUS_PROPERTY(name, type, backend_property, 0, flags)

static const sd_bus_vtable backend_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("SetWeight", SD_BUS_ARGS("u", weight), SD_BUS_NO_RESULT,
                                lbd_bus_backend_method_set_weight, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Drain", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                                lbd_bus_backend_method_drain, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Enable", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                                lbd_bus_backend_method_enable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Disable", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                                lbd_bus_backend_method_disable, SD_BUS_VTABLE_UNPRIVILEGED),
        BACKEND_PROPERTY("Address", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        BACKEND_PROPERTY("Origin", "s", SD_BUS_VTABLE_PROPERTY_CONST),
        BACKEND_PROPERTY("Weight", "u", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("State", "s", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("Backup", "b", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("MaxFails", "u", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("FailTimeout", "u", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("MaxConns", "u", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("SlowStart", "u", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("ActiveConnections", "u", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("Requests", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("Failures", "t", SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        BACKEND_PROPERTY("Statistics", "a{sv}", SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_VTABLE_END,
};

/* ---- what was shown ---------------------------------------------------- */

/* The configuration properties of an object as texts, in the order of
 * these names (NULL-terminated), for comparison with what was shown. */
static const char *const service_shown_names[] = {
        "Listen", "Mode", "Policy", "ProxyConnectTimeout", "ProxyReadTimeout", "Backends", NULL,
};
static const char *const backend_shown_names[] = {
        "Weight", "State", "Backup", "MaxFails", "FailTimeout", "MaxConns", "SlowStart", NULL,
};

static char **snapshot_service(const struct lbd_service_config *s) {
        GString *listen = g_string_new(NULL), *backends = g_string_new(NULL);
        for (guint i = 0; i < s->listen->len; i++)
                g_string_append_printf(listen, "%s;",
                                       g_array_index(s->listen, struct lbd_address, i).text);
        for (guint i = 0; i < s->backends->len; i++)
                g_string_append_printf(
                        backends, "%s;",
                        g_array_index(s->backends, struct lbd_backend_config, i).address.text);
        char **v = g_new0(char *, G_N_ELEMENTS(service_shown_names));
        v[0] = g_string_free(listen, FALSE);
        v[1] = g_strdup(lbd_service_mode_to_string(s->mode));
        v[2] = g_strdup(s->policy);
        v[3] = g_strdup_printf("%u", s->proxy_connect_timeout);
        v[4] = g_strdup_printf("%u", s->proxy_read_timeout);
        v[5] = g_string_free(backends, FALSE);
        return v;
}

static char **snapshot_backend(const struct lbd_backend_config *b) {
        char **v = g_new0(char *, G_N_ELEMENTS(backend_shown_names));
        v[0] = g_strdup_printf("%u", b->weight);
        /* The administrative part of State; what health does to it comes
         * through lbd_bus_backend_state_changed(). */
        v[1] = g_strdup(b->down ? "disabled" : b->drain ? "draining" : "up");
        v[2] = g_strdup(b->backup ? "true" : "false");
        v[3] = g_strdup_printf("%u", b->max_fails);
        v[4] = g_strdup_printf("%u", b->fail_timeout);
        v[5] = g_strdup_printf("%u", b->max_conns);
        v[6] = g_strdup_printf("%u", b->slow_start);
        return v;
}

/* path -> snapshot of every object of config. */
static GHashTable *snapshot(const struct lbd_config *config) {
        GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, free,
                                              (GDestroyNotify)g_strfreev);
        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *s = config->services->pdata[i];
                char *p;
                if (lbd_bus_service_path(s->name, &p) < 0)
                        continue;
                g_hash_table_replace(t, p, snapshot_service(s));
                for (guint j = 0; j < s->backends->len; j++) {
                        const struct lbd_backend_config *b =
                                &g_array_index(s->backends, struct lbd_backend_config, j);
                        if (lbd_bus_backend_path(s->name, b->address.text, &p) >= 0)
                                g_hash_table_replace(t, p, snapshot_backend(b));
                }
        }
        return t;
}

static bool is_backend_path(const char *path) {
        return strstr(path + strlen(LBD_BUS_SERVICE_PREFIX) + 1, "/backend/") != NULL;
}

static void emit(int r, const char *what, const char *path) {
        if (r < 0)
                log_warning_errno(r, "cannot signal %s of %s: %m", what, path);
}

void lbd_bus_objects_changed(struct lbd_manager *m) {
        if (!m->bus || !m->enumerator_slot)
                return;
        struct bus_objects *o = sd_bus_slot_get_userdata(m->enumerator_slot);
        g_autoptr(GHashTable) now = snapshot(m->config);
        g_autoptr(GPtrArray) order = all_paths(m->config);

        /* Gone first (a service removed and one added in the same change
         * read in order), backends before their service. */
        GHashTableIter it;
        gpointer key, value;
        g_autoptr(GPtrArray) gone = g_ptr_array_new();
        g_hash_table_iter_init(&it, o->shown);
        while (g_hash_table_iter_next(&it, &key, &value))
                if (!g_hash_table_contains(now, key))
                        g_ptr_array_add(gone, key);
        for (guint pass = 0; pass < 2; pass++)
                for (guint i = 0; i < gone->len; i++) {
                        const char *path = gone->pdata[i];
                        bool backend = is_backend_path(path);
                        if (backend != (pass == 0))
                                continue;
                        emit(sd_bus_emit_interfaces_removed(
                                     m->bus, path,
                                     backend ? LBD_BUS_BACKEND_INTERFACE
                                             : LBD_BUS_SERVICE_INTERFACE,
                                     NULL),
                             "the removal", path);
                        g_hash_table_remove(o->counters, path);
                }

        for (guint i = 0; i < order->len; i++) {
                const char *path = order->pdata[i];
                bool backend = is_backend_path(path);
                const char *iface = backend ? LBD_BUS_BACKEND_INTERFACE
                                            : LBD_BUS_SERVICE_INTERFACE;
                char **was = g_hash_table_lookup(o->shown, path);
                char **is = g_hash_table_lookup(now, path);
                if (!was) {
                        emit(sd_bus_emit_interfaces_added(m->bus, path, iface, NULL),
                             "the addition", path);
                        continue;
                }
                const char *const *names = backend ? backend_shown_names : service_shown_names;
                const char *changed[G_N_ELEMENTS(backend_shown_names) +
                                    G_N_ELEMENTS(service_shown_names)];
                size_t n = 0;
                for (size_t k = 0; names[k]; k++)
                        if (!g_str_equal(was[k], is[k]))
                                changed[n++] = names[k];
                changed[n] = NULL;
                if (n > 0)
                        emit(sd_bus_emit_properties_changed_strv(m->bus, path, iface,
                                                                 (char **)changed),
                             "property changes", path);
        }
        g_hash_table_unref(o->shown);
        o->shown = g_steal_pointer(&now);
}

/* ---- throttled counters ----------------------------------------------- */

static void counters_check(struct bus_objects *o, const char *path, const char *iface,
                           uint64_t active, uint64_t requests, uint64_t failures) {
        struct shown_counters *c = g_hash_table_lookup(o->counters, path);
        if (!c) {
                /* First sight: what a client reads now is the baseline. */
                c = g_new0(struct shown_counters, 1);
                *c = (struct shown_counters){ active, requests, failures };
                g_hash_table_insert(o->counters, g_strdup(path), c);
                return;
        }
        const char *changed[5];
        size_t n = 0;
        if (c->active != active)
                changed[n++] = "ActiveConnections";
        if (c->requests != requests)
                changed[n++] = "Requests";
        if (c->failures != failures)
                changed[n++] = "Failures";
        if (n == 0)
                return;
        /* Everything in Statistics moves with these (sent as invalidated). */
        changed[n++] = "Statistics";
        changed[n] = NULL;
        *c = (struct shown_counters){ active, requests, failures };
        emit(sd_bus_emit_properties_changed_strv(o->m->bus, path, iface, (char **)changed),
             "counter changes", path);
}

static void sample_backend(struct bus_objects *o, const struct lbd_service_config *svc,
                           const struct lbd_backend_config *b) {
        _cleanup_free_ char *path = NULL;
        if (lbd_bus_backend_path(svc->name, b->address.text, &path) < 0)
                return;
        struct lbd_bus_counters c;
        lbd_bus_backend_counters(o->m, svc, b, &c);
        counters_check(o, path, LBD_BUS_BACKEND_INTERFACE, c.active, c.requests, c.failures);
}

static int on_counter_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct bus_objects *o = userdata;
        struct lbd_manager *m = o->m;
        size_t total = 0;
        for (guint i = 0; i < m->config->services->len; i++) {
                const struct lbd_service_config *svc = m->config->services->pdata[i];
                total += svc->backends->len;
                _cleanup_free_ char *sp = NULL;
                if (lbd_bus_service_path(svc->name, &sp) < 0)
                        continue;
                uint64_t active, requests;
                lbd_bus_service_counters(m, svc, &active, &requests);
                counters_check(o, sp, LBD_BUS_SERVICE_INTERFACE, active, requests, 0);
        }
        /* Backends from the cursor on, at most the budget, wrapping. */
        size_t n = MIN(total, (size_t)COUNTER_BACKEND_BUDGET);
        size_t start = total ? o->cursor % total : 0;
        for (size_t k = 0; k < n; k++) {
                size_t want = (start + k) % total;
                /* Find backend number `want` (services are few: a short walk). */
                size_t at = 0;
                for (guint i = 0; i < m->config->services->len; i++) {
                        const struct lbd_service_config *svc = m->config->services->pdata[i];
                        if (want < at + svc->backends->len) {
                                sample_backend(o, svc,
                                               &g_array_index(svc->backends,
                                                              struct lbd_backend_config,
                                                              want - at));
                                break;
                        }
                        at += svc->backends->len;
                }
        }
        o->cursor = total ? (start + n) % total : 0;
        return sd_event_source_set_time_relative(s, COUNTER_INTERVAL_USEC);
}

static void bus_objects_free(void *userdata) {
        struct bus_objects *o = userdata;
        if (!o)
                return;
        sd_event_source_disable_unref(o->timer);
        g_hash_table_unref(o->shown);
        g_hash_table_unref(o->counters);
        g_free(o);
}

/* ---- publishing -------------------------------------------------------- */

int lbd_bus_objects_publish(struct lbd_manager *m) {
        struct bus_objects *o = g_new0(struct bus_objects, 1);
        o->m = m;
        o->shown = snapshot(m->config);
        o->counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        int r = sd_bus_add_node_enumerator(m->bus, &m->enumerator_slot, LBD_BUS_SERVICE_PREFIX,
                                           enumerate_objects, o);
        if (r < 0) {
                bus_objects_free(o);
                return log_error_errno(r, "cannot enumerate the services under %s: %m",
                                       LBD_BUS_SERVICE_PREFIX);
        }
        /* From here the slot owns o. */
        sd_bus_slot_set_destroy_callback(m->enumerator_slot, bus_objects_free);
        r = sd_event_add_time_relative(m->event, &o->timer, CLOCK_MONOTONIC,
                                       COUNTER_INTERVAL_USEC, 100 * 1000, on_counter_timer, o);
        if (r >= 0)
                r = sd_event_source_set_enabled(o->timer, SD_EVENT_ON);
        if (r < 0)
                return log_error_errno(r, "cannot start the counters' timer: %m");
        (void)sd_event_source_set_description(o->timer, "bus-counters");
        r = sd_bus_add_fallback_vtable(m->bus, &m->service_slot, LBD_BUS_SERVICE_PREFIX,
                                       LBD_BUS_SERVICE_INTERFACE, service_vtable, service_find, m);
        if (r < 0)
                return log_error_errno(r, "cannot publish the service objects: %m");
        r = sd_bus_add_fallback_vtable(m->bus, &m->backend_slot, LBD_BUS_SERVICE_PREFIX,
                                       LBD_BUS_BACKEND_INTERFACE, backend_vtable, backend_find, m);
        if (r < 0)
                return log_error_errno(r, "cannot publish the backend objects: %m");
        return 0;
}

void lbd_bus_objects_unpublish(struct lbd_manager *m) {
        m->backend_slot = sd_bus_slot_unref(m->backend_slot);
        m->service_slot = sd_bus_slot_unref(m->service_slot);
        m->enumerator_slot = sd_bus_slot_unref(m->enumerator_slot); /* frees bus_objects */
}
