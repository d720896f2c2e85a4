/* SPDX-License-Identifier: MIT */
/*
 * Links on the bus: the *Link methods of the root object, its Links
 * property and the link objects. Each method follows the order of the
 * others: read the arguments, validate them (the network plugin checks
 * what is its own: modes, options, JSON), ask polkit (manage-links), then
 * hand the change to the plugin and reply when NetworkManager has answered
 * (the call is kept with sd_bus_message_ref() meanwhile). Link objects are
 * served from the list links.c keeps; its changes become
 * InterfacesAdded/Removed and PropertiesChanged here.
 */
#include "bus-links.h"

#include <errno.h>
#include <string.h>

#include "bus.h"
#include "links.h"
#include "log.h"
#include "polkit.h"
#include "cleanup.h"
#include "quote.h"

/* The kernel's limit (IFNAMSIZ - 1). */
#define IFNAME_MAX 15
/* Enforce limits on what a caller sends: ports, list entries, text. */
#define PORTS_MAX 32
#define LIST_MAX 256
#define TEXT_MAX 65536

static const sd_bus_error_map link_errors[] = {
        SD_BUS_ERROR_MAP(LBD_BUS_ERROR_NETWORK_MANAGER_UNAVAILABLE, ENOTCONN),
        SD_BUS_ERROR_MAP(LBD_BUS_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP_END,
};

int lbd_bus_link_path(const char *ifname, char **ret) {
        return sd_bus_path_encode(LBD_BUS_LINK_PREFIX, ifname, ret);
}

/* ---- link objects ------------------------------------------------------- */

static const struct lbd_link *link_of_path(struct lbd_manager *m, const char *path) {
        _cleanup_free_ char *name = NULL;
        if (sd_bus_path_decode(path, LBD_BUS_LINK_PREFIX, &name) <= 0 || !m->links)
                return NULL;
        return lbd_links_find(m->links, name);
}

static int link_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                     void **found, sd_bus_error *error) {
        if (!link_of_path(userdata, path))
                return 0;
        *found = userdata; /* the getters look the path up again */
        return 1;
}

static int link_property(sd_bus *bus, const char *path, const char *interface,
                         const char *property, sd_bus_message *reply, void *userdata,
                         sd_bus_error *error) {
        const struct lbd_link *link = link_of_path(userdata, path);
        if (!link)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND, "No link at %s",
                                         LBD_QUOTE(path));
        if (g_str_equal(property, "Name"))
                return sd_bus_message_append(reply, "s", link->name);
        if (g_str_equal(property, "Kind"))
                return sd_bus_message_append(reply, "s", link->kind);
        if (g_str_equal(property, "Mode"))
                return sd_bus_message_append(reply, "s", link->mode);
        if (g_str_equal(property, "State"))
                return sd_bus_message_append(reply, "s", link->state);
        if (g_str_equal(property, "Managed"))
                return sd_bus_message_append(reply, "b", (int)link->managed);
        return sd_bus_message_append_strv(reply, link->ports); /* Ports */
}

static const sd_bus_vtable link_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", link_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Kind", "s", link_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Mode", "s", link_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Ports", "as", link_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", link_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Managed", "b", link_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

static int enumerate_links(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                           sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const GPtrArray *links = m->links ? lbd_links_list(m->links) : NULL;
        guint n = links ? links->len : 0;
        /* sd-bus frees the strv with free(). */
        char **strv = calloc(n + 1, sizeof(char *));
        if (!strv)
                return -ENOMEM;
        for (guint i = 0, j = 0; i < n; i++)
                if (lbd_bus_link_path(((const struct lbd_link *)links->pdata[i])->name,
                                      &strv[j]) >= 0)
                        j++;
        *nodes = strv;
        return 1;
}

int lbd_bus_links_property(struct lbd_manager *m, sd_bus_message *reply) {
        int r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        const GPtrArray *links = m->links ? lbd_links_list(m->links) : NULL;
        for (guint i = 0; links && i < links->len; i++) {
                _cleanup_free_ char *p = NULL;
                r = lbd_bus_link_path(((const struct lbd_link *)links->pdata[i])->name, &p);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "o", p);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* ---- change signals ----------------------------------------------------- */

static const struct lbd_link *find_in(const GPtrArray *links, const char *name) {
        for (guint i = 0; links && i < links->len; i++)
                if (g_str_equal(((const struct lbd_link *)links->pdata[i])->name, name))
                        return links->pdata[i];
        return NULL;
}

static void emit_link(struct lbd_manager *m, const char *name, const char *what,
                      int (*emit)(sd_bus *bus, const char *path, const char *iface, ...)) {
        _cleanup_free_ char *path = NULL;
        int r = lbd_bus_link_path(name, &path);
        if (r >= 0)
                r = emit(m->bus, path, LBD_BUS_LINK_INTERFACE, NULL);
        if (r < 0)
                log_warning_errno(r, "cannot signal the %s of link %s: %m", what, name);
}

void lbd_bus_links_changed(struct lbd_manager *m, const GPtrArray *before,
                           const GPtrArray *after) {
        if (!m->bus || !m->link_slot)
                return;
        bool list_changed = false;
        for (guint i = 0; i < before->len; i++) {
                const struct lbd_link *was = before->pdata[i];
                const struct lbd_link *is = find_in(after, was->name);
                if (!is || !g_str_equal(is->kind, was->kind)) {
                        emit_link(m, was->name, "removal", sd_bus_emit_interfaces_removed);
                        list_changed = true;
                }
        }
        for (guint i = 0; i < after->len; i++) {
                const struct lbd_link *is = after->pdata[i];
                const struct lbd_link *was = find_in(before, is->name);
                if (!was || !g_str_equal(is->kind, was->kind)) {
                        log_info("link %s (%s) appeared", is->name, is->kind);
                        emit_link(m, is->name, "addition", sd_bus_emit_interfaces_added);
                        list_changed = true;
                        continue;
                }
                const char *changed[6];
                size_t n = 0;
                if (!g_str_equal(was->mode, is->mode))
                        changed[n++] = "Mode";
                if (!g_strv_equal((const char *const *)was->ports,
                                  (const char *const *)is->ports))
                        changed[n++] = "Ports";
                if (!g_str_equal(was->state, is->state)) {
                        log_info("link %s: %s -> %s", is->name, was->state, is->state);
                        changed[n++] = "State";
                }
                if (was->managed != is->managed)
                        changed[n++] = "Managed";
                changed[n] = NULL;
                if (n == 0)
                        continue;
                _cleanup_free_ char *path = NULL;
                int r = lbd_bus_link_path(is->name, &path);
                if (r >= 0)
                        r = sd_bus_emit_properties_changed_strv(m->bus, path,
                                                                LBD_BUS_LINK_INTERFACE,
                                                                (char **)changed);
                if (r < 0)
                        log_warning_errno(r, "cannot signal the changes of link %s: %m", is->name);
        }
        if (list_changed) {
                int r = sd_bus_emit_properties_changed(m->bus, LBD_BUS_PATH, LBD_BUS_INTERFACE,
                                                       "Links", NULL);
                if (r < 0)
                        log_warning_errno(r, "cannot signal the new list of links: %m");
        }
}

/* ---- arguments ---------------------------------------------------------- */

/* The kernel's rule for interface names (dev_valid_name()), which
 * NetworkManager applies too. */
static int check_ifname(const char *what, const char *name, sd_bus_error *error) {
        size_t n = strlen(name);
        if (n == 0 || n > IFNAME_MAX || g_str_equal(name, ".") || g_str_equal(name, ".."))
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Invalid %s %s: an interface name has 1 to %d "
                                         "characters and is not \".\" or \"..\"",
                                         what, LBD_QUOTE(name), IFNAME_MAX);
        for (const char *p = name; *p; p++)
                if (*p == '/' || *p == ':' || g_ascii_isspace(*p) || !g_ascii_isprint(*p))
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Invalid %s %s: an interface name has "
                                                 "no '/', ':', white space or control "
                                                 "characters",
                                                 what, LBD_QUOTE(name));
        return 0;
}

/* The options of CreateLink and ModifyLink, owned. */
struct link_options {
        char *mode, *runner, *team_config, *ipv4_method, *ipv4_gateway;
        char **bond_options, **ipv4_addresses, **ipv4_routes, **ipv4_routing_rules;
        int64_t ipv4_route_metric;
        bool has_ipv4_route_metric;
};

static void link_options_done(struct link_options *o) {
        g_free(o->mode);
        g_free(o->runner);
        g_free(o->team_config);
        g_free(o->ipv4_method);
        g_free(o->ipv4_gateway);
        g_strfreev(o->bond_options);
        g_strfreev(o->ipv4_addresses);
        g_strfreev(o->ipv4_routes);
        g_strfreev(o->ipv4_routing_rules);
}

static bool link_options_empty(const struct link_options *o) {
        return !o->mode && !o->runner && !o->team_config && !o->ipv4_method &&
               !o->ipv4_gateway && !o->bond_options && !o->ipv4_addresses && !o->ipv4_routes &&
               !o->ipv4_routing_rules && !o->has_ipv4_route_metric;
}

enum option_kind { OPT_STRING, OPT_STRV, OPT_PAIRS, OPT_INT64 };

struct option_key {
        const char *name;
        const char *type; /* D-Bus signature */
        enum option_kind kind;
        size_t offset;    /* into struct link_options */
};

#define OPT(n, t, k, member) { n, t, k, offsetof(struct link_options, member) }
static const struct option_key option_keys[] = {
        OPT("Mode", "s", OPT_STRING, mode),
        OPT("Runner", "s", OPT_STRING, runner),
        OPT("BondOptions", "a{ss}", OPT_PAIRS, bond_options),
        OPT("TeamConfig", "s", OPT_STRING, team_config),
        OPT("IPv4Method", "s", OPT_STRING, ipv4_method),
        OPT("IPv4Addresses", "as", OPT_STRV, ipv4_addresses),
        OPT("IPv4Gateway", "s", OPT_STRING, ipv4_gateway),
        OPT("IPv4Routes", "as", OPT_STRV, ipv4_routes),
        OPT("IPv4RouteMetric", "x", OPT_INT64, ipv4_route_metric),
        OPT("IPv4RoutingRules", "as", OPT_STRV, ipv4_routing_rules),
};

static char *option_names(void) {
        g_autoptr(GString) s = g_string_new(NULL);
        for (size_t i = 0; i < G_N_ELEMENTS(option_keys); i++)
                g_string_append_printf(s, "%s%s (%s)", i ? ", " : "", option_keys[i].name,
                                       option_keys[i].type);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static int read_strv(sd_bus_message *message, const char *key, char ***ret,
                     sd_bus_error *error) {
        char **strv = NULL;
        int r = sd_bus_message_read_strv(message, &strv);
        if (r < 0)
                return r;
        /* sd-bus allocates with malloc(); keep GLib's allocator for ours. */
        g_auto(GStrv) copy = g_strdupv(strv);
        for (char **p = strv; p && *p; p++)
                free(*p);
        free(strv);
        if (copy && g_strv_length(copy) > LIST_MAX)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Option %s has more than %d entries", key, LIST_MAX);
        *ret = copy ? g_steal_pointer(&copy) : g_new0(char *, 1);
        return 0;
}

/* a{ss} into "name=value" entries. */
static int read_pairs(sd_bus_message *message, const char *key, char ***ret,
                      sd_bus_error *error) {
        g_autoptr(GPtrArray) pairs = g_ptr_array_new_with_free_func(g_free);
        int r = sd_bus_message_enter_container(message, 'a', "{ss}");
        if (r < 0)
                return r;
        const char *name, *value;
        while ((r = sd_bus_message_read(message, "{ss}", &name, &value)) > 0) {
                if (!*name || strchr(name, '='))
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Invalid name %s in %s: a bond option "
                                                 "name is not empty and has no '='",
                                                 LBD_QUOTE(name), key);
                if (pairs->len >= LIST_MAX)
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Option %s has more than %d entries", key,
                                                 LIST_MAX);
                g_ptr_array_add(pairs, g_strdup_printf("%s=%s", name, value));
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;
        g_ptr_array_add(pairs, NULL);
        *ret = (char **)g_ptr_array_free(g_steal_pointer(&pairs), FALSE);
        return 0;
}

static int read_link_options(sd_bus_message *message, struct link_options *o,
                             sd_bus_error *error) {
        bool seen[G_N_ELEMENTS(option_keys)] = { false };
        int r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(message, 'e', "sv")) > 0) {
                const char *name, *contents;
                r = sd_bus_message_read(message, "s", &name);
                if (r < 0)
                        return r;
                size_t k = 0;
                while (k < G_N_ELEMENTS(option_keys) && !g_str_equal(option_keys[k].name, name))
                        k++;
                if (k == G_N_ELEMENTS(option_keys)) {
                        g_autofree char *known = option_names();
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Unknown option %s; known options: %s",
                                                 LBD_QUOTE(name), known);
                }
                const struct option_key *key = &option_keys[k];
                if (seen[k])
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Option %s is given twice", key->name);
                seen[k] = true;
                r = sd_bus_message_peek_type(message, NULL, &contents);
                if (r < 0)
                        return r;
                if (!g_str_equal(contents, key->type))
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Option %s must be of D-Bus type %s, not %s",
                                                 key->name, key->type, contents);
                r = sd_bus_message_enter_container(message, 'v', contents);
                if (r < 0)
                        return r;
                void *field = (char *)o + key->offset;
                const char *s;
                switch (key->kind) {
                case OPT_STRING:
                        r = sd_bus_message_read(message, "s", &s);
                        if (r >= 0 && strlen(s) > TEXT_MAX)
                                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                         "Option %s is longer than %d bytes",
                                                         key->name, TEXT_MAX);
                        if (r >= 0)
                                *(char **)field = g_strdup(s);
                        break;
                case OPT_STRV:
                        r = read_strv(message, key->name, field, error);
                        break;
                case OPT_PAIRS:
                        r = read_pairs(message, key->name, field, error);
                        break;
                case OPT_INT64:
                        r = sd_bus_message_read(message, "x", field);
                        o->has_ipv4_route_metric = true;
                        break;
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message); /* v */
                if (r >= 0)
                        r = sd_bus_message_exit_container(message); /* e */
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(message);
}

static void fill_request(struct lbd_link_request *req, const char *ifname,
                         const char *const *ports, const struct link_options *o) {
        *req = (struct lbd_link_request){
                .struct_size = sizeof(struct lbd_link_request),
                .ifname = ifname,
                .ports = ports,
                .mode = o->mode,
                .runner = o->runner,
                .bond_options = (const char *const *)o->bond_options,
                .team_config = o->team_config,
                .ipv4_method = o->ipv4_method,
                .ipv4_addresses = (const char *const *)o->ipv4_addresses,
                .ipv4_gateway = o->ipv4_gateway,
                .ipv4_routes = (const char *const *)o->ipv4_routes,
                .ipv4_routing_rules = (const char *const *)o->ipv4_routing_rules,
                .ipv4_route_metric = o->ipv4_route_metric,
                .has_ipv4_route_metric = o->has_ipv4_route_metric,
        };
}

/* The plugin's own checks (modes, options, JSON, addresses). */
static int plugin_validate(const struct lbd_plugin *p, const struct lbd_link_request *req,
                           sd_bus_error *error) {
        char *why = NULL;
        int r = p->desc->ops.network->validate(p->data, req, &why);
        if (r >= 0) {
                free(why);
                return 0;
        }
        r = sd_bus_error_setf(error,
                              r == -EOPNOTSUPP ? LBD_BUS_ERROR_NOT_SUPPORTED
                                               : LBD_BUS_ERROR_INVALID_ARGUMENT,
                              "%s", why ? why : "The link's settings are invalid");
        free(why);
        return r;
}

static int kind_not_found(struct lbd_manager *m, const char *kind, sd_bus_error *error) {
        g_autofree char *kinds = lbd_links_kinds(m->links);
        return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND,
                                 "No network plugin %s can make links; loaded: %s", LBD_QUOTE(kind),
                                 kinds && *kinds ? kinds : "none (lbd was built without libnm)");
}

static int link_not_found(struct lbd_manager *m, const char *ifname, sd_bus_error *error) {
        const GPtrArray *links = m->links ? lbd_links_list(m->links) : NULL;
        g_autoptr(GString) names = g_string_new(NULL);
        for (guint i = 0; links && i < links->len; i++)
                g_string_append_printf(names, "%s%s", i ? ", " : "",
                                       ((const struct lbd_link *)links->pdata[i])->name);
        return sd_bus_error_setf(error, LBD_BUS_ERROR_NOT_FOUND,
                                 "No bond or team link %s in NetworkManager; links: %s",
                                 LBD_QUOTE(ifname), names->len ? names->str : "none");
}

/* ---- calls waiting for NetworkManager ------------------------------------ */

struct link_call {
        struct lbd_manager *m;
        sd_bus_message *message; /* the method call, replied to from done() */
        char *ifname;
        const char *what;        /* "create", ... for the log */
        bool reply_path;         /* CreateLink replies with the link's path */
};

static const char *error_name(int error) {
        switch (error) {
        case -EINVAL:
                return LBD_BUS_ERROR_INVALID_ARGUMENT;
        case -ENOENT:
                return LBD_BUS_ERROR_NOT_FOUND;
        case -EEXIST:
                return LBD_BUS_ERROR_EXISTS;
        case -ENOTCONN:
                return LBD_BUS_ERROR_NETWORK_MANAGER_UNAVAILABLE;
        case -EOPNOTSUPP:
                return LBD_BUS_ERROR_NOT_SUPPORTED;
        default:
                return LBD_BUS_ERROR_FAILED;
        }
}

static void link_call_done(void *userdata, int error, const char *message) {
        struct link_call *c = userdata;
        struct lbd_manager *m = c->m;
        int r;
        lbd_links_unbusy(m->links, c->ifname);
        if (error < 0) {
                log_warning("cannot %s link %s: %s", c->what, c->ifname,
                            message ? message : g_strerror(-error));
                r = sd_bus_reply_method_errorf(c->message, error_name(error), "%s",
                                               message ? message : g_strerror(-error));
        } else {
                log_info("link %s: %s done (over D-Bus)", c->ifname, c->what);
                /* The caller may look at the object as soon as it has the
                 * reply: read NetworkManager's view first. */
                if (m->links)
                        lbd_links_refresh(m->links);
                _cleanup_free_ char *path = NULL;
                r = lbd_bus_link_path(c->ifname, &path);
                if (r >= 0)
                        r = c->reply_path ? sd_bus_reply_method_return(c->message, "o", path)
                                          : sd_bus_reply_method_return(c->message, NULL);
        }
        if (r < 0)
                log_warning_errno(r, "cannot reply to the %s of link %s: %m", c->what, c->ifname);
        sd_bus_message_unref(c->message);
        g_free(c->ifname);
        g_free(c);
}

static struct link_call *link_call_new(struct lbd_manager *m, sd_bus_message *message,
                                       const char *ifname, const char *what) {
        struct link_call *c = g_new0(struct link_call, 1);
        c->m = m;
        c->message = sd_bus_message_ref(message);
        c->ifname = g_strdup(ifname);
        c->what = what;
        return c;
}

/* The common tail of every method once authorized: one change per link at
 * a time. */
static int claim(struct lbd_manager *m, const char *ifname, sd_bus_error *error) {
        if (!lbd_links_busy(m->links, ifname))
                return sd_bus_error_setf(error, LBD_BUS_ERROR_FAILED,
                                         "Another change of link %s is under way; try again "
                                         "when it has finished",
                                         ifname);
        return 0;
}

/* ---- methods ------------------------------------------------------------ */

static int method_create_link(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *kind, *ifname;
        _cleanup_(link_options_done) struct link_options o = { 0 };
        g_auto(GStrv) ports = NULL;
        int activate;
        int r = sd_bus_message_read(message, "ss", &kind, &ifname);
        if (r >= 0)
                r = read_strv(message, "ports", &ports, error);
        if (r >= 0)
                r = read_link_options(message, &o, error);
        if (r >= 0)
                r = sd_bus_message_read(message, "b", &activate);
        if (r < 0)
                return r;

        r = check_ifname("interface name", ifname, error);
        if (r < 0)
                return r;
        const struct lbd_plugin *p = lbd_links_plugin(m->links, kind);
        if (!p)
                return kind_not_found(m, kind, error);
        if (g_strv_length(ports) > PORTS_MAX)
                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                         "Too many ports: at most %d", PORTS_MAX);
        for (char **port = ports; *port; port++) {
                r = check_ifname("port", *port, error);
                if (r < 0)
                        return r;
                if (g_str_equal(*port, ifname))
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Link %s cannot be its own port", ifname);
                for (char **other = ports; other < port; other++)
                        if (g_str_equal(*other, *port))
                                return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                         "Port %s is given twice", *port);
        }
        struct lbd_link_request req;
        fill_request(&req, ifname, (const char *const *)ports, &o);
        r = plugin_validate(p, &req, error);
        if (r < 0)
                return r;
        if (lbd_links_find(m->links, ifname))
                return sd_bus_error_setf(error, LBD_BUS_ERROR_EXISTS,
                                         "A link named %s exists already; ModifyLink changes "
                                         "it, DeleteLink removes it",
                                         ifname);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_LINKS, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        r = claim(m, ifname, error);
        if (r < 0)
                return r;
        log_info("creating %s link %s over %u port(s)%s (over D-Bus)", kind, ifname,
                 g_strv_length(ports), activate ? ", activating it" : "");
        struct link_call *c = link_call_new(m, message, ifname, "create");
        c->reply_path = true;
        p->desc->ops.network->create(p->data, &req, activate, link_call_done, c);
        return 1; /* replied from link_call_done() */
}

static int method_modify_link(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *ifname;
        _cleanup_(link_options_done) struct link_options o = { 0 };
        int r = sd_bus_message_read(message, "s", &ifname);
        if (r >= 0)
                r = read_link_options(message, &o, error);
        if (r < 0)
                return r;
        const struct lbd_link *link = lbd_links_find(m->links, ifname);
        if (!link)
                return link_not_found(m, ifname, error);
        const struct lbd_plugin *p = lbd_links_plugin(m->links, link->kind);
        if (!p)
                return kind_not_found(m, link->kind, error);
        struct lbd_link_request req;
        fill_request(&req, ifname, NULL, &o);
        r = plugin_validate(p, &req, error);
        if (r < 0)
                return r;
        if (link_options_empty(&o))
                return sd_bus_reply_method_return(message, NULL); /* nothing to change */

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_LINKS, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        r = claim(m, ifname, error);
        if (r < 0)
                return r;
        struct link_call *c = link_call_new(m, message, ifname, "modify");
        p->desc->ops.network->modify(p->data, &req, link_call_done, c);
        return 1;
}

typedef void (*by_name_op)(void *plugin_data, const char *ifname, lbd_link_done_fn done,
                           void *userdata);

/* ActivateLink, DeactivateLink and DeleteLink: a link by name. */
static int method_by_name(sd_bus_message *message, struct lbd_manager *m, const char *what,
                          size_t op_offset, sd_bus_error *error) {
        const char *ifname;
        int r = sd_bus_message_read(message, "s", &ifname);
        if (r < 0)
                return r;
        const struct lbd_link *link = lbd_links_find(m->links, ifname);
        if (!link)
                return link_not_found(m, ifname, error);
        const struct lbd_plugin *p = lbd_links_plugin(m->links, link->kind);
        if (!p)
                return kind_not_found(m, link->kind, error);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_MANAGE_LINKS, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        r = claim(m, ifname, error);
        if (r < 0)
                return r;
        log_info("%s link %s (over D-Bus)", what, ifname);
        by_name_op op = *(const by_name_op *)((const char *)p->desc->ops.network + op_offset);
        op(p->data, ifname, link_call_done, link_call_new(m, message, ifname, what));
        return 1;
}

static int method_activate_link(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_name(message, userdata, "activate",
                              offsetof(struct lbd_network_ops, activate), error);
}

static int method_deactivate_link(sd_bus_message *message, void *userdata,
                                  sd_bus_error *error) {
        return method_by_name(message, userdata, "deactivate",
                              offsetof(struct lbd_network_ops, deactivate), error);
}

static int method_delete_link(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_by_name(message, userdata, "delete",
                              offsetof(struct lbd_network_ops, remove), error);
}

static const sd_bus_vtable link_methods_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("CreateLink",
                                SD_BUS_ARGS("s", kind, "s", ifname, "as", ports, "a{sv}",
                                            options, "b", activate),
                                SD_BUS_RESULT("o", link), method_create_link,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ModifyLink", SD_BUS_ARGS("s", ifname, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_modify_link,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ActivateLink", SD_BUS_ARGS("s", ifname), SD_BUS_NO_RESULT,
                                method_activate_link, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeactivateLink", SD_BUS_ARGS("s", ifname), SD_BUS_NO_RESULT,
                                method_deactivate_link, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteLink", SD_BUS_ARGS("s", ifname), SD_BUS_NO_RESULT,
                                method_delete_link, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* ---- publishing --------------------------------------------------------- */

int lbd_bus_links_publish(struct lbd_manager *m) {
        int r = sd_bus_error_add_map(link_errors);
        if (r < 0)
                return log_error_errno(r, "cannot register the links' D-Bus errors: %m");
        r = sd_bus_add_object_vtable(m->bus, &m->link_methods_slot, LBD_BUS_PATH,
                                     LBD_BUS_INTERFACE, link_methods_vtable, m);
        if (r < 0)
                return log_error_errno(r, "cannot publish the link methods: %m");
        r = sd_bus_add_node_enumerator(m->bus, &m->link_enumerator_slot, LBD_BUS_LINK_PREFIX,
                                       enumerate_links, m);
        if (r < 0)
                return log_error_errno(r, "cannot enumerate the links under %s: %m",
                                       LBD_BUS_LINK_PREFIX);
        r = sd_bus_add_fallback_vtable(m->bus, &m->link_slot, LBD_BUS_LINK_PREFIX,
                                       LBD_BUS_LINK_INTERFACE, link_vtable, link_find, m);
        if (r < 0)
                return log_error_errno(r, "cannot publish the link objects: %m");
        return 0;
}

void lbd_bus_links_unpublish(struct lbd_manager *m) {
        /* The links stopped before (lbd_manager_stop_parts): calls under
         * way got their error reply while the bus was there. */
        m->link_slot = sd_bus_slot_unref(m->link_slot);
        m->link_enumerator_slot = sd_bus_slot_unref(m->link_enumerator_slot);
        m->link_methods_slot = sd_bus_slot_unref(m->link_methods_slot);
}
