/* SPDX-License-Identifier: MIT */
#include "team-config.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <string.h>

#define JSON_DEPTH_MAX 32

const char *const team_runners[] = {
        "broadcast", "roundrobin", "random", "activebackup", "loadbalance", "lacp", NULL,
};

static const char *const top_keys[] = {
        "device", "debug_level", "hwaddr_policy", "runner", "link_watch", "ports",
        "notify_peers", "mcast_rejoin", NULL,
};
static const char *const link_watchers[] = { "ethtool", "arp_ping", "nsna_ping", NULL };
static const char *const tx_hashes[] = {
        "eth", "vlan", "ipv4", "ipv6", "ip", "l3", "tcp", "udp", "sctp", "l4", NULL,
};

/* ---- a small JSON tree -------------------------------------------------- */

enum json_type { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct json {
        enum json_type type;
        char *string;       /* J_STRING */
        GPtrArray *items;   /* J_ARRAY: struct json *; J_OBJECT: values */
        GPtrArray *keys;    /* J_OBJECT: char * */
};

static void json_free(struct json *j) {
        if (!j)
                return;
        g_free(j->string);
        if (j->items)
                g_ptr_array_unref(j->items);
        if (j->keys)
                g_ptr_array_unref(j->keys);
        g_free(j);
}
typedef struct json json_t_;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t_, json_free)

struct parser {
        const char *text, *p;
        const char *error;
        const char *at;
};

static struct json *fail(struct parser *ps, const char *error) {
        if (!ps->error) {
                ps->error = error;
                ps->at = ps->p;
        }
        return NULL;
}

static void skip_space(struct parser *ps) {
        while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
                ps->p++;
}

static struct json *parse_value(struct parser *ps, int depth);

static char *parse_string(struct parser *ps) {
        g_autoptr(GString) s = g_string_new(NULL);
        ps->p++; /* " */
        for (;;) {
                unsigned char c = (unsigned char)*ps->p;
                if (c == '"') {
                        ps->p++;
                        return g_string_free(g_steal_pointer(&s), FALSE);
                }
                if (c == '\0') {
                        fail(ps, "unterminated string");
                        return NULL;
                }
                if (c < 0x20) {
                        fail(ps, "control character in a string");
                        return NULL;
                }
                if (c == '\\') {
                        char e = ps->p[1];
                        const char *map = strchr("\"\\/bfnrt", e);
                        if (e && map) {
                                g_string_append_c(s, "\"\\/\b\f\n\r\t"[map - "\"\\/bfnrt"]);
                                ps->p += 2;
                                continue;
                        }
                        if (e == 'u' && g_ascii_isxdigit(ps->p[2]) && g_ascii_isxdigit(ps->p[3]) &&
                            g_ascii_isxdigit(ps->p[4]) && g_ascii_isxdigit(ps->p[5])) {
                                /* Kept as written: names and values that matter here
                                 * are ASCII. */
                                g_string_append_len(s, ps->p, 6);
                                ps->p += 6;
                                continue;
                        }
                        fail(ps, "invalid escape in a string");
                        return NULL;
                }
                g_string_append_c(s, (char)c);
                ps->p++;
        }
}

static bool parse_number(struct parser *ps) {
        const char *p = ps->p;
        if (*p == '-')
                p++;
        if (*p == '0')
                p++;
        else if (g_ascii_isdigit(*p))
                while (g_ascii_isdigit(*p))
                        p++;
        else
                return false;
        if (*p == '.') {
                p++;
                if (!g_ascii_isdigit(*p))
                        return false;
                while (g_ascii_isdigit(*p))
                        p++;
        }
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (!g_ascii_isdigit(*p))
                        return false;
                while (g_ascii_isdigit(*p))
                        p++;
        }
        ps->p = p;
        return true;
}

static struct json *parse_container(struct parser *ps, int depth, bool object) {
        g_autoptr(json_t_) j = g_new0(struct json, 1);
        j->type = object ? J_OBJECT : J_ARRAY;
        j->items = g_ptr_array_new_with_free_func((GDestroyNotify)json_free);
        if (object)
                j->keys = g_ptr_array_new_with_free_func(g_free);
        ps->p++; /* { or [ */
        skip_space(ps);
        char close = object ? '}' : ']';
        if (*ps->p == close) {
                ps->p++;
                return g_steal_pointer(&j);
        }
        for (;;) {
                skip_space(ps);
                if (object) {
                        if (*ps->p != '"')
                                return fail(ps, "expected a member name in quotes");
                        char *key = parse_string(ps);
                        if (!key)
                                return NULL;
                        g_ptr_array_add(j->keys, key);
                        skip_space(ps);
                        if (*ps->p != ':')
                                return fail(ps, "expected ':' after a member name");
                        ps->p++;
                }
                struct json *v = parse_value(ps, depth + 1);
                if (!v)
                        return NULL;
                g_ptr_array_add(j->items, v);
                skip_space(ps);
                if (*ps->p == ',') {
                        ps->p++;
                        continue;
                }
                if (*ps->p == close) {
                        ps->p++;
                        return g_steal_pointer(&j);
                }
                return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
}

static struct json *parse_value(struct parser *ps, int depth) {
        if (depth > JSON_DEPTH_MAX)
                return fail(ps, "nested too deeply");
        skip_space(ps);
        char c = *ps->p;
        if (c == '{' || c == '[')
                return parse_container(ps, depth, c == '{');
        struct json *j = g_new0(struct json, 1);
        if (c == '"') {
                j->type = J_STRING;
                j->string = parse_string(ps);
                if (!j->string) {
                        json_free(j);
                        return NULL;
                }
                return j;
        }
        static const struct {
                const char *word;
                enum json_type type;
        } words[] = { { "true", J_BOOL }, { "false", J_BOOL }, { "null", J_NULL } };
        for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
                if (g_str_has_prefix(ps->p, words[i].word)) {
                        ps->p += strlen(words[i].word);
                        j->type = words[i].type;
                        return j;
                }
        j->type = J_NUMBER;
        if (parse_number(ps))
                return j;
        json_free(j);
        return fail(ps, "expected a value (object, array, string, number, true, false, null)");
}

static struct json *json_parse(const char *text, char **why) {
        struct parser ps = { text, text, NULL, NULL };
        struct json *j = parse_value(&ps, 0);
        if (j) {
                skip_space(&ps);
                if (*ps.p) {
                        json_free(j);
                        j = fail(&ps, "text after the end of the JSON value");
                }
        }
        if (!j)
                *why = g_strdup_printf("Invalid TeamConfig JSON at byte %td: %s", ps.at - text,
                                       ps.error);
        return j;
}

static const struct json *member(const struct json *j, const char *key) {
        if (!j || j->type != J_OBJECT)
                return NULL;
        for (guint i = 0; i < j->keys->len; i++)
                if (g_str_equal(j->keys->pdata[i], key))
                        return j->items->pdata[i];
        return NULL;
}

int team_json_check(const char *text, char **why) {
        g_autoptr(json_t_) j = json_parse(text, why);
        return j ? 0 : -EINVAL;
}

/* ---- teamd's configuration ---------------------------------------------- */

static char *join(const char *const *list) { return g_strjoinv(", ", (char **)list); }

static int check_watcher(const struct json *w, char **why) {
        const struct json *name = member(w, "name");
        if (!name || name->type != J_STRING || !g_strv_contains(link_watchers, name->string)) {
                g_autofree char *allowed = join(link_watchers);
                *why = g_strdup_printf("TeamConfig: each link_watch needs a \"name\"; allowed: %s",
                                       allowed);
                return -EINVAL;
        }
        return 0;
}

static int check_runner(const struct json *runner, char **ret_name, char **why) {
        if (runner->type != J_OBJECT) {
                *why = g_strdup("TeamConfig: \"runner\" must be an object, e.g. {\"name\": "
                                "\"activebackup\"}");
                return -EINVAL;
        }
        const struct json *name = member(runner, "name");
        if (name && (name->type != J_STRING || !g_strv_contains(team_runners, name->string))) {
                g_autofree char *allowed = join(team_runners);
                *why = g_strdup_printf("TeamConfig: unknown runner.name '%.80s'; allowed: %s",
                                       name->type == J_STRING ? name->string : "(not a string)",
                                       allowed);
                return -EINVAL;
        }
        const struct json *hash = member(runner, "tx_hash");
        if (hash) {
                bool ok = hash->type == J_ARRAY;
                for (guint i = 0; ok && i < hash->items->len; i++) {
                        const struct json *h = hash->items->pdata[i];
                        ok = h->type == J_STRING && g_strv_contains(tx_hashes, h->string);
                }
                if (!ok) {
                        g_autofree char *allowed = join(tx_hashes);
                        *why = g_strdup_printf("TeamConfig: runner.tx_hash must be a list of: %s",
                                               allowed);
                        return -EINVAL;
                }
        }
        if (name && ret_name)
                *ret_name = g_strdup(name->string);
        return 0;
}

static int check_config(const char *text, char **ret_runner, char **why) {
        g_autoptr(json_t_) j = json_parse(text, why);
        if (!j)
                return -EINVAL;
        if (j->type != J_OBJECT) {
                *why = g_strdup("TeamConfig must be a JSON object, e.g. {\"runner\": {\"name\": "
                                "\"activebackup\"}}");
                return -EINVAL;
        }
        for (guint i = 0; i < j->keys->len; i++)
                if (!g_strv_contains(top_keys, j->keys->pdata[i])) {
                        g_autofree char *allowed = join(top_keys);
                        *why = g_strdup_printf("TeamConfig: unknown key '%.80s'; allowed: %s",
                                               (char *)j->keys->pdata[i], allowed);
                        return -EINVAL;
                }
        const struct json *runner = member(j, "runner");
        if (runner && check_runner(runner, ret_runner, why) < 0)
                return -EINVAL;
        const struct json *watch = member(j, "link_watch");
        if (watch) {
                if (watch->type == J_ARRAY) {
                        for (guint i = 0; i < watch->items->len; i++)
                                if (check_watcher(watch->items->pdata[i], why) < 0)
                                        return -EINVAL;
                } else if (check_watcher(watch, why) < 0)
                        return -EINVAL;
        }
        return 0;
}

int team_check(const struct lbd_link_request *req, char **ret_config_runner, char **why) {
        if (req->mode || req->bond_options) {
                *why = g_strdup("Mode and BondOptions are bond options; a team takes Runner and "
                                "TeamConfig");
                return -EINVAL;
        }
        if (req->runner && !g_strv_contains(team_runners, req->runner)) {
                g_autofree char *allowed = join(team_runners);
                *why = g_strdup_printf("Unknown team runner '%.80s'; allowed: %s", req->runner,
                                       allowed);
                return -EINVAL;
        }
        g_autofree char *config_runner = NULL;
        if (req->team_config && *req->team_config &&
            check_config(req->team_config, &config_runner, why) < 0)
                return -EINVAL;
        if (req->runner && config_runner && !g_str_equal(req->runner, config_runner)) {
                *why = g_strdup_printf("Runner '%s' and TeamConfig's runner.name '%s' differ; give "
                                       "one of them, or the same",
                                       req->runner, config_runner);
                return -EINVAL;
        }
        if (ret_config_runner)
                *ret_config_runner = g_steal_pointer(&config_runner);
        return 0;
}
