/* SPDX-License-Identifier: MIT */
#include "team-config.h"

#include <errno.h>
#include <glib.h>
#include <json-glib/json-glib.h>
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

/* ---- JSON --------------------------------------------------------------- */

/*
 * json-glib makes the tree the checks below walk. Its parser (1.6, as in
 * Debian bookworm; the "strict" property came in 1.10) also takes what RFC
 * 8259 does not: single-quoted strings, raw control characters, unknown
 * escapes, leading zeros, hexadecimal numbers, an empty text. So a strict
 * pass that builds nothing goes first; it says what is wrong and where,
 * and bounds the nesting before json-glib recurses into it.
 */

struct strict {
        const char *text, *p;
        const char *error, *at;
};

static bool refuse(struct strict *st, const char *error) {
        if (!st->error) {
                st->error = error;
                st->at = st->p;
        }
        return false;
}

static void skip_space(struct strict *st) {
        while (*st->p == ' ' || *st->p == '\t' || *st->p == '\n' || *st->p == '\r')
                st->p++;
}

static bool strict_value(struct strict *st, int depth);

static bool strict_string(struct strict *st) {
        st->p++; /* " */
        for (;;) {
                unsigned char c = (unsigned char)*st->p;
                if (c == '"') {
                        st->p++;
                        return true;
                }
                if (c == '\0')
                        return refuse(st, "unterminated string");
                if (c < 0x20)
                        return refuse(st, "control character in a string");
                if (c == '\\') {
                        char e = st->p[1];
                        if (e && strchr("\"\\/bfnrt", e)) {
                                st->p += 2;
                                continue;
                        }
                        if (e == 'u' && g_ascii_isxdigit(st->p[2]) && g_ascii_isxdigit(st->p[3]) &&
                            g_ascii_isxdigit(st->p[4]) && g_ascii_isxdigit(st->p[5])) {
                                st->p += 6;
                                continue;
                        }
                        return refuse(st, "invalid escape in a string");
                }
                st->p++;
        }
}

static bool digits(struct strict *st) {
        if (!g_ascii_isdigit(*st->p))
                return false;
        while (g_ascii_isdigit(*st->p))
                st->p++;
        return true;
}

static bool strict_number(struct strict *st) {
        const char *start = st->p;
        if (*st->p == '-')
                st->p++;
        if (*st->p == '0')
                st->p++;
        else if (!digits(st))
                goto bad;
        if (*st->p == '.') {
                st->p++;
                if (!digits(st))
                        goto bad;
        }
        if (*st->p == 'e' || *st->p == 'E') {
                st->p++;
                if (*st->p == '+' || *st->p == '-')
                        st->p++;
                if (!digits(st))
                        goto bad;
        }
        /* "01", "0x10", "1a": a number runs into what cannot follow one */
        if (g_ascii_isalnum(*st->p) || *st->p == '.')
                goto bad;
        return true;
bad:
        st->p = start;
        return refuse(st, "expected a value (object, array, string, number, true, false, null)");
}

static bool strict_container(struct strict *st, int depth, bool object) {
        char close = object ? '}' : ']';
        st->p++; /* { or [ */
        skip_space(st);
        if (*st->p == close) {
                st->p++;
                return true;
        }
        for (;;) {
                skip_space(st);
                if (object) {
                        if (*st->p != '"')
                                return refuse(st, "expected a member name in quotes");
                        if (!strict_string(st))
                                return false;
                        skip_space(st);
                        if (*st->p != ':')
                                return refuse(st, "expected ':' after a member name");
                        st->p++;
                }
                if (!strict_value(st, depth + 1))
                        return false;
                skip_space(st);
                if (*st->p == ',') {
                        st->p++;
                        continue;
                }
                if (*st->p == close) {
                        st->p++;
                        return true;
                }
                return refuse(st, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
}

static bool strict_value(struct strict *st, int depth) {
        if (depth > JSON_DEPTH_MAX)
                return refuse(st, "nested too deeply");
        skip_space(st);
        char c = *st->p;
        if (c == '{' || c == '[')
                return strict_container(st, depth, c == '{');
        if (c == '"')
                return strict_string(st);
        static const char *const words[] = { "true", "false", "null" };
        for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
                if (g_str_has_prefix(st->p, words[i]) &&
                    !g_ascii_isalnum(st->p[strlen(words[i])])) {
                        st->p += strlen(words[i]);
                        return true;
                }
        return strict_number(st);
}

/* "at byte B (line L, column C)" of text, 1-based like json-glib's. */
static char *place(const char *text, const char *at) {
        unsigned line = 1, column = 1;
        for (const char *p = text; p < at; p++) {
                if (*p == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char)*p & 0xc0) != 0x80) {
                        column++; /* characters, not bytes */
                }
        }
        return g_strdup_printf("at byte %td (line %u, column %u)", at - text, line, column);
}

/* text as a json-glib tree (json_node_unref), or NULL and *why. */
static JsonNode *json_parse(const char *text, char **why) {
        const char *end;
        if (!g_utf8_validate(text, -1, &end)) {
                g_autofree char *where = place(text, end);
                *why = g_strdup_printf("Invalid TeamConfig JSON %s: not UTF-8", where);
                return NULL;
        }
        struct strict st = { text, text, NULL, NULL };
        if (strict_value(&st, 0)) {
                skip_space(&st);
                if (*st.p)
                        refuse(&st, "text after the end of the JSON value");
        }
        if (st.error) {
                g_autofree char *where = place(text, st.at);
                *why = g_strdup_printf("Invalid TeamConfig JSON %s: %s", where, st.error);
                return NULL;
        }
        g_autoptr(JsonParser) parser = json_parser_new_immutable();
        g_autoptr(GError) error = NULL;
        if (!json_parser_load_from_data(parser, text, -1, &error)) {
                /* Not expected after the strict pass; json-glib's message
                 * has its own line and column. */
                *why = g_strdup_printf("Invalid TeamConfig JSON: %s", error->message);
                return NULL;
        }
        return json_node_ref(json_parser_get_root(parser));
}

static JsonNode *member(JsonNode *j, const char *key) {
        if (!j || !JSON_NODE_HOLDS_OBJECT(j))
                return NULL;
        return json_object_get_member(json_node_get_object(j), key);
}

/* The string j holds, or NULL if it holds something else. */
static const char *string_of(JsonNode *j) {
        return j && JSON_NODE_HOLDS_VALUE(j) && json_node_get_value_type(j) == G_TYPE_STRING
                       ? json_node_get_string(j)
                       : NULL;
}

int team_json_check(const char *text, char **why) {
        g_autoptr(JsonNode) j = json_parse(text, why);
        return j ? 0 : -EINVAL;
}

/* ---- teamd's configuration ---------------------------------------------- */

static char *join(const char *const *list) { return g_strjoinv(", ", (char **)list); }

static int check_watcher(JsonNode *w, char **why) {
        const char *name = string_of(member(w, "name"));
        if (!name || !g_strv_contains(link_watchers, name)) {
                g_autofree char *allowed = join(link_watchers);
                *why = g_strdup_printf("TeamConfig: each link_watch needs a \"name\"; allowed: %s",
                                       allowed);
                return -EINVAL;
        }
        return 0;
}

static int check_runner(JsonNode *runner, char **ret_name, char **why) {
        if (!JSON_NODE_HOLDS_OBJECT(runner)) {
                *why = g_strdup("TeamConfig: \"runner\" must be an object, e.g. {\"name\": "
                                "\"activebackup\"}");
                return -EINVAL;
        }
        JsonNode *name_node = member(runner, "name");
        const char *name = string_of(name_node);
        if (name_node && (!name || !g_strv_contains(team_runners, name))) {
                g_autofree char *allowed = join(team_runners);
                *why = g_strdup_printf("TeamConfig: unknown runner.name '%.80s'; allowed: %s",
                                       name ? name : "(not a string)", allowed);
                return -EINVAL;
        }
        JsonNode *hash = member(runner, "tx_hash");
        if (hash) {
                bool ok = JSON_NODE_HOLDS_ARRAY(hash);
                JsonArray *a = ok ? json_node_get_array(hash) : NULL;
                for (guint i = 0; ok && i < json_array_get_length(a); i++) {
                        const char *h = string_of(json_array_get_element(a, i));
                        ok = h && g_strv_contains(tx_hashes, h);
                }
                if (!ok) {
                        g_autofree char *allowed = join(tx_hashes);
                        *why = g_strdup_printf("TeamConfig: runner.tx_hash must be a list of: %s",
                                               allowed);
                        return -EINVAL;
                }
        }
        if (name && ret_name)
                *ret_name = g_strdup(name);
        return 0;
}

static int check_config(const char *text, char **ret_runner, char **why) {
        g_autoptr(JsonNode) j = json_parse(text, why);
        if (!j)
                return -EINVAL;
        if (!JSON_NODE_HOLDS_OBJECT(j)) {
                *why = g_strdup("TeamConfig must be a JSON object, e.g. {\"runner\": {\"name\": "
                                "\"activebackup\"}}");
                return -EINVAL;
        }
        /* In the order written, so the first unknown key is the one named. */
        g_autoptr(GList) keys = json_object_get_members(json_node_get_object(j));
        for (GList *k = keys; k; k = k->next)
                if (!g_strv_contains(top_keys, k->data)) {
                        g_autofree char *allowed = join(top_keys);
                        *why = g_strdup_printf("TeamConfig: unknown key '%.80s'; allowed: %s",
                                               (const char *)k->data, allowed);
                        return -EINVAL;
                }
        JsonNode *runner = member(j, "runner");
        if (runner && check_runner(runner, ret_runner, why) < 0)
                return -EINVAL;
        JsonNode *watch = member(j, "link_watch");
        if (watch) {
                if (JSON_NODE_HOLDS_ARRAY(watch)) {
                        JsonArray *a = json_node_get_array(watch);
                        for (guint i = 0; i < json_array_get_length(a); i++)
                                if (check_watcher(json_array_get_element(a, i), why) < 0)
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
