/* SPDX-License-Identifier: MIT */
#include "socket-file.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

static const char *path_of(const struct lbd_address *a) {
        return ((const struct sockaddr_un *)&a->sa)->sun_path;
}

int lbd_socket_file_clear(const struct lbd_address *a, const char **why) {
        const char *path = path_of(a);
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode)) {
                *why = "the path exists and is not a socket; lbd removes only stale socket files";
                return -EEXIST;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (probe < 0)
                return -errno;
        /* A non-blocking connect to a unix socket never waits: it succeeds
         * or fails with EAGAIN (queue full) when something listens, and
         * with ECONNREFUSED when nothing does. */
        int r = connect(probe, (const struct sockaddr *)&a->sa, a->len) == 0 ? 0 : errno;
        close(probe);
        if (r == 0 || r == EAGAIN) {
                *why = "another process accepts connections on that socket file";
                return -EADDRINUSE;
        }
        if (r != ECONNREFUSED)
                return -r;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        log_info("removed the stale socket file %s", path);
        return 0;
}

void lbd_socket_file_note(struct lbd_socket_file *f, const struct lbd_address *a) {
        struct stat st;
        *f = (struct lbd_socket_file){ 0 };
        if (lstat(path_of(a), &st) == 0)
                *f = (struct lbd_socket_file){ .owned = true, .dev = st.st_dev, .ino = st.st_ino };
}

void lbd_socket_file_remove(const struct lbd_socket_file *f, const struct lbd_address *a) {
        if (!f->owned)
                return;
        const char *path = path_of(a);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == f->dev &&
            st.st_ino == f->ino && unlink(path) < 0)
                log_warning_errno(errno, "cannot remove the socket file %s: %m", path);
}
