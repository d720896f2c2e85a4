/* SPDX-License-Identifier: MIT */
/*
 * Writing the configuration back as key-file text (lbd_config_to_keyfile):
 * the state file, and the round trip the tests check. One canonical text
 * per value, with the tables parsing uses (config-keys.h).
 */
#include "config-files.h"

#include <string.h>

#include "config-keys.h"

/* ---- writing -------------------------------------------------------------- */

/* GKeyFile's escaping of what the loader unescapes: '\' always, ';' in
 * list items. Values hold no control characters (the parsers refuse
 * them). */
static void append_escaped(GString *out, const char *s, bool list_item) {
        for (const char *p = s; *p; p++) {
                if (*p == '\\' || (list_item && *p == ';'))
                        g_string_append_c(out, '\\');
                g_string_append_c(out, *p);
        }
}

/* " name=N" for each of options whose value differs from the default. */
static void append_uint_options(GString *out, const struct uint_option *options, size_t n,
                                const void *value, const void *def) {
        for (size_t i = 0; i < n; i++) {
                unsigned v = *(const unsigned *)((const char *)value + options[i].offset);
                unsigned d = *(const unsigned *)((const char *)def + options[i].offset);
                if (v != d)
                        g_string_append_printf(out, " %s=%u", options[i].name, v);
        }
}

static void format_backend(GString *out, const struct lbd_backend_config *b) {
        struct lbd_backend_config def;
        lbd_backend_config_init(&def);
        g_string_append(out, b->address.text);
        append_uint_options(out, config_backend_options.options, config_backend_options.n, b, &def);
        if (b->backup)
                g_string_append(out, " backup");
        if (b->down)
                g_string_append(out, " down");
        if (b->drain)
                g_string_append(out, " drain");
        if (b->origin[0])
                g_string_append_printf(out, " origin=%s", b->origin);
}

static void format_health_check(GString *out, const struct lbd_health_check_config *h) {
        struct lbd_health_check_config def;
        lbd_health_check_config_init(&def);
        g_string_append(out, lbd_health_check_type_to_string(h->type));
        if (h->type == LBD_HEALTH_CHECK_NONE)
                return;
        if (h->type == LBD_HEALTH_CHECK_HTTP) {
                g_string_append_printf(out, " %s", h->path ? h->path : "/");
                if (h->expect_min != def.expect_min || h->expect_max != def.expect_max) {
                        g_string_append_printf(out, " expect=%u", h->expect_min);
                        if (h->expect_max != h->expect_min)
                                g_string_append_printf(out, "-%u", h->expect_max);
                }
        }
        append_uint_options(out, config_health_check_options.options, config_health_check_options.n, h,
                            &def);
}

/* The value of def's key in base as the loader reads it back: canonical,
 * so that two values are equal exactly when their texts are. */
static char *format_value(const struct key_def *def, const void *base) {
        const void *field = (const char *)base + def->offset;
        GString *out = g_string_new(NULL);

        switch (def->type) {
        case KEY_UINT:
                g_string_append_printf(out, "%u", *(const unsigned *)field);
                break;
        case KEY_WORKERS:
                if (*(const unsigned *)field == 0)
                        g_string_append(out, "auto");
                else
                        g_string_append_printf(out, "%u", *(const unsigned *)field);
                break;
        case KEY_PLUGIN_NAME:
        case KEY_USER:
        case KEY_ACCESS_LOG:
        case KEY_ERROR_LOG:
                append_escaped(out, *(char *const *)field, false);
                break;
        case KEY_METRIC_PREFIX:
        case KEY_TAGS:
        case KEY_GROUP:
        case KEY_PROXY_HOST: {
                const char *v = *(char *const *)field;
                append_escaped(out, v ? v : "", false);
                break;
        }
        case KEY_GROUPS: {
                char *const *list = *(char **const *)field;
                for (guint i = 0; list && list[i]; i++) {
                        if (i)
                                g_string_append_c(out, ';');
                        append_escaped(out, list[i], true);
                }
                break;
        }
        case KEY_STATSD_HOST:
        case KEY_ADMIN_LISTEN: {
                const char *v = *(char *const *)field;
                append_escaped(out, v ? v : "off", false);
                break;
        }
        case KEY_LISTEN: {
                const GArray *list = *(GArray *const *)field;
                for (guint i = 0; i < list->len; i++) {
                        if (i)
                                g_string_append_c(out, ';');
                        append_escaped(out, g_array_index(list, struct lbd_address, i).text,
                                       true);
                }
                break;
        }
        case KEY_BOOL:
                g_string_append(out, *(const bool *)field ? "yes" : "no");
                break;
        case KEY_LOG_FORMAT:
                g_string_append(out, *(const enum lbd_access_log_format *)field ==
                                                     LBD_ACCESS_LOG_JSON
                                             ? "json"
                                             : "combined");
                break;
        case KEY_MODE:
                g_string_append(out,
                                lbd_service_mode_to_string(*(const enum lbd_service_mode *)field));
                break;
        case KEY_BACKENDS: {
                const GArray *list = *(GArray *const *)field;
                for (guint i = 0; i < list->len; i++) {
                        g_autoptr(GString) item = g_string_new(NULL);
                        format_backend(item, &g_array_index(list, struct lbd_backend_config, i));
                        if (i)
                                g_string_append_c(out, ';');
                        append_escaped(out, item->str, true);
                }
                break;
        }
        case KEY_HEALTH_CHECK: {
                g_autoptr(GString) text = g_string_new(NULL);
                format_health_check(text, field);
                append_escaped(out, text->str, false);
                break;
        }
        }
        return g_string_free(out, false);
}

/* Sets each key of keys whose value in config differs from base (every key
 * when base is NULL). */
static void write_group(GKeyFile *kf, const char *group, const struct key_def *keys, size_t n,
                        const void *config, const void *base) {
        for (size_t i = 0; i < n; i++) {
                g_autofree char *value = format_value(&keys[i], config);
                if (base) {
                        g_autofree char *base_value = format_value(&keys[i], base);
                        if (strcmp(value, base_value) == 0)
                                continue;
                }
                g_key_file_set_value(kf, group, keys[i].name, value);
        }
}

GKeyFile *lbd_config_to_keyfile(const struct lbd_config *config, const struct lbd_config *base) {
        GKeyFile *kf = g_key_file_new();

        write_group(kf, "daemon", config_daemon_keys.keys, config_daemon_keys.n, &config->daemon,
                    base ? &base->daemon : NULL);
        write_group(kf, "admin", config_admin_keys.keys, config_admin_keys.n, &config->daemon,
                    base ? &base->daemon : NULL);
        for (guint i = 0; i < config->services->len; i++) {
                const struct lbd_service_config *s = config->services->pdata[i];
                g_autofree char *group = g_strconcat("service ", s->name, NULL);
                /* A service base lacks is written whole. */
                write_group(kf, group, config_service_keys.keys, config_service_keys.n, s,
                            base ? lbd_config_find_service(base, s->name) : NULL);
        }
        if (base)
                for (guint i = 0; i < base->services->len; i++) {
                        const struct lbd_service_config *s = base->services->pdata[i];
                        if (lbd_config_find_service(config, s->name))
                                continue;
                        g_autofree char *group = g_strconcat("service ", s->name, NULL);
                        g_key_file_set_value(kf, group, "removed", "true");
                }
        return kf;
}
