/* SPDX-License-Identifier: MIT */
/*
 * What the model needs, and since when Linux has it: io_uring itself
 * (5.1), the operations (accept, recv, send, poll, cancel, close: 5.6;
 * shutdown 5.11), a wait with a timeout in one call (EXT_ARG, 5.11), a
 * provided buffer ring (5.19) and a multishot receive that takes its
 * buffers from it (6.0). Debian bookworm's 6.1 has them all; the probe
 * tries each rather than reading the version, since a distribution may
 * have backported or disabled any of them.
 */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "ring.h"

/* Why io_uring_setup() failed, in the administrator's terms. */
static const char *setup_reason(int err) {
        switch (err) {
        case ENOSYS:
                return "this kernel has no io_uring (built without it, or older than 5.1), or "
                       "a seccomp filter hides it";
        case EPERM: {
                /* kernel.io_uring_disabled (6.6): 2 off for all, 1 only for
                 * members of kernel.io_uring_group. */
                char v = 0;
                int fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);
                if (fd >= 0) {
                        if (read(fd, &v, 1) != 1)
                                v = 0;
                        close(fd);
                }
                if (v == '2')
                        return "io_uring is disabled on this machine (sysctl "
                               "kernel.io_uring_disabled=2)";
                if (v == '1')
                        return "io_uring is allowed only to kernel.io_uring_group here (sysctl "
                               "kernel.io_uring_disabled=1)";
                return "io_uring is not permitted to this process (a seccomp filter or a "
                       "security module)";
        }
        case ENOMEM:
                return "the kernel could not allocate the ring (RLIMIT_MEMLOCK too low?)";
        default:
                return NULL;
        }
}

static int fail(const struct lbd_host *host, int err, const char *what, const char *why) {
        char text[512];
        if (why)
                snprintf(text, sizeof text, "io_uring is unavailable: %s (%s: %s)", why, what,
                         strerror(err));
        else
                snprintf(text, sizeof text, "io_uring is unavailable: %s failed: %s", what,
                         strerror(err));
        if (host->struct_size >= offsetof(struct lbd_host, init_error) + sizeof(void *) &&
            host->init_error)
                host->init_error(host, "%s", text);
        else
                host->log(host, LOG_ERR, "%s", text);
        return -err;
}

static const unsigned needed_ops[] = {
        IORING_OP_ACCEPT, IORING_OP_RECV,         IORING_OP_SEND,  IORING_OP_POLL_ADD,
        IORING_OP_ASYNC_CANCEL, IORING_OP_CLOSE, IORING_OP_SHUTDOWN,
};
static const char *const needed_names[] = {
        "accept", "recv", "send", "poll", "cancel", "close", "shutdown",
};

/* A multishot receive into the buffer ring, on a socket pair: what the
 * model does with every connection. */
static int try_multishot_recv(struct ring *r, const char **what) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
                *what = "socketpair";
                return -errno;
        }
        struct io_uring_sqe *sqe = ring_sqe(r);
        io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = RX_GROUP;
        io_uring_sqe_set_data64(sqe, 1);
        int e = io_uring_submit(&r->uring);
        if (e >= 0 && write(sv[1], "x", 1) != 1)
                e = -errno;
        struct io_uring_cqe *cqe = NULL;
        if (e >= 0)
                e = io_uring_wait_cqe(&r->uring, &cqe);
        *what = "a multishot receive into a provided buffer ring (Linux 6.0)";
        if (e >= 0) {
                if (cqe->res < 0)
                        e = cqe->res;
                else if (!(cqe->flags & IORING_CQE_F_MORE) ||
                         !(cqe->flags & IORING_CQE_F_BUFFER))
                        e = -EOPNOTSUPP;
                io_uring_cqe_seen(&r->uring, cqe);
        }
        close(sv[0]);
        close(sv[1]);
        return e < 0 ? e : 0;
}

int uring_probe(const struct lbd_host *host, void **plugin_data) {
        *plugin_data = NULL;
        struct ring r;
        const char *what = NULL;
        int e = ring_open(&r, 8, &what);
        if (e < 0)
                return fail(host, -e, what,
                            strcmp(what, "io_uring_setup") == 0 ? setup_reason(-e) : NULL);
        if (!(r.uring.features & IORING_FEAT_EXT_ARG)) {
                ring_close(&r);
                return fail(host, EOPNOTSUPP, "IORING_FEAT_EXT_ARG",
                            "the kernel cannot wait with a timeout in one call (Linux 5.11)");
        }
        struct io_uring_probe *p = io_uring_get_probe_ring(&r.uring);
        if (!p) {
                ring_close(&r);
                return fail(host, EOPNOTSUPP, "IORING_REGISTER_PROBE", NULL);
        }
        for (size_t i = 0; i < sizeof needed_ops / sizeof needed_ops[0]; i++) {
                if (!io_uring_opcode_supported(p, (int)needed_ops[i])) {
                        io_uring_free_probe(p);
                        ring_close(&r);
                        char op[64];
                        snprintf(op, sizeof op, "the %s operation", needed_names[i]);
                        return fail(host, EOPNOTSUPP, op, "the kernel lacks it");
                }
        }
        io_uring_free_probe(p);
        e = try_multishot_recv(&r, &what);
        ring_close(&r);
        if (e < 0)
                return fail(host, -e, what, NULL);
        return 0;
}
