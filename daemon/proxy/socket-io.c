/* SPDX-License-Identifier: MIT */
#include "socket-io.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* One model per worker process, set before its threads start. */
static const struct lbd_worker_io *model_io;
static void *model_io_data;

void socket_io_set(const struct lbd_worker_io *io, void *io_data) {
        model_io = io;
        model_io_data = io_data;
}

bool socket_io_owned(void) { return model_io != NULL; }

ssize_t socket_io_recv(int fd, void *buf, size_t len) {
        if (model_io)
                return model_io->recv(model_io_data, fd, buf, len);
        return recv(fd, buf, len, MSG_DONTWAIT);
}

ssize_t socket_io_send(int fd, const struct iovec *iov, int iovcnt) {
        if (model_io)
                return model_io->send(model_io_data, fd, iov, iovcnt);
        if (iovcnt == 1)
                return send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
        return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void socket_io_shutdown(int fd) {
        if (model_io)
                model_io->shutdown(model_io_data, fd);
        else
                (void)shutdown(fd, SHUT_WR);
}

void socket_io_close(int fd) {
        if (model_io)
                model_io->close(model_io_data, fd);
        else
                close(fd);
}
