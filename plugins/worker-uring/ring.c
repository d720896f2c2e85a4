/* SPDX-License-Identifier: MIT */
#include "ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The ring is the worker's alone (one thread), so the kernel may run
 * completions' work when the worker waits, not by interrupting it
 * (DEFER_TASKRUN, Linux 6.1); older kernels get the cooperative mode
 * (5.19), and the oldest neither. */
static int open_uring(struct io_uring *u, unsigned entries) {
        static const unsigned tries[] = {
                IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                IORING_SETUP_COOP_TASKRUN,
                0,
        };
        int r = -EINVAL;
        for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
                struct io_uring_params p = {
                        .flags = tries[i] | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
                        .cq_entries = entries * 4,
                };
                r = io_uring_queue_init_params(entries, u, &p);
                if (r != -EINVAL)
                        return r;
        }
        return r;
}

int ring_open(struct ring *r, unsigned entries, const char **what) {
        memset(r, 0, sizeof *r);
        int e = open_uring(&r->uring, entries);
        if (e < 0) {
                *what = "io_uring_setup";
                return e;
        }
        size_t ring_size = RX_BUFFERS * sizeof(struct io_uring_buf);
        void *br = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                        0);
        void *bufs = mmap(NULL, (size_t)RX_BUFFERS * RX_BUFFER_SIZE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (br == MAP_FAILED || bufs == MAP_FAILED) {
                e = -errno;
                *what = "mmap of the receive buffers";
                goto fail;
        }
        r->br = br;
        r->buffers = bufs;
        struct io_uring_buf_reg reg = {
                .ring_addr = (uintptr_t)br,
                .ring_entries = RX_BUFFERS,
                .bgid = RX_GROUP,
        };
        e = io_uring_register_buf_ring(&r->uring, &reg, 0);
        if (e < 0) {
                *what = "IORING_REGISTER_PBUF_RING";
                goto fail;
        }
        io_uring_buf_ring_init(r->br);
        for (unsigned i = 0; i < RX_BUFFERS; i++)
                io_uring_buf_ring_add(r->br, ring_buffer(r, (uint16_t)i), RX_BUFFER_SIZE,
                                      (unsigned short)i, io_uring_buf_ring_mask(RX_BUFFERS),
                                      (int)i);
        io_uring_buf_ring_advance(r->br, RX_BUFFERS);
        r->free_buffers = RX_BUFFERS;
        return 0;
fail:
        if (bufs != MAP_FAILED)
                munmap(bufs, (size_t)RX_BUFFERS * RX_BUFFER_SIZE);
        if (br != MAP_FAILED)
                munmap(br, ring_size);
        r->br = NULL;
        r->buffers = NULL;
        io_uring_queue_exit(&r->uring);
        return e;
}

void ring_close(struct ring *r) {
        io_uring_queue_exit(&r->uring); /* cancels what is under way */
        if (r->buffers)
                munmap(r->buffers, (size_t)RX_BUFFERS * RX_BUFFER_SIZE);
        if (r->br)
                munmap(r->br, RX_BUFFERS * sizeof(struct io_uring_buf));
        r->buffers = NULL;
        r->br = NULL;
}

struct io_uring_sqe *ring_sqe(struct ring *r) {
        for (;;) {
                struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
                if (sqe)
                        return sqe;
                r->enters++;
                (void)io_uring_submit(&r->uring); /* full: make room */
        }
}

void ring_buffer_return(struct ring *r, uint16_t bid) {
        io_uring_buf_ring_add(r->br, ring_buffer(r, bid), RX_BUFFER_SIZE, bid,
                              io_uring_buf_ring_mask(RX_BUFFERS), (int)r->returned);
        r->returned++;
        r->free_buffers++;
}

int ring_wait(struct ring *r, unsigned timeout_ms) {
        if (r->returned) {
                io_uring_buf_ring_advance(r->br, (int)r->returned);
                r->returned = 0;
        }
        struct __kernel_timespec ts = {
                .tv_sec = timeout_ms / 1000,
                .tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
        };
        struct io_uring_cqe *cqe;
        r->enters++;
        int e = io_uring_submit_and_wait_timeout(&r->uring, &cqe, 1, &ts, NULL);
        return e < 0 ? e : 0;
}
