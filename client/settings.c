/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "settings.h"

int settings_find(const char *what, const struct setting *s, size_t n, const char *name) {
        const char *names[64];
        if (n > ELEMENTSOF(names))
                abort(); /* a bug in a settings table */
        for (size_t i = 0; i < n; i++)
                names[i] = s[i].name;
        _cleanup_free_ char *norm = xstrdup(name);
        for (char *p = norm; *p; p++)
                if (*p == '_')
                        *p = '-';
        _cleanup_free_ char *label = xasprintf("setting of '%s'", what);
        return match_word(label, norm, names, n);
}

static int check_choice(const struct setting *s, const char *v) {
        if (!s->choices)
                return EXIT_OK;
        for (const char *const *c = s->choices; *c; c++)
                if (strcmp(*c, v) == 0)
                        return EXIT_OK;
        _cleanup_free_ char *list = strv_join((char **)s->choices, ", ");
        return usage_error("%s must be one of %s, not '%s'", s->name, list, v);
}

static char **split_commas(const char *v) {
        char **out = calloc(1, sizeof(char *));
        if (!out)
                oom();
        _cleanup_free_ char *copy = xstrdup(v);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                if (*tok)
                        strv_push(&out, tok);
        return out;
}

/* The value alone, before anything is sent. */
static int check_value(const struct setting *s, const char *v) {
        uint32_t u;
        bool b;
        switch (s->type) {
        case SETTING_UINT:
        case SETTING_INT64:
                return parse_uint(s->name, v, s->min, s->max, &u);
        case SETTING_BOOL:
                return parse_bool(s->name, v, &b);
        case SETTING_STRV: {
                _cleanup_(strv_freep) char **list = split_commas(v);
                if (!list[0])
                        return usage_error("%s needs at least one value", s->name);
                return EXIT_OK;
        }
        default:
                return EXIT_OK;
        }
}

int settings_check(const char *what, const struct setting *s, size_t n, int argc, char **argv) {
        if (argc % 2 != 0)
                return usage_error("'%s': setting '%s' has no value", what, argv[argc - 1]);
        bool *seen = calloc(n ? n : 1, sizeof(bool));
        if (!seen)
                oom();
        int r = EXIT_OK;
        for (int i = 0; i < argc && r == EXIT_OK; i += 2) {
                int k = settings_find(what, s, n, argv[i]);
                if (k < 0)
                        r = EXIT_USAGE;
                else if (seen[k] && s[k].type != SETTING_LIST)
                        r = usage_error("'%s': %s is given twice", what, s[k].name);
                else if ((r = check_choice(&s[k], argv[i + 1])) == EXIT_OK)
                        r = check_value(&s[k], argv[i + 1]);
                if (k >= 0)
                        seen[k] = true;
        }
        free(seen);
        return r;
}

static int append_value(sd_bus_message *m, const struct setting *s, char **values) {
        int r;
        switch (s->type) {
        case SETTING_STRING:
                r = sd_bus_message_append(m, "{sv}", s->key, "s", values[0]);
                break;
        case SETTING_UINT: {
                uint32_t u;
                r = parse_uint(s->name, values[0], s->min, s->max, &u);
                if (r != EXIT_OK)
                        return r;
                r = sd_bus_message_append(m, "{sv}", s->key, "u", u);
                break;
        }
        case SETTING_INT64: {
                uint32_t u;
                r = parse_uint(s->name, values[0], s->min, s->max, &u);
                if (r != EXIT_OK)
                        return r;
                r = sd_bus_message_append(m, "{sv}", s->key, "x", (int64_t)u);
                break;
        }
        case SETTING_BOOL: {
                bool b;
                r = parse_bool(s->name, values[0], &b);
                if (r != EXIT_OK)
                        return r;
                r = sd_bus_message_append(m, "{sv}", s->key, "b", (int)b);
                break;
        }
        case SETTING_STRV:
        case SETTING_LIST: {
                _cleanup_(strv_freep) char **list = NULL;
                if (s->type == SETTING_STRV) {
                        list = split_commas(values[0]);
                        if (!list[0])
                                return usage_error("%s needs at least one value", s->name);
                }
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", s->key);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, list ? list : values);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                break;
        }
        default:
                r = -EINVAL;
        }
        if (r < 0)
                return fail(EXIT_FAILED, "cannot build the call: %s.", strerror(-r));
        return EXIT_OK;
}

/* Every SETTING_DICT value with this key as one a{ss} entry. */
static int append_dict(sd_bus_message *m, const char *key, const struct setting *s, size_t n,
                       char ***values) {
        int r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a{ss}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{ss}");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (s[i].type != SETTING_DICT || strcmp(s[i].key, key) != 0 || !values[i])
                        continue;
                _cleanup_free_ char *name = xstrdup(s[i].name);
                for (char *p = name; *p; p++) /* NetworkManager's option names use '_' */
                        if (*p == '-')
                                *p = '_';
                r = sd_bus_message_append(m, "{ss}", name, values[i][0]);
        }
        for (int k = 0; r >= 0 && k < 3; k++)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return fail(EXIT_FAILED, "cannot build the call: %s.", strerror(-r));
        return EXIT_OK;
}

static void free_values(char ***values, size_t n) {
        for (size_t i = 0; i < n; i++)
                strv_free(values[i]);
        free(values);
}

int settings_append(sd_bus_message *m, const char *what, const struct setting *s, size_t n,
                    int argc, char **argv) {
        int r = settings_check(what, s, n, argc, argv);
        if (r != EXIT_OK)
                return r;
        char ***values = calloc(n, sizeof(char **));
        if (!values)
                oom();
        for (int i = 0; i < argc; i += 2)
                strv_push(&values[settings_find(what, s, n, argv[i])], argv[i + 1]);
        if (sd_bus_message_open_container(m, 'a', "{sv}") < 0)
                oom();
        for (size_t i = 0; r == EXIT_OK && i < n; i++) {
                if (!values[i])
                        continue;
                if (s[i].type != SETTING_DICT) {
                        r = append_value(m, &s[i], values[i]);
                        continue;
                }
                bool first = true; /* one a{ss} per key, where its first setting is */
                for (size_t j = 0; j < i; j++)
                        if (s[j].type == SETTING_DICT && strcmp(s[j].key, s[i].key) == 0 &&
                            values[j])
                                first = false;
                if (first)
                        r = append_dict(m, s[i].key, s, n, values);
        }
        if (r == EXIT_OK && sd_bus_message_close_container(m) < 0)
                oom();
        free_values(values, n);
        return r;
}
