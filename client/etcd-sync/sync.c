/* SPDX-License-Identifier: MIT */
#include "sync.h"

#include <stdarg.h>
#include <stdio.h>

#include "etcd.h"
#include "lbd-link.h"
#include "membership.h"
#include "status.h"

struct LbdSync {
        char *prefix, *origin;
        LbdEtcd *etcd;
        LbdLink *link;
        LbdStatusObject *object;
        LbdSyncStatus status;
        GHashTable *members;    /* key -> LbdMember: the last valid value of each key */
        GHashTable *said;       /* what was logged about a key ("key\nwhy"), said once */
        gboolean have_snapshot; /* a full read since start */
        gboolean round_running, round_again;
        /* The round's work: what it read and the calls still to make. */
        char **services;
        GPtrArray *current;
        /* Copies of the members the round works from: events that arrive
         * meanwhile change s->members, not what the round's calls use. */
        GPtrArray *round_members;
        GArray *ops;
        guint next_op;
        guint changed;  /* calls lbd accepted in this round */
        guint refused;  /* and refused */
        guint retry_id; /* a round after lbd failed or refused */
        guint unreachable_tries;
};

static void say(const char *level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void say(const char *level, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *text = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        fprintf(stderr, "lbd-etcd-sync: %s%s%s\n", level ? level : "", level ? ": " : "", text);
}

static void set_error(LbdSync *s, const char *error) {
        g_free(s->status.last_error);
        s->status.last_error = g_strdup(error ? error : "");
}

static void status_changed(LbdSync *s) {
        s->status.members = g_hash_table_size(s->members);
        lbd_status_object_changed(s->object);
}

/* Log why a key is not applied, once for each reason. */
static void say_once(LbdSync *s, const char *key, const char *why) {
        char *id = g_strdup_printf("%s\n%s", key, why);
        if (g_hash_table_add(s->said, id))
                say("warning", "%s: %s; skipped", key, why);
}

/* --- one round ---------------------------------------------------------------- */

static void round_start(LbdSync *s);

static void round_clear(LbdSync *s) {
        g_clear_pointer(&s->services, g_strfreev);
        g_clear_pointer(&s->current, g_ptr_array_unref);
        g_clear_pointer(&s->round_members, g_ptr_array_unref);
        g_clear_pointer(&s->ops, g_array_unref);
        s->next_op = 0;
        s->changed = s->refused = 0;
}

#define RETRY_SECONDS 5

static gboolean retry_round(gpointer data) {
        LbdSync *s = data;
        s->retry_id = 0;
        round_start(s);
        return G_SOURCE_REMOVE;
}

/* A round again later: lbd refused or failed something. */
static void retry_later(LbdSync *s) {
        if (!s->retry_id)
                s->retry_id = g_timeout_add_seconds(RETRY_SECONDS, retry_round, s);
}

static void round_end(LbdSync *s, gboolean changed_something, gboolean refused) {
        guint applied = 0;
        for (guint i = 0; s->current && i < s->current->len; i++) {
                const LbdCurrent *c = s->current->pdata[i];
                applied += g_str_equal(c->origin, s->origin);
        }
        round_clear(s);
        s->round_running = FALSE;
        if (refused)
                retry_later(s);
        /* A round that changed lbd is checked by another (a drained backend
         * is drained once added). One where lbd refused everything is not
         * repeated at once: retry_later. */
        if (s->round_again || changed_something) {
                s->round_again = FALSE;
                round_start(s);
                return;
        }
        s->status.applied = applied;
        status_changed(s);
}

static const char *op_name(LbdOpKind kind) {
        switch (kind) {
        case LBD_OP_ADD:
                return "added";
        case LBD_OP_REMOVE:
                return "removed";
        case LBD_OP_SET_WEIGHT:
                return "weight changed";
        case LBD_OP_DRAIN:
                return "drained";
        case LBD_OP_ENABLE:
                return "enabled";
        }
        return "?";
}

static void next_op(LbdSync *s);

static void op_done(const GError *error, gpointer data) {
        LbdSync *s = data;
        const LbdOp *op = &g_array_index(s->ops, LbdOp, s->next_op);
        const char *service = op->member ? op->member->service : op->current->service;
        const char *address = op->member ? op->member->address : op->current->address;
        const char *key = op->member ? op->member->key : "(no key any more)";
        if (error) {
                g_autofree char *why = g_strdup_printf("lbd refused: %s", error->message);
                say_once(s, key, why);
                set_error(s, error->message);
                s->refused++;
        } else {
                s->changed++;
                if (op->kind == LBD_OP_SET_WEIGHT)
                        say(NULL, "%s: %s of %s: weight %u", key, address, service,
                            op->member->weight);
                else
                        say(NULL, "%s: %s of %s %s", key, address, service, op_name(op->kind));
        }
        s->next_op++;
        next_op(s);
}

static void next_op(LbdSync *s) {
        if (s->next_op >= s->ops->len) {
                round_end(s, s->changed > 0, s->refused > 0);
                return;
        }
        lbd_link_apply(s->link, &g_array_index(s->ops, LbdOp, s->next_op), s->origin, op_done, s);
}

static void lbd_read(char **services, GPtrArray *current, const GError *error, gpointer data) {
        LbdSync *s = data;
        if (error) {
                say("warning", "cannot read lbd's backends: %s", error->message);
                set_error(s, error->message);
                s->round_running = FALSE;
                status_changed(s);
                retry_later(s);
                return;
        }
        s->services = g_strdupv(services);
        s->current = g_ptr_array_ref(current);
        s->round_members = g_ptr_array_new_with_free_func((GDestroyNotify)lbd_member_free);
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, s->members);
        while (g_hash_table_iter_next(&it, NULL, &value))
                g_ptr_array_add(s->round_members, lbd_member_copy(value));
        s->ops = g_array_new(FALSE, FALSE, sizeof(LbdOp));
        g_autoptr(GArray) skips = g_array_new(FALSE, FALSE, sizeof(LbdSkip));
        lbd_membership_diff(s->round_members, (const char *const *)s->services, s->current,
                            s->origin, s->ops, skips);
        for (guint i = 0; i < skips->len; i++) {
                LbdSkip *k = &g_array_index(skips, LbdSkip, i);
                say_once(s, k->member->key, k->why);
                g_free(k->why);
        }
        next_op(s);
}

static void round_start(LbdSync *s) {
        if (!s->have_snapshot || !lbd_link_present(s->link))
                return;
        if (s->round_running) {
                s->round_again = TRUE;
                return;
        }
        s->round_running = TRUE;
        lbd_link_read(s->link, lbd_read, s);
}

/* --- etcd's side ---------------------------------------------------------------- */

/* A key's new value: valid, it replaces what the key had; bad, it is
 * logged and the key keeps its last valid value (nothing half-applied). */
static void take(LbdSync *s, const LbdKv *kv) {
        g_autofree char *key = g_strndup(kv->key, kv->key_len);
        if (kv->deleted) {
                if (g_hash_table_remove(s->members, key))
                        say(NULL, "%s: deleted (or its lease expired)", key);
                return;
        }
        g_autofree char *error = NULL;
        LbdMember *m =
                lbd_member_parse(s->prefix, kv->key, kv->key_len, kv->value, kv->value_len, &error);
        if (!m) {
                g_autofree char *why = g_strdup_printf(
                        "bad value (%s)%s", error,
                        g_hash_table_contains(s->members, key) ? "; its previous value stays" : "");
                say_once(s, key, why);
                return;
        }
        g_hash_table_replace(s->members, g_strdup(m->key), m);
}

static void on_snapshot(GPtrArray *kvs, gint64 revision, gpointer data) {
        LbdSync *s = data;
        /* Keys gone since the last read went while nobody watched. */
        g_autoptr(GHashTable) present =
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (guint i = 0; i < kvs->len; i++) {
                const LbdKv *kv = kvs->pdata[i];
                g_hash_table_add(present, g_strndup(kv->key, kv->key_len));
                take(s, kv);
        }
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, s->members);
        while (g_hash_table_iter_next(&it, &key, NULL))
                if (!g_hash_table_contains(present, key))
                        g_hash_table_iter_remove(&it);
        s->have_snapshot = TRUE;
        s->status.revision = revision;
        say(NULL, "read %u key(s) at revision %" G_GINT64_FORMAT " from %s: %u backend(s)",
            kvs->len, revision, s->status.endpoint, g_hash_table_size(s->members));
        status_changed(s);
        round_start(s);
}

static void on_events(GPtrArray *kvs, gint64 revision, gpointer data) {
        LbdSync *s = data;
        for (guint i = 0; i < kvs->len; i++)
                take(s, kvs->pdata[i]);
        s->status.revision = revision;
        status_changed(s);
        round_start(s);
}

static void on_connection(gboolean connected, const char *endpoint, const char *error,
                          gpointer data) {
        LbdSync *s = data;
        gboolean was = s->status.connected;
        g_free(s->status.endpoint);
        s->status.endpoint = g_strdup(endpoint);
        s->status.connected = connected;
        if (connected) {
                if (!was)
                        say(NULL, "following %s", endpoint);
                s->unreachable_tries = 0;
                set_error(s, NULL);
        } else {
                set_error(s, error);
                /* Said when it goes, then every 20th failed try. */
                if (was)
                        s->unreachable_tries = 0;
                if (s->unreachable_tries++ % 20 == 0)
                        say("warning",
                            "etcd unreachable (%s); lbd keeps the %u backend(s) it "
                            "has from etcd as they are",
                            error ? error : "connection lost", s->status.applied);
        }
        status_changed(s);
}

/* --- lbd's side ------------------------------------------------------------------- */

static void lbd_appeared(gpointer data) {
        LbdSync *s = data;
        say(NULL, "lbd is on the bus");
        round_start(s);
}

static void lbd_vanished(gpointer data) {
        say("warning", "lbd left the bus; its backends are applied again when it is back");
}

LbdSync *lbd_sync_new(GDBusConnection *bus, const char *const *endpoints, const char *prefix,
                      GError **error) {
        LbdSync *s = g_new0(LbdSync, 1);
        s->prefix = g_strdup(prefix);
        s->origin = g_strdup_printf("etcd:%s", prefix);
        s->members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify)lbd_member_free);
        s->said = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        s->status.endpoint = g_strdup(endpoints[0]);
        s->status.last_error = g_strdup("");
        s->object = lbd_status_object_new(bus, &s->status, error);
        if (!s->object) {
                lbd_sync_free(s);
                return NULL;
        }
        s->etcd = lbd_etcd_new(endpoints, prefix,
                               &(LbdEtcdHooks){.snapshot = on_snapshot,
                                               .events = on_events,
                                               .connection = on_connection,
                                               .data = s});
        s->link = lbd_link_new(
                bus,
                &(LbdLinkHooks){.appeared = lbd_appeared, .vanished = lbd_vanished, .data = s});
        return s;
}

void lbd_sync_start(LbdSync *s) {
        lbd_etcd_start(s->etcd);
}

void lbd_sync_free(LbdSync *s) {
        if (!s)
                return;
        g_clear_handle_id(&s->retry_id, g_source_remove);
        lbd_etcd_free(s->etcd);
        lbd_link_free(s->link);
        lbd_status_object_free(s->object);
        round_clear(s);
        g_hash_table_unref(s->members);
        g_hash_table_unref(s->said);
        g_free(s->status.endpoint);
        g_free(s->status.last_error);
        g_free(s->prefix);
        g_free(s->origin);
        g_free(s);
}
