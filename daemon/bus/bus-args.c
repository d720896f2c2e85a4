/* SPDX-License-Identifier: MIT */
/*
 * a{sv} arguments (AddService settings, AddBackend options,
 * SetWorkerModel options): every key known, every value of the expected
 * type, every number in range, or an InvalidArgument error saying which key
 * and what was expected. Nothing is half-read: the caller's values are
 * only meaningful after success.
 */
#include <inttypes.h>
#include <string.h>

#include "bus-private.h"
#include "cleanup.h"
#include "quote.h"

static struct lbd_bus_key *find_key(struct lbd_bus_key *keys, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (g_str_equal(keys[i].name, name))
                        return &keys[i];
        return NULL;
}

static char *known_keys(const struct lbd_bus_key *keys, size_t n) {
        GString *s = g_string_new(NULL);
        for (size_t i = 0; i < n; i++)
                g_string_append_printf(s, "%s%s (%s)", i ? ", " : "", keys[i].name, keys[i].type);
        return g_string_free(s, FALSE);
}

static int read_value(sd_bus_message *message, struct lbd_bus_key *k, sd_bus_error *error) {
        int r;
        if (g_str_equal(k->type, "u")) {
                uint32_t v;
                r = sd_bus_message_read(message, "u", &v);
                if (r < 0)
                        return r;
                if (v < k->min || v > k->max)
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "%s %" PRIu32 " is out of range: expected "
                                                 "%" PRIu32 "..%" PRIu32,
                                                 k->name, v, k->min, k->max);
                *(unsigned *)k->ret = v;
                return 0;
        }
        if (g_str_equal(k->type, "b")) {
                int v;
                r = sd_bus_message_read(message, "b", &v);
                if (r < 0)
                        return r;
                *(bool *)k->ret = v;
                return 0;
        }
        if (g_str_equal(k->type, "s")) {
                const char *v;
                r = sd_bus_message_read(message, "s", &v);
                if (r < 0)
                        return r;
                g_free(*(char **)k->ret);
                *(char **)k->ret = g_strdup(v);
                return 0;
        }
        /* "as" */
        char **v = NULL;
        r = sd_bus_message_read_strv(message, &v);
        if (r < 0)
                return r;
        /* malloc()ed by sd-bus: g_free() is free() (GLib >= 2.46). */
        g_strfreev(*(char ***)k->ret);
        *(char ***)k->ret = v;
        return 0;
}

int lbd_bus_read_options(sd_bus_message *message, struct lbd_bus_key *keys, size_t n,
                         sd_bus_error *error) {
        int r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        for (;;) {
                r = sd_bus_message_enter_container(message, 'e', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                const char *name;
                r = sd_bus_message_read(message, "s", &name);
                if (r < 0)
                        return r;
                struct lbd_bus_key *k = find_key(keys, n, name);
                if (!k) {
                        g_autofree char *known = known_keys(keys, n);
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Unknown key %s; known keys: %s", LBD_QUOTE(name),
                                                 known);
                }
                if (k->seen)
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "Key %s given twice", k->name);
                const char *contents;
                r = sd_bus_message_peek_type(message, NULL, &contents);
                if (r < 0)
                        return r;
                if (!g_str_equal(contents, k->type))
                        return sd_bus_error_setf(error, LBD_BUS_ERROR_INVALID_ARGUMENT,
                                                 "%s has type %s; expected %s", k->name,
                                                 LBD_QUOTE(contents), LBD_QUOTE(k->type));
                r = sd_bus_message_enter_container(message, 'v', k->type);
                if (r < 0)
                        return r;
                r = read_value(message, k, error);
                if (r < 0)
                        return r;
                k->seen = true;
                r = sd_bus_message_exit_container(message); /* v */
                if (r >= 0)
                        r = sd_bus_message_exit_container(message); /* e */
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(message);
}
