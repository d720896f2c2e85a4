/* SPDX-License-Identifier: MIT */
/*
 * The listening sockets, bound by the master and shared by its workers.
 *
 * One socket per address, inherited by every worker of a generation: all
 * workers accept from the same kernel queue. A worker that exits (crash,
 * timeout kill, max-requests recycling, reload) therefore loses no queued
 * connection: the others, or its replacement, accept it. This is why lbd
 * does not give each worker its own SO_REUSEPORT socket: the kernel hashes a
 * connection to one of those sockets at SYN time, and what waits in the
 * queue of a worker that dies is reset. Even spreading of connections over
 * workers is the worker models' job (EPOLLEXCLUSIVE on the shared socket).
 *
 * A registry (struct lbd_listeners) holds every socket the master has open;
 * a listener set is one configuration's view of it, in the order of the
 * services and their listen= addresses. Sets share sockets by address: a
 * set bound for a new configuration reuses the socket of every address
 * that stays, so a reload never closes a listening socket that is still
 * wanted (no refused connections while workers are replaced). A socket is
 * closed when the last set using it is freed — for a reload, once the old
 * generation's workers are gone.
 *
 * TCP: SO_REUSEADDR, IPV6_V6ONLY for IPv6 (so [::]:80 and 0.0.0.0:80 can
 * both be listened on), backlog SOMAXCONN. Unix: a stale socket file (one
 * nobody accepts on) is removed first, any other kind of file is an error;
 * the socket file is made 0666 as nginx does (access is controlled by its
 * directory) and removed again when the socket is closed, if it is still
 * the file lbd made. Every socket is non-blocking and close-on-exec.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "listener.h"

struct lbd_listeners;
struct lbd_listener_set;

struct lbd_listeners *lbd_listeners_new(void);
/* Closes every socket. All sets must have been freed. Accepts NULL. */
void lbd_listeners_free(struct lbd_listeners *l);

/* A set with a socket for every listen address of every service of
 * config, reusing open ones. On failure nothing changes (sockets opened by
 * this call are closed again), the reason is logged ("service web: cannot
 * listen on 0.0.0.0:80: Address already in use") and a negative errno is
 * returned. The set points into config, which must outlive it. */
int lbd_listeners_bind(struct lbd_listeners *l, const struct lbd_config *config,
                       struct lbd_listener_set **ret);

/* Releases the set's sockets; those no other set uses are closed. Accepts
 * NULL. */
void lbd_listener_set_free(struct lbd_listener_set *set);

const struct lbd_listener *lbd_listener_set_get(const struct lbd_listener_set *set,
                                                size_t *n);

/* Does the set use fd? (The arbiter closes the others in new workers.) */
bool lbd_listener_set_has_fd(const struct lbd_listener_set *set, int fd);

/* The fds of every open socket, for the caller to pick from; valid until
 * the next bind or free. */
size_t lbd_listeners_fds(const struct lbd_listeners *l, const int **fds);
