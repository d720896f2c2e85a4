/* SPDX-License-Identifier: MIT */
/*
 * etcd's v3 API through its JSON gateway (POST /v3/kv/range, /v3/watch),
 * over HTTP with libsoup: no gRPC library. One prefix is followed:
 *
 *   connect: a full read of the prefix (its revision R) from one endpoint,
 *            then a watch from R + 1 on the same endpoint;
 *   follow:  the watch's events, and every PROBE_INTERVAL a linearizable
 *            read (it needs the cluster's quorum: a member cut off from the
 *            others fails it) within PROBE_TIMEOUT;
 *   failure: of the read, the watch or a probe: the next endpoint, after a
 *            back-off while none answers; a watch compacted away: a full
 *            read again.
 *
 * The owner hears of a full read (snapshot), of events, and of the
 * connection coming and going, through hooks.
 */
#pragma once

#include <glib.h>

typedef struct {
        char *key, *value; /* etcd's bytes, NUL-terminated for convenience */
        gsize key_len, value_len;
        gboolean deleted; /* a DELETE event (value empty) */
} LbdKv;

void lbd_kv_free(LbdKv *kv);

typedef struct {
        /* The whole prefix at revision (kvs: LbdKv). */
        void (*snapshot)(GPtrArray *kvs, gint64 revision, gpointer data);
        /* Changes after the snapshot, in order (kvs: LbdKv). */
        void (*events)(GPtrArray *kvs, gint64 revision, gpointer data);
        /* Following endpoint, or not (error: why; the last known state
         * stays with the owner). */
        void (*connection)(gboolean connected, const char *endpoint, const char *error,
                           gpointer data);
        gpointer data;
} LbdEtcdHooks;

typedef struct LbdEtcd LbdEtcd;

/* endpoints: "http://HOST:PORT", tried in turn. */
LbdEtcd *lbd_etcd_new(const char *const *endpoints, const char *prefix, const LbdEtcdHooks *hooks);
void lbd_etcd_start(LbdEtcd *etcd);
void lbd_etcd_free(LbdEtcd *etcd);
