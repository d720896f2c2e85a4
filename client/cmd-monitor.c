/* SPDX-License-Identifier: MIT */
/*
 * monitor: lbd's signals as they happen, one line each: property changes,
 * services and backends appearing and going, backend state changes, and the
 * daemon itself starting and stopping. It subscribes with match rules (the
 * bus sends us only lbd's signals) and runs until interrupted.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "json.h"
#include "output.h"
#include "value.h"

#define LBD_SIGNALS                                                                           \
        "type='signal',sender='" LBD_BUS_NAME "',path_namespace='" LBD_BUS_PATH "'"
#define OWNER_SIGNALS                                                                         \
        "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"       \
        "member='NameOwnerChanged',arg0='" LBD_BUS_NAME "'"

/* "service web", "backend 127.0.0.1:8001 of web", "link bond0", "lbd". */
static char *describe(const char *path) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        if (!path || strcmp(path, LBD_BUS_PATH) == 0)
                return xstrdup("lbd");
        if (sd_bus_path_decode_many(path, LBD_BUS_SERVICE_PREFIX "/%/backend/%", &a, &b) > 0)
                return xasprintf("backend %s of %s", b, a);
        if (sd_bus_path_decode_many(path, LBD_BUS_SERVICE_PREFIX "/%", &a) > 0)
                return xasprintf("service %s", a);
        if (sd_bus_path_decode_many(path, LBD_BUS_LINK_PREFIX "/%", &a) > 0)
                return xasprintf("link %s", a);
        return xstrdup(path);
}

static void append(char **buf, const char *fmt_piece) {
        char *n = xasprintf("%s%s", *buf ? *buf : "", fmt_piece);
        free(*buf);
        *buf = n;
}

/* A value in a line: strings bare, lists in brackets. */
static char *value_text(const struct value *v) {
        switch (v->type) {
        case VALUE_STRING: /* object paths by what they are: "service web" */
                return strncmp(v->s, LBD_BUS_PATH "/", strlen(LBD_BUS_PATH "/")) == 0 ? describe(v->s)
                                                                              : xstrdup(v->s);
        case VALUE_UINT: return xasprintf("%" PRIu64, v->u);
        case VALUE_INT: return xasprintf("%" PRId64, v->i);
        case VALUE_BOOL: return xstrdup(v->b ? "yes" : "no");
        case VALUE_DOUBLE: return xasprintf("%g", v->d);
        case VALUE_NULL: return xstrdup("");
        case VALUE_ARRAY:
        case VALUE_DICT: {
                char *out = xstrdup("[");
                for (size_t i = 0; i < v->n; i++) {
                        _cleanup_free_ char *item = value_text(&v->items[i]);
                        _cleanup_free_ char *piece =
                                v->type == VALUE_DICT
                                        ? xasprintf("%s%s=%s", i ? ", " : "", v->items[i].key, item)
                                        : xasprintf("%s%s", i ? ", " : "", item);
                        append(&out, piece);
                }
                append(&out, "]");
                return out;
        }
        }
        return xstrdup("");
}

/* What happened, in words; *object is who it happened to. */
static char *event_text(const char *member, const char *path, const struct value *args,
                        char **object) {
        const struct value *a0 = args->n > 0 ? &args->items[0] : NULL;
        const struct value *a1 = args->n > 1 ? &args->items[1] : NULL;
        const struct value *a2 = args->n > 2 ? &args->items[2] : NULL;
        if (strcmp(member, "NameOwnerChanged") == 0) {
                *object = xstrdup("lbd");
                return xstrdup(a2 && a2->s && *a2->s ? "started" : "stopped");
        }
        if (strcmp(member, "PropertiesChanged") == 0 && a1) {
                *object = describe(path);
                char *out = NULL;
                for (size_t i = 0; a1->type == VALUE_DICT && i < a1->n; i++) {
                        _cleanup_free_ char *v = value_text(&a1->items[i]);
                        _cleanup_free_ char *piece =
                                xasprintf("%s%s=%s", out ? " " : "", a1->items[i].key, v);
                        append(&out, piece);
                }
                for (size_t i = 0; a2 && a2->type == VALUE_ARRAY && i < a2->n; i++) {
                        _cleanup_free_ char *piece = xasprintf("%s%s changed", out ? " " : "",
                                                                 a2->items[i].s ?: "");
                        append(&out, piece);
                }
                return out ? out : xstrdup("properties changed");
        }
        if (strcmp(member, "InterfacesAdded") == 0 && a0) {
                *object = describe(a0->s);
                return xstrdup("added");
        }
        if (strcmp(member, "InterfacesRemoved") == 0 && a0) {
                *object = describe(a0->s);
                return xstrdup("removed");
        }
        if (strcmp(member, "BackendStateChanged") == 0 && a2) {
                *object = describe(a0->s);
                return a2->s && *a2->s ? xasprintf("state %s: %s", a1->s ?: "?", a2->s)
                                       : xasprintf("state %s", a1->s ?: "?");
        }
        *object = describe(path);
        _cleanup_free_ char *all = value_text(args);
        return xasprintf("%s %s", member, all);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct lbc *c = userdata;
        const char *member = sd_bus_message_get_member(m) ?: "";
        const char *path = sd_bus_message_get_path(m);
        struct value args = { .type = VALUE_ARRAY };
        char type;
        while (sd_bus_message_peek_type(m, &type, NULL) > 0) {
                struct value *items = realloc(args.items, (args.n + 1) * sizeof(*items));
                if (!items)
                        oom();
                args.items = items;
                memset(&items[args.n], 0, sizeof(*items));
                if (value_read(m, &items[args.n++]) < 0)
                        break;
        }
        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        localtime_r(&tv.tv_sec, &tm);
        char when[64];
        strftime(when, sizeof when, "%H:%M:%S", &tm);
        char *with_ms = xasprintf("%s.%03ld", when, (long)tv.tv_usec / 1000);
        if (c->output == OUTPUT_JSON) {
                struct json j;
                json_init(&j, stdout);
                json_begin_object(&j);
                json_key(&j, "time");
                json_double(&j, (double)tv.tv_sec + (double)tv.tv_usec / 1e6);
                json_key(&j, "path");
                json_string(&j, path);
                json_key(&j, "interface");
                json_string(&j, sd_bus_message_get_interface(m));
                json_key(&j, "signal");
                json_string(&j, member);
                json_key(&j, "args");
                json_value(&j, &args);
                json_end_object(&j);
        } else {
                char *object = NULL;
                char *text = event_text(member, path, &args, &object);
                if (c->output == OUTPUT_TERSE) {
                        const char *fields[] = { with_ms, object, member, text };
                        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                                if (i)
                                        fputc(':', stdout);
                                terse_write(stdout, fields[i]);
                        }
                        fputc('\n', stdout);
                } else {
                        printf("%s %s%s%s: %s\n", with_ms, c->color ? ANSI_BOLD : "", object,
                               c->color ? ANSI_RESET : "", text);
                }
                free(object);
                free(text);
        }
        free(with_ms);
        value_clear(&args);
        fflush(stdout);
        return 0;
}

int cmd_monitor(struct lbc *c) {
        if (c->argc > 0)
                return usage_error("'monitor' takes no arguments");
        if (c->fields)
                return usage_error("'monitor' has no fields to select with -f");
        int r = bus_connect(c);
        if (r != EXIT_OK)
                return r;
        r = sd_bus_add_match(c->bus, NULL, LBD_SIGNALS, on_signal, c);
        if (r >= 0)
                r = sd_bus_add_match(c->bus, NULL, OWNER_SIGNALS, on_signal, c);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot subscribe to lbd's signals: %s.", strerror(-r));
        /* Subscribed first, then checked: a start in between is not missed. */
        r = bus_call(c, LBD_BUS_PATH, "org.freedesktop.DBus.Peer", "Ping", false, NULL, NULL);
        if (r != EXIT_OK)
                return r;
        fprintf(stderr, "Monitoring lbd; press Ctrl-C to stop.\n");
        for (;;) {
                r = sd_bus_process(c->bus, NULL);
                if (r < 0)
                        return fail(EXIT_NOT_RUNNING, "lost the connection to the system bus: %s.",
                                    strerror(-r));
                if (r > 0)
                        continue;
                r = sd_bus_wait(c->bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return fail(EXIT_NOT_RUNNING, "lost the connection to the system bus: %s.",
                                    strerror(-r));
        }
}
