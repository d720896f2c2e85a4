/* SPDX-License-Identifier: MIT */
/*
 * old-lbd: a stand-in for an lbd older than the client, for test-lbclient.
 * It owns org.example.LoadBalancer on the system bus and serves only the
 * first D-Bus API lbd had (Version, WorkerModel, Workers, Services and
 * ListPlugins, no services), so every newer method answers UnknownMethod,
 * which lbclient must report as "the daemon does not support X".
 * Runs until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>

static int get_string(sd_bus *bus, const char *path, const char *iface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", (const char *)userdata);
}

static int get_workers(sd_bus *bus, const char *path, const char *iface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", 1);
}

static int get_services(sd_bus *bus, const char *path, const char *iface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "ao", 0);
}

static int list_plugins(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, "a(ssss)", 1, "worker", "sync", "Sync worker",
                                          "/nonexistent/sync.so");
}

static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("WorkerModel", "s", get_string, 0, 0),
        SD_BUS_PROPERTY("Workers", "u", get_workers, 0, 0),
        SD_BUS_PROPERTY("Services", "ao", get_services, 0, 0),
        SD_BUS_METHOD("ListPlugins", "", "a(ssss)", list_plugins, 0),
        SD_BUS_VTABLE_END,
};

int main(void) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/example/LoadBalancer",
                                             "org.example.LoadBalancer", vtable, (void *)"0.0.1");
        if (r >= 0)
                r = sd_bus_add_object_manager(bus, NULL, "/org/example/LoadBalancer");
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.example.LoadBalancer", 0);
        if (r < 0) {
                fprintf(stderr, "old-lbd: %s\n", strerror(-r));
                return 1;
        }
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return 1;
                if (r == 0) {
                        r = sd_bus_wait(bus, UINT64_MAX);
                        if (r < 0 && r != -EINTR)
                                return 1;
                }
        }
}
