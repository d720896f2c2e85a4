/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the state file (STATE_DIR/state.conf, docs/state.md):
 * what lbd merges over its configuration files at every start, which a
 * crash, a full disk or a hand edit may have left in any shape. Promises
 * checked beyond "does not crash":
 *  - a refusal has a reason, bounded;
 *  - an accepted merge, written back as a state file again (the
 *    difference from the base, as lbd saves it), merges over the base to
 *    the same configuration.
 * Input: the state file's text, merged over a fixed base of two services.
 */
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config-files.h"
#include "fuzz-check.h"

static const char BASE[] = "[daemon]\nworkers=2\n\n"
                           "[service web]\nlisten=127.0.0.1:8080\n"
                           "backends=127.0.0.1:8001;127.0.0.1:8002 weight=3\n"
                           "health-check=http /healthz interval=2\n\n"
                           "[service db]\nlisten=127.0.0.1:5432\nmode=tcp\n"
                           "backends=127.0.0.1:5433\n";

static struct lbd_config *base(void) {
        static struct lbd_config *b;
        if (!b) {
                char *why = NULL;
                b = lbd_config_load_from_data(BASE, "base.conf", &why);
                check(b);
        }
        return b;
}

/* A file with text, as lbd_config_load_state() reads a path. */
static void write_file(int fd, const char *text) {
        check(ftruncate(fd, 0) == 0);
        size_t n = strlen(text);
        check(pwrite(fd, text, n, 0) == (ssize_t)n);
}

/* Every group of a is in b with the same keys and values (the order of
 * services may differ: config-files.h says a service removed and added
 * again comes back in the base's place). */
static bool same_groups(GKeyFile *a, GKeyFile *b) {
        g_auto(GStrv) groups = g_key_file_get_groups(a, NULL);
        g_auto(GStrv) others = g_key_file_get_groups(b, NULL);
        if (g_strv_length(groups) != g_strv_length(others))
                return false;
        for (char **g = groups; *g; g++) {
                g_auto(GStrv) keys = g_key_file_get_keys(a, *g, NULL, NULL);
                g_auto(GStrv) other_keys = g_key_file_get_keys(b, *g, NULL, NULL);
                if (!other_keys || g_strv_length(keys) != g_strv_length(other_keys))
                        return false;
                for (char **k = keys; *k; k++) {
                        g_autofree char *v = g_key_file_get_value(a, *g, *k, NULL);
                        g_autofree char *w = g_key_file_get_value(b, *g, *k, NULL);
                        if (!w || strcmp(v, w) != 0)
                                return false;
                }
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int fd = -1;
        static char path[64];
        if (fd < 0) {
                fd = memfd_create("fuzz-state", MFD_CLOEXEC);
                check(fd >= 0);
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        }
        g_autofree char *text = g_strndup((const char *)data, size);
        write_file(fd, text);
        struct lbd_config *merged = NULL;
        char *why = NULL;
        int r = lbd_config_load_state(base(), path, &merged, &why);
        if (r < 0) {
                check(why && *why);
                check(strlen(why) < FUZZ_REASON_MAX);
                g_free(why);
                return 0;
        }
        check(r == 1 && merged && !why);
        /* As lbd saves it: only what differs from the base. */
        g_autoptr(GKeyFile) diff = lbd_config_to_keyfile(merged, base());
        g_autofree char *saved = g_key_file_to_data(diff, NULL, NULL);
        write_file(fd, saved);
        struct lbd_config *again = NULL;
        char *why2 = NULL;
        r = lbd_config_load_state(base(), path, &again, &why2);
        if (r != 1)
                fprintf(stderr, "saved again, it does not merge: %s\n%s", why2, saved);
        check(r == 1 && again);
        g_autoptr(GKeyFile) a = lbd_config_to_keyfile(merged, NULL);
        g_autoptr(GKeyFile) b = lbd_config_to_keyfile(again, NULL);
        check(same_groups(a, b));
        lbd_config_free(again);
        lbd_config_free(merged);
        return 0;
}
