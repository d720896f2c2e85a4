/* SPDX-License-Identifier: MIT */
/*
 * What the bus*.c files share (not for the rest of the daemon, which uses
 * bus.h):
 *  - bus.c: the connection, the root object, Reload/SetWorkers/
 *    SetWorkerModel, change signals of the root;
 *  - bus-objects.c: service and backend objects (paths, lookup,
 *    enumeration, properties) and the announcement of what changed
 *    (InterfacesAdded/Removed, PropertiesChanged, throttled counters);
 *  - bus-services.c: AddService, RemoveService, SetPolicy;
 *  - bus-backends.c: AddBackend, RemoveBackend and the Backend methods;
 *  - bus-stats.c: GetStatistics and the counters of the shared table;
 *  - bus-args.c: reading a{sv} arguments with named errors;
 *  - bus-failover.c: ReportFailoverState (keepalived's notify hook).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "config.h"


/* ---- paths and objects (bus-objects.c) --------------------------------- */

int lbd_bus_service_path(const char *service, char **ret);
/* A backend's object path: .../service/SERVICE/backend/ADDRESS, both
 * elements escaped with sd_bus_path_encode(), so that a backend's path is
 * the same across restarts and says which backend it is. */
int lbd_bus_backend_path(const char *service, const char *address, char **ret);

/* The objects under LBD_BUS_SERVICE_PREFIX: published by lbd_bus_start().
 * Also sets up the bookkeeping that lbd_bus_objects_changed() and the
 * counter timer use; it lives as long as the enumerator slot. */
int lbd_bus_objects_publish(struct lbd_manager *m);
void lbd_bus_objects_unpublish(struct lbd_manager *m);

/* Compare what m->config shows now with what was last announced and send
 * InterfacesAdded/InterfacesRemoved and PropertiesChanged accordingly. */
void lbd_bus_objects_changed(struct lbd_manager *m);

/* The backend of service at address (as text, or any text that parses to
 * the same address), or NULL. */
struct lbd_backend_config *lbd_bus_find_backend(const struct lbd_service_config *s,
                                                const char *address);

/* ---- applying a change ------------------------------------------------- */

/* The common end of every mutating method once authorized: the manager
 * saves next (the whole configuration to be in effect; taken over) to the
 * state file, then makes it effective (lbd_manager_commit). On failure
 * error says what failed ("what" names the change for the message) and a
 * negative errno is returned: nothing changed. bus.c. */
int lbd_bus_commit(struct lbd_manager *m, struct lbd_config *next, enum lbd_manager_change how,
                   const char *what, sd_bus_error *error);

/* ---- a{sv} arguments (bus-args.c) ------------------------------------- */

/* One key of an a{sv} argument: its D-Bus type ("u", "s", "b", "as") and
 * where to store it (unsigned *, char ** (g_free), bool *, char *** (g_strfreev)).
 * min/max bound "u" values. `seen` is set when the key was given. */
struct lbd_bus_key {
        const char *name;
        const char *type;
        void *ret;
        uint32_t min, max;
        bool seen;
};

/* Read an a{sv} from message into keys (an array of n). An unknown key or
 * a value of another type, a repeated key, or a "u" out of min..max gets
 * InvalidArgument naming the key, the expected type or range, and the
 * known keys. */
int lbd_bus_read_options(sd_bus_message *message, struct lbd_bus_key *keys, size_t n,
                         sd_bus_error *error);

/* InvalidArgument unless name is a valid service name / policy names a
 * loaded policy plugin (the message then lists the loaded ones). */
int lbd_bus_check_service_name(const char *name, sd_bus_error *error);
int lbd_bus_check_policy(struct lbd_manager *m, const char *policy, sd_bus_error *error);

/* 1 and *ret_s for a service path, 2 and both for a backend path of
 * m->config; 0 for anything else. */
int lbd_bus_lookup(struct lbd_manager *m, const char *path,
                   const struct lbd_service_config **ret_s,
                   const struct lbd_backend_config **ret_b);

/* ---- method handlers -------------------------------------------------- */

int lbd_bus_method_add_service(sd_bus_message *message, void *userdata, sd_bus_error *error);
int lbd_bus_method_remove_service(sd_bus_message *message, void *userdata,
                                  sd_bus_error *error);
int lbd_bus_method_set_policy(sd_bus_message *message, void *userdata, sd_bus_error *error);
int lbd_bus_method_add_backend(sd_bus_message *message, void *userdata, sd_bus_error *error);
int lbd_bus_method_remove_backend(sd_bus_message *message, void *userdata,
                                  sd_bus_error *error);
int lbd_bus_method_get_statistics(sd_bus_message *message, void *userdata,
                                  sd_bus_error *error);
/* keepalived's notify hook (bus-failover.c): ReportFailoverState and the
 * FailoverStates property. */
int lbd_bus_method_report_failover_state(sd_bus_message *message, void *userdata,
                                         sd_bus_error *error);
int lbd_bus_property_failover_states(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply,
                                     void *userdata, sd_bus_error *error);

/* The Backend interface's methods (bus-backends.c), for bus-objects.c's vtable. */
int lbd_bus_backend_method_set_weight(sd_bus_message *message, void *userdata,
                                      sd_bus_error *error);
int lbd_bus_backend_method_drain(sd_bus_message *message, void *userdata, sd_bus_error *error);
int lbd_bus_backend_method_enable(sd_bus_message *message, void *userdata,
                                  sd_bus_error *error);
int lbd_bus_backend_method_disable(sd_bus_message *message, void *userdata,
                                   sd_bus_error *error);

/* ---- counters (bus-stats.c) ------------------------------------------- */

struct lbd_bus_counters {
        bool known;          /* false: the shared table has no such backend (yet) */
        const char *state;   /* "up", "down", "draining", "disabled" */
        uint32_t active;
        uint64_t requests;
        uint64_t failures;
        uint32_t latency_us;
        uint32_t weight;     /* effective */
};

/* A backend's live state and counters from the shared table; without it
 * (before the arbiter started, or a backend the table does not have) the
 * state follows the configuration (down → disabled, drain → draining) and
 * the counters are 0 with known false. */
void lbd_bus_backend_counters(struct lbd_manager *m, const struct lbd_service_config *s,
                              const struct lbd_backend_config *b, struct lbd_bus_counters *ret);
void lbd_bus_service_counters(struct lbd_manager *m, const struct lbd_service_config *s,
                              uint64_t *ret_active, uint64_t *ret_requests);
/* The Statistics property of a backend and of a service: an a{sv} with the
 * keys GetStatistics() gives the same object (a service's without its
 * Backends, which have objects of their own). */
int lbd_bus_append_backend_statistics(sd_bus_message *reply, struct lbd_manager *m,
                                      const struct lbd_service_config *s,
                                      const struct lbd_backend_config *b);
int lbd_bus_append_service_statistics(sd_bus_message *reply, struct lbd_manager *m,
                                      const struct lbd_service_config *s);
