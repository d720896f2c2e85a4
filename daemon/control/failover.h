/* SPDX-License-Identifier: MIT */
/*
 * What keepalived says of this node: the state of each VRRP instance (or
 * sync group) as its notify hook reported it (lbclient failover-notify,
 * over D-Bus). lbd does not act on it: a virtual IP that moves to this
 * node finds lbd already listening (on the wildcard address, or with
 * ip_nonlocal_bind). It is recorded so that the log says when this node
 * became master or backup, and FailoverStates tells a client.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

struct lbd_failover;

struct lbd_failover *lbd_failover_new(void);
struct lbd_failover *lbd_failover_free(struct lbd_failover *f);

/* NULL when name is a VRRP instance or group name keepalived would accept
 * ([A-Za-z0-9_.-], 1..64 bytes) and state one of keepalived's (MASTER,
 * BACKUP, FAULT, STOP, DELETED); otherwise a sentence saying what is
 * wrong (g_free). */
char *lbd_failover_check(const char *name, const char *state);

/* Record name's state (checked). Returns true when it changed (the caller
 * signals); the previous state, if any, in *ret_previous (g_free). */
bool lbd_failover_set(struct lbd_failover *f, const char *name, const char *state,
                      char **ret_previous);

/* The names, sorted, and their states: parallel NULL-terminated arrays
 * (g_strfreev both). */
void lbd_failover_list(const struct lbd_failover *f, char ***ret_names, char ***ret_states);
