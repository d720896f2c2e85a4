/* SPDX-License-Identifier: MIT */
#include "actions.h"

#include "lbd-bus-api.h"
#include "typed.h"

typedef struct {
        const char *name;
        const char *type; /* parameter type, NULL for none */
        void (*run)(LbdDesktopBus *bus, GVariant *parameter);
} Action;

static void call_root(LbdDesktopBus *bus, const char *method, GVariant *params, const char *what) {
        lbd_desktop_bus_call(bus, LBD_BUS_PATH, LBD_BUS_INTERFACE, method, params, what, NULL,
                             NULL);
}

/* The backend's address for messages ("Drain 127.0.0.1:8001"), or its path. */
static char *backend_name(LbdDesktopBus *bus, const char *path) {
        g_autoptr(GDBusProxy) proxy = lbd_desktop_bus_proxy(bus, path, LBD_BUS_BACKEND_INTERFACE);
        const char *address =
                proxy ? lbd_load_balancer_backend_get_address(LBD_LOAD_BALANCER_BACKEND(proxy))
                      : NULL;
        return g_strdup(address ? address : path);
}

/* what: "VERB ADDRESS[SUFFIX]" */
static void call_backend(LbdDesktopBus *bus, GVariant *parameter, const char *method,
                         GVariant *params, const char *verb, const char *suffix) {
        const char *path = g_variant_get_string(parameter, NULL);
        g_autofree char *name = backend_name(bus, path);
        g_autofree char *what = g_strdup_printf("%s %s%s", verb, name, suffix ? suffix : "");
        lbd_desktop_bus_call(bus, path, LBD_BUS_BACKEND_INTERFACE, method, params, what, NULL,
                             NULL);
}

static void run_reload(LbdDesktopBus *bus, GVariant *p) {
        call_root(bus, "Reload", NULL, "Reload the configuration");
}

static void run_set_workers(LbdDesktopBus *bus, GVariant *p) {
        guint32 count = g_variant_get_uint32(p);
        g_autofree char *what = g_strdup_printf("Run %u workers", count);
        call_root(bus, "SetWorkers", g_variant_new("(u)", count), what);
}

static void run_set_worker_model(LbdDesktopBus *bus, GVariant *p) {
        const char *model;
        guint32 threads, connections;
        g_variant_get(p, "(&suu)", &model, &threads, &connections);
        GVariantBuilder options;
        g_variant_builder_init(&options, G_VARIANT_TYPE("a{sv}"));
        if (threads)
                g_variant_builder_add(&options, "{sv}", "Threads", g_variant_new_uint32(threads));
        if (connections)
                g_variant_builder_add(&options, "{sv}", "WorkerConnections",
                                      g_variant_new_uint32(connections));
        g_autofree char *what = g_strdup_printf("Use the worker model %s", model);
        call_root(bus, "SetWorkerModel", g_variant_new("(sa{sv})", model, &options), what);
}

static void run_add_service(LbdDesktopBus *bus, GVariant *p) {
        const char *name, *listen, *mode, *policy;
        g_variant_get(p, "(&s&s&s&s)", &name, &listen, &mode, &policy);
        GVariantBuilder settings;
        g_variant_builder_init(&settings, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&settings, "{sv}", "Listen", lbd_typed_list(listen));
        if (*mode)
                g_variant_builder_add(&settings, "{sv}", "Mode", g_variant_new_string(mode));
        if (*policy)
                g_variant_builder_add(&settings, "{sv}", "Policy", g_variant_new_string(policy));
        g_autofree char *what = g_strdup_printf("Add the service %s", name);
        call_root(bus, "AddService", g_variant_new("(sa{sv})", name, &settings), what);
}

static void run_remove_service(LbdDesktopBus *bus, GVariant *p) {
        const char *name = g_variant_get_string(p, NULL);
        g_autofree char *what = g_strdup_printf("Remove the service %s", name);
        call_root(bus, "RemoveService", g_variant_new("(s)", name), what);
}

static void run_set_policy(LbdDesktopBus *bus, GVariant *p) {
        const char *service, *policy;
        g_variant_get(p, "(&s&s)", &service, &policy);
        g_autofree char *what = g_strdup_printf("Use the policy %s for %s", policy, service);
        call_root(bus, "SetPolicy", g_variant_new("(ss)", service, policy), what);
}

static void run_add_backend(LbdDesktopBus *bus, GVariant *p) {
        const char *service, *address;
        guint32 weight;
        g_variant_get(p, "(&s&su)", &service, &address, &weight);
        GVariantBuilder options;
        g_variant_builder_init(&options, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&options, "{sv}", "Weight", g_variant_new_uint32(weight));
        g_autofree char *what = g_strdup_printf("Add %s to %s", address, service);
        call_root(bus, "AddBackend", g_variant_new("(ssa{sv})", service, address, &options), what);
}

static void run_remove_backend(LbdDesktopBus *bus, GVariant *p) {
        const char *service, *address;
        g_variant_get(p, "(&s&s)", &service, &address);
        g_autofree char *what = g_strdup_printf("Remove %s from %s", address, service);
        call_root(bus, "RemoveBackend", g_variant_new("(ss)", service, address), what);
}

static void run_set_weight(LbdDesktopBus *bus, GVariant *p) {
        g_autoptr(GVariant) path = g_variant_get_child_value(p, 0);
        guint32 weight;
        g_variant_get_child(p, 1, "u", &weight);
        g_autofree char *suffix = g_strdup_printf(" to %u", weight);
        call_backend(bus, path, "SetWeight", g_variant_new("(u)", weight), "Set the weight of",
                     suffix);
}

static void run_drain(LbdDesktopBus *bus, GVariant *p) {
        call_backend(bus, p, "Drain", NULL, "Drain", NULL);
}

static void run_enable(LbdDesktopBus *bus, GVariant *p) {
        call_backend(bus, p, "Enable", NULL, "Enable", NULL);
}

static void run_disable(LbdDesktopBus *bus, GVariant *p) {
        call_backend(bus, p, "Disable", NULL, "Disable", NULL);
}

/* The link methods take their a{sv} as lbd does (its keys: Mode, Runner,
 * IPv4Method, ...): the window builds it, and lbd says what is wrong. */
static void run_create_link(LbdDesktopBus *bus, GVariant *p) {
        const char *kind, *ifname;
        g_autoptr(GVariant) ports = NULL;
        g_autoptr(GVariant) options = NULL;
        gboolean activate;
        g_variant_get(p, "(&s&s@as@a{sv}b)", &kind, &ifname, &ports, &options, &activate);
        g_autofree char *what = g_strdup_printf("Create the %s %s", kind, ifname);
        call_root(bus, "CreateLink",
                  g_variant_new("(ss@as@a{sv}b)", kind, ifname, ports, options, activate), what);
}

static void run_modify_link(LbdDesktopBus *bus, GVariant *p) {
        const char *ifname;
        g_autoptr(GVariant) options = NULL;
        g_variant_get(p, "(&s@a{sv})", &ifname, &options);
        g_autofree char *what = g_strdup_printf("Modify %s", ifname);
        call_root(bus, "ModifyLink", g_variant_new("(s@a{sv})", ifname, options), what);
}

static void run_link_method(LbdDesktopBus *bus, GVariant *p, const char *method, const char *verb) {
        const char *ifname = g_variant_get_string(p, NULL);
        g_autofree char *what = g_strdup_printf("%s %s", verb, ifname);
        call_root(bus, method, g_variant_new("(s)", ifname), what);
}

static void run_activate_link(LbdDesktopBus *bus, GVariant *p) {
        run_link_method(bus, p, "ActivateLink", "Activate");
}

static void run_deactivate_link(LbdDesktopBus *bus, GVariant *p) {
        run_link_method(bus, p, "DeactivateLink", "Deactivate");
}

static void run_delete_link(LbdDesktopBus *bus, GVariant *p) {
        run_link_method(bus, p, "DeleteLink", "Delete");
}

static const Action actions[] = {
        {"reload", NULL, run_reload},
        {"set-workers", "u", run_set_workers},
        {"set-worker-model", "(suu)", run_set_worker_model},
        {"add-service", "(ssss)", run_add_service},
        {"remove-service", "s", run_remove_service},
        {"set-policy", "(ss)", run_set_policy},
        {"add-backend", "(ssu)", run_add_backend},
        {"remove-backend", "(ss)", run_remove_backend},
        {"set-weight", "(ou)", run_set_weight},
        {"drain", "o", run_drain},
        {"enable", "o", run_enable},
        {"disable", "o", run_disable},
        {"create-link", "(ssasa{sv}b)", run_create_link},
        {"modify-link", "(sa{sv})", run_modify_link},
        {"activate-link", "s", run_activate_link},
        {"deactivate-link", "s", run_deactivate_link},
        {"delete-link", "s", run_delete_link},
};

static void activated(GSimpleAction *simple, GVariant *parameter, gpointer data) {
        const Action *action = g_object_get_data(G_OBJECT(simple), "lbd-action");
        action->run(data, parameter);
}

void lbd_actions_add(GActionMap *map, LbdDesktopBus *bus) {
        for (size_t i = 0; i < G_N_ELEMENTS(actions); i++) {
                const GVariantType *type = actions[i].type ? G_VARIANT_TYPE(actions[i].type) : NULL;
                g_autoptr(GSimpleAction) action = g_simple_action_new(actions[i].name, type);
                g_object_set_data(G_OBJECT(action), "lbd-action", (gpointer)&actions[i]);
                g_signal_connect(action, "activate", G_CALLBACK(activated), bus);
                g_action_map_add_action(map, G_ACTION(action));
        }
}
