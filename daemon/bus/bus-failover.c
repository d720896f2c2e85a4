/* SPDX-License-Identifier: MIT */
/* ReportFailoverState and FailoverStates: what keepalived's notify hook
 * says of this node (control/failover.h), logged and shown. */
#include <errno.h>

#include "bus-private.h"
#include "failover.h"
#include "log.h"
#include "polkit.h"

int lbd_bus_method_report_failover_state(sd_bus_message *message, void *userdata,
                                         sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        const char *name, *state;
        int r = sd_bus_message_read(message, "ss", &name, &state);
        if (r < 0)
                return r;
        g_autofree char *wrong = lbd_failover_check(name, state);
        if (wrong)
                return sd_bus_error_set(error, LBD_BUS_ERROR_INVALID_ARGUMENT, wrong);

        r = lbd_polkit_check_async(m->polkit, message, LBD_POLKIT_ACTION_REPORT_FAILOVER, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit will answer; then this runs again */

        if (!m->failover)
                m->failover = lbd_failover_new();
        g_autofree char *previous = NULL;
        if (lbd_failover_set(m->failover, name, state, &previous)) {
                /* The line an administrator looks for after a failover. */
                if (previous)
                        log_notice("keepalived: %s is now %s on this node (was %s)", name, state,
                                   previous);
                else
                        log_notice("keepalived: %s is %s on this node", name, state);
                r = sd_bus_emit_properties_changed(m->bus, LBD_BUS_PATH, LBD_BUS_INTERFACE,
                                                   "FailoverStates", NULL);
                if (r < 0)
                        log_warning_errno(r, "cannot signal the failover state: %m");
        }
        return sd_bus_reply_method_return(message, NULL);
}

int lbd_bus_property_failover_states(sd_bus *bus, const char *path, const char *interface,
                                     const char *property, sd_bus_message *reply,
                                     void *userdata, sd_bus_error *error) {
        struct lbd_manager *m = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "{ss}");
        if (r < 0)
                return r;
        if (m->failover) {
                g_auto(GStrv) names = NULL;
                g_auto(GStrv) states = NULL;
                lbd_failover_list(m->failover, &names, &states);
                for (size_t i = 0; names[i]; i++) {
                        r = sd_bus_message_append(reply, "{ss}", names[i], states[i]);
                        if (r < 0)
                                return r;
                }
        }
        return sd_bus_message_close_container(reply);
}
