/* SPDX-License-Identifier: MIT */
/*
 * check: is lbd serving? For keepalived's vrrp_script (docs/keepalived/):
 * exit 0 only when lbd answers on the bus, every service (or each one
 * named) has at least one backend up, and each of its listeners accepts a
 * connection; otherwise exit 1, saying why on stdout.
 *
 * failover-notify: keepalived's notify hook, with keepalived's arguments
 * (TYPE NAME STATE [PRIORITY]): tells lbd, which logs it and shows it in
 * FailoverStates.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address.h"
#include "json.h"
#include "objects.h"

#define CONNECT_TIMEOUT_MS 1000

/* Where to connect for a listen address: a wildcard is tried on loopback. */
static void loopback_for_wildcard(struct lbd_address *a) {
        if (a->sa.ss_family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;
                if (in->sin_addr.s_addr == htonl(INADDR_ANY))
                        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else if (a->sa.ss_family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->sa;
                if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
                        in6->sin6_addr = in6addr_loopback;
        }
}

/* NULL when a connection to the listen address text is accepted within
 * CONNECT_TIMEOUT_MS, else why not (malloc()ed). */
static char *listener_refuses(const char *text) {
        struct lbd_address a;
        char *reason = NULL;
        if (lbd_address_parse(text, &a, &reason) < 0)
                return reason ? reason : xstrdup("cannot parse it");
        loopback_for_wildcard(&a);
        int fd = socket(a.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return xasprintf("socket: %s", strerror(errno));
        int err = 0;
        if (connect(fd, (struct sockaddr *)&a.sa, a.len) < 0) {
                err = errno;
                if (err == EINPROGRESS) {
                        struct pollfd p = { .fd = fd, .events = POLLOUT };
                        int n = poll(&p, 1, CONNECT_TIMEOUT_MS);
                        socklen_t len = sizeof err;
                        if (n == 0)
                                err = ETIMEDOUT;
                        else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                                err = errno;
                }
        }
        close(fd);
        return err ? xasprintf("%s", strerror(err)) : NULL;
}

struct service_check {
        const char *name;
        size_t backends, up;
        char **refused; /* "ADDRESS: reason" per listener that refused */
        bool serving;
};

static void check_service(const struct objects *o, const char *path, struct service_check *sc) {
        const struct value *p = objects_props(o, path, LBD_BUS_SERVICE_INTERFACE);
        sc->name = value_str(p, "Name") ?: "?";
        sc->refused = calloc(1, sizeof(char *));
        if (!sc->refused)
                oom();
        _cleanup_(strv_freep) char **backends = value_strv(p, "Backends");
        for (char **b = backends; *b; b++) {
                const char *state = value_str(objects_props(o, *b, LBD_BUS_BACKEND_INTERFACE),
                                              "State");
                sc->backends++;
                if (state && strcmp(state, "up") == 0)
                        sc->up++;
        }
        _cleanup_(strv_freep) char **listen = value_strv(p, "Listen");
        for (char **l = listen; *l; l++) {
                _cleanup_free_ char *why = listener_refuses(*l);
                if (why) {
                        _cleanup_free_ char *line = xasprintf("%s: %s", *l, why);
                        strv_push(&sc->refused, line);
                }
        }
        sc->serving = sc->up > 0 && !sc->refused[0] && listen[0];
}

static void print_check(const struct service_check *sc) {
        if (sc->serving) {
                printf("%s: serving (%zu of %zu backends up)\n", sc->name, sc->up, sc->backends);
                return;
        }
        printf("%s: NOT serving:", sc->name);
        if (sc->up == 0)
                printf(" no backend up (%zu configured);", sc->backends);
        for (char **r = sc->refused; *r; r++)
                printf(" listener %s;", *r);
        printf("\n");
}

static void print_check_json(const struct service_check *checks, size_t n, bool serving) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_key(&j, "serving");
        json_bool(&j, serving);
        json_key(&j, "services");
        json_begin_array(&j);
        for (size_t i = 0; i < n; i++) {
                json_begin_object(&j);
                json_key(&j, "name");
                json_string(&j, checks[i].name);
                json_key(&j, "serving");
                json_bool(&j, checks[i].serving);
                json_key(&j, "backends");
                json_uint(&j, checks[i].backends);
                json_key(&j, "backends_up");
                json_uint(&j, checks[i].up);
                json_key(&j, "listeners_refusing");
                json_strv(&j, checks[i].refused);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
}

int cmd_check(struct lbc *c) {
        _cleanup_(objects_clearp) struct objects o = { 0 };
        int r = objects_load(c, &o);
        if (r != EXIT_OK)
                return r; /* lbd not running: said, and exit 5 */
        _cleanup_(strv_freep) char **services = value_strv(&o.root, "Services");
        /* The services to check: those named, each of which must exist. */
        _cleanup_(strv_freep) char **paths = calloc(1, sizeof(char *));
        if (!paths)
                oom();
        for (int i = 0; i < c->argc; i++) {
                int code = EXIT_OK;
                if (!objects_service(&o, c->argv[i], &code))
                        return code;
                _cleanup_free_ char *path = service_path(c->argv[i]);
                strv_push(&paths, path);
        }
        if (c->argc == 0)
                for (char **s = services; *s; s++)
                        strv_push(&paths, *s);

        size_t n = strv_length(paths);
        struct service_check *checks = calloc(n ? n : 1, sizeof *checks);
        if (!checks)
                oom();
        bool serving = n > 0;
        for (size_t i = 0; i < n; i++) {
                check_service(&o, paths[i], &checks[i]);
                serving = serving && checks[i].serving;
        }
        if (c->output == OUTPUT_JSON) {
                print_check_json(checks, n, serving);
        } else {
                if (n == 0)
                        printf("lbd serves no service\n");
                for (size_t i = 0; i < n; i++)
                        print_check(&checks[i]);
        }
        for (size_t i = 0; i < n; i++)
                strv_free(checks[i].refused);
        free(checks);
        return serving ? EXIT_OK : EXIT_FAILED;
}

int cmd_failover_notify(struct lbc *c) {
        /* keepalived calls: SCRIPT TYPE NAME STATE PRIORITY (TYPE is
         * INSTANCE or GROUP; PRIORITY is left out for groups). */
        if (c->argc < 3 || c->argc > 4)
                return usage_error("'failover-notify' needs TYPE NAME STATE [PRIORITY], as "
                                   "keepalived's notify passes them");
        if (strcmp(c->argv[0], "INSTANCE") != 0 && strcmp(c->argv[0], "GROUP") != 0)
                return usage_error("'failover-notify': TYPE must be INSTANCE or GROUP, not '%s'",
                                   c->argv[0]);
        return bus_call(c, LBD_BUS_PATH, LBD_BUS_INTERFACE, "ReportFailoverState", true, NULL,
                        "ss", c->argv[1], c->argv[2]);
}
