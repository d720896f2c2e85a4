/* SPDX-License-Identifier: MIT */
/*
 * Received bytes wait in the ring's buffers, chained per fd, until the
 * session reads them (a copy); when more than RX_HOLD wait, the receive is
 * cancelled until the session has read half, so that one slow reader
 * cannot take every buffer of the worker. Sent bytes are copied into a
 * buffer of the fd's and given to the kernel one send at a time (two sends
 * of one stream under way could be taken out of order); what the session
 * sends meanwhile waits in a second buffer, up to TX_MAX in all, after
 * which a send is short and WRITE is reported once half is out. A close or
 * shutdown waits for the fd's sends: the number stays open until then, so
 * no new file takes it while the kernel still sends the old one's bytes.
 *
 * A completion carries its fd's generation, raised whenever the fd number
 * becomes another file: one for a file closed since is dropped (its
 * buffer, if it has one, goes back).
 */
#include "sockets.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define TX_MAX (64u * 1024u)
#define RX_HOLD (64u * 1024u)
#define TXBUF_MIN 4096u
#define TXBUF_CACHE 256u

struct txbuf {
        uint32_t cap, start, end;
        char data[];
};

enum {
        F_OPEN = 1u << 0,
        F_RX_ARMED = 1u << 1,    /* a multishot receive is under way */
        F_RX_END = 1u << 2,      /* the peer's end or an error came */
        F_CONNECTING = 1u << 3,  /* the connect poll is under way */
        F_CLOSING = 1u << 4,     /* closed by the engine; waits for its sends */
        F_SHUT = 1u << 5,        /* shutdown asked; waits for its sends */
        F_WANT_WRITE = 1u << 6,  /* a send was short: report room */
        F_RX_PAUSED = 1u << 7,   /* receive cancelled: RX_HOLD bytes wait */
        F_RX_STARVED = 1u << 8,  /* receive ended for want of buffers */
        F_CHECK_IDLE = 1u << 9,  /* detached with bytes waiting */
};

struct fd_state {
        void *owner;              /* the loop's connection, NULL when idle */
        struct txbuf *tx_kernel;  /* the send under way */
        struct txbuf *tx_next;    /* sent by the session since */
        uint32_t generation;
        uint32_t rx_bytes;
        uint16_t flags;
        uint16_t rx_head, rx_tail, rx_off; /* the chain of buffers, and how far read */
        uint8_t which;
        uint8_t rx_err, tx_err;   /* errno, 0 if none */
};

struct sockets {
        struct ring *ring;
        const struct sockets_hooks *hooks;
        void *loop;
        struct fd_state *fds;
        size_t n_fds;
        uint16_t next[RX_BUFFERS];
        uint16_t len[RX_BUFFERS];
        int *later; /* fds to look at after the batch (starved, detached with bytes) */
        size_t n_later, cap_later;
        struct txbuf *cache[TXBUF_CACHE];
        unsigned n_cache;
        unsigned sending;
};

static struct fd_state *state_of(struct sockets *s, int fd) {
        if (fd < 0)
                return NULL;
        if ((size_t)fd < s->n_fds)
                return &s->fds[fd];
        size_t n = s->n_fds ? s->n_fds : 1024;
        while (n <= (size_t)fd)
                n *= 2;
        struct fd_state *f = realloc(s->fds, n * sizeof(*f));
        if (!f)
                return NULL;
        memset(f + s->n_fds, 0, (n - s->n_fds) * sizeof(*f));
        s->fds = f;
        s->n_fds = n;
        return &f[fd];
}

static struct fd_state *known(struct sockets *s, int fd) {
        if (fd < 0 || (size_t)fd >= s->n_fds || !(s->fds[fd].flags & F_OPEN))
                return NULL;
        return &s->fds[fd];
}

/* The first sight of a file under this number. */
static struct fd_state *open_fd(struct sockets *s, int fd) {
        struct fd_state *st = state_of(s, fd);
        if (!st)
                return NULL;
        if (st->flags & F_OPEN)
                return st;
        uint32_t generation = st->generation + 1;
        *st = (struct fd_state){
                .generation = generation,
                .flags = F_OPEN,
                .rx_head = RX_NO_BUFFER,
                .rx_tail = RX_NO_BUFFER,
        };
        return st;
}

static void later(struct sockets *s, int fd) {
        if (s->n_later == s->cap_later) {
                size_t n = s->cap_later ? s->cap_later * 2 : 64;
                int *l = realloc(s->later, n * sizeof(*l));
                if (!l)
                        return;
                s->later = l;
                s->cap_later = n;
        }
        s->later[s->n_later++] = fd;
}

static void report(struct sockets *s, int fd, struct fd_state *st, uint32_t events) {
        if (st->owner)
                s->hooks->ready(s->loop, st->owner, st->which, events);
        else if (!(st->flags & F_CLOSING) && (events & (LBD_READY_READ | LBD_READY_HUP)))
                s->hooks->idle_closed(s->loop, fd);
}

/* ---- receiving ---------------------------------------------------------- */

static void arm_rx(struct sockets *s, int fd, struct fd_state *st) {
        if (st->flags & (F_RX_ARMED | F_RX_END | F_CLOSING))
                return;
        struct io_uring_sqe *sqe = ring_sqe(s->ring);
        io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = RX_GROUP;
        io_uring_sqe_set_data64(sqe, ring_data(OP_RX, (uint32_t)fd, st->generation));
        st->flags = (uint16_t)((st->flags | F_RX_ARMED) & ~(F_RX_PAUSED | F_RX_STARVED));
}

static void cancel(struct sockets *s, enum ring_op op, int fd, uint32_t generation) {
        struct io_uring_sqe *sqe = ring_sqe(s->ring);
        io_uring_prep_cancel64(sqe, ring_data(op, (uint32_t)fd, generation), 0);
        io_uring_sqe_set_data64(sqe, ring_data(OP_IGNORE, 0, 0));
}

static void rx_release(struct sockets *s, struct fd_state *st) {
        while (st->rx_head != RX_NO_BUFFER) {
                uint16_t b = st->rx_head;
                st->rx_head = s->next[b];
                ring_buffer_return(s->ring, b);
        }
        st->rx_tail = RX_NO_BUFFER;
        st->rx_off = 0;
        st->rx_bytes = 0;
}

static void rx_complete(struct sockets *s, int fd, struct fd_state *st,
                        const struct io_uring_cqe *cqe) {
        bool more = cqe->flags & IORING_CQE_F_MORE;
        if (!more)
                st->flags &= (uint16_t)~F_RX_ARMED;
        if (cqe->res > 0) {
                uint16_t b = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
                if (!st->owner) {
                        /* Bytes on an idle upstream connection: out of turn. */
                        ring_buffer_return(s->ring, b);
                        report(s, fd, st, LBD_READY_HUP);
                        return;
                }
                s->next[b] = RX_NO_BUFFER;
                s->len[b] = (uint16_t)cqe->res;
                if (st->rx_tail == RX_NO_BUFFER)
                        st->rx_head = b;
                else
                        s->next[st->rx_tail] = b;
                st->rx_tail = b;
                st->rx_bytes += (uint32_t)cqe->res;
                if (st->rx_bytes >= RX_HOLD && (st->flags & F_RX_ARMED) &&
                    !(st->flags & F_RX_PAUSED)) {
                        cancel(s, OP_RX, fd, st->generation);
                        st->flags |= F_RX_PAUSED;
                }
                if (!more && !(st->flags & F_RX_PAUSED))
                        arm_rx(s, fd, st); /* ended early (the CQ overflowed): go on */
                report(s, fd, st, LBD_READY_READ);
                return;
        }
        if (cqe->res == -ENOBUFS) {
                st->flags |= F_RX_STARVED;
                later(s, fd);
                return;
        }
        if (cqe->res == -ECANCELED) {
                if ((st->flags & F_RX_PAUSED) && st->rx_bytes < RX_HOLD / 2)
                        arm_rx(s, fd, st); /* read meanwhile */
                return;
        }
        st->flags |= F_RX_END;
        st->rx_err = (uint8_t)(cqe->res < 0 ? -cqe->res : 0);
        report(s, fd, st, LBD_READY_HUP);
}

static ssize_t io_recv(void *data, int fd, void *buf, size_t len) {
        struct sockets *s = data;
        struct fd_state *st = known(s, fd);
        if (!st) {
                /* Not seen yet (a connect that succeeded at once): nothing
                 * has been received for it; its wait will arm it. */
                if (!open_fd(s, fd)) {
                        errno = ENOMEM;
                        return -1;
                }
                errno = EAGAIN;
                return -1;
        }
        size_t n = 0;
        while (n < len && st->rx_head != RX_NO_BUFFER) {
                uint16_t b = st->rx_head;
                size_t part = s->len[b] - st->rx_off;
                if (part > len - n)
                        part = len - n;
                memcpy((char *)buf + n, ring_buffer(s->ring, b) + st->rx_off, part);
                n += part;
                st->rx_off = (uint16_t)(st->rx_off + part);
                if (st->rx_off == s->len[b]) {
                        st->rx_head = s->next[b];
                        if (st->rx_head == RX_NO_BUFFER)
                                st->rx_tail = RX_NO_BUFFER;
                        st->rx_off = 0;
                        ring_buffer_return(s->ring, b);
                }
        }
        st->rx_bytes -= (uint32_t)n;
        if ((st->flags & F_RX_PAUSED) && !(st->flags & F_RX_ARMED) &&
            st->rx_bytes < RX_HOLD / 2)
                arm_rx(s, fd, st);
        if (n > 0)
                return (ssize_t)n;
        if (st->flags & F_RX_END) {
                if (st->rx_err) {
                        errno = st->rx_err;
                        st->rx_err = 0;
                        return -1;
                }
                return 0;
        }
        errno = EAGAIN;
        return -1;
}

/* ---- sending ------------------------------------------------------------ */

static struct txbuf *txbuf_get(struct sockets *s, size_t want) {
        if (want <= TXBUF_MIN && s->n_cache) {
                struct txbuf *b = s->cache[--s->n_cache];
                b->start = b->end = 0;
                return b;
        }
        size_t cap = want > TXBUF_MIN ? want : TXBUF_MIN;
        struct txbuf *b = malloc(sizeof(*b) + cap);
        if (b)
                *b = (struct txbuf){ .cap = (uint32_t)cap };
        return b;
}

static void txbuf_put(struct sockets *s, struct txbuf *b) {
        if (!b)
                return;
        if (b->cap == TXBUF_MIN && s->n_cache < TXBUF_CACHE)
                s->cache[s->n_cache++] = b;
        else
                free(b);
}

static uint32_t tx_held(const struct fd_state *st) {
        return (st->tx_kernel ? st->tx_kernel->end - st->tx_kernel->start : 0) +
               (st->tx_next ? st->tx_next->end - st->tx_next->start : 0);
}

static void submit_send(struct sockets *s, int fd, struct fd_state *st) {
        struct txbuf *b = st->tx_kernel;
        struct io_uring_sqe *sqe = ring_sqe(s->ring);
        io_uring_prep_send(sqe, fd, b->data + b->start, b->end - b->start,
                           MSG_NOSIGNAL | MSG_WAITALL);
        io_uring_sqe_set_data64(sqe, ring_data(OP_TX, (uint32_t)fd, st->generation));
        s->sending++;
}

static void finish_close(struct sockets *s, int fd, struct fd_state *st) {
        struct io_uring_sqe *sqe = ring_sqe(s->ring);
        io_uring_prep_close(sqe, fd);
        io_uring_sqe_set_data64(sqe, ring_data(OP_IGNORE, 0, 0));
        txbuf_put(s, st->tx_next);
        st->tx_next = NULL;
        st->owner = NULL;
        st->flags = 0; /* the generation goes up with the next file */
}

/* A system call, not IORING_OP_SHUTDOWN: the ring always runs a shutdown
 * in its worker threads, which look the fd number up only then, so one
 * queued just before a close could run after it, on the next socket to
 * get that number (a fresh upstream connection shut before its request
 * went out: the backend closed it, and the client got a 502, about once
 * in 20 runs of test-http-framing under load). At most once per
 * connection. */
static void do_shutdown(int fd) {
        (void)shutdown(fd, SHUT_WR);
}

/* All that was sent for fd is out, or failed: what waited for it. */
static void tx_drained(struct sockets *s, int fd, struct fd_state *st) {
        if (st->flags & F_CLOSING) {
                finish_close(s, fd, st);
                return;
        }
        if (st->flags & F_SHUT) {
                st->flags &= (uint16_t)~F_SHUT;
                if (!st->tx_err)
                        do_shutdown(fd);
        }
}

static void tx_complete(struct sockets *s, int fd, struct fd_state *st, int res) {
        s->sending--;
        struct txbuf *b = st->tx_kernel;
        if (!b)
                return;
        if (res > 0) {
                b->start += (uint32_t)res;
                if (b->start < b->end) {
                        submit_send(s, fd, st); /* the rest */
                        return;
                }
                txbuf_put(s, b);
                st->tx_kernel = NULL;
                if (st->tx_next) {
                        st->tx_kernel = st->tx_next;
                        st->tx_next = NULL;
                        submit_send(s, fd, st);
                }
        } else {
                st->tx_err = (uint8_t)(res < 0 ? -res : EPIPE);
                txbuf_put(s, b);
                txbuf_put(s, st->tx_next);
                st->tx_kernel = st->tx_next = NULL;
        }
        uint32_t events = 0;
        if (st->tx_err)
                events = LBD_READY_WRITE | LBD_READY_HUP;
        else if ((st->flags & F_WANT_WRITE) && tx_held(st) <= TX_MAX / 2)
                events = LBD_READY_WRITE;
        if (events)
                st->flags &= (uint16_t)~F_WANT_WRITE;
        if (!st->tx_kernel)
                tx_drained(s, fd, st);
        if (events && (st->flags & F_OPEN) && st->owner)
                report(s, fd, st, events);
}

static ssize_t io_send(void *data, int fd, const struct iovec *iov, int iovcnt) {
        struct sockets *s = data;
        struct fd_state *st = known(s, fd);
        if (!st && !(st = open_fd(s, fd))) {
                errno = ENOMEM;
                return -1;
        }
        if (st->tx_err) {
                errno = st->tx_err;
                return -1;
        }
        if (st->flags & (F_CLOSING | F_SHUT)) {
                errno = EPIPE;
                return -1;
        }
        size_t total = 0;
        for (int i = 0; i < iovcnt; i++)
                total += iov[i].iov_len;
        uint32_t held = tx_held(st);
        size_t take = held < TX_MAX ? TX_MAX - held : 0;
        if (take > total)
                take = total;
        if (take == 0) {
                st->flags |= F_WANT_WRITE;
                errno = EAGAIN;
                return total ? -1 : 0;
        }
        struct txbuf *b = st->tx_next;
        if (!b) {
                b = txbuf_get(s, take);
        } else if (b->cap - b->end < take) {
                size_t cap = (size_t)b->end + take;
                if (cap < 2u * b->cap)
                        cap = 2u * b->cap;
                struct txbuf *g = realloc(b, sizeof(*b) + cap);
                if (g)
                        g->cap = (uint32_t)cap;
                b = g;
        }
        if (!b) {
                errno = ENOMEM;
                return -1;
        }
        st->tx_next = b;
        size_t left = take;
        for (int i = 0; i < iovcnt && left; i++) {
                size_t part = iov[i].iov_len < left ? iov[i].iov_len : left;
                memcpy(b->data + b->end, iov[i].iov_base, part);
                b->end += (uint32_t)part;
                left -= part;
        }
        if (take < total)
                st->flags |= F_WANT_WRITE;
        if (!st->tx_kernel) {
                st->tx_kernel = st->tx_next;
                st->tx_next = NULL;
                submit_send(s, fd, st);
        }
        return (ssize_t)take;
}

static void io_shutdown(void *data, int fd) {
        struct sockets *s = data;
        struct fd_state *st = known(s, fd);
        if (!st) {
                (void)shutdown(fd, SHUT_WR);
                return;
        }
        if (st->tx_kernel)
                st->flags |= F_SHUT;
        else
                do_shutdown(fd);
}

static void io_close(void *data, int fd) {
        struct sockets *s = data;
        struct fd_state *st = known(s, fd);
        if (!st || (st->flags & F_CLOSING)) {
                if (!st)
                        close(fd); /* never seen: nothing of it is in the ring */
                return;
        }
        st->owner = NULL;
        rx_release(s, st);
        if (st->flags & F_RX_ARMED)
                cancel(s, OP_RX, fd, st->generation);
        if (st->flags & F_CONNECTING)
                cancel(s, OP_CONNECT, fd, st->generation);
        st->flags |= F_CLOSING;
        if (!st->tx_kernel)
                finish_close(s, fd, st);
}

const struct lbd_worker_io sockets_io = {
        .struct_size = sizeof(struct lbd_worker_io),
        .recv = io_recv,
        .send = io_send,
        .shutdown = io_shutdown,
        .close = io_close,
};

/* ---- what the loop tells ----------------------------------------------- */

void sockets_watch_new(struct sockets *s, int fd, void *owner, unsigned which) {
        struct fd_state *st = open_fd(s, fd);
        if (!st)
                return; /* cannot watch it: the session's timeout ends it */
        st->owner = owner;
        st->which = (uint8_t)which;
        if (which == 0) {
                arm_rx(s, fd, st);
                return;
        }
        /* An upstream connection: receive once connected, so that a failed
         * connect's error stays in SO_ERROR for the engine to read. */
        if (st->flags & (F_CONNECTING | F_RX_ARMED | F_RX_END))
                return;
        struct io_uring_sqe *sqe = ring_sqe(s->ring);
        io_uring_prep_poll_add(sqe, fd, POLLOUT);
        io_uring_sqe_set_data64(sqe, ring_data(OP_CONNECT, (uint32_t)fd, st->generation));
        st->flags |= F_CONNECTING;
}

void sockets_watch_from_idle(struct sockets *s, int fd, void *owner, unsigned which) {
        struct fd_state *st = known(s, fd);
        if (!st)
                return;
        st->owner = owner;
        st->which = (uint8_t)which;
}

void sockets_detach(struct sockets *s, int fd) {
        struct fd_state *st = known(s, fd);
        if (!st)
                return;
        st->owner = NULL;
        if (st->rx_bytes || (st->flags & F_RX_END)) {
                /* Bytes out of turn: once the engine has pooled it, it is
                 * told to close it. */
                st->flags |= F_CHECK_IDLE;
                later(s, fd);
        }
}

static void connect_complete(struct sockets *s, int fd, struct fd_state *st, int res) {
        st->flags &= (uint16_t)~F_CONNECTING;
        if (res < 0)
                return; /* cancelled: closed meanwhile */
        uint32_t events = LBD_READY_WRITE;
        if (res & (POLLERR | POLLHUP))
                events |= LBD_READY_HUP;
        else
                arm_rx(s, fd, st);
        report(s, fd, st, events);
}

void sockets_complete(struct sockets *s, const struct io_uring_cqe *cqe) {
        enum ring_op op = ring_data_op(cqe->user_data);
        int fd = (int)ring_data_fd(cqe->user_data);
        if (op == OP_RX && (cqe->flags & IORING_CQE_F_BUFFER))
                s->ring->free_buffers--;
        struct fd_state *st = known(s, fd);
        if (!st || st->generation != ring_data_generation(cqe->user_data)) {
                /* Of a file closed since. */
                if (op == OP_RX && (cqe->flags & IORING_CQE_F_BUFFER))
                        ring_buffer_return(s->ring,
                                           (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
                if (op == OP_TX)
                        s->sending--;
                return;
        }
        if (op == OP_RX)
                rx_complete(s, fd, st, cqe);
        else if (op == OP_TX)
                tx_complete(s, fd, st, cqe->res);
        else if (op == OP_CONNECT)
                connect_complete(s, fd, st, cqe->res);
}

void sockets_after_batch(struct sockets *s) {
        size_t n = s->n_later, kept = 0;
        s->n_later = 0;
        bool buffers = s->ring->free_buffers >= RX_BUFFERS / 8;
        for (size_t i = 0; i < n; i++) {
                int fd = s->later[i];
                struct fd_state *st = known(s, fd);
                if (!st)
                        continue;
                if (st->flags & F_CHECK_IDLE) {
                        st->flags &= (uint16_t)~F_CHECK_IDLE;
                        if (!st->owner && !(st->flags & F_CLOSING))
                                s->hooks->idle_closed(s->loop, fd);
                        continue;
                }
                if (!(st->flags & F_RX_STARVED))
                        continue;
                if (buffers)
                        arm_rx(s, fd, st);
                else
                        s->later[kept++] = fd;
        }
        s->n_later = kept; /* nothing above adds to the list */
}

unsigned sockets_sending(const struct sockets *s) { return s->sending; }

struct sockets *sockets_new(struct ring *ring, const struct sockets_hooks *hooks, void *loop) {
        struct sockets *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->ring = ring;
        s->hooks = hooks;
        s->loop = loop;
        return s;
}

void sockets_free(struct sockets *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_fds; i++) {
                free(s->fds[i].tx_kernel);
                free(s->fds[i].tx_next);
        }
        for (unsigned i = 0; i < s->n_cache; i++)
                free(s->cache[i]);
        free(s->fds);
        free(s->later);
        free(s);
}
