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

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes, documented in lbclient(1) and --help. */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,      /* the operation failed (or the daemon cannot do it) */
        EXIT_USAGE = 2,       /* bad command line */
        EXIT_DENIED = 3,      /* access denied by polkit */
        EXIT_NOT_FOUND = 4,   /* no such service, backend, link */
        EXIT_NOT_RUNNING = 5, /* lbd is not running, or no system bus */
};

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

/* --- util ------------------------------------------------------------------ */
void strv_free(char **v);
static inline void strv_freep(char ***p) { strv_free(*p); }
size_t strv_length(char *const *v);
char *strv_join(char *const *v, const char *sep);
int strv_push(char ***v, const char *s);
_Noreturn void oom(void);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int parse_uint(const char *key, const char *s, uint32_t min, uint32_t max, uint32_t *ret);
int parse_bool(const char *key, const char *s, bool *ret);
/* Which of words[] does s abbreviate? Exact match wins; ambiguity is a usage
 * error that lists the candidates. Returns the index, or -1 (message printed). */
int match_word(const char *what, const char *s, const char *const *words, size_t n);

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
int cmd_link_list(struct lbc *c);
int cmd_link_show(struct lbc *c);
int cmd_link_add(struct lbc *c);
int cmd_link_modify(struct lbc *c);
int cmd_link_up(struct lbc *c);
int cmd_link_down(struct lbc *c);
int cmd_link_delete(struct lbc *c);
int cmd_stats(struct lbc *c);
int cmd_monitor(struct lbc *c);
