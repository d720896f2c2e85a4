/* SPDX-License-Identifier: MIT */
/* See upstream-pool.h. */
#include "upstream-pool.h"

#include "socket-io.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* fd numbers indexed at most (an unlimited or huge RLIMIT_NOFILE). */
#define FDS_MAX (1u << 24)

struct entry {
        uint32_t slot;
        int fd;
        uint64_t generation;
        uint64_t since_ms;
        int32_t next, prev;         /* in the bucket; -1 ends */
        int32_t newer, older;       /* age list; -1 ends */
};

struct pool {
        struct entry *entries; /* cap of them, allocated on first put */
        int32_t *bucket; /* first entry + 1; 0: empty; mask + 1 of them, >= cap */
        uint32_t mask;
        uint32_t cap, used, high;
        int32_t free_list;     /* -1: none */
        int32_t newest, oldest;
        /* fd -> entry + 1 (0: not here), for upstream_pool_event(); nfds
         * of them (the fd limit), allocated with the entries. */
        int32_t *by_fd;
        uint32_t nfds;
};

static _Thread_local struct pool *pool;
/* Set once at the worker's start, read-only after. */
static unsigned pool_threads = 1;

void upstream_pool_set_threads(unsigned threads) { pool_threads = threads ? threads : 1; }

static struct pool *pool_get(void) {
        if (pool)
                return pool;
        struct pool *p = calloc(1, sizeof *p);
        if (!p)
                return NULL;
        /* The fd limit bounds both the pool and its index by fd. */
        struct rlimit rl;
        uint64_t fds = FDS_MAX;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < FDS_MAX)
                fds = rl.rlim_cur;
        uint64_t cap = UPSTREAM_POOL_MAX, share = fds / 4 / pool_threads;
        if (share < cap)
                cap = share < 16 ? 16 : share;
        /* malloc, not calloc: only the entries used are touched. */
        p->entries = malloc(cap * sizeof(struct entry));
        p->nfds = (uint32_t)fds;
        p->by_fd = calloc(p->nfds, sizeof(int32_t)); /* untouched pages cost nothing */
        /* Buckets sized by the cap: a thread model's small pools stay small. */
        uint32_t buckets = 16;
        while (buckets < cap)
                buckets *= 2;
        p->mask = buckets - 1;
        p->bucket = calloc(buckets, sizeof(int32_t));
        if (!p->entries || !p->by_fd || !p->bucket) {
                free(p->entries);
                free(p->by_fd);
                free(p->bucket);
                free(p);
                return NULL;
        }
        p->cap = (uint32_t)cap;
        p->free_list = p->newest = p->oldest = -1;
        pool = p;
        return p;
}

static uint32_t bucket_of(const struct pool *p, uint32_t slot) {
        return (slot * 2654435761u) & p->mask;
}

static void unlink_entry(struct pool *p, int32_t i) {
        struct entry *e = &p->entries[i];
        if ((uint32_t)e->fd < p->nfds)
                p->by_fd[e->fd] = 0;
        if (e->prev >= 0)
                p->entries[e->prev].next = e->next;
        else
                p->bucket[bucket_of(p, e->slot)] = e->next + 1;
        if (e->next >= 0)
                p->entries[e->next].prev = e->prev;
        if (e->newer >= 0)
                p->entries[e->newer].older = e->older;
        else
                p->newest = e->older;
        if (e->older >= 0)
                p->entries[e->older].newer = e->newer;
        else
                p->oldest = e->newer;
        e->next = p->free_list;
        p->free_list = i;
        p->used--;
}

/* Close what sat idle too long (oldest first: stops at the first young). */
static void expire(struct pool *p, uint64_t now) {
        while (p->oldest >= 0 && now - p->entries[p->oldest].since_ms > UPSTREAM_POOL_MAX_IDLE_MS) {
                int32_t i = p->oldest;
                socket_io_close(p->entries[i].fd);
                unlink_entry(p, i);
        }
}

static bool peek_empty(int fd) {
        char c;
        ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void upstream_pool_event(int fd, enum upstream_pool_news news) {
        struct pool *p = pool;
        if (!p || fd < 0 || (uint32_t)fd >= p->nfds || !p->by_fd[fd] ||
            news == UPSTREAM_POOL_NOTHING)
                return;
        /* Readable alone may be an edge of bytes that the session read
         * already (they came while it read): look, unless the model holds
         * the bytes (then it reports only what came while idle). */
        if (news == UPSTREAM_POOL_READABLE && !socket_io_owned() && peek_empty(fd))
                return;
        int32_t i = p->by_fd[fd] - 1;
        socket_io_close(fd);
        unlink_entry(p, i);
}

int upstream_pool_take(uint32_t slot, uint64_t generation, uint64_t now, bool watched) {
        struct pool *p = pool;
        if (!p || p->used == 0)
                return -1;
        expire(p, now);
        int32_t i = p->bucket[bucket_of(p, slot)] - 1;
        while (i >= 0) {
                struct entry *e = &p->entries[i];
                int32_t next = e->next;
                if (e->slot != slot) {
                        i = next;
                        continue;
                }
                int fd = e->fd;
                bool same = e->generation == generation;
                unlink_entry(p, i);
                if (same && (watched || peek_empty(fd)))
                        return fd;
                socket_io_close(fd); /* closed (0), reset, talking out of turn, or another backend's */
                i = next;
        }
        return -1;
}

void upstream_pool_put(uint32_t slot, uint64_t generation, int fd, uint64_t now) {
        struct pool *p = pool_get();
        if (!p) {
                socket_io_close(fd);
                return;
        }
        expire(p, now);
        if (p->used == p->cap) {
                /* Full: the oldest goes. */
                int32_t o = p->oldest;
                socket_io_close(p->entries[o].fd);
                unlink_entry(p, o);
        }
        int32_t i;
        if (p->free_list >= 0) {
                i = p->free_list;
                p->free_list = p->entries[i].next;
        } else {
                i = (int32_t)p->high++;
        }
        uint32_t b = bucket_of(p, slot);
        int32_t head = p->bucket[b] - 1;
        p->entries[i] = (struct entry){
                .slot = slot,
                .fd = fd,
                .generation = generation,
                .since_ms = now,
                .next = head,
                .prev = -1,
                .newer = -1,
                .older = p->newest,
        };
        if ((uint32_t)fd < p->nfds)
                p->by_fd[fd] = i + 1;
        if (head >= 0)
                p->entries[head].prev = i;
        p->bucket[b] = i + 1;
        if (p->newest >= 0)
                p->entries[p->newest].newer = i;
        p->newest = i;
        if (p->oldest < 0)
                p->oldest = i;
        p->used++;
}
