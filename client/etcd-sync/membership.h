/* SPDX-License-Identifier: MIT */
/*
 * Backend membership as etcd holds it, and what lbd must do to match it.
 *
 * Key layout, under the configured prefix P (default "/lbd/"):
 *     P services/SERVICE/backends/ID  ->  {"address": "10.0.0.21:8000",
 *                                          "weight": 2, ...}
 * ID is the registrant's own name (a host name, say); a backend that
 * registers itself puts its key with a lease, so that it leaves the pool
 * when its lease expires. The value is a JSON object: "address" (required,
 * as lbd's backends=), "weight" (1..1000), "max_fails" (0..1000),
 * "fail_timeout" (1..86400 s), "max_conns" (0..1000000), "slow_start"
 * (0..3600 s), "backup" and "drain" (booleans). Anything else, or a value
 * out of range, makes the whole value bad: it is logged with its key and
 * skipped (the key keeps what it had before, if anything), never applied
 * in part.
 *
 * Conflicts: etcd adds backends only to services lbd already has (from
 * its configuration files). A backend whose address lbd has from anywhere
 * else (the files, lbclient) stays as it is: the sync changes only the
 * backends it added (their Origin is the sync's). Two keys with one
 * address in one service: the first key (in byte order) counts.
 */
#pragma once

#include <glib.h>

typedef struct {
        char *key; /* the etcd key */
        char *service;
        char *address; /* canonical, as lbd shows it */
        guint weight, max_fails, fail_timeout, max_conns, slow_start;
        gboolean backup, drain;
} LbdMember;

void lbd_member_free(LbdMember *m);
LbdMember *lbd_member_copy(const LbdMember *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbdMember, lbd_member_free)

/* key (not NUL-terminated: etcd's bytes) under prefix with value: a
 * member, or NULL with *error saying what is wrong with it (g_free). A key
 * outside the layout is an error too. */
LbdMember *lbd_member_parse(const char *prefix, const char *key, gsize key_len, const char *value,
                            gsize value_len, char **error);

/* What lbd has of a service's backend, as the sync sees it. */
typedef struct {
        char *path; /* its object */
        char *service, *address, *origin, *state;
        guint weight, max_fails, fail_timeout, max_conns, slow_start;
        gboolean backup;
} LbdCurrent;

void lbd_current_free(LbdCurrent *c);

typedef enum {
        LBD_OP_ADD,        /* AddBackend with every option and the Origin */
        LBD_OP_REMOVE,     /* RemoveBackend */
        LBD_OP_SET_WEIGHT, /* Backend.SetWeight */
        LBD_OP_DRAIN,      /* Backend.Drain */
        LBD_OP_ENABLE,     /* Backend.Enable (undo a drain) */
} LbdOpKind;

typedef struct {
        LbdOpKind kind;
        const LbdMember *member;   /* ADD, SET_WEIGHT, DRAIN, ENABLE: the wanted */
        const LbdCurrent *current; /* REMOVE, SET_WEIGHT, DRAIN, ENABLE: lbd's */
} LbdOp;

/* Why a member is not applied: its service is not in lbd, or lbd has its
 * address from elsewhere, or an earlier key has it. */
typedef struct {
        const LbdMember *member;
        char *why; /* g_free */
} LbdSkip;

/* The operations that make lbd's backends of origin match members (by
 * key, any order), given services (lbd's service names) and current (every
 * backend lbd has, of any origin). ops: LbdOp; skips: LbdSkip (free
 * their why). Pointers refer into members and current. A member whose
 * options other than weight and drain differ from lbd's is removed and
 * added again (the API changes only the weight and the state in place). */
void lbd_membership_diff(GPtrArray *members, const char *const *services, GPtrArray *current,
                         const char *origin, GArray *ops, GArray *skips);
