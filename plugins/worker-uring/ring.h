/* SPDX-License-Identifier: MIT */
/*
 * The uring model's ring: one io_uring per worker process, its provided
 * buffer ring (what multishot receives fill: a connection holds a buffer
 * only while bytes wait in it for its session), and what each completion
 * says it is of (user_data).
 */
#pragma once

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

/* Receive buffers: RX_BUFFERS of RX_BUFFER_SIZE (4 MiB), shared by every
 * socket of the worker. The kernel takes them in ring order, so all of
 * them are touched soon under any load: they are faulted in at start, a
 * fixed cost of the worker, not one that grows with its connections. */
#define RX_BUFFERS 512u
#define RX_BUFFER_SIZE 8192u
#define RX_GROUP 0
#define RX_NO_BUFFER 0xffffu

/* What a completion is of: user_data = generation << 32 | fd << 4 | op. */
enum ring_op {
        OP_IGNORE = 0,  /* a cancel's, a close's, a shutdown's own result */
        OP_RX = 1,      /* the multishot receive of fd */
        OP_TX = 2,      /* the send of fd */
        OP_CONNECT = 3, /* the poll for fd's connect */
        OP_ACCEPT = 4,  /* multishot accept; fd: the listener's index */
        OP_QUEUE = 5,   /* multishot poll of the host's queue fd */
};

static inline uint64_t ring_data(enum ring_op op, uint32_t fd, uint32_t generation) {
        return ((uint64_t)generation << 32) | ((uint64_t)(fd & 0x0fffffffu) << 4) | op;
}
static inline enum ring_op ring_data_op(uint64_t d) { return (enum ring_op)(d & 15u); }
static inline uint32_t ring_data_fd(uint64_t d) { return (uint32_t)(d >> 4) & 0x0fffffffu; }
static inline uint32_t ring_data_generation(uint64_t d) { return (uint32_t)(d >> 32); }

struct ring {
        struct io_uring uring;
        struct io_uring_buf_ring *br;
        char *buffers;           /* RX_BUFFERS * RX_BUFFER_SIZE */
        unsigned returned;       /* buffers given back since the last publish */
        unsigned free_buffers;   /* in the kernel's hands now */
        uint64_t enters;         /* io_uring_enter() calls, for the statistics */
};

/* Set up the ring and its buffers in this process. 0, or a negative errno
 * (with what failed in *what, a static string). */
int ring_open(struct ring *r, unsigned entries, const char **what);
void ring_close(struct ring *r);
/* A submission entry; submits what is queued first when the queue is full.
 * Never NULL. */
struct io_uring_sqe *ring_sqe(struct ring *r);
/* Give receive buffer bid back to the kernel (published at the next wait). */
void ring_buffer_return(struct ring *r, uint16_t bid);
static inline char *ring_buffer(struct ring *r, uint16_t bid) {
        return r->buffers + (size_t)bid * RX_BUFFER_SIZE;
}
/* Submit what is queued and wait for one completion or timeout_ms. 0 or a
 * negative errno (-EINTR, -ETIME are not failures). */
int ring_wait(struct ring *r, unsigned timeout_ms);
