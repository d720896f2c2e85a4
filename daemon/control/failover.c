/* SPDX-License-Identifier: MIT */
#include "failover.h"

#include <string.h>

#include "quote.h"

struct lbd_failover {
        GHashTable *states; /* name -> state, both owned */
};

static const char *const STATES[] = { "MASTER", "BACKUP", "FAULT", "STOP", "DELETED" };

struct lbd_failover *lbd_failover_new(void) {
        struct lbd_failover *f = g_new0(struct lbd_failover, 1);
        f->states = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        return f;
}

struct lbd_failover *lbd_failover_free(struct lbd_failover *f) {
        if (f) {
                g_hash_table_unref(f->states);
                g_free(f);
        }
        return NULL;
}

char *lbd_failover_check(const char *name, const char *state) {
        static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789_.-";
        size_t len = strlen(name);
        if (len == 0 || len > 64 || strspn(name, allowed) != len)
                return g_strdup_printf("Invalid VRRP instance or group name %s: expected 1 to 64 "
                                       "of A-Z a-z 0-9 _ . -",
                                       LBD_QUOTE(name));
        for (size_t i = 0; i < G_N_ELEMENTS(STATES); i++)
                if (strcmp(state, STATES[i]) == 0)
                        return NULL;
        return g_strdup_printf("Invalid VRRP state %s: expected MASTER, BACKUP, FAULT, STOP or "
                               "DELETED (keepalived's notify states)",
                               LBD_QUOTE(state));
}

bool lbd_failover_set(struct lbd_failover *f, const char *name, const char *state,
                      char **ret_previous) {
        const char *was = g_hash_table_lookup(f->states, name);
        *ret_previous = g_strdup(was);
        if (was && strcmp(was, state) == 0)
                return false;
        g_hash_table_replace(f->states, g_strdup(name), g_strdup(state));
        return true;
}

static int compare_names(gconstpointer a, gconstpointer b) {
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void lbd_failover_list(const struct lbd_failover *f, char ***ret_names, char ***ret_states) {
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, f->states);
        while (g_hash_table_iter_next(&it, &key, NULL))
                g_ptr_array_add(names, key);
        g_ptr_array_sort(names, compare_names);
        *ret_names = g_new0(char *, names->len + 1);
        *ret_states = g_new0(char *, names->len + 1);
        for (guint i = 0; i < names->len; i++) {
                (*ret_names)[i] = g_strdup(names->pdata[i]);
                (*ret_states)[i] = g_strdup(g_hash_table_lookup(f->states, names->pdata[i]));
        }
}
