/* SPDX-License-Identifier: MIT */
#include "listeners.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "socket-file.h"

/* One bound address. Shared by the sets that listen on it. */
struct listen_socket {
        int fd;
        struct lbd_address address;
        unsigned refs;
        struct lbd_socket_file file; /* unix: the one bind() made */
};

struct lbd_listeners {
        GPtrArray *sockets; /* of struct listen_socket *, owned */
        GArray *fds;        /* of int: the sockets' fds, rebuilt on change */
};

struct lbd_listener_set {
        struct lbd_listeners *registry;
        GArray *listeners;  /* of struct lbd_listener */
        GPtrArray *sockets; /* of struct listen_socket *, one reference each */
};

static const char *unix_path(const struct lbd_address *a) {
        return ((const struct sockaddr_un *)&a->sa)->sun_path;
}

static void socket_close(struct listen_socket *s) {
        lbd_socket_file_remove(&s->file, &s->address);
        if (s->fd >= 0)
                close(s->fd);
        g_free(s);
}

static void registry_update_fds(struct lbd_listeners *l) {
        g_array_set_size(l->fds, 0);
        for (guint i = 0; i < l->sockets->len; i++) {
                const struct listen_socket *s = l->sockets->pdata[i];
                g_array_append_val(l->fds, s->fd);
        }
}

struct lbd_listeners *lbd_listeners_new(void) {
        struct lbd_listeners *l = g_new0(struct lbd_listeners, 1);
        l->sockets = g_ptr_array_new();
        l->fds = g_array_new(FALSE, FALSE, sizeof(int));
        return l;
}

void lbd_listeners_free(struct lbd_listeners *l) {
        if (!l)
                return;
        for (guint i = 0; i < l->sockets->len; i++) {
                struct listen_socket *s = l->sockets->pdata[i];
                if (s->refs)
                        log_warning("listener %s is still in use while closing all",
                                    s->address.text);
                socket_close(s);
        }
        g_ptr_array_unref(l->sockets);
        g_array_unref(l->fds);
        g_free(l);
}

size_t lbd_listeners_fds(const struct lbd_listeners *l, const int **fds) {
        *fds = (const int *)(const void *)l->fds->data;
        return l->fds->len;
}

static struct listen_socket *registry_find(const struct lbd_listeners *l,
                                           const struct lbd_address *a) {
        for (guint i = 0; i < l->sockets->len; i++) {
                struct listen_socket *s = l->sockets->pdata[i];
                if (lbd_address_equal(&s->address, a))
                        return s;
        }
        return NULL;
}

static void socket_unref(struct lbd_listeners *l, struct listen_socket *s) {
        g_assert(s->refs > 0);
        if (--s->refs > 0)
                return;
        g_ptr_array_remove(l->sockets, s);
        log_debug("closed listener %s", s->address.text);
        socket_close(s);
        registry_update_fds(l);
}

/* Open, bind and listen on a. On failure *why may be set to a static
 * explanation to use instead of strerror(). */
static int socket_open(const struct lbd_address *a, struct listen_socket **ret,
                       const char **why) {
        int family = a->sa.ss_family;
        bool is_unix = family == AF_UNIX;
        int r;

        if (is_unix) {
                r = lbd_socket_file_clear(a, why);
                if (r < 0)
                        return r;
        }

        int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int one = 1;
        if (!is_unix && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                goto fail;
        if (family == AF_INET6 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
                goto fail;
        if (bind(fd, (const struct sockaddr *)&a->sa, a->len) < 0)
                goto fail;

        struct listen_socket *s = g_new0(struct listen_socket, 1);
        s->fd = fd;
        s->address = *a;
        if (is_unix) {
                const char *path = unix_path(a);
                lbd_socket_file_note(&s->file, a);
                /* Whoever may reach the directory may connect, as with
                 * nginx's unix listeners; the umask must not decide. */
                if (chmod(path, 0666) < 0) {
                        r = -errno;
                        socket_close(s);
                        return r;
                }
        }
        if (listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                socket_close(s);
                return r;
        }
        *ret = s;
        return 0;

fail:
        r = -errno;
        close(fd);
        return r;
}

void lbd_listener_set_free(struct lbd_listener_set *set) {
        if (!set)
                return;
        for (guint i = 0; i < set->sockets->len; i++)
                socket_unref(set->registry, set->sockets->pdata[i]);
        g_ptr_array_unref(set->sockets);
        g_array_unref(set->listeners);
        g_free(set);
}

int lbd_listeners_bind(struct lbd_listeners *l, const struct lbd_config *config,
                       struct lbd_listener_set **ret) {
        struct lbd_listener_set *set = g_new0(struct lbd_listener_set, 1);
        set->registry = l;
        set->listeners = g_array_new(FALSE, FALSE, sizeof(struct lbd_listener));
        set->sockets = g_ptr_array_new();

        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *service = config->services->pdata[i];
                for (guint j = 0; j < service->listen->len; j++) {
                        const struct lbd_address *a =
                                &g_array_index(service->listen, struct lbd_address, j);
                        struct listen_socket *s = registry_find(l, a);
                        if (!s) {
                                const char *why = NULL;
                                int r = socket_open(a, &s, &why);
                                if (r < 0) {
                                        log_error("service %s: cannot listen on %s: %s",
                                                  service->name, a->text,
                                                  why ? why : strerror(-r));
                                        lbd_listener_set_free(set);
                                        return r;
                                }
                                g_ptr_array_add(l->sockets, s);
                                registry_update_fds(l);
                                log_debug("service %s: listening on %s", service->name,
                                          a->text);
                        }
                        s->refs++;
                        g_ptr_array_add(set->sockets, s);
                        struct lbd_listener listener = {
                                .fd = s->fd,
                                .address = *a,
                                .service = service,
                        };
                        g_array_append_val(set->listeners, listener);
                }
        }
        *ret = set;
        return 0;
}

const struct lbd_listener *lbd_listener_set_get(const struct lbd_listener_set *set,
                                                size_t *n) {
        *n = set->listeners->len;
        return (const struct lbd_listener *)(const void *)set->listeners->data;
}

bool lbd_listener_set_has_fd(const struct lbd_listener_set *set, int fd) {
        for (guint i = 0; i < set->listeners->len; i++)
                if (g_array_index(set->listeners, struct lbd_listener, i).fd == fd)
                        return true;
        return false;
}
