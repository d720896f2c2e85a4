/* SPDX-License-Identifier: MIT */
#include "membership.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "address.h"
#include "lbd-bus-api.h"

void lbd_member_free(LbdMember *m) {
        if (!m)
                return;
        g_free(m->key);
        g_free(m->service);
        g_free(m->address);
        g_free(m);
}

LbdMember *lbd_member_copy(const LbdMember *m) {
        LbdMember *c = g_memdup2(m, sizeof *m);
        c->key = g_strdup(m->key);
        c->service = g_strdup(m->service);
        c->address = g_strdup(m->address);
        return c;
}

void lbd_current_free(LbdCurrent *c) {
        if (!c)
                return;
        g_free(c->path);
        g_free(c->service);
        g_free(c->address);
        g_free(c->origin);
        g_free(c->state);
        g_free(c);
}

static gboolean valid_word(const char *s, gsize max, const char *allowed) {
        gsize len = strlen(s);
        return len >= 1 && len <= max && strspn(s, allowed) == len;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* "services/SERVICE/backends/ID" -> SERVICE, or NULL. */
static char *service_of(const char *rest, char **error) {
        g_auto(GStrv) parts = g_strsplit(rest, "/", -1);
        if (g_strv_length(parts) != 4 || strcmp(parts[0], "services") != 0 ||
            strcmp(parts[2], "backends") != 0) {
                *error =
                        g_strdup("not a backend key: expected PREFIX services/SERVICE/backends/ID");
                return NULL;
        }
        if (!valid_word(parts[1], 64, ALNUM "_-")) {
                *error = g_strdup("the service name is not 1 to 64 of A-Z a-z 0-9 _ -");
                return NULL;
        }
        if (!valid_word(parts[3], 128, ALNUM "._:@-")) {
                *error = g_strdup("the ID is not 1 to 128 of A-Z a-z 0-9 . _ : @ -");
                return NULL;
        }
        return g_strdup(parts[1]);
}

static const struct {
        const char *name;
        gsize offset;
        guint min, max;
} UINTS[] = {
        {"weight", G_STRUCT_OFFSET(LbdMember, weight), 1, LBD_BACKEND_WEIGHT_MAX},
        {"max_fails", G_STRUCT_OFFSET(LbdMember, max_fails), 0, LBD_BACKEND_MAX_FAILS_MAX},
        {"fail_timeout", G_STRUCT_OFFSET(LbdMember, fail_timeout), 1, LBD_BACKEND_FAIL_TIMEOUT_MAX},
        {"max_conns", G_STRUCT_OFFSET(LbdMember, max_conns), 0, LBD_BACKEND_MAX_CONNS_MAX},
        {"slow_start", G_STRUCT_OFFSET(LbdMember, slow_start), 0, LBD_BACKEND_SLOW_START_MAX},
};

/* One member of the value's object; FALSE with *error. */
static gboolean read_field(LbdMember *m, const char *name, JsonNode *node, char **error) {
        if (strcmp(name, "address") == 0) {
                if (!JSON_NODE_HOLDS_VALUE(node) ||
                    json_node_get_value_type(node) != G_TYPE_STRING) {
                        *error = g_strdup("\"address\" is not a string");
                        return FALSE;
                }
                struct lbd_address a;
                char *why = NULL;
                if (lbd_address_parse(json_node_get_string(node), &a, &why) < 0) {
                        *error = g_strdup_printf("\"address\": %s", why ? why : "out of memory");
                        free(why);
                        return FALSE;
                }
                m->address = g_strdup(a.text);
                return TRUE;
        }
        if (strcmp(name, "backup") == 0 || strcmp(name, "drain") == 0) {
                if (!JSON_NODE_HOLDS_VALUE(node) ||
                    json_node_get_value_type(node) != G_TYPE_BOOLEAN) {
                        *error = g_strdup_printf("\"%s\" is not true or false", name);
                        return FALSE;
                }
                *(strcmp(name, "backup") == 0 ? &m->backup : &m->drain) =
                        json_node_get_boolean(node);
                return TRUE;
        }
        for (gsize i = 0; i < G_N_ELEMENTS(UINTS); i++) {
                if (strcmp(name, UINTS[i].name) != 0)
                        continue;
                if (!JSON_NODE_HOLDS_VALUE(node) ||
                    json_node_get_value_type(node) != G_TYPE_INT64) {
                        *error = g_strdup_printf("\"%s\" is not a whole number", name);
                        return FALSE;
                }
                gint64 v = json_node_get_int(node);
                if (v < UINTS[i].min || v > UINTS[i].max) {
                        *error = g_strdup_printf("\"%s\" is %" G_GINT64_FORMAT "; expected %u..%u",
                                                 name, v, UINTS[i].min, UINTS[i].max);
                        return FALSE;
                }
                G_STRUCT_MEMBER(guint, m, UINTS[i].offset) = (guint)v;
                return TRUE;
        }
        *error = g_strdup_printf("unknown key \"%.64s\"; expected address, weight, max_fails, "
                                 "fail_timeout, max_conns, slow_start, backup, drain",
                                 name);
        return FALSE;
}

LbdMember *lbd_member_parse(const char *prefix, const char *key, gsize key_len, const char *value,
                            gsize value_len, char **error) {
        *error = NULL;
        gsize prefix_len = strlen(prefix);
        if (memchr(key, '\0', key_len) || key_len < prefix_len ||
            memcmp(key, prefix, prefix_len) != 0) {
                *error = g_strdup("not under the prefix");
                return NULL;
        }
        g_autofree char *rest = g_strndup(key + prefix_len, key_len - prefix_len);
        g_autoptr(LbdMember) m = g_new0(LbdMember, 1);
        m->key = g_strndup(key, key_len);
        m->service = service_of(rest, error);
        if (!m->service)
                return NULL;
        m->weight = 1;
        m->max_fails = 1;
        m->fail_timeout = 10;

        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GError) json_error = NULL;
        if (!g_utf8_validate(value, value_len, NULL) ||
            !json_parser_load_from_data(parser, value, value_len, &json_error)) {
                *error = g_strdup_printf("the value is not JSON: %s",
                                         json_error ? json_error->message : "not UTF-8");
                return NULL;
        }
        JsonNode *root = json_parser_get_root(parser);
        if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
                *error = g_strdup("the value is not a JSON object");
                return NULL;
        }
        JsonObject *object = json_node_get_object(root);
        g_autoptr(GList) names = json_object_get_members(object);
        for (GList *l = names; l; l = l->next)
                if (!read_field(m, l->data, json_object_get_member(object, l->data), error))
                        return NULL;
        if (!m->address) {
                *error = g_strdup("no \"address\"");
                return NULL;
        }
        return g_steal_pointer(&m);
}

static int by_key(gconstpointer a, gconstpointer b) {
        return strcmp((*(LbdMember *const *)a)->key, (*(LbdMember *const *)b)->key);
}

static const LbdCurrent *find_current(GPtrArray *current, const char *service,
                                      const char *address) {
        for (guint i = 0; i < current->len; i++) {
                const LbdCurrent *c = current->pdata[i];
                if (strcmp(c->service, service) == 0 && strcmp(c->address, address) == 0)
                        return c;
        }
        return NULL;
}

static void skip(GArray *skips, const LbdMember *m, char *why) {
        LbdSkip s = {m, why};
        g_array_append_val(skips, s);
}

static void op(GArray *ops, LbdOpKind kind, const LbdMember *m, const LbdCurrent *c) {
        LbdOp o = {kind, m, c};
        g_array_append_val(ops, o);
}

void lbd_membership_diff(GPtrArray *members, const char *const *services, GPtrArray *current,
                         const char *origin, GArray *ops, GArray *skips) {
        /* The members' pointers, not owned (g_ptr_array_copy() would take
         * members' free function along). */
        g_autoptr(GPtrArray) sorted = g_ptr_array_sized_new(members->len);
        for (guint i = 0; i < members->len; i++)
                g_ptr_array_add(sorted, members->pdata[i]);
        g_ptr_array_sort(sorted, by_key);
        /* service \n address -> the member that has it */
        g_autoptr(GHashTable) wanted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        for (guint i = 0; i < sorted->len; i++) {
                const LbdMember *m = sorted->pdata[i];
                if (!g_strv_contains(services, m->service)) {
                        skip(skips, m,
                             g_strdup_printf("lbd has no service %s (etcd adds "
                                             "backends to configured services only)",
                                             m->service));
                        continue;
                }
                char *id = g_strdup_printf("%s\n%s", m->service, m->address);
                const LbdMember *first = g_hash_table_lookup(wanted, id);
                if (first) {
                        skip(skips, m,
                             g_strdup_printf("%s has %s for %s already", first->key, m->address,
                                             m->service));
                        g_free(id);
                        continue;
                }
                const LbdCurrent *c = find_current(current, m->service, m->address);
                if (c && strcmp(c->origin, origin) != 0) {
                        skip(skips, m,
                             g_strdup_printf("%s of %s is configured in lbd %s; that "
                                             "one stays",
                                             m->address, m->service,
                                             *c->origin ? "by another client" : "locally"));
                        g_free(id);
                        continue;
                }
                g_hash_table_insert(wanted, id, (gpointer)m);
                if (!c) {
                        /* A drained one is drained once lbd has it: the
                         * next round (the caller reconciles until nothing
                         * is left to do). */
                        op(ops, LBD_OP_ADD, m, NULL);
                        continue;
                }
                if (c->max_fails != m->max_fails || c->fail_timeout != m->fail_timeout ||
                    c->max_conns != m->max_conns || c->slow_start != m->slow_start ||
                    c->backup != m->backup) {
                        op(ops, LBD_OP_REMOVE, NULL, c);
                        op(ops, LBD_OP_ADD, m, NULL);
                        continue;
                }
                if (c->weight != m->weight)
                        op(ops, LBD_OP_SET_WEIGHT, m, c);
                gboolean draining = strcmp(c->state, "draining") == 0;
                if (m->drain && !draining)
                        op(ops, LBD_OP_DRAIN, m, c);
                else if (!m->drain && draining)
                        op(ops, LBD_OP_ENABLE, m, c);
        }
        /* lbd's backends of this origin that etcd no longer has. */
        for (guint i = 0; i < current->len; i++) {
                const LbdCurrent *c = current->pdata[i];
                if (strcmp(c->origin, origin) != 0)
                        continue;
                g_autofree char *id = g_strdup_printf("%s\n%s", c->service, c->address);
                if (!g_hash_table_contains(wanted, id))
                        op(ops, LBD_OP_REMOVE, NULL, c);
        }
}
