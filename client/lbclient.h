/* SPDX-License-Identifier: MIT */
/*
 * lbclient's shared context and helpers. The client talks only to lbd's D-Bus
 * API (dbus/org.example.LoadBalancer.xml); each command group is one
 * cmd-*.c file, output formats are in output.c, D-Bus values in value.c.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "cleanup.h"     /* the daemon's: _cleanup_, _cleanup_free_ */
#include "lbd-bus-api.h" /* the names: LBD_BUS_* */
#include "util.h"

enum output_mode { OUTPUT_TABLE, OUTPUT_TERSE, OUTPUT_JSON };

struct lbc {
        sd_bus *bus;
        enum output_mode output;
        bool color;            /* stdout is a TTY and NO_COLOR is not set */
        const char *fields;    /* -f: comma-separated, or NULL for the defaults */
        bool ask_password;     /* interactive polkit authorization allowed */
        double watch;          /* stats --watch interval in seconds, 0 = once */
        pid_t agent_pid;       /* pkttyagent we started, or 0 */
        int argc;              /* the words after the command */
        char **argv;
};

/* --- bus (bus.c) ----------------------------------------------------------- */
int bus_connect(struct lbc *c);
/* One plain sentence on stderr for a failed call of method; returns the exit code. */
int bus_report(const char *method, const sd_bus_error *e, int r);
/* Call a method of the root or another object; mutating calls may start the
 * polkit agent and allow interactive authorization. Returns an exit code. */
int bus_call(struct lbc *c, const char *path, const char *iface, const char *method,
             bool mutating, sd_bus_message **reply, const char *types, ...);
int bus_call_message(struct lbc *c, sd_bus_message *m, const char *method, bool mutating,
                     sd_bus_message **reply);
int bus_new_call(struct lbc *c, const char *path, const char *iface, const char *method,
                 sd_bus_message **ret);
char *service_path(const char *name);
char *backend_path(const char *service, const char *address);
char *link_path(const char *ifname);

/* --- polkit agent (polkit-agent.c) ------------------------------------------ */
void polkit_agent_open(struct lbc *c);
void polkit_agent_close(struct lbc *c);

/* --- command groups ------------------------------------------------------------ */
struct command {
        const char *group; /* first word */
        const char *verb;  /* second word, or NULL */
        int (*run)(struct lbc *c);
        const char *args;  /* synopsis of the arguments */
        const char *help;
};

int cmd_status(struct lbc *c);
int cmd_service_list(struct lbc *c);
int cmd_service_show(struct lbc *c);
int cmd_service_add(struct lbc *c);
int cmd_service_remove(struct lbc *c);
int cmd_service_set(struct lbc *c);
int cmd_backend_list(struct lbc *c);
int cmd_backend_show(struct lbc *c);
int cmd_backend_add(struct lbc *c);
int cmd_backend_remove(struct lbc *c);
int cmd_backend_set(struct lbc *c);
int cmd_backend_drain(struct lbc *c);
int cmd_backend_enable(struct lbc *c);
int cmd_backend_disable(struct lbc *c);
int cmd_policy_set(struct lbc *c);
int cmd_workers_set(struct lbc *c);
int cmd_workers_model(struct lbc *c);
int cmd_plugin_list(struct lbc *c);
int cmd_reload(struct lbc *c);
int cmd_check(struct lbc *c);
int cmd_failover_notify(struct lbc *c);
int cmd_link_list(struct lbc *c);
int cmd_link_show(struct lbc *c);
int cmd_link_add(struct lbc *c);
int cmd_link_modify(struct lbc *c);
int cmd_link_up(struct lbc *c);
int cmd_link_down(struct lbc *c);
int cmd_link_delete(struct lbc *c);
int cmd_stats(struct lbc *c);
int cmd_monitor(struct lbc *c);
