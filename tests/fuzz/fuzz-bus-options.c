/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the D-Bus methods' a{sv} arguments (daemon/bus/
 * bus-args.c: AddService's settings, AddBackend's options, SetWorkerModel's
 * options all go through lbd_bus_read_options()) and the service-name
 * check the methods apply first. The input becomes a real sd-bus message:
 * a service name, then an a{sv} of entries whose names, D-Bus types and
 * values the input picks (known keys, unknown ones, wrong types, values out
 * of range, repeats). Promises checked beyond "does not crash":
 *  - success means every key known, none twice, each of its type, each u in
 *    its range, and what was read is what was sent;
 *  - a refusal is an InvalidArgument whose message is bounded.
 */
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "bus-private.h"
#include "fuzz-check.h"

/* An sd-bus object that can make messages: started on one end of a
 * socketpair, never authenticated (nothing is sent). */
static sd_bus *message_factory(void) {
        static sd_bus *bus;
        if (bus)
                return bus;
        int fds[2];
        check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
        check(sd_bus_new(&bus) >= 0);
        check(sd_bus_set_fd(bus, fds[0], fds[0]) >= 0);
        check(sd_bus_start(bus) >= 0);
        return bus;
}

struct input {
        const uint8_t *p;
        size_t left;
};

static uint8_t take(struct input *in) {
        if (!in->left)
                return 0;
        in->left--;
        return *in->p++;
}

static char *take_string(struct input *in) {
        size_t n = take(in) % 24;
        n = n < in->left ? n : in->left;
        char *s = g_malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
                char c = (char)take(in);
                s[i] = c ? c : '_'; /* D-Bus strings have no NUL */
        }
        s[n] = '\0';
        /* sd-bus refuses invalid UTF-8 itself: send valid text only. */
        if (!g_utf8_validate(s, -1, NULL)) {
                g_free(s);
                return g_strdup("x");
        }
        return s;
}

static const char *const known_names[] = { "Weight", "Backup", "Listen", "Mode", "Threads" };

/* What the message carried for each known key, to compare with what was
 * read. */
struct sent {
        uint32_t u[5];
        int b;
};

static void append_entries(sd_bus_message *m, struct input *in, struct sent *sent) {
        check(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
        unsigned n = take(in) % 8;
        for (unsigned i = 0; i < n && in->left; i++) {
                uint8_t pick = take(in);
                g_autofree char *name = pick & 0x80 ? take_string(in)
                                                    : g_strdup(known_names[pick % 5]);
                check(sd_bus_message_open_container(m, 'e', "sv") >= 0);
                check(sd_bus_message_append(m, "s", name) >= 0);
                switch (take(in) % 5) {
                case 0: {
                        uint32_t v = (uint32_t)take(in) << 8 | take(in);
                        if (v & 0x8000)
                                v |= 0xffff0000u;
                        check(sd_bus_message_append(m, "v", "u", v) >= 0);
                        for (unsigned k = 0; k < 5; k++)
                                if (strcmp(name, known_names[k]) == 0)
                                        sent->u[k] = v;
                        break;
                }
                case 1: {
                        int b = take(in) & 1;
                        check(sd_bus_message_append(m, "v", "b", b) >= 0);
                        if (strcmp(name, "Backup") == 0)
                                sent->b = b;
                        break;
                }
                case 2: {
                        g_autofree char *s = take_string(in);
                        check(sd_bus_message_append(m, "v", "s", s) >= 0);
                        break;
                }
                case 3: {
                        g_autofree char *a = take_string(in);
                        g_autofree char *b = take_string(in);
                        check(sd_bus_message_append(m, "v", "as", 2, a, b) >= 0);
                        break;
                }
                default:
                        check(sd_bus_message_append(m, "v", "i", (int32_t)take(in)) >= 0);
                        break;
                }
                check(sd_bus_message_close_container(m) >= 0);
        }
        check(sd_bus_message_close_container(m) >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct input in = { data, size };
        g_autofree char *service = take_string(&in);
        struct sent sent = { 0 };
        sd_bus_message *m = NULL;
        check(sd_bus_message_new_method_call(message_factory(), &m, "org.example.LoadBalancer",
                                             "/org/example/LoadBalancer",
                                             "org.example.LoadBalancer", "AddService") >= 0);
        check(sd_bus_message_append(m, "s", service) >= 0);
        append_entries(m, &in, &sent);
        check(sd_bus_message_seal(m, 1, 0) >= 0);
        check(sd_bus_message_rewind(m, true) >= 0);

        const char *name;
        check(sd_bus_message_read(m, "s", &name) >= 0);
        sd_bus_error error = SD_BUS_ERROR_NULL;
        if (lbd_bus_check_service_name(name, &error) < 0) {
                check(error.message && strlen(error.message) < FUZZ_REASON_MAX);
                sd_bus_error_free(&error);
        } else {
                check(strlen(name) >= 1 && strlen(name) <= 64);
        }

        unsigned weight = 0, threads = 0;
        bool backup = false;
        char **listen = NULL, *mode = NULL;
        struct lbd_bus_key keys[] = {
                { "Weight", "u", &weight, 1, 1000, false },
                { "Backup", "b", &backup, 0, 0, false },
                { "Listen", "as", &listen, 0, 0, false },
                { "Mode", "s", &mode, 0, 0, false },
                { "Threads", "u", &threads, 1, 1024, false },
        };
        int r = lbd_bus_read_options(m, keys, G_N_ELEMENTS(keys), &error);
        if (r >= 0) {
                check(!sd_bus_error_is_set(&error));
                if (keys[0].seen)
                        check(weight >= 1 && weight <= 1000 && weight == sent.u[0]);
                if (keys[4].seen)
                        check(threads >= 1 && threads <= 1024 && threads == sent.u[4]);
                if (keys[1].seen)
                        check(backup == !!sent.b);
                if (keys[2].seen)
                        check(listen && g_strv_length(listen) == 2);
                if (keys[3].seen)
                        check(mode != NULL);
        } else if (sd_bus_error_is_set(&error)) {
                check(sd_bus_error_has_name(&error, LBD_BUS_ERROR_INVALID_ARGUMENT));
                check(error.message && strlen(error.message) < FUZZ_REASON_MAX);
        }
        sd_bus_error_free(&error);
        g_strfreev(listen);
        g_free(mode);
        sd_bus_message_unref(m);
        return 0;
}
